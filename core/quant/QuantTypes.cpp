#include "quant/QuantTypes.h"

#include "util/Error.h"

namespace rlq {

namespace {

// Bytes per stored scale or zero point, both of which are fp16.
constexpr int64_t kParameterBytes = 2;

// Throws unless the shape is a canonical [outChannels, inFeatures] shape.
void validateMatrixShape(const std::vector<int64_t>& shape)
{
    if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0) {
        throw Error("invalid weight matrix shape " + shapeText(shape) +
                    "; expected [outChannels, inFeatures] with non-negative sizes");
    }
}

int64_t ceilDivide(int64_t numerator, int64_t denominator)
{
    return (numerator + denominator - 1) / denominator;
}

} // namespace

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    }
    return text + "]";
}

const std::vector<BitWidthInfo>& bitWidthTable()
{
    static const std::vector<BitWidthInfo> table = {
        {2, "2-bit", "2-bit integer codes (4 levels), asymmetric min-max with fp16 scale and zero point"},
        {4, "4-bit", "4-bit integer codes (16 levels), asymmetric min-max with fp16 scale and zero point"},
        {8, "8-bit", "8-bit integer codes (256 levels), asymmetric min-max with fp16 scale and zero point"},
        {16, "16-bit", "IEEE half precision (fp16) values, no scale or zero point"},
    };
    return table;
}

std::string allowedBitWidthsText()
{
    std::string text;
    for (const BitWidthInfo& info : bitWidthTable()) {
        text += (text.empty() ? "" : ", ") + std::to_string(info.bits);
    }
    return text;
}

int parseBitWidth(const std::string& text)
{
    for (const BitWidthInfo& info : bitWidthTable()) {
        if (text == std::to_string(info.bits)) {
            return info.bits;
        }
    }
    throw Error("invalid bit-width '" + text + "'; allowed values: " + allowedBitWidthsText());
}

const BitWidthInfo& bitWidthInfo(int bits)
{
    for (const BitWidthInfo& info : bitWidthTable()) {
        if (info.bits == bits) {
            return info;
        }
    }
    throw Error("invalid bit-width " + std::to_string(bits) + "; allowed values: " + allowedBitWidthsText());
}

const std::vector<GranularityInfo>& granularityTable()
{
    static const std::vector<GranularityInfo> table = {
        {Granularity::PerTensor, "tensor", "one scale and zero point for the whole weight matrix"},
        {Granularity::PerChannel, "channel", "one scale and zero point per output channel"},
        {Granularity::PerGroup, "group",
         "one scale and zero point per group of consecutive input weights of an output channel"},
    };
    return table;
}

std::string allowedGranularitiesText()
{
    std::string text;
    for (const GranularityInfo& info : granularityTable()) {
        text += (text.empty() ? "" : ", ") + std::string(info.name);
    }
    return text;
}

Granularity parseGranularity(const std::string& text)
{
    for (const GranularityInfo& info : granularityTable()) {
        if (text == info.name) {
            return info.granularity;
        }
    }
    throw Error("invalid granularity '" + text + "'; allowed values: " + allowedGranularitiesText());
}

std::string granularityName(Granularity granularity)
{
    for (const GranularityInfo& info : granularityTable()) {
        if (info.granularity == granularity) {
            return info.name;
        }
    }
    throw Error("invalid granularity value " + std::to_string(static_cast<int>(granularity)) +
                "; allowed values: " + allowedGranularitiesText());
}

void validateScheme(const QuantScheme& scheme)
{
    if (scheme.bits != kUnquantizedBits) {
        bitWidthInfo(scheme.bits);
    }

    // granularityName throws for an enum value outside the table.
    granularityName(scheme.granularity);

    if (scheme.granularity == Granularity::PerGroup && scheme.groupSize < 1) {
        throw Error("invalid group size " + std::to_string(scheme.groupSize) +
                    "; a per-group scheme needs a group size of at least 1");
    }
}

std::string describeScheme(const QuantScheme& scheme)
{
    const std::string bitsText = std::to_string(scheme.bits) + "-bit";
    if (scheme.bits > 8) {
        return bitsText;
    }
    if (scheme.granularity == Granularity::PerGroup) {
        return bitsText + ", group " + std::to_string(scheme.groupSize);
    }
    return bitsText + ", " + granularityName(scheme.granularity);
}

int64_t quantGroupCount(const std::vector<int64_t>& shape, const QuantScheme& scheme)
{
    validateMatrixShape(shape);
    validateScheme(scheme);

    if (scheme.bits > 8) {
        return 0;
    }

    const int64_t outChannels = shape[0];
    const int64_t inFeatures = shape[1];
    switch (scheme.granularity) {
    case Granularity::PerTensor:
        return 1;
    case Granularity::PerChannel:
        return outChannels;
    case Granularity::PerGroup:
        // The last group of a row is shorter when groupSize does not divide
        // inFeatures, but it still stores a full scale and zero point.
        return outChannels * ceilDivide(inFeatures, scheme.groupSize);
    }
    return 0;
}

int64_t footprintBytes(const std::vector<int64_t>& shape, const QuantScheme& scheme)
{
    const int64_t groups = quantGroupCount(shape, scheme);
    const int64_t numel = shape[0] * shape[1];

    if (scheme.bits > 8) {
        return numel * (scheme.bits / 8);
    }

    const int64_t codeBytes = ceilDivide(numel * scheme.bits, 8);
    const int64_t parameterBytes = groups * 2 * kParameterBytes;
    return codeBytes + parameterBytes;
}

} // namespace rlq

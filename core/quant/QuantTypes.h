#pragma once

// Plain types of the quantization module: the bit-width and granularity
// tables, the scheme, the footprint formula and the result structs. This
// header includes no LibTorch header, so the GUI and the CLI can use it
// without their compile cost. The tensor functions are in
// quant/Quantization.h.

#include <cstdint>
#include <string>
#include <vector>

namespace rlq {

// One bit-width that a quantization policy may assign to a weight matrix.
struct BitWidthInfo {
    int bits;                 // the value users type, e.g. 4
    const char* name;         // short label for combo boxes and reports, e.g. "4-bit"
    const char* description;  // one line for help text
};

// The policy bit-widths 2, 4, 8 and 16 in increasing order. Parsing, help
// text, the GUI combo boxes and the reports all read this one table.
const std::vector<BitWidthInfo>& bitWidthTable();

// Parses the decimal text of a policy bit-width ("2", "4", "8" or "16").
// Throws rlq::Error quoting the text and listing the allowed values.
int parseBitWidth(const std::string& text);

// The table row of a policy bit-width. Throws rlq::Error for other values.
const BitWidthInfo& bitWidthInfo(int bits);

// The policy bit-widths as "2, 4, 8, 16", for help text and error messages.
std::string allowedBitWidthsText();

// Bit-width that keeps a weight matrix in float32. Quantization functions
// accept it as "no quantization", but it is not in bitWidthTable(), so a
// policy never selects it.
constexpr int kUnquantizedBits = 32;

// The set of weights that share one scale and zero point.
enum class Granularity {
    PerTensor,   // the whole matrix
    PerChannel,  // one output channel (one row of the [out, in] matrix)
    PerGroup,    // groupSize consecutive weights of one row
};

struct GranularityInfo {
    Granularity granularity;
    const char* name;         // command-line spelling: "tensor", "channel" or "group"
    const char* description;  // one line for help text
};

// All granularities, from coarsest to finest.
const std::vector<GranularityInfo>& granularityTable();

// Parses "tensor", "channel" or "group". Throws rlq::Error quoting the text
// and listing the allowed values.
Granularity parseGranularity(const std::string& text);

// The command-line spelling of a granularity, e.g. "group".
std::string granularityName(Granularity granularity);

// The granularity names as "tensor, channel, group".
std::string allowedGranularitiesText();

// Quantization settings of one weight matrix. Bit-widths 16 and 32 ignore
// the granularity and group size because they have no scales.
struct QuantScheme {
    int bits = 4;                                      // 2, 4, 8, 16, or 32 for float32
    Granularity granularity = Granularity::PerGroup;
    int64_t groupSize = 64;                            // weights per group along the input dimension (PerGroup only)
};

// Checks that bits is 2, 4, 8, 16 or 32 and that a per-group scheme has a
// group size of at least 1. Throws rlq::Error naming the invalid field.
void validateScheme(const QuantScheme& scheme);

// Label for logs and reports, e.g. "4-bit, group 64", "8-bit, channel",
// "16-bit" or "32-bit".
std::string describeScheme(const QuantScheme& scheme);

// Formats a tensor shape for messages, e.g. "[768, 2304]".
std::string shapeText(const std::vector<int64_t>& shape);

// Number of (scale, zero point) pairs of a weight matrix of canonical shape
// [outChannels, inFeatures]: 1 per tensor, outChannels per channel, and
// outChannels * ceil(inFeatures / groupSize) per group. Returns 0 for
// bit-widths 16 and 32. Throws rlq::Error unless the shape has two
// non-negative dimensions.
int64_t quantGroupCount(const std::vector<int64_t>& shape, const QuantScheme& scheme);

// Storage size in bytes of one weight matrix of canonical shape
// [outChannels, inFeatures]. For 2, 4 and 8 bits it is the packed codes,
// ceil(numel * bits / 8), plus 2 bytes per fp16 scale and 2 per fp16 zero
// point. 16 bits costs numel * 2 and 32 bits numel * 4.
int64_t footprintBytes(const std::vector<int64_t>& shape, const QuantScheme& scheme);

// Error of the fake-quantized weight against the float32 weight.
struct QuantizationError {
    double mse = 0.0;              // mean squared error
    double sqnrDb = 0.0;           // 10 log10(sum w^2 / sum (w - q)^2); +inf when the error is zero
    double maxAbsError = 0.0;
    int64_t distinctLevels = 0;    // distinct codes used (2-8 bits), or distinct values (16 and 32 bits)
    // Ranges of the fp16 scales and zero points. They are NaN for 16 and
    // 32 bits, which have no scales.
    double minScale = 0.0, maxScale = 0.0;
    double minZeroPoint = 0.0, maxZeroPoint = 0.0;
};

// Counts of values in equal-width bins over [lower, upper]. Values below
// lower count in the first bin and values above upper in the last, so the
// counts always sum to the number of values.
struct Histogram {
    double lower = 0.0;
    double upper = 0.0;
    std::vector<int64_t> counts;
};

} // namespace rlq

#include "quant/QuantStats.h"

#include "quant/Quantization.h"
#include "util/Error.h"

#include <cmath>
#include <limits>
#include <string>

namespace rlq {

namespace {

// Number of code values in [0, 2^bits - 1] that at least one weight uses.
int64_t countDistinctCodes(const torch::Tensor& codes, int bits)
{
    const int64_t levels = int64_t{1} << bits;
    const torch::Tensor counts = torch::bincount(codes.reshape({-1}).to(torch::kLong), {}, levels);
    return counts.gt(0).sum().item<int64_t>();
}

// Number of distinct values of a float32 tensor whose values are all fp16
// values. Counting bit patterns is linear in the size, unlike sorting.
int64_t countDistinctHalfValues(const torch::Tensor& values)
{
    // Adding +0 turns -0 into +0, so that both zeros count as one value.
    const torch::Tensor patterns = (values + 0.0).to(torch::kHalf).view(torch::kShort).to(torch::kLong).reshape({-1});
    const torch::Tensor counts = torch::bincount(patterns + 32768, {}, 65536);
    return counts.gt(0).sum().item<int64_t>();
}

int64_t countDistinctValues(const torch::Tensor& values)
{
    return std::get<0>(at::_unique(values.reshape({-1}), /*sorted=*/false)).numel();
}

void storeParameterRanges(const QuantizedTensor& q, QuantizationError& result)
{
    const torch::Tensor scales = q.scales.to(torch::kFloat);
    const torch::Tensor zeroPoints = q.zeroPoints.to(torch::kFloat);
    result.minScale = scales.min().item<double>();
    result.maxScale = scales.max().item<double>();
    result.minZeroPoint = zeroPoints.min().item<double>();
    result.maxZeroPoint = zeroPoints.max().item<double>();
}

void storeErrorMetrics(const torch::Tensor& reference, const torch::Tensor& dequantized, QuantizationError& result)
{
    const torch::Tensor error = dequantized - reference;

    // Sums accumulate in float64 so that millions of tiny squared errors do
    // not lose precision.
    const double squaredError = error.square().sum(torch::kDouble).item<double>();
    const double signalPower = reference.square().sum(torch::kDouble).item<double>();

    result.mse = squaredError / static_cast<double>(reference.numel());
    result.sqnrDb = squaredError > 0.0 ? 10.0 * std::log10(signalPower / squaredError)
                                       : std::numeric_limits<double>::infinity();
    result.maxAbsError = error.abs().max().item<double>();
}

void validateHistogramRange(int bins, double lower, double upper)
{
    if (bins < 1) {
        throw Error("invalid histogram bin count " + std::to_string(bins) + "; it must be at least 1");
    }
    if (!std::isfinite(lower) || !std::isfinite(upper) || !(lower < upper)) {
        throw Error("invalid histogram range [" + std::to_string(lower) + ", " + std::to_string(upper) +
                    "]; lower and upper must be finite with lower < upper");
    }
}

torch::Tensor histogramValues(const torch::Tensor& values)
{
    if (!values.defined()) {
        throw Error("cannot compute the histogram of an undefined tensor");
    }
    if (values.is_complex() || values.scalar_type() == torch::kBool) {
        throw Error(std::string("cannot compute the histogram of a tensor of dtype ") +
                    c10::toString(values.scalar_type()) + "; expected real numbers");
    }

    const torch::Tensor flat = values.detach().reshape({-1}).to(torch::kFloat);
    if (torch::isnan(flat).any().item<bool>()) {
        throw Error("cannot compute the histogram of a tensor that contains NaN values");
    }
    return flat;
}

} // namespace

QuantizationError measureQuantizationError(const torch::Tensor& weight, const QuantScheme& scheme)
{
    torch::NoGradGuard noGrad;
    QuantizationError result;
    torch::Tensor dequantized;

    if (scheme.bits <= 8) {
        const QuantizedTensor q = quantize(weight, scheme);
        dequantized = dequantize(q);
        result.distinctLevels = countDistinctCodes(q.codes, scheme.bits);
        storeParameterRanges(q, result);
    } else {
        dequantized = fakeQuantize(weight, scheme);
        result.distinctLevels =
            scheme.bits == 16 ? countDistinctHalfValues(dequantized) : countDistinctValues(dequantized);
        const double none = std::numeric_limits<double>::quiet_NaN();
        result.minScale = result.maxScale = none;
        result.minZeroPoint = result.maxZeroPoint = none;
    }

    storeErrorMetrics(weight.to(torch::kFloat), dequantized, result);
    return result;
}

Histogram histogram(const torch::Tensor& values, int bins, double lower, double upper)
{
    validateHistogramRange(bins, lower, upper);
    const torch::Tensor flat = histogramValues(values);

    // Out-of-range values, including +-inf, clamp into the first or last bin.
    const double binWidth = (upper - lower) / bins;
    const torch::Tensor binIndex =
        flat.sub(lower).div_(binWidth).floor_().clamp_(0.0, static_cast<double>(bins - 1)).to(torch::kLong);
    const torch::Tensor counts = torch::bincount(binIndex, {}, bins);

    Histogram result;
    result.lower = lower;
    result.upper = upper;
    const torch::Tensor hostCounts = counts.cpu();
    result.counts.assign(hostCounts.data_ptr<int64_t>(), hostCounts.data_ptr<int64_t>() + bins);
    return result;
}

Histogram histogram(const torch::Tensor& values, int bins)
{
    const torch::Tensor flat = histogramValues(values);
    if (flat.numel() == 0) {
        throw Error("cannot choose a histogram range for an empty tensor; pass lower and upper");
    }

    const auto [minimum, maximum] = torch::aminmax(flat);
    double lower = minimum.item<double>();
    double upper = maximum.item<double>();
    if (lower == upper) {
        lower -= 0.5;
        upper += 0.5;
    }
    return histogram(flat, bins, lower, upper);
}

} // namespace rlq

#pragma once

// Error metrics of a quantization scheme on one weight matrix, and value
// histograms for the inspector and the reports.

#include "quant/QuantTypes.h"

#include <torch/torch.h>

namespace rlq {

// Compares fakeQuantize(weight, scheme) with the weight in float32. Throws
// rlq::Error like fakeQuantize.
QuantizationError measureQuantizationError(const torch::Tensor& weight, const QuantScheme& scheme);

// Counts the values of a real-valued tensor of any shape in `bins`
// equal-width bins over [lower, upper]. Bin edges are evaluated in float32.
// Throws rlq::Error unless bins >= 1, lower < upper (both finite) and no
// value is NaN.
Histogram histogram(const torch::Tensor& values, int bins, double lower, double upper);

// Counts the values in `bins` equal-width bins over their own range
// [min, max], widened to [v - 0.5, v + 0.5] when all values equal v. Throws
// rlq::Error for an empty tensor and as the ranged overload.
Histogram histogram(const torch::Tensor& values, int bins);

} // namespace rlq

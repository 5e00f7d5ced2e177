#pragma once

// Weight quantizers on LibTorch tensors: fake quantization (with a
// straight-through estimator for fine-tuning), the stored quantized form and
// its bit packing, error metrics and histograms. Every function takes a
// weight matrix in canonical layout [outChannels, inFeatures], which may be
// a transposed or otherwise non-contiguous view.
//
// Integer bit-widths (2, 4, 8) use asymmetric min-max quantization per
// group of weights that share one scale and zero point (the whole tensor,
// one output channel, or groupSize consecutive weights of one channel):
//   minimum = min(0, min w), maximum = max(0, max w)
//   scale = (maximum - minimum) / (2^bits - 1), rounded up to fp16
//   zero point = clamp(round(-minimum / scale), 0, 2^bits - 1)
//   code = clamp(round(w / scale) + zero point, 0, 2^bits - 1)
//   dequantized = (code - zero point) * scale
// The range includes 0 so that the zero point always lies in
// [0, 2^bits - 1]. Without that, a group whose weights share one sign would
// clamp its far end. The scale is rounded up, never down, to the fp16 value
// that a packed checkpoint stores, so every weight is within scale / 2 of
// its dequantized value, up to float32 rounding of w / scale (about 1e-5
// scale). An all-zero group gets scale 1 and zero point 0,
// which decode to exact zeros. A group of one constant value c != 0 has the
// range [min(0, c), max(0, c)] and decodes to c within fp16 precision.
//
// Bit-width 16 rounds each weight to IEEE half precision, and 32 returns
// the float32 weight unchanged.

#include "quant/Packing.h"
#include "quant/QuantStats.h"
#include "quant/QuantTypes.h"

#include <torch/torch.h>

#include <vector>

namespace rlq {

// Returns the dequantized float32 copy of a weight matrix: every value is
// what a checkpoint stored under `scheme` decodes to. The result has the
// weight's shape and never requires grad. A column-major weight, such as
// the transposed view of a Conv1D tensor, gets a column-major result, so
// transposing it back is free. Other weights get a contiguous result. Throws
// rlq::Error for an invalid scheme, a weight that is not a non-empty 2-D
// floating-point tensor, NaN or infinite weights, or a range too wide for
// an fp16 scale.
torch::Tensor fakeQuantize(const torch::Tensor& weight, const QuantScheme& scheme);

// Fake quantization with a straight-through estimator: the forward value
// is exactly fakeQuantize(weight, scheme), and the gradient with respect to
// `weight` is the upstream gradient unchanged. The result is part of the
// autograd graph of `weight`.
torch::Tensor fakeQuantizeSte(const torch::Tensor& weight, const QuantScheme& scheme);

// Stored form of one weight matrix. For 2, 4 and 8 bits, `codes`, `scales`
// and `zeroPoints` are defined and `half` is undefined. For 16 bits only
// `half` is defined.
struct QuantizedTensor {
    QuantScheme scheme;
    std::vector<int64_t> shape;  // canonical [outChannels, inFeatures]
    torch::Tensor codes;         // uint8 [out, in], contiguous, values in [0, 2^bits - 1]
    torch::Tensor scales;        // fp16, one per group: [1], [out] or [out, ceil(in / groupSize)]
    torch::Tensor zeroPoints;    // fp16 integers in [0, 2^bits - 1], same shape as scales
    torch::Tensor half;          // fp16 [out, in], contiguous
};

// Quantizes a weight matrix to its stored form with the same arithmetic as
// fakeQuantize. Throws rlq::Error like fakeQuantize, and for bit-width 32,
// which has no stored quantized form.
QuantizedTensor quantize(const torch::Tensor& weight, const QuantScheme& scheme);

// Decodes a stored weight matrix to a contiguous float32 tensor. The values
// are bit-identical to fakeQuantize(weight, q.scheme) of the weight that
// `q` came from. Throws rlq::Error when a field's dtype or shape does not
// match the scheme and shape.
torch::Tensor dequantize(const QuantizedTensor& q);

// Scale of each weight's group, expanded to a float32 [out, in] tensor.
// Tests and inspectors use it to check errors against scale / 2.
torch::Tensor elementScales(const QuantizedTensor& q);

} // namespace rlq

#include "quant/Quantization.h"

#include "quant/GroupBlocks.h"

#include "util/Error.h"

#include <algorithm>
#include <functional>
#include <string>

namespace rlq {

namespace {

int64_t maxCode(int bits)
{
    return (int64_t{1} << bits) - 1;
}

void validateWeight(const torch::Tensor& weight, const QuantScheme& scheme)
{
    validateScheme(scheme);
    if (!weight.defined()) {
        throw Error("cannot quantize an undefined weight tensor");
    }
    if (weight.dim() != 2) {
        throw Error("cannot quantize a weight of shape " + shapeText(weight.sizes().vec()) +
                    "; expected a 2-D [outChannels, inFeatures] matrix");
    }
    if (!weight.is_floating_point()) {
        throw Error(std::string("cannot quantize a weight of dtype ") + c10::toString(weight.scalar_type()) +
                    "; expected a floating-point tensor");
    }
    if (weight.numel() == 0) {
        throw Error("cannot quantize the empty weight matrix of shape " + shapeText(weight.sizes().vec()));
    }
}

// Scales and zero points of the groups of one block, as float32 tensors that
// hold fp16 values and broadcast against the block.
struct GroupParameters {
    torch::Tensor scale;
    torch::Tensor zeroPoint;
};

// Rounds non-negative float32 values up to the nearest fp16 value at or
// above them. Values above the fp16 maximum 65504 become +inf.
torch::Tensor roundUpToHalf(const torch::Tensor& values)
{
    const torch::Tensor nearest = values.to(torch::kHalf);
    const torch::Tensor roundedDown = nearest.to(torch::kFloat) < values;

    // The bit patterns of non-negative fp16 values increase with the value,
    // so adding 1 to a pattern gives the next fp16 value.
    const torch::Tensor patterns = nearest.view(torch::kShort) + roundedDown.to(torch::kShort);
    return patterns.view(torch::kHalf).to(torch::kFloat);
}

// Throws unless every scale of a block is finite. NaN or infinite weights
// make the group's scale NaN or infinite, so this also rejects those.
void validateScales(const torch::Tensor& scale, const torch::Tensor& weight, int64_t inputDim,
                    const QuantScheme& scheme)
{
    if (torch::isfinite(scale).all().item<bool>()) {
        return;
    }

    const std::string context = "cannot quantize the weight of shape " +
                                shapeText(canonicalView(weight, inputDim).sizes().vec()) + " to " +
                                describeScheme(scheme);
    if (!torch::isfinite(weight).all().item<bool>()) {
        throw Error(context + ": the weight contains NaN or infinite values");
    }
    throw Error(context + ": a group's value range is too wide for an fp16 scale (max 65504)");
}

GroupParameters groupParameters(const GroupBlock& block, int bits)
{
    // Separate amin and amax passes measured faster than one torch::aminmax
    // pass in LibTorch 1.13 on CPU (39 ms against 62 ms on [50257, 768]).
    torch::Tensor minimum;
    torch::Tensor maximum;
    if (block.wholeBlock) {
        minimum = block.values.min();
        maximum = block.values.max();
    } else {
        minimum = block.values.amin(block.groupDim, /*keepdim=*/true);
        maximum = block.values.amax(block.groupDim, /*keepdim=*/true);
    }

    // Including 0 in the range keeps the zero point inside [0, maxCode].
    minimum.clamp_max_(0.0);
    maximum.clamp_min_(0.0);

    const double levels = static_cast<double>(maxCode(bits));
    torch::Tensor scale = roundUpToHalf((maximum - minimum) / levels);

    // Only an all-zero group has scale 0 here, because rounding up maps every
    // positive range to at least the smallest fp16 subnormal. Scale 1 with
    // zero point 0 encodes its weights as code 0, which decodes to 0.
    scale.masked_fill_(scale == 0, 1.0);

    torch::Tensor zeroPoint = torch::round(-minimum / scale).clamp_(0.0, levels);
    return {scale, zeroPoint};
}

// Writes code = clamp(round(w / scale) + zero point, 0, maxCode) as float32.
void encodeInto(torch::Tensor& codes, const torch::Tensor& block, const GroupParameters& parameters, int bits)
{
    torch::div_out(codes, block, parameters.scale);
    codes.round_().add_(parameters.zeroPoint).clamp_(0.0, static_cast<double>(maxCode(bits)));
}

// Replaces float32 codes by their dequantized values (code - zero point) *
// scale. Both factors are small integers times an fp16 value, so the
// product is exact in float32 and needs no fused operation to match.
void decodeInPlace(torch::Tensor& codes, const GroupParameters& parameters)
{
    codes.sub_(parameters.zeroPoint).mul_(parameters.scale);
}

// Computes the scales and zero points of every block of groupBlocks.
std::vector<GroupParameters> blockParameters(const MemoryOrderMatrix& weight, const QuantScheme& scheme)
{
    std::vector<GroupParameters> parameters;
    for (const GroupBlock& block : groupBlocks(weight.matrix, weight.inputDim, scheme)) {
        parameters.push_back(groupParameters(block, scheme.bits));
        validateScales(parameters.back().scale, weight.matrix, weight.inputDim, scheme);
    }
    return parameters;
}

// Rows [start, start + length) along dim 0 of the parameters of a block.
// A parameter of size 1 along dim 0 broadcasts and stays whole.
GroupParameters narrowParameters(const GroupParameters& parameters, int64_t start, int64_t length)
{
    const auto narrowOne = [&](const torch::Tensor& parameter) {
        return parameter.dim() == 0 || parameter.size(0) == 1 ? parameter : parameter.narrow(0, start, length);
    };
    return {narrowOne(parameters.scale), narrowOne(parameters.zeroPoint)};
}

// Elements per chunk of the elementwise passes. The input and output of a
// chunk (2 x 256 KiB of float32) stay in a typical 1-2 MiB per-core L2
// cache across the up to six passes, so mostly the first pass reads main
// memory. Single-threaded on a [50257, 768] matrix, this took fakeQuantize
// from 223 ms to 163 ms (LibTorch 1.13, 2-core Xeon VM). The passes inside a
// chunk still use LibTorch's intra-op threads.
constexpr int64_t kChunkElements = 64 * 1024;

// Calls `step(start, length)` on consecutive slices along dim 0 of a block
// with about kChunkElements each.
void forEachChunk(const torch::Tensor& block, const std::function<void(int64_t, int64_t)>& step)
{
    const int64_t rows = block.size(0);
    const int64_t rowElements = std::max<int64_t>(1, block.numel() / rows);
    const int64_t rowsPerChunk = std::max<int64_t>(1, kChunkElements / rowElements);

    for (int64_t start = 0; start < rows; start += rowsPerChunk) {
        step(start, std::min(rowsPerChunk, rows - start));
    }
}

enum class CodecPass { Encode, Decode, EncodeDecode };

// Runs encodeInto, decodeInPlace or both on every block of `target`, chunk
// by chunk. The encoding passes read the weight from `source`. Decode
// ignores `source` and decodes the codes that `target` contains. Both
// tensors are contiguous memory-order matrices of the same shape.
void runCodec(CodecPass pass, const torch::Tensor& source, torch::Tensor& target, int64_t inputDim,
              const std::vector<GroupParameters>& parameters, const QuantScheme& scheme)
{
    const std::vector<GroupBlock> targetBlocks = groupBlocks(target, inputDim, scheme);
    const std::vector<GroupBlock> sourceBlocks =
        pass == CodecPass::Decode ? targetBlocks : groupBlocks(source, inputDim, scheme);

    for (size_t i = 0; i < targetBlocks.size(); ++i) {
        const torch::Tensor& from = sourceBlocks[i].values;
        const torch::Tensor& to = targetBlocks[i].values;
        forEachChunk(to, [&](int64_t start, int64_t length) {
            const GroupParameters chunkParameters = narrowParameters(parameters[i], start, length);
            torch::Tensor chunk = to.narrow(0, start, length);
            if (pass != CodecPass::Decode) {
                encodeInto(chunk, from.narrow(0, start, length), chunkParameters, scheme.bits);
            }
            if (pass != CodecPass::Encode) {
                decodeInPlace(chunk, chunkParameters);
            }
        });
    }
}

void validateField(const torch::Tensor& field, const char* fieldName, torch::ScalarType dtype,
                   const std::vector<int64_t>& expectedShape)
{
    const std::string context = std::string("invalid quantized tensor: field '") + fieldName + "'";
    if (!field.defined()) {
        throw Error(context + " is undefined");
    }
    if (field.scalar_type() != dtype) {
        throw Error(context + " has dtype " + c10::toString(field.scalar_type()) + ", expected " +
                    c10::toString(dtype));
    }
    if (field.sizes() != at::IntArrayRef(expectedShape)) {
        throw Error(context + " has shape " + shapeText(field.sizes().vec()) + ", expected " +
                    shapeText(expectedShape));
    }
}

void validateQuantized(const QuantizedTensor& q)
{
    validateScheme(q.scheme);
    if (q.shape.size() != 2 || q.shape[0] < 1 || q.shape[1] < 1) {
        throw Error("invalid quantized tensor: shape " + shapeText(q.shape) +
                    " is not a non-empty [outChannels, inFeatures] matrix");
    }
    if (q.scheme.bits == kUnquantizedBits) {
        throw Error("invalid quantized tensor: bit-width 32 has no quantized form");
    }

    if (q.scheme.bits == 16) {
        validateField(q.half, "half", torch::kHalf, q.shape);
        return;
    }
    const std::vector<int64_t> parameterShape = storedParameterShape(q.shape, q.scheme);
    validateField(q.codes, "codes", torch::kByte, q.shape);
    validateField(q.scales, "scales", torch::kHalf, parameterShape);
    validateField(q.zeroPoints, "zeroPoints", torch::kHalf, parameterShape);
}

// Forward: fakeQuantize. Backward: the upstream gradient, unchanged. Unlike
// weight + (q - weight).detach(), the forward value is exactly q, because
// no float32 rounding of the sum can move it.
class StraightThroughQuantize : public torch::autograd::Function<StraightThroughQuantize> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* /*context*/, const torch::Tensor& weight,
                                 const QuantScheme& scheme)
    {
        return fakeQuantize(weight, scheme);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* /*context*/,
                                                   torch::autograd::variable_list gradOutputs)
    {
        // One entry per forward input; the scheme has no gradient.
        return {gradOutputs[0], torch::Tensor()};
    }
};

} // namespace

torch::Tensor fakeQuantize(const torch::Tensor& weight, const QuantScheme& scheme)
{
    validateWeight(weight, scheme);
    torch::NoGradGuard noGrad;
    const torch::Tensor values = weight.to(torch::kFloat);

    if (scheme.bits == kUnquantizedBits) {
        return values.clone();
    }
    if (scheme.bits == 16) {
        // NOTE: weights beyond the fp16 maximum 65504 become +-inf, as in IEEE half.
        return values.to(torch::kHalf).to(torch::kFloat);
    }

    // The output shares the weight's memory order, so the caller's
    // transpose back to the Conv1D [in, out] layout is free.
    const MemoryOrderMatrix ordered = memoryOrder(values);
    const std::vector<GroupParameters> parameters = blockParameters(ordered, scheme);
    torch::Tensor output = torch::empty_like(ordered.matrix);
    runCodec(CodecPass::EncodeDecode, ordered.matrix, output, ordered.inputDim, parameters, scheme);
    return canonicalView(output, ordered.inputDim);
}

torch::Tensor fakeQuantizeSte(const torch::Tensor& weight, const QuantScheme& scheme)
{
    validateWeight(weight, scheme);
    return StraightThroughQuantize::apply(weight, scheme);
}

QuantizedTensor quantize(const torch::Tensor& weight, const QuantScheme& scheme)
{
    validateWeight(weight, scheme);
    if (scheme.bits == kUnquantizedBits) {
        throw Error("cannot quantize to bit-width 32: it has no quantized form; keep the float32 weight");
    }
    torch::NoGradGuard noGrad;
    const torch::Tensor values = weight.to(torch::kFloat);

    QuantizedTensor q;
    q.scheme = scheme;
    q.shape = values.sizes().vec();
    if (scheme.bits == 16) {
        q.half = values.to(torch::kHalf, /*non_blocking=*/false, /*copy=*/false, torch::MemoryFormat::Contiguous);
        return q;
    }

    const MemoryOrderMatrix ordered = memoryOrder(values);
    const std::vector<GroupParameters> parameters = blockParameters(ordered, scheme);
    torch::Tensor codes = torch::empty_like(ordered.matrix);
    runCodec(CodecPass::Encode, ordered.matrix, codes, ordered.inputDim, parameters, scheme);
    q.codes = canonicalView(codes.to(torch::kByte), ordered.inputDim).contiguous();

    std::vector<torch::Tensor> scales;
    std::vector<torch::Tensor> zeroPoints;
    for (const GroupParameters& block : parameters) {
        scales.push_back(block.scale);
        zeroPoints.push_back(block.zeroPoint);
    }
    q.scales = joinBlockParameters(scales, ordered.inputDim, q.shape, scheme).to(torch::kHalf);
    q.zeroPoints = joinBlockParameters(zeroPoints, ordered.inputDim, q.shape, scheme).to(torch::kHalf);
    return q;
}

torch::Tensor dequantize(const QuantizedTensor& q)
{
    validateQuantized(q);
    torch::NoGradGuard noGrad;

    if (q.scheme.bits == 16) {
        return q.half.to(torch::kFloat, /*non_blocking=*/false, /*copy=*/false, torch::MemoryFormat::Contiguous);
    }

    const std::vector<torch::Tensor> scales = splitStoredParameters(q.scales, q.shape, q.scheme);
    const std::vector<torch::Tensor> zeroPoints = splitStoredParameters(q.zeroPoints, q.shape, q.scheme);
    std::vector<GroupParameters> parameters;
    for (size_t i = 0; i < scales.size(); ++i) {
        parameters.push_back({scales[i], zeroPoints[i]});
    }

    torch::Tensor output = q.codes.to(torch::kFloat, /*non_blocking=*/false, /*copy=*/false,
                                      torch::MemoryFormat::Contiguous);
    runCodec(CodecPass::Decode, output, output, /*inputDim=*/1, parameters, q.scheme);
    return output;
}

torch::Tensor elementScales(const QuantizedTensor& q)
{
    validateQuantized(q);
    if (q.scheme.bits > 8) {
        throw Error("a " + describeScheme(q.scheme) + " weight has no scales");
    }

    const int64_t outChannels = q.shape[0];
    const int64_t inFeatures = q.shape[1];
    const torch::Tensor scales = q.scales.to(torch::kFloat);
    switch (q.scheme.granularity) {
    case Granularity::PerTensor:
        return scales.expand({outChannels, inFeatures});
    case Granularity::PerChannel:
        return scales.unsqueeze(1).expand({outChannels, inFeatures});
    case Granularity::PerGroup:
        break;
    }
    const GroupLayout layout = groupLayout(inFeatures, q.scheme);
    return scales.repeat_interleave(layout.groupSize, 1).narrow(1, 0, inFeatures);
}

} // namespace rlq

#pragma once

// Internal helpers of core/quant. They split a weight matrix into
// quantization groups and convert per-group parameters between the
// block-shaped tensors of the quantizer and the stored [1], [out] or
// [out, groups] layout.

#include "quant/QuantTypes.h"

#include <torch/torch.h>

#include <vector>

namespace rlq {

// Split of one row of inFeatures weights into `fullGroups` groups of
// `groupSize` and a shorter last group of `remainder` weights (0 when
// groupSize divides inFeatures). A group size above inFeatures gives one
// group per row.
struct GroupLayout {
    int64_t groupSize = 0;
    int64_t fullGroups = 0;
    int64_t remainder = 0;
};

GroupLayout groupLayout(int64_t inFeatures, const QuantScheme& scheme);

// A canonical [out, in] weight matrix as a contiguous tensor in memory
// order. Column-major weights, such as the transposed view of a GPT-2
// Conv1D [in, out] tensor, keep their storage as [in, out], so every pass
// reads memory in order and the per-group parameters run along the fastest
// dimension. Other layouts are copied to a contiguous [out, in] tensor.
struct MemoryOrderMatrix {
    torch::Tensor matrix;  // contiguous [out, in] or [in, out]
    int64_t inputDim = 1;  // dimension of `matrix` along inFeatures: 1 for [out, in], 0 for [in, out]
};

MemoryOrderMatrix memoryOrder(const torch::Tensor& canonical);

// The canonical [out, in] view of a memory-order matrix.
torch::Tensor canonicalView(const torch::Tensor& matrix, int64_t inputDim);

// Part of a memory-order matrix whose groups all have the same size. Each
// group is one slice along `groupDim`, or the whole block when
// `wholeBlock` is set (per tensor).
struct GroupBlock {
    torch::Tensor values;  // a view into the matrix
    int64_t groupDim = 0;
    bool wholeBlock = false;
};

// Splits a contiguous memory-order matrix into views: the whole matrix per
// tensor or per channel, and per group one block of the full groups (the
// input dimension split into [fullGroups, groupSize]) plus one block for a
// shorter last group. Writes to a block land in `matrix`.
std::vector<GroupBlock> groupBlocks(const torch::Tensor& matrix, int64_t inputDim, const QuantScheme& scheme);

// Stored shape of the scales and zero points of a canonical [out, in]
// matrix: [1], [out] or [out, ceil(in / groupSize)].
std::vector<int64_t> storedParameterShape(const std::vector<int64_t>& shape, const QuantScheme& scheme);

// Joins one parameter (scale or zero point) of every block of groupBlocks
// into a contiguous float32 tensor of storedParameterShape.
torch::Tensor joinBlockParameters(const std::vector<torch::Tensor>& blockValues, int64_t inputDim,
                                  const std::vector<int64_t>& shape, const QuantScheme& scheme);

// Splits a stored parameter into float32 tensors that broadcast against the
// blocks of groupBlocks for a row-major [out, in] matrix (inputDim 1).
std::vector<torch::Tensor> splitStoredParameters(const torch::Tensor& stored, const std::vector<int64_t>& shape,
                                                 const QuantScheme& scheme);

} // namespace rlq

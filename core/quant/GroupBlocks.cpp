#include "quant/GroupBlocks.h"

#include <algorithm>

namespace rlq {

GroupLayout groupLayout(int64_t inFeatures, const QuantScheme& scheme)
{
    GroupLayout layout;
    layout.groupSize = std::min(scheme.groupSize, inFeatures);
    layout.fullGroups = inFeatures / layout.groupSize;
    layout.remainder = inFeatures % layout.groupSize;
    return layout;
}

MemoryOrderMatrix memoryOrder(const torch::Tensor& canonical)
{
    if (canonical.is_contiguous()) {
        return {canonical, 1};
    }

    const torch::Tensor transposed = canonical.t();
    if (transposed.is_contiguous()) {
        return {transposed, 0};
    }
    return {canonical.contiguous(), 1};
}

torch::Tensor canonicalView(const torch::Tensor& matrix, int64_t inputDim)
{
    return inputDim == 1 ? matrix : matrix.t();
}

std::vector<GroupBlock> groupBlocks(const torch::Tensor& matrix, int64_t inputDim, const QuantScheme& scheme)
{
    switch (scheme.granularity) {
    case Granularity::PerTensor:
        return {{matrix, 0, true}};
    case Granularity::PerChannel:
        return {{matrix, inputDim, false}};
    case Granularity::PerGroup:
        break;
    }

    const GroupLayout layout = groupLayout(matrix.size(inputDim), scheme);
    const int64_t fullWidth = layout.fullGroups * layout.groupSize;

    // Splitting the input dimension into [fullGroups, groupSize] puts the
    // weights of each group along inputDim + 1.
    std::vector<int64_t> fullShape = matrix.sizes().vec();
    fullShape[inputDim] = layout.groupSize;
    fullShape.insert(fullShape.begin() + inputDim, layout.fullGroups);

    std::vector<GroupBlock> blocks;
    blocks.push_back({matrix.narrow(inputDim, 0, fullWidth).view(fullShape), inputDim + 1, false});
    if (layout.remainder > 0) {
        blocks.push_back({matrix.narrow(inputDim, fullWidth, layout.remainder), inputDim, false});
    }
    return blocks;
}

std::vector<int64_t> storedParameterShape(const std::vector<int64_t>& shape, const QuantScheme& scheme)
{
    switch (scheme.granularity) {
    case Granularity::PerTensor:
        return {1};
    case Granularity::PerChannel:
        return {shape[0]};
    case Granularity::PerGroup:
        break;
    }
    const GroupLayout layout = groupLayout(shape[1], scheme);
    return {shape[0], layout.fullGroups + (layout.remainder > 0 ? 1 : 0)};
}

torch::Tensor joinBlockParameters(const std::vector<torch::Tensor>& blockValues, int64_t inputDim,
                                  const std::vector<int64_t>& shape, const QuantScheme& scheme)
{
    if (scheme.granularity != Granularity::PerGroup) {
        return blockValues[0].reshape(storedParameterShape(shape, scheme));
    }

    // A block's parameter tensor lists its groups along the input dimension,
    // as [out, groups, 1] and [out, 1] (row-major) or as [groups, 1, out] and
    // [1, out] (column-major).
    const int64_t outChannels = shape[0];
    std::vector<torch::Tensor> columns;
    for (const torch::Tensor& values : blockValues) {
        columns.push_back(inputDim == 1 ? values.reshape({outChannels, -1}) : values.reshape({-1, outChannels}).t());
    }
    return torch::cat(columns, 1);
}

std::vector<torch::Tensor> splitStoredParameters(const torch::Tensor& stored, const std::vector<int64_t>& shape,
                                                 const QuantScheme& scheme)
{
    const torch::Tensor values = stored.to(torch::kFloat);
    switch (scheme.granularity) {
    case Granularity::PerTensor:
        return {values};
    case Granularity::PerChannel:
        return {values.unsqueeze(1)};
    case Granularity::PerGroup:
        break;
    }

    const GroupLayout layout = groupLayout(shape[1], scheme);
    std::vector<torch::Tensor> blocks = {values.narrow(1, 0, layout.fullGroups).unsqueeze(2)};
    if (layout.remainder > 0) {
        blocks.push_back(values.narrow(1, layout.fullGroups, 1));
    }
    return blocks;
}

} // namespace rlq

#include "eval/Perplexity.h"

#include "util/Error.h"

#include <cmath>

namespace rlq {

std::string PerplexityProtocol::describe() const
{
    if (kind == Kind::Blocks) {
        return "non-overlapping windows of " + std::to_string(window) + " inputs, each predicting the next token";
    }
    return "sliding window of " + std::to_string(window) + " tokens with stride " + std::to_string(stride) +
           ", only new tokens scored";
}

std::pair<torch::Tensor, torch::Tensor> blockWindows(const std::vector<int32_t>& ids, int64_t window,
                                                     int64_t maxWindows)
{
    const int64_t total = int64_t(ids.size());
    int64_t count = total > 0 ? (total - 1) / window : 0;
    if (maxWindows > 0) {
        count = std::min(count, maxWindows);
    }
    auto all = torch::from_blob(const_cast<int32_t*>(ids.data()), {total}, torch::kInt32).to(torch::kInt64);
    auto inputs = all.narrow(0, 0, count * window).view({count, window});
    auto targets = all.narrow(0, 1, count * window).view({count, window});
    return {inputs, targets};
}

double meanNllOfWindows(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputs,
                        const torch::Tensor& targets, int64_t batchSize)
{
    c10::InferenceMode inference;
    double sum = 0;
    const int64_t count = inputs.size(0);
    for (int64_t start = 0; start < count; start += batchSize) {
        const int64_t size = std::min(batchSize, count - start);
        auto hidden = gpt2HiddenStates(config, weights, inputs.narrow(0, start, size));
        auto nll = tokenNegativeLogLikelihood(hidden.reshape({-1, config.nEmbd}), weights.wte,
                                              targets.narrow(0, start, size).reshape({-1}));
        sum += nll.sum().item<double>();
    }
    return sum / double(targets.numel());
}

namespace {

PerplexityResult evaluateBlocks(const Gpt2Config& config, const Gpt2Weights& weights,
                                const std::vector<int32_t>& ids, int64_t window, int64_t batchSize)
{
    auto [inputs, targets] = blockWindows(ids, window);
    if (inputs.size(0) == 0) {
        throw Error("the text has " + std::to_string(ids.size()) + " tokens, fewer than one window of " +
                    std::to_string(window) + " plus one; use a longer text or a smaller --window");
    }
    PerplexityResult result;
    result.windows = inputs.size(0);
    result.tokensScored = targets.numel();
    result.meanNll = meanNllOfWindows(config, weights, inputs, targets, batchSize);
    return result;
}

PerplexityResult evaluateSliding(const Gpt2Config& config, const Gpt2Weights& weights,
                                 const std::vector<int32_t>& ids, int64_t window, int64_t stride)
{
    c10::InferenceMode inference;
    const int64_t total = int64_t(ids.size());
    if (total < 2) {
        throw Error("the text has fewer than 2 tokens; nothing to score");
    }
    auto all = torch::from_blob(const_cast<int32_t*>(ids.data()), {total}, torch::kInt32).to(torch::kInt64);

    PerplexityResult result;
    double sum = 0;
    int64_t previousEnd = 0;
    for (int64_t begin = 0; begin < total; begin += stride) {
        const int64_t end = std::min(begin + window, total);
        // Targets are ids[j] for j in [firstTarget, end), each predicted
        // from position j - 1 - begin of this window.
        const int64_t firstTarget = std::max(begin + 1, previousEnd);
        if (firstTarget < end) {
            auto input = all.narrow(0, begin, end - begin - 1).unsqueeze(0);
            auto hidden = gpt2HiddenStates(config, weights, input).squeeze(0);
            const int64_t offset = firstTarget - 1 - begin;
            auto nll = tokenNegativeLogLikelihood(hidden.narrow(0, offset, end - firstTarget), weights.wte,
                                                  all.narrow(0, firstTarget, end - firstTarget));
            sum += nll.sum().item<double>();
            result.tokensScored += end - firstTarget;
            result.windows += 1;
        }
        previousEnd = end;
        if (end == total) {
            break;
        }
    }
    result.meanNll = sum / double(result.tokensScored);
    return result;
}

} // namespace

PerplexityResult evaluatePerplexity(const Gpt2Config& config, const Gpt2Weights& weights,
                                    const std::vector<int32_t>& ids, const PerplexityProtocol& protocol,
                                    int64_t maxTokens, int64_t batchSize)
{
    if (protocol.window < 1 || protocol.window > config.nPositions) {
        throw Error("window " + std::to_string(protocol.window) + " is outside 1.." +
                    std::to_string(config.nPositions) + " (the model's positions); pick a window in that range");
    }
    if (protocol.kind == PerplexityProtocol::Kind::Sliding &&
        (protocol.stride < 1 || protocol.stride > protocol.window)) {
        throw Error("stride " + std::to_string(protocol.stride) + " must be between 1 and the window " +
                    std::to_string(protocol.window));
    }

    std::vector<int32_t> used = ids;
    if (maxTokens > 0 && int64_t(used.size()) > maxTokens) {
        used.resize(size_t(maxTokens));
    }

    PerplexityResult result = protocol.kind == PerplexityProtocol::Kind::Blocks
                                  ? evaluateBlocks(config, weights, used, protocol.window, batchSize)
                                  : evaluateSliding(config, weights, used, protocol.window, protocol.stride);
    result.tokensInText = int64_t(used.size());
    result.perplexity = std::exp(result.meanNll);
    return result;
}

} // namespace rlq

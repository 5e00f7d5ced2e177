#pragma once

#include "model/Gpt2Model.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace rlq {

// How a long token sequence is cut into model inputs for perplexity.
struct PerplexityProtocol {
    enum class Kind {
        // Non-overlapping windows: window i feeds ids[W*i, W*i + W) and
        // scores ids[W*i + 1, W*i + W + 1). Tokens after the last whole
        // window are not scored.
        Blocks,
        // Hugging Face's sliding window: windows of W ids start every S ids;
        // each scores only the targets the previous window did not, so every
        // token but the first is scored once, with up to W - 1 tokens of context.
        Sliding,
    };
    Kind kind = Kind::Blocks;
    int64_t window = 128;
    int64_t stride = 128;     // Sliding only

    std::string describe() const;
};

struct PerplexityResult {
    double meanNll = 0;           // nats per scored token
    double perplexity = 0;        // exp(meanNll)
    int64_t tokensScored = 0;
    int64_t windows = 0;
    int64_t tokensInText = 0;
};

// Scores `ids` under the protocol, `batchSize` windows per forward pass,
// under InferenceMode. maxTokens > 0 keeps only the first maxTokens ids.
// Throws rlq::Error when the text is too short for one window or the window
// exceeds the model's positions.
PerplexityResult evaluatePerplexity(const Gpt2Config& config, const Gpt2Weights& weights,
                                    const std::vector<int32_t>& ids, const PerplexityProtocol& protocol,
                                    int64_t maxTokens = 0, int64_t batchSize = 16);

// Windows of the Blocks protocol as two [count, window] int64 tensors
// (inputs, targets); used for fine-tuning batches and validation loss too.
std::pair<torch::Tensor, torch::Tensor> blockWindows(const std::vector<int32_t>& ids, int64_t window,
                                                     int64_t maxWindows = 0);

// Mean negative log-likelihood of the given windows (inputs and targets as
// returned by blockWindows), batchSize windows per forward pass.
double meanNllOfWindows(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputs,
                        const torch::Tensor& targets, int64_t batchSize = 16);

} // namespace rlq

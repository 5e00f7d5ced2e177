#pragma once

#include <filesystem>
#include <string>

namespace rlq {

// The fields of a Hugging Face GPT-2 config.json that the forward pass uses.
// Defaults are those of transformers' GPT2Config.
struct Gpt2Config {
    int64_t nLayer = 12;
    int64_t nHead = 12;
    int64_t nEmbd = 768;
    int64_t nInner = 0;            // width of the MLP; 0 in the file means 4 * nEmbd
    int64_t nPositions = 1024;
    int64_t vocabSize = 50257;
    double layerNormEpsilon = 1e-5;
    std::string activation = "gelu_new";
    bool scaleAttnWeights = true;  // divide attention scores by sqrt(head width)

    int64_t headDim() const { return nEmbd / nHead; }
    int64_t mlpWidth() const { return nInner > 0 ? nInner : 4 * nEmbd; }
};

// Reads config.json. Throws rlq::Error naming the file, the field and the
// fix for a missing file, invalid JSON, a model type other than gpt2, or
// values the forward pass cannot run.
Gpt2Config readGpt2Config(const std::filesystem::path& configJson);

// The config as JSON text in Hugging Face's layout (for exported folders).
std::string gpt2ConfigJson(const Gpt2Config& config);

} // namespace rlq

#pragma once

#include "model/Gpt2Config.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace rlq {

// Tensors of one transformer block, in Hugging Face's storage layout:
// Conv1D weights are [in, out] and c_attn fuses query, key and value along
// the output dimension in that order.
struct Gpt2Block {
    torch::Tensor ln1Weight, ln1Bias;
    torch::Tensor attnWeight, attnBias;          // c_attn: [nEmbd, 3 * nEmbd]
    torch::Tensor attnProjWeight, attnProjBias;  // attn.c_proj: [nEmbd, nEmbd]
    torch::Tensor ln2Weight, ln2Bias;
    torch::Tensor fcWeight, fcBias;              // mlp.c_fc: [nEmbd, mlpWidth]
    torch::Tensor mlpProjWeight, mlpProjBias;    // mlp.c_proj: [mlpWidth, nEmbd]
};

// All float32 parameters of a GPT-2 LM. The LM head is tied to wte.
// Copying this struct copies tensor handles, not data: a quantized variant
// replaces only the weight matrices it changes and shares the rest.
struct Gpt2Weights {
    torch::Tensor wte;   // [vocabSize, nEmbd]
    torch::Tensor wpe;   // [nPositions, nEmbd]
    std::vector<Gpt2Block> blocks;
    torch::Tensor lnfWeight, lnfBias;

    // Every tensor with its Hugging Face key (without "transformer.").
    std::vector<std::pair<std::string, torch::Tensor>> named() const;
    std::vector<std::pair<std::string, torch::Tensor*>> namedMutable();

    // Deep copy; the copy's tensors do not share storage with this one.
    Gpt2Weights clone() const;
    int64_t parameterCount() const;
};

// A weight matrix that the quantization policy assigns a bit-width to.
enum class UnitKind { TokenEmbedding, PositionEmbedding, AttentionQkv, AttentionProjection, MlpUp, MlpDown };

std::string unitKindName(UnitKind kind);   // "wte", "wpe", "attn.c_attn", ...

struct WeightUnit {
    std::string name;        // Hugging Face key without ".weight", e.g. "h.3.mlp.c_fc"
    UnitKind kind;
    int block = -1;          // -1 for the embeddings
    std::vector<int64_t> canonicalShape;   // [outChannels, inFeatures]
    int64_t parameterCount = 0;
};

// The decision units in forward order: wte, wpe, then per block c_attn,
// attn.c_proj, mlp.c_fc, mlp.c_proj (2 + 4 * nLayer units).
std::vector<WeightUnit> weightUnits(const Gpt2Config& config);

// The stored tensor of a unit (Conv1D layout for block matrices).
torch::Tensor& unitTensor(Gpt2Weights& weights, const WeightUnit& unit);
const torch::Tensor& unitTensor(const Gpt2Weights& weights, const WeightUnit& unit);

// Views between stored and canonical [out, in] layouts. wte and wpe are
// already [out, in] (one row per token or position); Conv1D weights are
// transposed views.
torch::Tensor toCanonical(const torch::Tensor& stored, UnitKind kind);
torch::Tensor fromCanonical(const torch::Tensor& canonical, UnitKind kind);

// Loads model.safetensors, accepting keys with or without "transformer."
// and F32/F16/BF16 data, and checks every shape against the config.
Gpt2Weights loadGpt2Weights(const std::filesystem::path& safetensorsPath, const Gpt2Config& config);

// Final hidden states (after ln_f) for input ids [batch, time]; positions
// start at 0 in every row. Returns [batch, time, nEmbd].
torch::Tensor gpt2HiddenStates(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputIds);

// Logits [batch, time, vocabSize] through the tied LM head.
torch::Tensor gpt2Logits(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputIds);

// Negative log-likelihood of each target given the hidden state before it,
// for hidden [n, nEmbd] and targets [n] (int64). Returns [n] (float32).
// Computes the LM head in row chunks so the full [n, vocab] logits are never
// held at once; meant for evaluation under InferenceMode.
torch::Tensor tokenNegativeLogLikelihood(const torch::Tensor& hidden, const torch::Tensor& wte,
                                         const torch::Tensor& targets);

} // namespace rlq

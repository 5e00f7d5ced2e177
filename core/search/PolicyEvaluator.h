#pragma once

#include "data/Dataset.h"
#include "model/Gpt2Model.h"
#include "model/ModelLocator.h"
#include "search/SearchTypes.h"

#include <torch/torch.h>

#include <map>
#include <memory>
#include <vector>

namespace rlq {

// A group of weight matrices that receive one bit-width together: one
// matrix, or all matrices of a block when units are grouped per block.
struct DecisionUnit {
    UnitInfo info;
    std::vector<int> matrices;   // indices into the model's weightUnits()
};

std::vector<DecisionUnit> makeDecisionUnits(const Gpt2Config& config, bool groupPerBlock);

// Applies bit-width policies to a model and measures them: the footprint,
// the validation loss without fine-tuning, and the loss after K steps of
// quantization-aware fine-tuning. The fake-quantized weights of the
// original model are cached per (matrix, bit-width), so a policy that
// changes one unit re-quantizes only that unit.
class PolicyEvaluator {
public:
    PolicyEvaluator(const Gpt2Config& config, const Gpt2Weights& original, std::vector<DecisionUnit> units,
                    const QuantSettings& quant, const FinetuneSettings& finetune, torch::Tensor finetuneIds,
                    uint64_t seed);

    const std::vector<WeightUnit>& matrices() const { return matrices_; }
    const std::vector<DecisionUnit>& units() const { return units_; }

    // Per-matrix bit-widths of a per-unit policy.
    std::vector<int> matrixBits(const std::vector<int>& unitBits) const;

    // Weights with every matrix fake-quantized under the policy; all other
    // tensors are shared with the original.
    Gpt2Weights quantizedWeights(const std::vector<int>& unitBits);

    // Weights after quantization-aware fine-tuning of a fresh copy of the
    // original under the policy, fake-quantized for evaluation. Returns the
    // quantized original when the fine-tuning step count is 0. Every call
    // uses the same fine-tuning batches, so a policy's result depends on the
    // policy alone. `keepGoing` is checked between steps.
    Gpt2Weights finetunedWeights(const std::vector<int>& unitBits, const std::function<bool()>& keepGoing = {});

    // The float32 weights behind finetunedWeights, before the final
    // quantization: what a checkpoint export quantizes to its stored form.
    // A deep copy of the original when the step count is 0.
    Gpt2Weights finetunedLatentWeights(const std::vector<int>& unitBits, const std::function<bool()>& keepGoing = {});

    QuantScheme schemeFor(int bits) const;

    // Footprint of the whole model in bytes: quantized matrices with their
    // fp16 scales and zero points, plus the float32 remainder.
    int64_t footprint(const std::vector<int>& unitBits) const;
    // Parameter-weighted mean bit-width over the quantized matrices.
    double averageBits(const std::vector<int>& unitBits) const;
    int64_t float32Bytes() const;
    int64_t float16Bytes() const;
    int64_t quantizableParameters() const { return quantizableParameters_; }
    int64_t finetuneTokenCount() const { return finetuneIds_.numel(); }

    // Bytes of unit `unit` at `bits` (all its matrices).
    int64_t unitBytes(int unit, int bits) const;

private:
    const torch::Tensor& cachedQuantized(int matrix, int bits);
    torch::Tensor finetuneBatch(int step) const;

    Gpt2Config config_;
    Gpt2Weights original_;
    std::vector<WeightUnit> matrices_;
    std::vector<DecisionUnit> units_;
    QuantSettings quant_;
    FinetuneSettings finetune_;
    torch::Tensor finetuneIds_;            // int64 [tokens]
    std::vector<int64_t> batchOffsets_;    // window starts, finetune.steps * batchSize of them
    std::map<std::pair<int, int>, torch::Tensor> quantizedCache_;   // (matrix, bits) -> stored layout
    int64_t quantizableParameters_ = 0;
    int64_t remainderParameters_ = 0;
};

// Split settings of a run: its seed, validation fraction and row limits.
SplitSettings runSplitSettings(const RunSettings& settings);

// The evaluator a run uses: its decision units, quantization settings, and
// fine-tuning settings, split and seed. A policy applied through it gets
// exactly the fine-tuning it got during the run.
std::unique_ptr<PolicyEvaluator> makeRunEvaluator(const RunSettings& settings, const LoadedModel& model,
                                                  const DatasetSplits& splits);

} // namespace rlq

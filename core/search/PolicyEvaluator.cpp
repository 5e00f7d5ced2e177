#include "search/PolicyEvaluator.h"

#include "quant/Quantization.h"
#include "util/Error.h"

#include <random>

namespace rlq {

std::vector<DecisionUnit> makeDecisionUnits(const Gpt2Config& config, bool groupPerBlock)
{
    const auto matrices = weightUnits(config);
    std::vector<DecisionUnit> units;
    for (int m = 0; m < int(matrices.size()); ++m) {
        const WeightUnit& matrix = matrices[size_t(m)];
        const bool joinsBlock = groupPerBlock && matrix.block >= 0 && !units.empty() &&
                                units.back().info.block == matrix.block;
        if (joinsBlock) {
            units.back().matrices.push_back(m);
            units.back().info.parameterCount += matrix.parameterCount;
            continue;
        }

        DecisionUnit unit;
        unit.matrices = {m};
        unit.info.block = matrix.block;
        unit.info.parameterCount = matrix.parameterCount;
        if (groupPerBlock && matrix.block >= 0) {
            unit.info.name = "h." + std::to_string(matrix.block);
            unit.info.kind = "block";
        } else {
            unit.info.name = matrix.name;
            unit.info.kind = unitKindName(matrix.kind);
        }
        units.push_back(std::move(unit));
    }
    return units;
}

PolicyEvaluator::PolicyEvaluator(const Gpt2Config& config, const Gpt2Weights& original,
                                 std::vector<DecisionUnit> units, const QuantSettings& quant,
                                 const FinetuneSettings& finetune, torch::Tensor finetuneIds, uint64_t seed)
    : config_(config), original_(original), matrices_(weightUnits(config)), units_(std::move(units)), quant_(quant),
      finetune_(finetune), finetuneIds_(std::move(finetuneIds))
{
    for (const auto& matrix : matrices_) {
        quantizableParameters_ += matrix.parameterCount;
    }
    remainderParameters_ = original_.parameterCount() - quantizableParameters_;

    // The fine-tuning batches are drawn once from the run seed, so that
    // every policy is fine-tuned on the same windows.
    const int64_t windows = finetune_.steps * finetune_.batchSize;
    const int64_t span = finetuneIds_.numel() - finetune_.window - 1;
    if (windows > 0 && span < 0) {
        throw Error("the fine-tuning split has " + std::to_string(finetuneIds_.numel()) +
                    " tokens, fewer than one window of " + std::to_string(finetune_.window) +
                    "; use more fine-tuning data or a smaller window");
    }
    std::mt19937_64 generator(seed ^ 0x5eedf17eULL);
    for (int64_t i = 0; i < windows; ++i) {
        batchOffsets_.push_back(int64_t(generator() % uint64_t(span + 1)));
    }
}

QuantScheme PolicyEvaluator::schemeFor(int bits) const
{
    return QuantScheme{bits, quant_.granularity, quant_.groupSize};
}

std::vector<int> PolicyEvaluator::matrixBits(const std::vector<int>& unitBits) const
{
    if (unitBits.size() != units_.size()) {
        throw Error("policy has " + std::to_string(unitBits.size()) + " bit-widths but the model has " +
                    std::to_string(units_.size()) + " decision units");
    }
    std::vector<int> bits(matrices_.size(), kUnquantizedBits);
    for (size_t u = 0; u < units_.size(); ++u) {
        for (int m : units_[u].matrices) {
            bits[size_t(m)] = unitBits[u];
        }
    }
    return bits;
}

const torch::Tensor& PolicyEvaluator::cachedQuantized(int matrix, int bits)
{
    const auto key = std::make_pair(matrix, bits);
    auto found = quantizedCache_.find(key);
    if (found != quantizedCache_.end()) {
        return found->second;
    }
    c10::InferenceMode inference;
    const WeightUnit& unit = matrices_[size_t(matrix)];
    const auto canonical = toCanonical(unitTensor(original_, unit), unit.kind);
    auto stored = fromCanonical(fakeQuantize(canonical, schemeFor(bits)), unit.kind);
    return quantizedCache_.emplace(key, stored).first->second;
}

Gpt2Weights PolicyEvaluator::quantizedWeights(const std::vector<int>& unitBits)
{
    const auto bits = matrixBits(unitBits);
    Gpt2Weights weights = original_;
    for (size_t m = 0; m < matrices_.size(); ++m) {
        if (bits[m] != kUnquantizedBits) {
            unitTensor(weights, matrices_[m]) = cachedQuantized(int(m), bits[m]);
        }
    }
    return weights;
}

torch::Tensor PolicyEvaluator::finetuneBatch(int step) const
{
    std::vector<torch::Tensor> rows;
    for (int b = 0; b < finetune_.batchSize; ++b) {
        const int64_t offset = batchOffsets_[size_t(step * finetune_.batchSize + b)];
        rows.push_back(finetuneIds_.narrow(0, offset, finetune_.window + 1));
    }
    return torch::stack(rows);
}

Gpt2Weights PolicyEvaluator::finetunedWeights(const std::vector<int>& unitBits, const std::function<bool()>& keepGoing)
{
    if (finetune_.steps == 0) {
        return quantizedWeights(unitBits);
    }
    const auto bits = matrixBits(unitBits);
    Gpt2Weights result = finetunedLatentWeights(unitBits, keepGoing);

    // Evaluation uses the fine-tuned weights quantized once more.
    c10::InferenceMode inference;
    for (size_t m = 0; m < matrices_.size(); ++m) {
        const WeightUnit& unit = matrices_[m];
        if (bits[m] != kUnquantizedBits) {
            const auto canonical = toCanonical(unitTensor(result, unit), unit.kind);
            unitTensor(result, unit) = fromCanonical(fakeQuantize(canonical, schemeFor(bits[m])), unit.kind);
        }
    }
    return result;
}

Gpt2Weights PolicyEvaluator::finetunedLatentWeights(const std::vector<int>& unitBits,
                                                    const std::function<bool()>& keepGoing)
{
    const auto bits = matrixBits(unitBits);

    // A fresh trainable copy of the original: every policy starts from the
    // same float32 weights.
    Gpt2Weights master = original_.clone();
    if (finetune_.steps == 0) {
        return master;
    }
    std::vector<torch::Tensor> parameters;
    for (auto& [name, tensor] : master.namedMutable()) {
        tensor->set_requires_grad(true);
        parameters.push_back(*tensor);
    }
    torch::optim::AdamW optimizer(parameters, torch::optim::AdamWOptions(finetune_.learningRate).weight_decay(0.0));

    for (int step = 0; step < finetune_.steps; ++step) {
        if (keepGoing && !keepGoing()) {
            break;
        }
        Gpt2Weights effective = master;
        for (size_t m = 0; m < matrices_.size(); ++m) {
            const WeightUnit& unit = matrices_[m];
            const auto canonical = toCanonical(unitTensor(master, unit), unit.kind);
            unitTensor(effective, unit) = fromCanonical(fakeQuantizeSte(canonical, schemeFor(bits[m])), unit.kind);
        }

        const auto batch = finetuneBatch(step);
        const auto inputs = batch.narrow(1, 0, finetune_.window);
        const auto targets = batch.narrow(1, 1, finetune_.window);
        const auto logits = gpt2Logits(config_, effective, inputs);
        const auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, config_.vocabSize}),
                                                               targets.reshape({-1}));
        if (!std::isfinite(loss.item<double>())) {
            throw Error("fine-tuning loss became " + std::to_string(loss.item<double>()) + " at step " +
                        std::to_string(step + 1) + "; lower the fine-tuning learning rate");
        }
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    for (auto& [name, tensor] : master.namedMutable()) {
        *tensor = tensor->detach();
    }
    return master;
}

int64_t PolicyEvaluator::unitBytes(int unit, int bits) const
{
    int64_t bytes = 0;
    for (int m : units_.at(size_t(unit)).matrices) {
        bytes += footprintBytes(matrices_[size_t(m)].canonicalShape, schemeFor(bits));
    }
    return bytes;
}

int64_t PolicyEvaluator::footprint(const std::vector<int>& unitBits) const
{
    const auto bits = matrixBits(unitBits);
    int64_t bytes = remainderParameters_ * 4;
    for (size_t m = 0; m < matrices_.size(); ++m) {
        bytes += footprintBytes(matrices_[m].canonicalShape, schemeFor(bits[m]));
    }
    return bytes;
}

double PolicyEvaluator::averageBits(const std::vector<int>& unitBits) const
{
    const auto bits = matrixBits(unitBits);
    double weighted = 0;
    for (size_t m = 0; m < matrices_.size(); ++m) {
        weighted += double(bits[m]) * double(matrices_[m].parameterCount);
    }
    return weighted / double(quantizableParameters_);
}

int64_t PolicyEvaluator::float32Bytes() const
{
    return (quantizableParameters_ + remainderParameters_) * 4;
}

int64_t PolicyEvaluator::float16Bytes() const
{
    return (quantizableParameters_ + remainderParameters_) * 2;
}

SplitSettings runSplitSettings(const RunSettings& settings)
{
    SplitSettings split;
    split.seed = settings.seed;
    split.validationFraction = settings.validationFraction;
    split.maxTrainItems = settings.maxFinetuneItems;
    split.maxValidationItems = settings.maxValidationItems;
    return split;
}

std::unique_ptr<PolicyEvaluator> makeRunEvaluator(const RunSettings& settings, const LoadedModel& model,
                                                  const DatasetSplits& splits)
{
    const auto ids = model.tokenizer.encode(splits.finetune.text);
    auto finetuneIds = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64);
    return std::make_unique<PolicyEvaluator>(model.config, model.weights,
                                             makeDecisionUnits(model.config, settings.quant.groupUnitsPerBlock),
                                             settings.quant, settings.finetune, std::move(finetuneIds), settings.seed);
}

} // namespace rlq

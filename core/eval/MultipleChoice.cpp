#include "eval/MultipleChoice.h"

#include <algorithm>

namespace rlq {

namespace {

// Choices scored in one forward pass; short sequences (about 30 tokens) make
// larger batches cheap.
constexpr size_t kSequencesPerBatch = 64;

struct ScoredSequence {
    std::vector<int32_t> ids;     // prompt + continuation, truncated on the left
    int64_t continuationLength;   // the last continuationLength ids are scored
};

int64_t characterCount(const std::string& utf8)
{
    return std::count_if(utf8.begin(), utf8.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

ScoredSequence buildSequence(const Gpt2Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                             const std::string& continuation, int64_t maxPositions)
{
    ScoredSequence sequence{prompt, 0};
    const auto continuationIds = tokenizer.encode(continuation);
    sequence.ids.insert(sequence.ids.end(), continuationIds.begin(), continuationIds.end());
    sequence.continuationLength = int64_t(continuationIds.size());

    // The model reads ids[0, n-1) and predicts ids[1, n), so n may be one
    // more than the number of positions.
    const int64_t limit = maxPositions + 1;
    if (int64_t(sequence.ids.size()) > limit) {
        sequence.ids.erase(sequence.ids.begin(), sequence.ids.end() - limit);
        sequence.continuationLength = std::min(sequence.continuationLength, limit - 1);
    }
    return sequence;
}

// Sum of log-probabilities of each sequence's continuation tokens.
std::vector<double> scoreSequences(const Gpt2Config& config, const Gpt2Weights& weights,
                                   const std::vector<ScoredSequence>& sequences)
{
    int64_t longest = 0;
    for (const auto& sequence : sequences) {
        longest = std::max(longest, int64_t(sequence.ids.size()) - 1);
    }

    // Right padding with token 0 is harmless: attention is causal, so the
    // padded positions never influence the scored ones.
    auto inputs = torch::zeros({int64_t(sequences.size()), longest}, torch::kInt64);
    std::vector<int64_t> rows, positions, targets;
    auto accessor = inputs.accessor<int64_t, 2>();
    for (size_t s = 0; s < sequences.size(); ++s) {
        const auto& ids = sequences[s].ids;
        const int64_t length = int64_t(ids.size());
        for (int64_t t = 0; t + 1 < length; ++t) {
            accessor[int64_t(s)][t] = ids[size_t(t)];
        }
        for (int64_t t = length - sequences[s].continuationLength; t < length; ++t) {
            rows.push_back(int64_t(s));
            positions.push_back(t - 1);
            targets.push_back(ids[size_t(t)]);
        }
    }

    auto hidden = gpt2HiddenStates(config, weights, inputs);
    auto rowIndex = torch::tensor(rows, torch::kInt64);
    auto positionIndex = torch::tensor(positions, torch::kInt64);
    auto scoredHidden = hidden.index({rowIndex, positionIndex});
    auto nll = tokenNegativeLogLikelihood(scoredHidden, weights.wte, torch::tensor(targets, torch::kInt64));

    std::vector<double> scores(sequences.size(), 0.0);
    auto nllAccessor = nll.accessor<float, 1>();
    for (size_t i = 0; i < rows.size(); ++i) {
        scores[size_t(rows[i])] -= nllAccessor[int64_t(i)];
    }
    return scores;
}

} // namespace

std::string multipleChoicePrompt(const QaItem& item)
{
    return "Q: " + item.stem + "\nA:";
}

std::string multipleChoiceContinuation(const QaItem& item, size_t choice)
{
    return " " + item.choiceTexts.at(choice);
}

MultipleChoiceResult evaluateMultipleChoice(const Gpt2Config& config, const Gpt2Weights& weights,
                                            const Gpt2Tokenizer& tokenizer, const std::vector<QaItem>& items,
                                            int64_t maxItems)
{
    c10::InferenceMode inference;
    const size_t count = maxItems > 0 ? std::min(items.size(), size_t(maxItems)) : items.size();

    MultipleChoiceResult result;
    int64_t correct = 0;
    int64_t correctNorm = 0;
    size_t next = 0;
    while (next < count) {
        // Gather whole items until the batch is full.
        std::vector<ScoredSequence> sequences;
        std::vector<size_t> batchItems;
        while (next < count && (sequences.empty() || sequences.size() + items[next].choiceTexts.size() <= kSequencesPerBatch)) {
            const QaItem& item = items[next];
            const auto prompt = tokenizer.encode(multipleChoicePrompt(item));
            for (size_t c = 0; c < item.choiceTexts.size(); ++c) {
                sequences.push_back(buildSequence(tokenizer, prompt, multipleChoiceContinuation(item, c), config.nPositions));
            }
            batchItems.push_back(next++);
        }

        const auto scores = scoreSequences(config, weights, sequences);
        size_t offset = 0;
        for (size_t index : batchItems) {
            const QaItem& item = items[index];
            size_t best = 0;
            size_t bestNorm = 0;
            double bestNormScore = 0;
            for (size_t c = 0; c < item.choiceTexts.size(); ++c) {
                const double score = scores[offset + c];
                const double normScore = score / double(std::max<int64_t>(1, characterCount(multipleChoiceContinuation(item, c))));
                if (c == 0 || score > scores[offset + best]) {
                    best = c;
                }
                if (c == 0 || normScore > bestNormScore) {
                    bestNorm = c;
                    bestNormScore = normScore;
                }
            }
            correct += int64_t(best) == item.answerIndex;
            correctNorm += int64_t(bestNorm) == item.answerIndex;
            offset += item.choiceTexts.size();
        }
    }

    result.items = int64_t(count);
    result.acc = count ? double(correct) / double(count) : 0.0;
    result.accNorm = count ? double(correctNorm) / double(count) : 0.0;
    return result;
}

} // namespace rlq

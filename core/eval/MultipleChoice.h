#pragma once

#include "data/Dataset.h"
#include "model/Gpt2Model.h"
#include "tokenizer/Gpt2Tokenizer.h"

#include <vector>

namespace rlq {

// Accuracy on multiple-choice questions scored as lm-evaluation-harness
// does: each choice's score is the sum of the log-probabilities of its
// tokens after the prompt. `acc` picks the highest sum; `accNorm` divides the
// sum by the choice's length in characters first.
struct MultipleChoiceResult {
    double acc = 0;
    double accNorm = 0;
    int64_t items = 0;
};

// The prompt and continuation matching the language-modelling rendering
// "Q: {stem}\nA: {answer}\n\n": prompt "Q: {stem}\nA:", continuation " {choice}".
std::string multipleChoicePrompt(const QaItem& item);
std::string multipleChoiceContinuation(const QaItem& item, size_t choice);

// Scores every item under InferenceMode. maxItems > 0 keeps the first ones.
MultipleChoiceResult evaluateMultipleChoice(const Gpt2Config& config, const Gpt2Weights& weights,
                                            const Gpt2Tokenizer& tokenizer, const std::vector<QaItem>& items,
                                            int64_t maxItems = 0);

} // namespace rlq

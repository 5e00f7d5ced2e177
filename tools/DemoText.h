#pragma once

// Multiple-choice questions about a small invented world, the data of the
// built-in demo bundle. Every template, name and fact list is written in
// DemoText.cpp. The output depends only on the settings.

#include "data/Dataset.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rlq {

struct DemoTextSettings {
    uint64_t seed = 1;            // picks the creatures' traits, the distractors and the split
    std::size_t trainCount = 3000;
    std::size_t validationCount = 300;
    std::size_t testCount = 300;
};

// Questions with four choices labelled A-D. No two questions in the three
// parts ask the same thing (equal stems, or the same comparison over the
// same set of options), and ids are unique across all three.
struct DemoQuestions {
    std::vector<QaItem> train;
    std::vector<QaItem> validation;
    std::vector<QaItem> test;
};

// Generates every fixed fact question (traits of invented creatures, kinds
// of everyday things, small sums and differences, days, months, numbers,
// letters, opposites), then fills up to the requested total with questions
// that compare or pick among four listed options. A seeded shuffle then
// deals out test, validation and train in that order. Throws rlq::Error
// when a count is 0 or the total exceeds what the world supports.
DemoQuestions generateDemoQuestions(const DemoTextSettings& settings);

// One JSON object per line in OpenBookQA's original layout:
// {"id", "question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}.
std::string openBookQaJsonl(const std::vector<QaItem>& items);

} // namespace rlq

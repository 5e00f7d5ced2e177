#pragma once

// Dataset readers for the quantization search: CommonsenseQA and OpenBookQA
// in their original JSONL layout and in the Hugging Face `datasets` JSONL
// export, plus plain UTF-8 text. Every reader checks its input fully and
// throws rlq::Error with FILE:LINE and the field name on the first bad row.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlq {

enum class DatasetLayout {
    // {"answerKey", "id", "question": {"question_concept", "choices": [{"label", "text"}], "stem"}}
    CommonsenseQaOriginal,
    // {"id", "question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}
    OpenBookQaOriginal,
    // {"id", "question": "<stem>", "question_concept", "choices": {"label": [], "text": []}, "answerKey"}
    CommonsenseQaHuggingFace,
    // {"id", "question_stem", "choices": {"text": [], "label": []}, "answerKey"}
    OpenBookQaHuggingFace,
    PlainText,
};

// Returns a name for reports and messages, e.g. "CommonsenseQA (original JSONL)".
std::string layoutName(DatasetLayout layout);

bool isQuestionAnswering(DatasetLayout layout);

// One multiple-choice question.
struct QaItem {
    std::string id;
    std::string stem;
    std::vector<std::string> labels;      // "A".."E", unique within the item
    std::vector<std::string> choiceTexts; // same order as labels
    int answerIndex = -1;                 // index into choiceTexts of answerKey
};

// The parsed contents of one dataset file.
struct DatasetFile {
    std::filesystem::path path;
    DatasetLayout layout = DatasetLayout::PlainText;
    std::vector<QaItem> items; // QA layouts only, in file order
    std::string text;          // PlainText only: the file's bytes, unchanged
};

// Reads one dataset file and detects its layout from the first non-blank line.
// A line that parses as a JSON object makes the file JSONL, and its keys pick
// the QA layout. A file ending in .jsonl must be JSONL. Anything else that is
// valid UTF-8 is plain text. Blank lines in JSONL are skipped.
// Throws rlq::Error on a missing or unreadable file, an empty or
// whitespace-only file, or invalid UTF-8 (with the byte offset). It also
// throws on a bad row: invalid JSON, a missing or wrong-typed field, duplicate
// labels, a label/text count mismatch, fewer than 2 choices, or an answerKey
// that is not among the labels. Row messages name FILE:LINE and the field.
DatasetFile readDatasetFile(const std::filesystem::path& path);

// Renders one item as language-modelling text:
// "Q: " + stem + "\nA: " + answer text + "\n\n".
// Throws rlq::Error when answerIndex does not index choiceTexts.
std::string renderQaItem(const QaItem& item);

// Concatenates renderQaItem of every row in file order for QA layouts, and
// returns the text unchanged for plain text.
std::string renderLanguageModelText(const DatasetFile& file);

// One part of a split, with the text that the language-model passes consume.
struct DatasetPart {
    std::vector<QaItem> items; // in file order; empty for plain text
    std::string text;          // rendered language-modelling text of this part
    std::string description;   // origin, e.g. "train_rand_split.jsonl, 974 of 9741 rows (seeded hold-out, seed 0)"
};

struct DatasetSplits {
    std::string name; // "commonsenseqa", "openbookqa", or the plain-text file's stem
    DatasetLayout layout = DatasetLayout::PlainText; // layout of the training file
    DatasetPart finetune;   // quantization-aware fine-tuning
    DatasetPart validation; // reward during the search
    DatasetPart test;       // final report only
};

struct SplitSettings {
    // Share of the training file held out for validation when no validation
    // file exists. Must be in (0, 0.5]. A single-file spec always splits 80/10/10
    // and ignores it.
    double validationFraction = 0.1;
    uint64_t seed = 0;
    // Keeps only the first N fine-tuning rows in file order, chosen after the
    // hold-out, so the validation rows do not depend on it. 0 = all. QA only.
    size_t maxTrainItems = 0;
    // Keeps only the first N validation rows in file order. 0 = all. QA only.
    size_t maxValidationItems = 0;
};

// Loads fine-tuning, validation and test parts. `spec` is one of:
//  - a directory with
//      train_rand_split.jsonl + dev_rand_split.jsonl (CommonsenseQA; dev is the
//        test part because the public test split is unlabeled), or
//      train.jsonl + test.jsonl, with dev.jsonl or validation.jsonl as the
//        validation part when present (OpenBookQA, or a Hugging Face export), or
//      train.jsonl + validation.jsonl without test.jsonl (Hugging Face export
//        of CommonsenseQA; validation.jsonl becomes the test part);
//  - "TRAIN_FILE,TEST_FILE";
//  - one file, split by a seeded 80/10/10 shuffle of its rows (QA), or
//    contiguously (plain text): fine-tune [0, floor(0.8 N)), validation
//    [floor(0.8 N), floor(0.9 N)), test [floor(0.9 N), N), where N is the byte
//    count and each cut moves forward to the next UTF-8 character boundary.
// Without a validation file, a seeded shuffle holds out
// floor(validationFraction * rows) training rows (QA), or the last
// floor(validationFraction * N) bytes of the training text (plain text).
// Parts never share a row of the same file, and each part keeps file order.
// Throws rlq::Error on a bad setting, an unknown directory (listing the
// expected files), files of different datasets, the same file as train and
// test, an empty part, or any readDatasetFile error.
DatasetSplits loadDatasetSplits(const std::string& spec, const SplitSettings& settings);

// Returns a permutation of [0, count) from std::mt19937_64 seeded with `seed`,
// by Fisher-Yates with an unbiased bounded draw by rejection. The standard fixes
// mt19937_64's output, so the result is the same with every compiler and
// standard library (std::shuffle and std::uniform_int_distribution are not).
std::vector<size_t> seededPermutation(size_t count, uint64_t seed);

} // namespace rlq

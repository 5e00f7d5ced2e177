// Row readers for the four multiple-choice JSONL layouts.

#include "data/DatasetInternal.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>

namespace rlq::detail {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Maximum length in bytes of the parser message quoted in an error, so a
// broken row with a long string does not flood the message.
constexpr size_t kMaxParserReasonBytes = 160;

struct RowContext {
    const fs::path& path;
    size_t line = 0; // 1-based
};

[[noreturn]] void throwRowError(const RowContext& row, const std::string& problem)
{
    throw Error(fileLine(row.path, row.line) + ": " + problem + "; fix or remove the row");
}

enum class JsonKind { String, Object, Array };

const char* kindName(JsonKind kind)
{
    switch (kind) {
    case JsonKind::String:
        return "a string";
    case JsonKind::Object:
        return "an object";
    case JsonKind::Array:
        return "an array";
    }
    return "a value";
}

bool hasKind(const json& value, JsonKind kind)
{
    switch (kind) {
    case JsonKind::String:
        return value.is_string();
    case JsonKind::Object:
        return value.is_object();
    case JsonKind::Array:
        return value.is_array();
    }
    return false;
}

std::string describeJsonType(const json& value)
{
    if (value.is_null()) {
        return "null";
    }
    if (value.is_boolean()) {
        return "a boolean";
    }
    if (value.is_number()) {
        return "a number";
    }
    if (value.is_string()) {
        return "a string";
    }
    if (value.is_array()) {
        return "an array";
    }
    if (value.is_object()) {
        return "an object";
    }
    return "an unsupported value";
}

const json& requireField(const json& object, const std::string& key, const std::string& fieldPath,
                         JsonKind kind, const RowContext& row)
{
    const auto found = object.find(key);
    if (found == object.end()) {
        throwRowError(row, "field '" + fieldPath + "' is missing (expected " + kindName(kind) + ")");
    }
    if (!hasKind(*found, kind)) {
        throwRowError(row, "field '" + fieldPath + "' is " + describeJsonType(*found) + " (expected " +
                               kindName(kind) + ")");
    }
    return *found;
}

std::string requireString(const json& object, const std::string& key, const std::string& fieldPath,
                          const RowContext& row)
{
    return requireField(object, key, fieldPath, JsonKind::String, row).get<std::string>();
}

std::vector<std::string> requireStringArray(const json& object, const std::string& key,
                                            const std::string& fieldPath, const RowContext& row)
{
    const json& array = requireField(object, key, fieldPath, JsonKind::Array, row);

    std::vector<std::string> strings;
    for (size_t index = 0; index < array.size(); ++index) {
        const json& element = array[index];
        if (!element.is_string()) {
            throwRowError(row, "field '" + fieldPath + "[" + std::to_string(index) + "]' is " +
                                   describeJsonType(element) + " (expected a string)");
        }
        strings.push_back(element.get<std::string>());
    }
    return strings;
}

std::string joinLabels(const std::vector<std::string>& labels)
{
    std::string joined;
    for (const std::string& label : labels) {
        joined += joined.empty() ? label : ", " + label;
    }
    return joined;
}

void checkChoices(const QaItem& item, const std::string& choicesPath, const RowContext& row)
{
    if (item.labels.size() < 2) {
        const std::string count = item.labels.empty() ? "no choices" : "only 1 choice";
        throwRowError(row, "field '" + choicesPath + "' has " + count + " (expected at least 2)");
    }

    for (size_t index = 1; index < item.labels.size(); ++index) {
        const auto earlier = item.labels.begin() + static_cast<std::ptrdiff_t>(index);
        if (std::find(item.labels.begin(), earlier, item.labels[index]) != earlier) {
            throwRowError(row, "field '" + choicesPath + "' repeats label '" + item.labels[index] +
                                   "' (expected unique labels)");
        }
    }
}

// Sets item.answerIndex from the row's answerKey. Call after checkChoices.
void resolveAnswer(const json& rowValue, QaItem& item, const RowContext& row)
{
    const std::string answerKey = requireString(rowValue, "answerKey", "answerKey", row);
    if (answerKey.empty()) {
        throwRowError(row, "field 'answerKey' is empty, so the row is unlabeled (expected one of " +
                               joinLabels(item.labels) + ")");
    }

    const auto found = std::find(item.labels.begin(), item.labels.end(), answerKey);
    if (found == item.labels.end()) {
        throwRowError(row, "field 'answerKey' is '" + answerKey + "', which is not among the labels " +
                               joinLabels(item.labels));
    }
    item.answerIndex = static_cast<int>(found - item.labels.begin());
}

// Original CommonsenseQA and OpenBookQA rows share this shape:
// {"id", "question": {"stem", "choices": [{"label", "text"}, ...]}, "answerKey"}.
QaItem readOriginalRow(const json& rowValue, const RowContext& row)
{
    QaItem item;
    item.id = requireString(rowValue, "id", "id", row);
    const json& question = requireField(rowValue, "question", "question", JsonKind::Object, row);
    item.stem = requireString(question, "stem", "question.stem", row);

    const json& choices = requireField(question, "choices", "question.choices", JsonKind::Array, row);
    for (size_t index = 0; index < choices.size(); ++index) {
        const std::string choicePath = "question.choices[" + std::to_string(index) + "]";
        const json& choice = choices[index];
        if (!choice.is_object()) {
            throwRowError(row, "field '" + choicePath + "' is " + describeJsonType(choice) +
                                   " (expected an object with 'label' and 'text')");
        }
        item.labels.push_back(requireString(choice, "label", choicePath + ".label", row));
        item.choiceTexts.push_back(requireString(choice, "text", choicePath + ".text", row));
    }

    checkChoices(item, "question.choices", row);
    resolveAnswer(rowValue, item, row);
    return item;
}

// Hugging Face rows store choices column-wise:
// {"id", STEM_KEY, "choices": {"label": [...], "text": [...]}, "answerKey"},
// where STEM_KEY is "question" (CommonsenseQA) or "question_stem" (OpenBookQA).
QaItem readHuggingFaceRow(const json& rowValue, const std::string& stemKey, const RowContext& row)
{
    QaItem item;
    item.id = requireString(rowValue, "id", "id", row);
    item.stem = requireString(rowValue, stemKey, stemKey, row);

    const json& choices = requireField(rowValue, "choices", "choices", JsonKind::Object, row);
    item.labels = requireStringArray(choices, "label", "choices.label", row);
    item.choiceTexts = requireStringArray(choices, "text", "choices.text", row);
    if (item.labels.size() != item.choiceTexts.size()) {
        throwRowError(row, "field 'choices' has " + std::to_string(item.labels.size()) + " labels but " +
                               std::to_string(item.choiceTexts.size()) +
                               " texts (expected one text per label)");
    }

    checkChoices(item, "choices", row);
    resolveAnswer(rowValue, item, row);
    return item;
}

QaItem readRow(const json& rowValue, DatasetLayout layout, const RowContext& row)
{
    switch (layout) {
    case DatasetLayout::CommonsenseQaOriginal:
    case DatasetLayout::OpenBookQaOriginal:
        return readOriginalRow(rowValue, row);
    case DatasetLayout::CommonsenseQaHuggingFace:
        return readHuggingFaceRow(rowValue, "question", row);
    case DatasetLayout::OpenBookQaHuggingFace:
        return readHuggingFaceRow(rowValue, "question_stem", row);
    case DatasetLayout::PlainText:
        break;
    }
    throw Error(fileLine(row.path, row.line) + ": internal error: no row reader for " + layoutName(layout));
}

// Picks the layout from the keys of the first row. Only original CommonsenseQA
// rows carry question.question_concept, which distinguishes the two original layouts.
DatasetLayout detectLayout(const json& rowValue, const RowContext& row)
{
    const auto question = rowValue.find("question");
    if (question != rowValue.end() && question->is_object()) {
        return question->contains("question_concept") ? DatasetLayout::CommonsenseQaOriginal
                                                       : DatasetLayout::OpenBookQaOriginal;
    }
    if (question != rowValue.end() && question->is_string()) {
        return DatasetLayout::CommonsenseQaHuggingFace;
    }
    if (rowValue.contains("question_stem")) {
        return DatasetLayout::OpenBookQaHuggingFace;
    }

    throw Error(fileLine(row.path, row.line) +
                ": row matches no known dataset layout (expected an object 'question' with 'stem' and "
                "'choices', or a string 'question' or 'question_stem' beside 'choices'); pass a "
                "CommonsenseQA or OpenBookQA JSONL file");
}

// Returns the part of a parser message after "column N: ", cut to a bounded length.
std::string parserReason(const json::parse_error& error)
{
    std::string reason = error.what();
    const size_t column = reason.find("column ");
    const size_t colon = column == std::string::npos ? std::string::npos : reason.find(": ", column);
    if (colon != std::string::npos) {
        reason = reason.substr(colon + 2);
    }
    if (reason.size() > kMaxParserReasonBytes) {
        reason = reason.substr(0, kMaxParserReasonBytes) + "...";
    }
    return reason;
}

json parseRow(std::string_view line, const RowContext& row)
{
    json rowValue;
    try {
        rowValue = json::parse(line.begin(), line.end());
    } catch (const json::parse_error& error) {
        throwRowError(row, "invalid JSON at column " + std::to_string(error.byte) + " (" +
                               parserReason(error) + ")");
    }

    if (!rowValue.is_object()) {
        throwRowError(row, "row is " + describeJsonType(rowValue) + " (expected a JSON object)");
    }
    return rowValue;
}

bool isBlank(std::string_view line)
{
    return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

} // namespace

DatasetFile readQaJsonl(const fs::path& path, const std::string& bytes)
{
    DatasetFile file;
    file.path = path;

    bool layoutKnown = false;
    size_t lineNumber = 0;
    size_t lineStart = 0;
    while (lineStart < bytes.size()) {
        size_t lineEnd = bytes.find('\n', lineStart);
        if (lineEnd == std::string::npos) {
            lineEnd = bytes.size();
        }
        const std::string_view line(bytes.data() + lineStart, lineEnd - lineStart);
        lineStart = lineEnd + 1;
        ++lineNumber;
        if (isBlank(line)) {
            continue;
        }

        const RowContext row{path, lineNumber};
        const json rowValue = parseRow(line, row);
        if (!layoutKnown) {
            file.layout = detectLayout(rowValue, row);
            layoutKnown = true;
        }
        file.items.push_back(readRow(rowValue, file.layout, row));
    }

    if (file.items.empty()) {
        throw Error(fileLine(path, 1) + ": JSONL file has no rows; pass a file with at least one row");
    }
    return file;
}

} // namespace rlq::detail

#include "data/Dataset.h"

#include "data/DatasetInternal.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace rlq {

namespace {

namespace fs = std::filesystem;

constexpr size_t kNoError = std::string::npos;

std::string readFileBytes(const fs::path& path)
{
    std::error_code status;
    if (!fs::exists(path, status)) {
        throw Error(path.string() + ": dataset file not found; check the path");
    }
    if (fs::is_directory(path, status)) {
        throw Error(path.string() + ": is a directory, expected a dataset file; pass a file, "
                                    "or pass the directory as a dataset spec");
    }

    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
        throw Error(path.string() + ": cannot open the dataset file (" + std::strerror(errno) +
                    "); check its permissions");
    }
    std::string bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    if (stream.bad()) {
        throw Error(path.string() + ": reading the dataset file failed; check the disk and retry");
    }
    return bytes;
}

bool isContinuationByte(unsigned char byte)
{
    return (byte & 0xC0) == 0x80;
}

// Returns the length of the well-formed UTF-8 sequence that starts at
// `offset`, or 0 when it is malformed. Follows the table of well-formed byte
// sequences in the Unicode Standard (chapter 3), so overlong forms, UTF-16
// surrogates and code points above U+10FFFF are rejected.
size_t utf8SequenceLength(const std::string& bytes, size_t offset)
{
    const auto at = [&](size_t index) { return static_cast<unsigned char>(bytes[index]); };
    const unsigned char lead = at(offset);
    if (lead < 0x80) {
        return 1;
    }

    size_t length = 0;
    unsigned char secondMin = 0x80;
    unsigned char secondMax = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        secondMin = lead == 0xE0 ? 0xA0 : 0x80; // E0 80..9F would be overlong
        secondMax = lead == 0xED ? 0x9F : 0xBF; // ED A0..BF would be a surrogate
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        secondMin = lead == 0xF0 ? 0x90 : 0x80; // F0 80..8F would be overlong
        secondMax = lead == 0xF4 ? 0x8F : 0xBF; // F4 90.. would exceed U+10FFFF
    } else {
        return 0;
    }

    if (offset + length > bytes.size()) {
        return 0;
    }
    if (at(offset + 1) < secondMin || at(offset + 1) > secondMax) {
        return 0;
    }
    for (size_t index = offset + 2; index < offset + length; ++index) {
        if (!isContinuationByte(at(index))) {
            return 0;
        }
    }
    return length;
}

// Returns the byte offset where the first malformed sequence starts, or kNoError.
size_t findInvalidUtf8(const std::string& bytes)
{
    size_t offset = 0;
    while (offset < bytes.size()) {
        const size_t length = utf8SequenceLength(bytes, offset);
        if (length == 0) {
            return offset;
        }
        offset += length;
    }
    return kNoError;
}

void checkUtf8(const fs::path& path, const std::string& bytes)
{
    const size_t offset = findInvalidUtf8(bytes);
    if (offset == kNoError) {
        return;
    }

    char byteHex[8];
    std::snprintf(byteHex, sizeof byteHex, "0x%02X", static_cast<unsigned char>(bytes[offset]));
    throw Error(detail::fileLine(path, detail::lineNumberAt(bytes, offset)) +
                ": invalid UTF-8 at byte offset " + std::to_string(offset) + " (byte " + byteHex +
                "); re-save the file as UTF-8");
}

bool isBlank(const std::string& line)
{
    return line.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

// Returns the first line that is not blank, or "" when every line is blank.
std::string firstNonBlankLine(const std::string& bytes)
{
    std::istringstream lines(bytes);
    std::string line;
    while (std::getline(lines, line)) {
        if (!isBlank(line)) {
            return line;
        }
    }
    return {};
}

bool hasJsonExtension(const fs::path& path)
{
    const std::string extension = path.extension().string();
    return extension == ".jsonl" || extension == ".json";
}

bool parsesAsJsonObject(const std::string& line)
{
    const nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    return value.is_object();
}

} // namespace

namespace detail {

size_t lineNumberAt(const std::string& bytes, size_t offset)
{
    const auto end = bytes.begin() + static_cast<std::ptrdiff_t>(std::min(offset, bytes.size()));
    return 1 + static_cast<size_t>(std::count(bytes.begin(), end, '\n'));
}

std::string fileLine(const fs::path& path, size_t line)
{
    return path.string() + ":" + std::to_string(line);
}

std::string datasetFamily(DatasetLayout layout)
{
    switch (layout) {
    case DatasetLayout::CommonsenseQaOriginal:
    case DatasetLayout::CommonsenseQaHuggingFace:
        return "commonsenseqa";
    case DatasetLayout::OpenBookQaOriginal:
    case DatasetLayout::OpenBookQaHuggingFace:
        return "openbookqa";
    case DatasetLayout::PlainText:
        return "";
    }
    return "";
}

} // namespace detail

std::string layoutName(DatasetLayout layout)
{
    switch (layout) {
    case DatasetLayout::CommonsenseQaOriginal:
        return "CommonsenseQA (original JSONL)";
    case DatasetLayout::OpenBookQaOriginal:
        return "OpenBookQA (original JSONL)";
    case DatasetLayout::CommonsenseQaHuggingFace:
        return "CommonsenseQA (Hugging Face JSONL)";
    case DatasetLayout::OpenBookQaHuggingFace:
        return "OpenBookQA (Hugging Face JSONL)";
    case DatasetLayout::PlainText:
        return "plain text";
    }
    return "unknown layout";
}

bool isQuestionAnswering(DatasetLayout layout)
{
    return layout != DatasetLayout::PlainText;
}

DatasetFile readDatasetFile(const fs::path& path)
{
    std::string bytes = readFileBytes(path);
    if (bytes.empty()) {
        throw Error(detail::fileLine(path, 1) + ": dataset file is empty (0 bytes); "
                                                "pass a file with rows or text");
    }
    checkUtf8(path, bytes);

    const std::string firstLine = firstNonBlankLine(bytes);
    if (firstLine.empty()) {
        throw Error(detail::fileLine(path, 1) + ": dataset file contains only whitespace; "
                                                "pass a file with rows or text");
    }

    // A .jsonl file goes to the JSONL reader even when its first row is
    // broken, so the user sees the JSON error instead of a silent fallback.
    if (hasJsonExtension(path) || parsesAsJsonObject(firstLine)) {
        return detail::readQaJsonl(path, bytes);
    }

    DatasetFile file;
    file.path = path;
    file.layout = DatasetLayout::PlainText;
    file.text = std::move(bytes);
    return file;
}

std::string renderQaItem(const QaItem& item)
{
    if (item.answerIndex < 0 || static_cast<size_t>(item.answerIndex) >= item.choiceTexts.size()) {
        throw Error("QA item '" + item.id + "' has answer index " + std::to_string(item.answerIndex) +
                    " but " + std::to_string(item.choiceTexts.size()) +
                    " choices; read items with readDatasetFile");
    }
    return "Q: " + item.stem + "\nA: " + item.choiceTexts[static_cast<size_t>(item.answerIndex)] +
           "\n\n";
}

std::string renderLanguageModelText(const DatasetFile& file)
{
    if (!isQuestionAnswering(file.layout)) {
        return file.text;
    }

    std::string text;
    for (const QaItem& item : file.items) {
        text += renderQaItem(item);
    }
    return text;
}

} // namespace rlq

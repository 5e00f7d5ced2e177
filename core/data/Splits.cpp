// Fine-tuning / validation / test splits of a dataset spec.

#include "data/Dataset.h"

#include "data/DatasetInternal.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <system_error>

namespace rlq {

namespace {

namespace fs = std::filesystem;

// Maximum number of file names in the unknown-directory message, to keep it one line.
constexpr size_t kMaxListedFiles = 8;

struct SplitSources {
    fs::path train;
    std::optional<fs::path> validation; // absent: hold out part of train
    std::optional<fs::path> test;       // absent: split train 80/10/10
};

// Returns a uniform draw from [0, bound) without modulo bias: values below
// 2^64 mod bound are rejected, so the accepted range is a multiple of bound.
uint64_t drawBelow(std::mt19937_64& engine, uint64_t bound)
{
    const uint64_t rejectBelow = (0 - bound) % bound;
    while (true) {
        const uint64_t value = static_cast<uint64_t>(engine());
        if (value >= rejectBelow) {
            return value % bound;
        }
    }
}

std::string trimSpaces(const std::string& text)
{
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    const size_t last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

// Formats with up to 6 significant digits, e.g. "0.1" (std::to_string gives "0.100000").
std::string formatFraction(double fraction)
{
    std::ostringstream text;
    text << fraction;
    return text.str();
}

void checkSettings(const SplitSettings& settings)
{
    // Written so that NaN fails too.
    if (!(settings.validationFraction > 0.0 && settings.validationFraction <= 0.5)) {
        throw Error("validation fraction " + formatFraction(settings.validationFraction) +
                    " is out of range; use a value in (0, 0.5], e.g. 0.1");
    }
}

std::string listFiles(const fs::path& directory)
{
    std::vector<std::string> names;
    std::error_code status;
    for (const auto& entry : fs::directory_iterator(directory, status)) {
        names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) {
        return "the directory is empty";
    }

    std::string listed = "found ";
    for (size_t index = 0; index < names.size() && index < kMaxListedFiles; ++index) {
        listed += (index == 0 ? "" : ", ") + names[index];
    }
    if (names.size() > kMaxListedFiles) {
        listed += " and " + std::to_string(names.size() - kMaxListedFiles) + " more";
    }
    return listed;
}

SplitSources resolveCommonsenseQaDirectory(const fs::path& directory)
{
    // The public test_rand_split.jsonl is unlabeled, so dev is the test part.
    const fs::path train = directory / "train_rand_split.jsonl";
    const fs::path dev = directory / "dev_rand_split.jsonl";
    for (const fs::path& required : {train, dev}) {
        if (!fs::is_regular_file(required)) {
            throw Error(directory.string() + ": CommonsenseQA directory has no " +
                        required.filename().string() +
                        "; add it, or pass TRAIN_FILE,TEST_FILE");
        }
    }
    return {train, std::nullopt, dev};
}

SplitSources resolveTrainTestDirectory(const fs::path& directory)
{
    const fs::path train = directory / "train.jsonl";
    const fs::path test = directory / "test.jsonl";
    const fs::path dev = directory / "dev.jsonl";
    const fs::path validation = directory / "validation.jsonl";

    const bool hasDev = fs::is_regular_file(dev);
    const bool hasValidation = fs::is_regular_file(validation);
    if (hasDev && hasValidation) {
        throw Error(directory.string() + ": contains both dev.jsonl and validation.jsonl, so the "
                                         "validation file is ambiguous; remove one of them");
    }
    std::optional<fs::path> validationFile;
    if (hasDev || hasValidation) {
        validationFile = hasDev ? dev : validation;
    }

    if (fs::is_regular_file(test)) {
        return {train, validationFile, test};
    }
    // A Hugging Face export of CommonsenseQA has an unlabeled test split. When
    // test.jsonl is absent, the validation split serves as the test part.
    if (validationFile) {
        return {train, std::nullopt, *validationFile};
    }
    throw Error(directory.string() + ": has train.jsonl but no test.jsonl, dev.jsonl or "
                                     "validation.jsonl; add a test file, or pass train.jsonl "
                                     "alone for an 80/10/10 split");
}

SplitSources resolveDirectory(const fs::path& directory)
{
    if (fs::is_regular_file(directory / "train_rand_split.jsonl") ||
        fs::is_regular_file(directory / "dev_rand_split.jsonl")) {
        return resolveCommonsenseQaDirectory(directory);
    }
    if (fs::is_regular_file(directory / "train.jsonl")) {
        return resolveTrainTestDirectory(directory);
    }

    throw Error(directory.string() + ": no known dataset files (" + listFiles(directory) +
                "); expected train_rand_split.jsonl + dev_rand_split.jsonl (CommonsenseQA), or "
                "train.jsonl + test.jsonl with an optional dev.jsonl or validation.jsonl "
                "(OpenBookQA or a Hugging Face export)");
}

SplitSources resolveSpec(const std::string& spec)
{
    const std::string trimmed = trimSpaces(spec);
    if (trimmed.empty()) {
        throw Error("dataset spec is empty; pass a directory, a file, or TRAIN_FILE,TEST_FILE");
    }

    // An existing path wins over the comma form, so file names may contain commas.
    const fs::path whole(trimmed);
    if (fs::is_directory(whole)) {
        return resolveDirectory(whole);
    }
    if (fs::exists(whole)) {
        return {whole, std::nullopt, std::nullopt};
    }

    const size_t comma = trimmed.find(',');
    if (comma == std::string::npos) {
        throw Error("dataset '" + trimmed + "' not found; pass an existing directory, a file, or "
                                            "TRAIN_FILE,TEST_FILE");
    }
    if (trimmed.find(',', comma + 1) != std::string::npos) {
        throw Error("dataset spec '" + trimmed + "' has more than one comma; pass TRAIN_FILE,TEST_FILE");
    }
    const std::string train = trimSpaces(trimmed.substr(0, comma));
    const std::string test = trimSpaces(trimmed.substr(comma + 1));
    if (train.empty() || test.empty()) {
        throw Error("dataset spec '" + trimmed + "' lacks a file on one side of the comma; pass "
                                                 "TRAIN_FILE,TEST_FILE");
    }
    return {fs::path(train), std::nullopt, fs::path(test)};
}

void checkSameDataset(const DatasetFile& reference, const DatasetFile& other)
{
    if (detail::datasetFamily(reference.layout) == detail::datasetFamily(other.layout)) {
        return;
    }
    throw Error(other.path.string() + " is " + layoutName(other.layout) + " but " +
                reference.path.string() + " is " + layoutName(reference.layout) +
                "; use files of one dataset");
}

void checkDistinctFiles(const DatasetFile& first, const DatasetFile& second)
{
    std::error_code status;
    if (fs::equivalent(first.path, second.path, status)) {
        throw Error(second.path.string() + " is the same file as " + first.path.string() +
                    ", so its parts would overlap; pass different files");
    }
}

std::string fileName(const DatasetFile& file)
{
    return file.path.filename().string();
}

std::vector<size_t> allRows(size_t count)
{
    std::vector<size_t> rows(count);
    std::iota(rows.begin(), rows.end(), size_t{0});
    return rows;
}

// Returns permutation[begin, end) in ascending order, so the part keeps file order.
std::vector<size_t> sortedSlice(const std::vector<size_t>& permutation, size_t begin, size_t end)
{
    std::vector<size_t> rows(permutation.begin() + static_cast<std::ptrdiff_t>(begin),
                             permutation.begin() + static_cast<std::ptrdiff_t>(end));
    std::sort(rows.begin(), rows.end());
    return rows;
}

// Keeps the first `limit` rows (0 = all) and notes the cap in `origin`.
std::vector<size_t> capRows(std::vector<size_t> rows, size_t limit, const char* settingName,
                            std::string& origin)
{
    if (limit == 0 || rows.size() <= limit) {
        return rows;
    }
    rows.resize(limit);
    origin += ", first " + std::to_string(limit) + " kept by " + settingName;
    return rows;
}

DatasetPart makeQaPart(const DatasetFile& file, const std::vector<size_t>& rows, const std::string& origin)
{
    DatasetPart part;
    for (const size_t row : rows) {
        part.items.push_back(file.items[row]);
        part.text += renderQaItem(file.items[row]);
    }
    part.description = fileName(file) + ", " + std::to_string(rows.size()) + " of " +
                       std::to_string(file.items.size()) + " rows (" + origin + ")";
    return part;
}

DatasetPart makeTextPart(const DatasetFile& file, size_t begin, size_t end, const std::string& origin)
{
    DatasetPart part;
    part.text = file.text.substr(begin, end - begin);
    part.description = fileName(file) + ", bytes [" + std::to_string(begin) + ", " +
                       std::to_string(end) + ") of " + std::to_string(file.text.size()) + " (" +
                       origin + ")";
    return part;
}

// Moves a byte offset forward past UTF-8 continuation bytes (10xxxxxx), so
// the offset starts a character or equals the text size.
size_t snapToCharacterStart(const std::string& text, size_t offset)
{
    while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) {
        ++offset;
    }
    return offset;
}

std::string splitName(const DatasetFile& train)
{
    const std::string family = detail::datasetFamily(train.layout);
    return family.empty() ? train.path.stem().string() : family;
}

DatasetSplits startSplits(const DatasetFile& train)
{
    DatasetSplits splits;
    splits.name = splitName(train);
    splits.layout = train.layout;
    return splits;
}

DatasetSplits splitQaThreeWays(const DatasetFile& file, const SplitSettings& settings)
{
    // Integer arithmetic gives floor(0.8 N) and floor(0.9 N) exactly.
    const size_t count = file.items.size();
    const size_t finetuneCount = count * 8 / 10;
    const size_t validationCount = count * 9 / 10 - finetuneCount;
    const size_t testCount = count - count * 9 / 10;
    if (finetuneCount == 0 || validationCount == 0 || testCount == 0) {
        throw Error(file.path.string() + ": " + std::to_string(count) +
                    " rows are too few for an 80/10/10 split (a part would be empty); pass at "
                    "least 10 rows, or TRAIN_FILE,TEST_FILE");
    }

    // Permutation positions [0, validationCount) go to validation, the next
    // testCount to test, and the rest to fine-tuning.
    const std::vector<size_t> permutation = seededPermutation(count, settings.seed);
    const size_t testEnd = validationCount + testCount;
    std::string finetuneOrigin = "seeded 80/10/10 split, seed " + std::to_string(settings.seed);
    std::string validationOrigin = finetuneOrigin;
    const std::string testOrigin = finetuneOrigin;
    const std::vector<size_t> validationRows =
        capRows(sortedSlice(permutation, 0, validationCount), settings.maxValidationItems,
                "maxValidationItems", validationOrigin);
    const std::vector<size_t> testRows = sortedSlice(permutation, validationCount, testEnd);
    const std::vector<size_t> finetuneRows =
        capRows(sortedSlice(permutation, testEnd, count), settings.maxTrainItems, "maxTrainItems",
                finetuneOrigin);

    DatasetSplits splits = startSplits(file);
    splits.finetune = makeQaPart(file, finetuneRows, finetuneOrigin);
    splits.validation = makeQaPart(file, validationRows, validationOrigin);
    splits.test = makeQaPart(file, testRows, testOrigin);
    return splits;
}

DatasetSplits splitTextThreeWays(const DatasetFile& file)
{
    // Integer arithmetic gives floor(0.8 N) and floor(0.9 N) exactly.
    const size_t size = file.text.size();
    const size_t validationBegin = snapToCharacterStart(file.text, size * 8 / 10);
    const size_t testBegin = snapToCharacterStart(file.text, size * 9 / 10);
    if (validationBegin == 0 || testBegin <= validationBegin || testBegin >= size) {
        throw Error(file.path.string() + ": text of " + std::to_string(size) +
                    " bytes is too short for an 80/10/10 split (a part would be empty); pass a "
                    "longer text");
    }

    const std::string origin = "80/10/10 split";
    DatasetSplits splits = startSplits(file);
    splits.finetune = makeTextPart(file, 0, validationBegin, origin);
    splits.validation = makeTextPart(file, validationBegin, testBegin, origin);
    splits.test = makeTextPart(file, testBegin, size, origin);
    return splits;
}

void holdOutQaValidation(const DatasetFile& train, const SplitSettings& settings, DatasetSplits& splits)
{
    const size_t count = train.items.size();
    const auto heldOut = static_cast<size_t>(
        std::floor(settings.validationFraction * static_cast<double>(count)));
    if (heldOut == 0) {
        throw Error(train.path.string() + ": " + std::to_string(count) +
                    " rows are too few to hold out a validation part at fraction " +
                    formatFraction(settings.validationFraction) +
                    "; raise validationFraction or add a validation file");
    }

    const std::vector<size_t> permutation = seededPermutation(count, settings.seed);
    std::string validationOrigin = "seeded hold-out, seed " + std::to_string(settings.seed);
    std::string finetuneOrigin = "rest after the validation hold-out";
    const std::vector<size_t> validationRows =
        capRows(sortedSlice(permutation, 0, heldOut), settings.maxValidationItems,
                "maxValidationItems", validationOrigin);
    const std::vector<size_t> finetuneRows =
        capRows(sortedSlice(permutation, heldOut, count), settings.maxTrainItems, "maxTrainItems",
                finetuneOrigin);

    splits.finetune = makeQaPart(train, finetuneRows, finetuneOrigin);
    splits.validation = makeQaPart(train, validationRows, validationOrigin);
}

void holdOutTextValidation(const DatasetFile& train, const SplitSettings& settings, DatasetSplits& splits)
{
    // The validation part is the end of the text, so both parts stay contiguous.
    const size_t size = train.text.size();
    const auto heldOut = static_cast<size_t>(
        std::floor(settings.validationFraction * static_cast<double>(size)));
    const size_t validationBegin = snapToCharacterStart(train.text, size - heldOut);
    if (validationBegin == 0 || validationBegin >= size) {
        throw Error(train.path.string() + ": text of " + std::to_string(size) +
                    " bytes is too short to hold out a validation part; pass a longer text or "
                    "raise validationFraction");
    }

    splits.finetune = makeTextPart(train, 0, validationBegin, "rest after the validation hold-out");
    splits.validation = makeTextPart(train, validationBegin, size, "end of the text held out");
}

void takeValidationFile(const DatasetFile& train, const DatasetFile& validation,
                        const SplitSettings& settings, DatasetSplits& splits)
{
    if (!isQuestionAnswering(train.layout)) {
        splits.finetune = makeTextPart(train, 0, train.text.size(), "training file");
        splits.validation = makeTextPart(validation, 0, validation.text.size(), "validation file");
        return;
    }

    std::string finetuneOrigin = "training file";
    std::string validationOrigin = "validation file";
    const std::vector<size_t> finetuneRows =
        capRows(allRows(train.items.size()), settings.maxTrainItems, "maxTrainItems", finetuneOrigin);
    const std::vector<size_t> validationRows =
        capRows(allRows(validation.items.size()), settings.maxValidationItems,
                "maxValidationItems", validationOrigin);
    splits.finetune = makeQaPart(train, finetuneRows, finetuneOrigin);
    splits.validation = makeQaPart(validation, validationRows, validationOrigin);
}

DatasetPart wholeTestPart(const DatasetFile& test)
{
    if (!isQuestionAnswering(test.layout)) {
        return makeTextPart(test, 0, test.text.size(), "test file");
    }
    return makeQaPart(test, allRows(test.items.size()), "test file");
}

} // namespace

std::vector<size_t> seededPermutation(size_t count, uint64_t seed)
{
    std::vector<size_t> order = allRows(count);
    std::mt19937_64 engine(seed);

    // Fisher-Yates: position remaining - 1 swaps with a uniform pick from [0, remaining).
    for (size_t remaining = count; remaining > 1; --remaining) {
        const auto pick = static_cast<size_t>(drawBelow(engine, remaining));
        std::swap(order[remaining - 1], order[pick]);
    }
    return order;
}

DatasetSplits loadDatasetSplits(const std::string& spec, const SplitSettings& settings)
{
    checkSettings(settings);
    const SplitSources sources = resolveSpec(spec);

    const DatasetFile train = readDatasetFile(sources.train);
    if (!sources.test) {
        return isQuestionAnswering(train.layout) ? splitQaThreeWays(train, settings)
                                                 : splitTextThreeWays(train);
    }

    const DatasetFile test = readDatasetFile(*sources.test);
    checkSameDataset(train, test);
    checkDistinctFiles(train, test);

    DatasetSplits splits = startSplits(train);
    if (sources.validation) {
        const DatasetFile validation = readDatasetFile(*sources.validation);
        checkSameDataset(train, validation);
        checkDistinctFiles(train, validation);
        checkDistinctFiles(test, validation);
        takeValidationFile(train, validation, settings, splits);
    } else if (isQuestionAnswering(train.layout)) {
        holdOutQaValidation(train, settings, splits);
    } else {
        holdOutTextValidation(train, settings, splits);
    }
    splits.test = wholeTestPart(test);
    return splits;
}

} // namespace rlq

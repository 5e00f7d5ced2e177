// Dataset readers, rendering and splits, run on the real CommonsenseQA,
// OpenBookQA and text files and on small files written to a temporary folder.

#include "TestSupport.h"

#include "data/Dataset.h"
#include "util/Error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

// Prints std::string values in QCOMPARE failures, cut to keep the log short.
template <>
inline char* QTest::toString(const std::string& value)
{
    constexpr size_t maxPrintedBytes = 300;
    std::string truncated = value.substr(0, maxPrintedBytes);
    if (value.size() > maxPrintedBytes) {
        truncated += "... (" + std::to_string(value.size()) + " bytes)";
    }
    return qstrdup(truncated.c_str());
}

template <>
inline char* QTest::toString(const std::vector<std::string>& values)
{
    std::string joined;
    for (const std::string& value : values) {
        joined += (joined.empty() ? "\"" : ", \"") + value + "\"";
    }
    return qstrdup(("[" + joined + "]").c_str());
}

namespace {

namespace fs = std::filesystem;

fs::path tempPath(const QTemporaryDir& dir, const std::string& name)
{
    return fs::path(dir.path().toStdString()) / name;
}

fs::path writeFile(const QTemporaryDir& dir, const std::string& name, const std::string& content)
{
    const fs::path path = tempPath(dir, name);
    std::ofstream stream(path, std::ios::binary);
    stream << content;
    return path;
}

// Returns the rlq::Error message of `call`, or "" when it does not throw.
template <typename Call>
std::string errorMessage(Call call)
{
    try {
        call();
    } catch (const rlq::Error& error) {
        return error.what();
    }
    return {};
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

std::set<std::string> idsOf(const rlq::DatasetPart& part)
{
    std::set<std::string> ids;
    for (const rlq::QaItem& item : part.items) {
        ids.insert(item.id);
    }
    return ids;
}

size_t sharedIdCount(const std::set<std::string>& first, const std::set<std::string>& second)
{
    size_t shared = 0;
    for (const std::string& id : first) {
        shared += second.count(id);
    }
    return shared;
}

// True when the part's rows appear in the same order as in `file`.
bool keepsFileOrder(const rlq::DatasetPart& part, const rlq::DatasetFile& file)
{
    std::map<std::string, size_t> rowOfId;
    for (size_t row = 0; row < file.items.size(); ++row) {
        rowOfId[file.items[row].id] = row;
    }
    for (size_t index = 1; index < part.items.size(); ++index) {
        if (rowOfId.at(part.items[index - 1].id) >= rowOfId.at(part.items[index].id)) {
            return false;
        }
    }
    return true;
}

std::string renderAll(const std::vector<rlq::QaItem>& items)
{
    std::string text;
    for (const rlq::QaItem& item : items) {
        text += rlq::renderQaItem(item);
    }
    return text;
}

std::string csqaRow(const std::string& id, const std::string& stemField, const std::string& answerKey)
{
    return R"({"answerKey": ")" + answerKey + R"(", "id": ")" + id +
           R"(", "question": {"question_concept": "door", "choices": [{"label": "A", "text": "bank"}, )"
           R"({"label": "B", "text": "mall"}], )" +
           stemField + "}}\n";
}

std::string obqaHfRow(const std::string& id, const std::string& stem, const std::string& answerKey)
{
    return R"({"id": ")" + id + R"(", "question_stem": ")" + stem +
           R"(", "choices": {"text": ["red", "green", "blue", "gray"], "label": ["A", "B", "C", "D"]}, "answerKey": ")" +
           answerKey + "\"}\n";
}

// The first two rows of OpenBookQA test.jsonl in the Hugging Face layout.
const char* const kOpenBookQaHfSample =
    R"({"id": "8-343", "question_stem": "A person wants to start saving money so that they can afford a nice vacation at the end of the year. After looking over their budget and expenses, they decide the best way to save money is to", "choices": {"text": ["make more phone calls", "quit eating lunch out", "buy less with monopoly money", "have lunch with friends"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"})"
    "\n"
    R"({"id": "1129", "question_stem": "There is most likely going to be fog around:", "choices": {"text": ["a marsh", "a tundra", "the plains", "a desert"], "label": ["A", "B", "C", "D"]}, "answerKey": "A"})"
    "\n";

const std::string kRevolvingDoorRendering =
    "Q: A revolving door is convenient for two direction travel, but it also serves as a security "
    "measure at a what?\nA: bank\n\n";

} // namespace

class DatasetTest : public QObject {
    Q_OBJECT

private slots:
    void csqaOriginalFirstRow();
    void hfLayoutMatchesOriginal();
    void openBookQaOriginalCounts();
    void openBookQaHfSample();
    void renderKnownRow();
    void renderedDevTextLength();
    void plainTextKeepsBytes();
    void splitsAreDisjoint();
    void sameSeedSameSplit();
    void permutationIsPinned();
    void capsKeepFirstRows();
    void singleQaFileSplit();
    void textCutsAtReferenceOffset();
    void textCutsSnapToCharacter();
    void trainTestPairSpec();
    void textPairHoldsOutEnd();
    void hfDirectoryUsesValidationFile();
    void malformedRowRejected_data();
    void malformedRowRejected();
    void emptyFileRejected();
    void missingFileRejected();
    void unknownDirectoryRejected();
    void validationFractionChecked();
    void mixedFilesRejected();
};

void DatasetTest::csqaOriginalFirstRow()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa/train_rand_split.jsonl");
    RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");

    const rlq::DatasetFile train = rlq::readDatasetFile(sharedPath("data/commonsenseqa/train_rand_split.jsonl"));
    const rlq::DatasetFile dev = rlq::readDatasetFile(sharedPath("data/commonsenseqa/dev_rand_split.jsonl"));

    QCOMPARE(train.layout, rlq::DatasetLayout::CommonsenseQaOriginal);
    QCOMPARE(train.items.size(), size_t{9741});
    QCOMPARE(dev.items.size(), size_t{1221});
    QVERIFY(dev.text.empty());

    const rlq::QaItem& first = dev.items.front();
    QCOMPARE(first.id, std::string("1afa02df02c908a558b4036e80242fac"));
    QCOMPARE(first.stem, std::string("A revolving door is convenient for two direction travel, but it "
                                     "also serves as a security measure at a what?"));
    QCOMPARE(first.labels, (std::vector<std::string>{"A", "B", "C", "D", "E"}));
    QCOMPARE(first.choiceTexts,
             (std::vector<std::string>{"bank", "library", "department store", "mall", "new york"}));
    QCOMPARE(first.answerIndex, 0);

    // Line 904 spells the answer "troms\u00f8", which must decode to UTF-8.
    const rlq::QaItem& escaped = train.items[903];
    QCOMPARE(escaped.id, std::string("971379e8d51ae132c6ca6fa14aecd4d0"));
    QCOMPARE(escaped.choiceTexts[2], std::string("troms\xC3\xB8"));
    QCOMPARE(escaped.answerIndex, 2);
}

void DatasetTest::hfLayoutMatchesOriginal()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");
    RLQ_REQUIRE_SHARED("data/commonsenseqa/validation.hf.jsonl");

    const rlq::DatasetFile original = rlq::readDatasetFile(sharedPath("data/commonsenseqa/dev_rand_split.jsonl"));
    const rlq::DatasetFile hf = rlq::readDatasetFile(sharedPath("data/commonsenseqa/validation.hf.jsonl"));

    QCOMPARE(original.layout, rlq::DatasetLayout::CommonsenseQaOriginal);
    QCOMPARE(hf.layout, rlq::DatasetLayout::CommonsenseQaHuggingFace);
    QCOMPARE(hf.items.size(), size_t{1221});
    QCOMPARE(original.items.size(), hf.items.size());
    for (size_t row = 0; row < original.items.size(); ++row) {
        QCOMPARE(hf.items[row].id, original.items[row].id);
        QCOMPARE(hf.items[row].stem, original.items[row].stem);
        QCOMPARE(hf.items[row].labels, original.items[row].labels);
        QCOMPARE(hf.items[row].choiceTexts, original.items[row].choiceTexts);
        QCOMPARE(hf.items[row].answerIndex, original.items[row].answerIndex);
    }
    QCOMPARE(rlq::renderLanguageModelText(hf), rlq::renderLanguageModelText(original));
}

void DatasetTest::openBookQaOriginalCounts()
{
    RLQ_REQUIRE_SHARED("data/openbookqa/train.jsonl");
    RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");

    const rlq::DatasetFile train = rlq::readDatasetFile(sharedPath("data/openbookqa/train.jsonl"));
    const rlq::DatasetFile test = rlq::readDatasetFile(sharedPath("data/openbookqa/test.jsonl"));

    QCOMPARE(train.layout, rlq::DatasetLayout::OpenBookQaOriginal);
    QCOMPARE(test.layout, rlq::DatasetLayout::OpenBookQaOriginal);
    QCOMPARE(train.items.size(), size_t{4957});
    QCOMPARE(test.items.size(), size_t{500});

    const rlq::QaItem& first = test.items.front();
    QCOMPARE(first.id, std::string("8-343"));
    QCOMPARE(first.labels, (std::vector<std::string>{"A", "B", "C", "D"}));
    QCOMPARE(first.answerIndex, 1);
    QCOMPARE(first.choiceTexts[1], std::string("quit eating lunch out"));
    QCOMPARE(train.items.front().id, std::string("7-980"));
    QCOMPARE(train.items.front().answerIndex, 3);
}

void DatasetTest::openBookQaHfSample()
{
    RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());

    const fs::path path = writeFile(dir, "sample.jsonl", kOpenBookQaHfSample);
    const rlq::DatasetFile hf = rlq::readDatasetFile(path);
    const rlq::DatasetFile original = rlq::readDatasetFile(sharedPath("data/openbookqa/test.jsonl"));

    QCOMPARE(hf.layout, rlq::DatasetLayout::OpenBookQaHuggingFace);
    QCOMPARE(hf.items.size(), size_t{2});
    for (size_t row = 0; row < hf.items.size(); ++row) {
        QCOMPARE(hf.items[row].id, original.items[row].id);
        QCOMPARE(hf.items[row].stem, original.items[row].stem);
        QCOMPARE(hf.items[row].labels, original.items[row].labels);
        QCOMPARE(hf.items[row].choiceTexts, original.items[row].choiceTexts);
        QCOMPARE(hf.items[row].answerIndex, original.items[row].answerIndex);
    }
    QCOMPARE(rlq::renderQaItem(hf.items[1]),
             std::string("Q: There is most likely going to be fog around:\nA: a marsh\n\n"));
}

void DatasetTest::renderKnownRow()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");

    const rlq::DatasetFile dev = rlq::readDatasetFile(sharedPath("data/commonsenseqa/dev_rand_split.jsonl"));

    QCOMPARE(rlq::renderQaItem(dev.items.front()), kRevolvingDoorRendering);

    rlq::QaItem unanswered = dev.items.front();
    unanswered.answerIndex = 5;
    const std::string message = errorMessage([&] { rlq::renderQaItem(unanswered); });
    QVERIFY(contains(message, "1afa02df02c908a558b4036e80242fac"));
}

void DatasetTest::renderedDevTextLength()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");
    RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");

    const rlq::DatasetFile dev = rlq::readDatasetFile(sharedPath("data/commonsenseqa/dev_rand_split.jsonl"));
    const rlq::DatasetFile obqaTest = rlq::readDatasetFile(sharedPath("data/openbookqa/test.jsonl"));
    const std::string text = rlq::renderLanguageModelText(dev);

    // Reference lengths from an independent Python rendering of the same rows.
    QCOMPARE(text.size(), size_t{105823});
    QCOMPARE(rlq::renderLanguageModelText(obqaTest).size(), size_t{41314});
    QCOMPARE(text.substr(0, kRevolvingDoorRendering.size()), kRevolvingDoorRendering);
    QCOMPARE(text.substr(text.size() - 2), std::string("\n\n"));
}

void DatasetTest::plainTextKeepsBytes()
{
    RLQ_REQUIRE_SHARED("data/text/tinyshakespeare.txt");
    RLQ_REQUIRE_SHARED("data/text/wikitext-2.valid.tokens");

    const rlq::DatasetFile shakespeare = rlq::readDatasetFile(sharedPath("data/text/tinyshakespeare.txt"));
    const rlq::DatasetFile wiki = rlq::readDatasetFile(sharedPath("data/text/wikitext-2.valid.tokens"));

    QCOMPARE(shakespeare.layout, rlq::DatasetLayout::PlainText);
    QCOMPARE(shakespeare.text.size(), size_t{1115394});
    QCOMPARE(shakespeare.text.substr(0, 15), std::string("First Citizen:\n"));
    QVERIFY(shakespeare.items.empty());
    QCOMPARE(rlq::renderLanguageModelText(shakespeare), shakespeare.text);
    QCOMPARE(wiki.layout, rlq::DatasetLayout::PlainText);
    QCOMPARE(wiki.text.size(), size_t{1121681}); // bytes; the file has multi-byte characters
}

void DatasetTest::splitsAreDisjoint()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa");
    RLQ_REQUIRE_SHARED("data/openbookqa");

    const rlq::SplitSettings settings;
    const rlq::DatasetSplits csqa = rlq::loadDatasetSplits(sharedPath("data/commonsenseqa").string(), settings);
    const rlq::DatasetSplits obqa = rlq::loadDatasetSplits(sharedPath("data/openbookqa").string(), settings);
    const rlq::DatasetFile csqaTrain =
        rlq::readDatasetFile(sharedPath("data/commonsenseqa/train_rand_split.jsonl"));

    QCOMPARE(csqa.name, std::string("commonsenseqa"));
    QCOMPARE(csqa.layout, rlq::DatasetLayout::CommonsenseQaOriginal);
    QCOMPARE(csqa.finetune.items.size(), size_t{8767});
    QCOMPARE(csqa.validation.items.size(), size_t{974}); // floor(0.1 * 9741)
    QCOMPARE(csqa.test.items.size(), size_t{1221});
    QCOMPARE(csqa.validation.description,
             std::string("train_rand_split.jsonl, 974 of 9741 rows (seeded hold-out, seed 0)"));
    QVERIFY(contains(csqa.test.description, "dev_rand_split.jsonl, 1221 of 1221 rows"));

    QCOMPARE(obqa.name, std::string("openbookqa"));
    QCOMPARE(obqa.finetune.items.size(), size_t{4462});
    QCOMPARE(obqa.validation.items.size(), size_t{495}); // floor(0.1 * 4957)
    QCOMPARE(obqa.test.items.size(), size_t{500});

    for (const rlq::DatasetSplits* splits : {&csqa, &obqa}) {
        const std::set<std::string> finetuneIds = idsOf(splits->finetune);
        const std::set<std::string> validationIds = idsOf(splits->validation);
        const std::set<std::string> testIds = idsOf(splits->test);
        QCOMPARE(finetuneIds.size(), splits->finetune.items.size());
        QCOMPARE(sharedIdCount(finetuneIds, validationIds), size_t{0});
        QCOMPARE(sharedIdCount(finetuneIds, testIds), size_t{0});
        QCOMPARE(sharedIdCount(validationIds, testIds), size_t{0});
        QCOMPARE(splits->finetune.text, renderAll(splits->finetune.items));
        QCOMPARE(splits->validation.text, renderAll(splits->validation.items));
        QCOMPARE(splits->test.text, renderAll(splits->test.items));
    }

    QVERIFY(keepsFileOrder(csqa.finetune, csqaTrain));
    QVERIFY(keepsFileOrder(csqa.validation, csqaTrain));
    // Seed 0 holds out row 14 first. A separate Python MT19937-64 gives the same row.
    QCOMPARE(csqa.validation.items.front().id, std::string("527e72eb38950b8031ee6217ef531960"));
    QCOMPARE(csqa.validation.items.front().id, csqaTrain.items[14].id);
}

void DatasetTest::sameSeedSameSplit()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa");
    const std::string spec = sharedPath("data/commonsenseqa").string();

    rlq::SplitSettings settings;
    settings.seed = 7;
    const rlq::DatasetSplits first = rlq::loadDatasetSplits(spec, settings);
    const rlq::DatasetSplits again = rlq::loadDatasetSplits(spec, settings);
    settings.seed = 8;
    const rlq::DatasetSplits otherSeed = rlq::loadDatasetSplits(spec, settings);

    QCOMPARE(idsOf(again.validation), idsOf(first.validation));
    QCOMPARE(again.finetune.text, first.finetune.text);
    QCOMPARE(otherSeed.validation.items.size(), first.validation.items.size());
    QVERIFY(idsOf(otherSeed.validation) != idsOf(first.validation));
    QCOMPARE(otherSeed.test.text, first.test.text); // the test file does not depend on the seed
}

void DatasetTest::permutationIsPinned()
{
    // Expected orders come from a separate Python MT19937-64 (it matches the
    // standard's 10000th output, 9981545732273789042) with the same
    // Fisher-Yates and rejection draw.
    QCOMPARE(rlq::seededPermutation(10, 42), (std::vector<size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
    QCOMPARE(rlq::seededPermutation(10, 0), (std::vector<size_t>{7, 2, 0, 8, 3, 9, 6, 1, 5, 4}));
    QCOMPARE(rlq::seededPermutation(1, 3), (std::vector<size_t>{0}));
    QVERIFY(rlq::seededPermutation(0, 3).empty());

    std::vector<size_t> large = rlq::seededPermutation(1000, 5);
    std::sort(large.begin(), large.end());
    for (size_t index = 0; index < large.size(); ++index) {
        QCOMPARE(large[index], index);
    }
}

void DatasetTest::capsKeepFirstRows()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa");
    const std::string spec = sharedPath("data/commonsenseqa").string();

    rlq::SplitSettings settings;
    const rlq::DatasetSplits full = rlq::loadDatasetSplits(spec, settings);
    settings.maxTrainItems = 100;
    settings.maxValidationItems = 50;
    const rlq::DatasetSplits capped = rlq::loadDatasetSplits(spec, settings);

    QCOMPARE(capped.finetune.items.size(), size_t{100});
    QCOMPARE(capped.validation.items.size(), size_t{50});
    QCOMPARE(capped.test.items.size(), size_t{1221});
    for (size_t row = 0; row < capped.finetune.items.size(); ++row) {
        QCOMPARE(capped.finetune.items[row].id, full.finetune.items[row].id);
    }
    for (size_t row = 0; row < capped.validation.items.size(); ++row) {
        QCOMPARE(capped.validation.items[row].id, full.validation.items[row].id);
    }
    QVERIFY(contains(capped.finetune.description, "maxTrainItems"));
    QVERIFY(contains(capped.validation.description, "maxValidationItems"));
}

void DatasetTest::singleQaFileSplit()
{
    RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");

    const rlq::DatasetSplits splits =
        rlq::loadDatasetSplits(sharedPath("data/openbookqa/test.jsonl").string(), rlq::SplitSettings{});

    QCOMPARE(splits.finetune.items.size(), size_t{400});
    QCOMPARE(splits.validation.items.size(), size_t{50});
    QCOMPARE(splits.test.items.size(), size_t{50});
    const std::set<std::string> finetuneIds = idsOf(splits.finetune);
    const std::set<std::string> validationIds = idsOf(splits.validation);
    const std::set<std::string> testIds = idsOf(splits.test);
    QCOMPARE(sharedIdCount(finetuneIds, validationIds), size_t{0});
    QCOMPARE(sharedIdCount(finetuneIds, testIds), size_t{0});
    QCOMPARE(sharedIdCount(validationIds, testIds), size_t{0});
    QCOMPARE(finetuneIds.size() + validationIds.size() + testIds.size(), size_t{500});
    QVERIFY(contains(splits.test.description, "test.jsonl, 50 of 500 rows (seeded 80/10/10 split"));
}

void DatasetTest::textCutsAtReferenceOffset()
{
    RLQ_REQUIRE_SHARED("data/text/tinyshakespeare.txt");
    const fs::path path = sharedPath("data/text/tinyshakespeare.txt");

    const rlq::DatasetSplits splits = rlq::loadDatasetSplits(path.string(), rlq::SplitSettings{});
    const std::string text = rlq::readDatasetFile(path).text;

    QCOMPARE(splits.name, std::string("tinyshakespeare"));
    QCOMPARE(splits.layout, rlq::DatasetLayout::PlainText);
    QCOMPARE(splits.finetune.text.size(), size_t{892315});   // floor(0.8 * 1115394)
    QCOMPARE(splits.validation.text.size(), size_t{111539}); // up to floor(0.9 * 1115394)
    QCOMPARE(splits.test.text, text.substr(1003854));
    QCOMPARE(splits.finetune.text + splits.validation.text + splits.test.text, text);
    QVERIFY(splits.test.items.empty());
    QCOMPARE(splits.test.description,
             std::string("tinyshakespeare.txt, bytes [1003854, 1115394) of 1115394 (80/10/10 split)"));
}

void DatasetTest::textCutsSnapToCharacter()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());

    // 30 bytes: the raw cuts 24 and 27 fall inside "é" (bytes 23-24) and
    // "€" (bytes 26-28), so they move forward to 25 and 29.
    const std::string text = std::string(23, 'a') + "\xC3\xA9" + "b" + "\xE2\x82\xAC" + "c";
    QCOMPARE(text.size(), size_t{30});
    const fs::path path = writeFile(dir, "accents.txt", text);

    const rlq::DatasetSplits splits = rlq::loadDatasetSplits(path.string(), rlq::SplitSettings{});

    QCOMPARE(splits.finetune.text, std::string(23, 'a') + "\xC3\xA9");
    QCOMPARE(splits.validation.text, std::string("b\xE2\x82\xAC"));
    QCOMPARE(splits.test.text, std::string("c"));
}

void DatasetTest::trainTestPairSpec()
{
    RLQ_REQUIRE_SHARED("data/openbookqa");

    const std::string pair = sharedPath("data/openbookqa/train.jsonl").string() + " , " +
                             sharedPath("data/openbookqa/test.jsonl").string();
    const rlq::DatasetSplits fromPair = rlq::loadDatasetSplits(pair, rlq::SplitSettings{});
    const rlq::DatasetSplits fromDirectory =
        rlq::loadDatasetSplits(sharedPath("data/openbookqa").string(), rlq::SplitSettings{});

    QCOMPARE(fromPair.name, std::string("openbookqa"));
    QCOMPARE(fromPair.finetune.text, fromDirectory.finetune.text);
    QCOMPARE(fromPair.validation.text, fromDirectory.validation.text);
    QCOMPARE(fromPair.test.text, fromDirectory.test.text);
    QCOMPARE(fromPair.test.items.size(), size_t{500});
}

void DatasetTest::textPairHoldsOutEnd()
{
    RLQ_REQUIRE_SHARED("data/text/wikitext-2.valid.tokens");
    RLQ_REQUIRE_SHARED("data/text/wikitext-2.test.tokens");
    const fs::path trainPath = sharedPath("data/text/wikitext-2.valid.tokens");
    const fs::path testPath = sharedPath("data/text/wikitext-2.test.tokens");

    const rlq::DatasetSplits splits =
        rlq::loadDatasetSplits(trainPath.string() + "," + testPath.string(), rlq::SplitSettings{});
    const std::string trainText = rlq::readDatasetFile(trainPath).text;

    QCOMPARE(splits.name, std::string("wikitext-2.valid"));
    // The last floor(0.1 * 1121681) = 112168 bytes are held out.
    QCOMPARE(splits.finetune.text.size(), size_t{1009513});
    QCOMPARE(splits.validation.text.size(), size_t{112168});
    QCOMPARE(splits.finetune.text + splits.validation.text, trainText);
    QCOMPARE(splits.test.text, rlq::readDatasetFile(testPath).text);
}

void DatasetTest::hfDirectoryUsesValidationFile()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());

    std::string train;
    for (int row = 0; row < 12; ++row) {
        train += obqaHfRow("train-" + std::to_string(row), "Which color is number " + std::to_string(row) + "?", "C");
    }
    writeFile(dir, "train.jsonl", train);
    writeFile(dir, "validation.jsonl", obqaHfRow("val-0", "Sky?", "C") + obqaHfRow("val-1", "Grass?", "B"));
    writeFile(dir, "test.jsonl", obqaHfRow("test-0", "Blood?", "A") + "\n" + obqaHfRow("test-1", "Ash?", "D"));

    rlq::SplitSettings settings;
    settings.maxValidationItems = 1;
    const rlq::DatasetSplits splits = rlq::loadDatasetSplits(dir.path().toStdString(), settings);

    QCOMPARE(splits.layout, rlq::DatasetLayout::OpenBookQaHuggingFace);
    QCOMPARE(splits.finetune.items.size(), size_t{12});
    QCOMPARE(splits.validation.items.size(), size_t{1});
    QCOMPARE(splits.validation.items.front().id, std::string("val-0"));
    QCOMPARE(splits.test.items.size(), size_t{2});
    QCOMPARE(splits.test.text, std::string("Q: Blood?\nA: red\n\nQ: Ash?\nA: gray\n\n"));
    QVERIFY(contains(splits.validation.description, "validation.jsonl, 1 of 2 rows (validation file"));

    // Without test.jsonl, validation.jsonl becomes the test part and the
    // validation part is held out of train.jsonl.
    fs::remove(tempPath(dir, "test.jsonl"));
    const rlq::DatasetSplits noTest = rlq::loadDatasetSplits(dir.path().toStdString(), rlq::SplitSettings{});
    QCOMPARE(noTest.test.items.size(), size_t{2});
    QCOMPARE(noTest.validation.items.size(), size_t{1}); // floor(0.1 * 12)
    QCOMPARE(noTest.finetune.items.size(), size_t{11});
}

void DatasetTest::malformedRowRejected_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<int>("line");
    QTest::addColumn<QString>("expected");

    const std::string good = csqaRow("good", R"("stem": "Where?")", "A");
    const auto rows = [](const std::string& text) { return QByteArray::fromStdString(text); };

    QTest::newRow("badJson") << rows(good + "{\"id\": \"x\", \"question\": {\n") << 2 << "invalid JSON";
    QTest::newRow("missingStem") << rows(good + "\n" + csqaRow("nostem", R"("question_stem": "Where?")", "A"))
                                 << 3 << "field 'question.stem' is missing (expected a string)";
    QTest::newRow("stemIsNumber") << rows(csqaRow("num", R"("stem": 7)", "A")) << 1
                                  << "field 'question.stem' is a number (expected a string)";
    QTest::newRow("answerNotLabel") << rows(good + csqaRow("bad", R"("stem": "Where?")", "F")) << 2
                                    << "'F', which is not among the labels A, B";
    QTest::newRow("answerEmpty") << rows(csqaRow("blank", R"("stem": "Where?")", "")) << 1
                                 << "field 'answerKey' is empty";
    QTest::newRow("countMismatch")
        << rows(R"({"id": "x", "question_stem": "Q?", "choices": {"text": ["a", "b"], "label": ["A", "B", "C"]}, "answerKey": "A"})")
        << 1 << "3 labels but 2 texts";
    QTest::newRow("oneChoice")
        << rows(R"({"id": "x", "question_stem": "Q?", "choices": {"text": ["a"], "label": ["A"]}, "answerKey": "A"})")
        << 1 << "has only 1 choice (expected at least 2)";
    QTest::newRow("repeatedLabel")
        << rows(R"({"id": "x", "question": "Q?", "choices": {"text": ["a", "b"], "label": ["A", "A"]}, "answerKey": "A"})")
        << 1 << "repeats label 'A'";
    QTest::newRow("labelNotString")
        << rows(R"({"id": "x", "question": "Q?", "choices": {"text": ["a", "b"], "label": ["A", 2]}, "answerKey": "A"})")
        << 1 << "field 'choices.label[1]' is a number";
    QTest::newRow("notObject") << rows(good + "[1, 2]\n") << 2 << "row is an array (expected a JSON object)";
    QTest::newRow("unknownLayout") << rows("{\"text\": \"hello\"}\n") << 1 << "no known dataset layout";
    QTest::newRow("invalidUtf8") << rows(good + "{\"id\": \"\xFF\"}\n") << 2
                                 << QString::number(good.size() + 8).prepend("invalid UTF-8 at byte offset ");
    QTest::newRow("truncatedUtf8") << rows(good + "caf\xC3") << 2 << "invalid UTF-8 at byte offset";
    QTest::newRow("surrogateUtf8") << rows(good + "\xED\xA0\x80") << 2 << "invalid UTF-8 at byte offset";
}

void DatasetTest::malformedRowRejected()
{
    QFETCH(QByteArray, content);
    QFETCH(int, line);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path path = writeFile(dir, "rows.jsonl", content.toStdString());

    const std::string message = errorMessage([&] { rlq::readDatasetFile(path); });

    QVERIFY2(!message.empty(), "readDatasetFile did not throw rlq::Error");
    QVERIFY2(contains(message, path.string() + ":" + std::to_string(line) + ": "), message.c_str());
    QVERIFY2(contains(message, expected.toStdString()), message.c_str());
}

void DatasetTest::emptyFileRejected()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path empty = writeFile(dir, "empty.txt", "");
    const fs::path blank = writeFile(dir, "blank.jsonl", "\n  \n\t\n");
    const fs::path badText = writeFile(dir, "latin1.txt", "line one\nna\xEFve\n");

    const std::string emptyMessage = errorMessage([&] { rlq::readDatasetFile(empty); });
    const std::string blankMessage = errorMessage([&] { rlq::readDatasetFile(blank); });
    const std::string badTextMessage = errorMessage([&] { rlq::readDatasetFile(badText); });

    QVERIFY2(contains(emptyMessage, empty.string() + ":1: dataset file is empty"), emptyMessage.c_str());
    QVERIFY2(contains(blankMessage, blank.string() + ":1: dataset file contains only whitespace"),
             blankMessage.c_str());
    QVERIFY2(contains(badTextMessage, badText.string() + ":2: invalid UTF-8 at byte offset 11 (byte 0xEF)"),
             badTextMessage.c_str());
}

void DatasetTest::missingFileRejected()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path missing = tempPath(dir, "absent.jsonl");

    const std::string readMessage = errorMessage([&] { rlq::readDatasetFile(missing); });
    const std::string specMessage = errorMessage([&] { rlq::loadDatasetSplits(missing.string(), {}); });
    const std::string pairMessage =
        errorMessage([&] { rlq::loadDatasetSplits(missing.string() + "," + missing.string(), {}); });

    QVERIFY2(contains(readMessage, missing.string() + ": dataset file not found"), readMessage.c_str());
    QVERIFY2(contains(specMessage, "absent.jsonl' not found"), specMessage.c_str());
    QVERIFY2(contains(pairMessage, missing.string() + ": dataset file not found"), pairMessage.c_str());
}

void DatasetTest::unknownDirectoryRejected()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    writeFile(dir, "notes.txt", "hello\n");
    writeFile(dir, "dev.jsonl", kOpenBookQaHfSample);

    const std::string message = errorMessage([&] { rlq::loadDatasetSplits(dir.path().toStdString(), {}); });

    QVERIFY2(contains(message, dir.path().toStdString() + ": no known dataset files"), message.c_str());
    QVERIFY2(contains(message, "found dev.jsonl, notes.txt"), message.c_str());
    QVERIFY2(contains(message, "train_rand_split.jsonl + dev_rand_split.jsonl"), message.c_str());
    QVERIFY2(contains(message, "train.jsonl + test.jsonl"), message.c_str());

    writeFile(dir, "train_rand_split.jsonl", csqaRow("a", R"("stem": "Where?")", "A"));
    const std::string partial = errorMessage([&] { rlq::loadDatasetSplits(dir.path().toStdString(), {}); });
    QVERIFY2(contains(partial, "has no dev_rand_split.jsonl"), partial.c_str());
}

void DatasetTest::validationFractionChecked()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path path = writeFile(dir, "short.txt", std::string(100, 'x'));

    for (const double fraction : {0.0, -0.1, 0.51, 1.0, std::nan("")}) {
        rlq::SplitSettings settings;
        settings.validationFraction = fraction;
        const std::string message = errorMessage([&] { rlq::loadDatasetSplits(path.string(), settings); });
        QVERIFY2(contains(message, "is out of range; use a value in (0, 0.5]"), message.c_str());
    }

    rlq::SplitSettings half;
    half.validationFraction = 0.5;
    QCOMPARE(rlq::loadDatasetSplits(path.string(), half).test.text.size(), size_t{10});
}

void DatasetTest::mixedFilesRejected()
{
    RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");
    RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");
    const std::string csqa = sharedPath("data/commonsenseqa/dev_rand_split.jsonl").string();
    const std::string obqa = sharedPath("data/openbookqa/test.jsonl").string();

    const std::string mixed = errorMessage([&] { rlq::loadDatasetSplits(csqa + "," + obqa, {}); });
    const std::string same = errorMessage([&] { rlq::loadDatasetSplits(obqa + "," + obqa, {}); });
    const std::string commas = errorMessage([&] { rlq::loadDatasetSplits("a,b,c", {}); });

    QVERIFY2(contains(mixed, "is OpenBookQA (original JSONL) but"), mixed.c_str());
    QVERIFY2(contains(mixed, "use files of one dataset"), mixed.c_str());
    QVERIFY2(contains(same, "is the same file as"), same.c_str());
    QVERIFY2(contains(commas, "has more than one comma"), commas.c_str());
}

QTEST_GUILESS_MAIN(DatasetTest)
#include "test_datasets.moc"

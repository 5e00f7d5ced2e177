// The built-in demo bundle in resources/demo and the byte-level BPE trainer
// of tools/BpeTrainer.cpp that made its tokenizer.

#include "TestSupport.h"

#include "BpeTrainer.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "model/ModelLocator.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

namespace {

// Row counts that rlq-make-demo writes and resources/demo/README.md states.
constexpr size_t kTrainRows = 3000;
constexpr size_t kValidationRows = 300;
constexpr size_t kTestRows = 300;

// The bundle must stay small enough to ship in the repository and installers.
constexpr uint64_t kMaxBundleBytes = 10'000'000;

// Bounds with a margin around the values in README.md (perplexity 2.67,
// acc 0.537), so that a bundle rebuilt on another CPU, with slightly
// different float results, still passes. Chance accuracy is 0.25, and the
// standard error of acc over 300 questions is about 0.03.
constexpr double kMaxTestPerplexity = 3.2;
constexpr double kMinTestAccuracy = 0.40;

// The bundle's tokenizer encodes test.jsonl's text at 0.335 tokens per byte.
// Byte tokens alone would give 1.0.
constexpr double kMaxTokensPerByte = 0.40;

QStringList toStringList(const std::vector<std::string_view>& pieces)
{
    QStringList list;
    for (const std::string_view piece : pieces) {
        list << QString::fromUtf8(piece.data(), qsizetype(piece.size()));
    }
    return list;
}

QStringList mergeLines(const rlq::BpeVocabulary& vocabulary)
{
    QStringList lines;
    for (const auto& [left, right] : vocabulary.merges) {
        lines << QString::fromStdString(rlq::byteLevelText(left) + " " + rlq::byteLevelText(right));
    }
    return lines;
}

// The question with its options in a fixed order, to find the same question
// in two parts even when its choices were shuffled differently.
std::string questionKey(const rlq::QaItem& item)
{
    std::vector<std::string> choices = item.choiceTexts;
    std::sort(choices.begin(), choices.end());
    std::string key = item.stem;
    for (const std::string& choice : choices) {
        key += "|" + choice;
    }
    return key;
}

uint64_t folderBytes(const std::filesystem::path& folder)
{
    uint64_t bytes = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
        if (entry.is_regular_file()) {
            bytes += entry.file_size();
        }
    }
    return bytes;
}

} // namespace

class DemoBundleTest : public QObject {
    Q_OBJECT

    std::filesystem::path bundle_;
    std::optional<rlq::LoadedModel> model_;

    std::filesystem::path dataFile(const char* name) const { return bundle_ / "data" / name; }

    std::string testText() const { return rlq::renderLanguageModelText(rlq::readDatasetFile(dataFile("test.jsonl"))); }

private slots:
    void initTestCase()
    {
        rlq::configureTorchThreads();
        bundle_ = rlq::demoBundleFolder();
        QVERIFY2(!bundle_.empty(), "resources/demo not found; build it with rlq-make-demo or set RLQ_DEMO_DIR");
        model_.emplace(rlq::loadModel("demo"));
    }

    void bundleSizeBelowLimit()
    {
        const uint64_t bytes = folderBytes(bundle_);
        qInfo("bundle %s: %llu bytes", bundle_.c_str(), static_cast<unsigned long long>(bytes));
        QVERIFY(bytes < kMaxBundleBytes);
    }

    void modelConfigMatchesTokenizer()
    {
        QCOMPARE(model_->source.origin, std::string("demo"));
        QCOMPARE(model_->config.nLayer, int64_t(4));
        QCOMPARE(model_->config.nEmbd, int64_t(64));
        QCOMPARE(model_->config.vocabSize, int64_t(model_->tokenizer.vocabSize()));
        QCOMPARE(model_->tokenizer.endOfTextId(), model_->tokenizer.vocabSize() - 1);
        QVERIFY(model_->tokenizer.vocabSize() >= 1000);
    }

    void modelForwardGivesFiniteLogits()
    {
        const auto ids = model_->tokenizer.encode("Q: What is 2 plus 3?\nA: 5\n\n");
        const auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end())).unsqueeze(0);
        torch::Tensor logits;
        {
            c10::InferenceMode inference;
            logits = rlq::gpt2Logits(model_->config, model_->weights, input);
        }
        QCOMPARE(logits.size(0), int64_t(1));
        QCOMPARE(logits.size(1), int64_t(ids.size()));
        QCOMPARE(logits.size(2), model_->config.vocabSize);
        QVERIFY(torch::isfinite(logits).all().item<bool>());
    }

    void tokenizerRoundTripsTestText()
    {
        const std::string text = testText();
        const auto ids = model_->tokenizer.encode(text);
        QCOMPARE(model_->tokenizer.decode(ids), text);

        const double tokensPerByte = double(ids.size()) / double(text.size());
        qInfo("test text: %zu bytes, %zu tokens (%.3f per byte)", text.size(), ids.size(), tokensPerByte);
        QVERIFY(tokensPerByte < kMaxTokensPerByte);
    }

    void dataFilesAreOpenBookQa_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<qulonglong>("rows");
        QTest::newRow("train") << "train.jsonl" << qulonglong(kTrainRows);
        QTest::newRow("validation") << "validation.jsonl" << qulonglong(kValidationRows);
        QTest::newRow("test") << "test.jsonl" << qulonglong(kTestRows);
    }

    void dataFilesAreOpenBookQa()
    {
        QFETCH(QString, file);
        QFETCH(qulonglong, rows);
        const rlq::DatasetFile dataset = rlq::readDatasetFile(dataFile(file.toUtf8().constData()));
        QCOMPARE(dataset.layout, rlq::DatasetLayout::OpenBookQaOriginal);
        QCOMPARE(qulonglong(dataset.items.size()), rows);

        const std::vector<std::string> labels = {"A", "B", "C", "D"};
        for (const rlq::QaItem& item : dataset.items) {
            QCOMPARE(item.labels, labels);
            QVERIFY(item.answerIndex >= 0 && item.answerIndex < 4);
        }
    }

    void splitsAreDisjoint()
    {
        const rlq::DatasetSplits splits = rlq::loadDatasetSplits((bundle_ / "data").string(), rlq::SplitSettings{});
        QCOMPARE(splits.finetune.items.size(), kTrainRows);
        QCOMPARE(splits.validation.items.size(), kValidationRows);
        QCOMPARE(splits.test.items.size(), kTestRows);

        std::set<std::string> ids;
        std::set<std::string> questions;
        for (const rlq::DatasetPart* part : {&splits.finetune, &splits.validation, &splits.test}) {
            for (const rlq::QaItem& item : part->items) {
                QVERIFY2(ids.insert(item.id).second, item.id.c_str());
                QVERIFY2(questions.insert(questionKey(item)).second, item.stem.c_str());
            }
        }
    }

    void testPerplexityBelowBound()
    {
        const auto ids = model_->tokenizer.encode(testText());
        const rlq::PerplexityResult result =
            rlq::evaluatePerplexity(model_->config, model_->weights, ids, rlq::PerplexityProtocol{});
        qInfo("test perplexity %.4f over %lld tokens", result.perplexity, static_cast<long long>(result.tokensScored));
        QVERIFY(std::isfinite(result.perplexity));
        QVERIFY(result.perplexity < kMaxTestPerplexity);
    }

    void testAccuracyAboveChance()
    {
        const rlq::DatasetFile test = rlq::readDatasetFile(dataFile("test.jsonl"));
        const rlq::MultipleChoiceResult result =
            rlq::evaluateMultipleChoice(model_->config, model_->weights, model_->tokenizer, test.items);
        qInfo("test acc %.4f, acc_norm %.4f over %lld questions", result.acc, result.accNorm,
              static_cast<long long>(result.items));
        QCOMPARE(result.items, int64_t(kTestRows));
        QVERIFY(result.acc > kMinTestAccuracy);
    }

    void preTokensFollowGpt2Pattern_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("words") << "Q: red fox" << QStringList{"Q", ":", " red", " fox"};
        QTest::newRow("contractions") << "it's we'll I'M" << QStringList{"it", "'s", " we", "'ll", " I", "'", "M"};
        QTest::newRow("numbers and symbols") << "12 plus 3?!" << QStringList{"12", " plus", " 3", "?!"};
        QTest::newRow("two spaces") << "a  b" << QStringList{"a", " ", " b"};
        QTest::newRow("blank line") << "A: 5\n\nQ" << QStringList{"A", ":", " 5", "\n", "\n", "Q"};
        QTest::newRow("trailing spaces") << "end  " << QStringList{"end", "  "};
        QTest::newRow("letters beyond ASCII") << "über café" << QStringList{"über", " café"};
        QTest::newRow("end of text dropped") << "ab<|endoftext|> cd" << QStringList{"ab", " cd"};
    }

    void preTokensFollowGpt2Pattern()
    {
        QFETCH(QString, text);
        QFETCH(QStringList, expected);
        const QByteArray utf8 = text.toUtf8();
        QCOMPARE(toStringList(rlq::splitPreTokens(std::string_view(utf8.constData(), size_t(utf8.size())))), expected);
    }

    void bpeTrainerMergesMostFrequentPair()
    {
        // Pre-tokens "ab", " ab", " abc": (a, b) occurs 3 times, then
        // (" ", "ab") twice; ("ab", "c") occurs once, below minPairCount 2.
        const rlq::BpeVocabulary vocabulary = rlq::trainByteLevelBpe("ab ab abc", rlq::BpeTrainingSettings{});
        QCOMPARE(mergeLines(vocabulary), (QStringList{"a b", "Ġ ab"}));
        QCOMPARE(vocabulary.tokenBytes.size(), size_t(256 + 2 + 1));
        QCOMPARE(vocabulary.tokenBytes[256], std::string("ab"));
        QCOMPARE(vocabulary.tokenBytes[257], std::string(" ab"));
        QCOMPARE(vocabulary.tokenBytes.back(), std::string("<|endoftext|>"));
        QCOMPARE(vocabulary.corpusTokenCount, int64_t(4));
    }

    void bpeTrainerBreaksTiesByBytes()
    {
        // Every pair of "xy zw" occurs once; the pair whose bytes sort first
        // wins, and the space (0x20) sorts before letters.
        rlq::BpeTrainingSettings settings;
        settings.minPairCount = 1;
        const rlq::BpeVocabulary vocabulary = rlq::trainByteLevelBpe("xy zw", settings);
        QCOMPARE(mergeLines(vocabulary), (QStringList{"Ġ z", "Ġz w", "x y"}));
        QCOMPARE(vocabulary.corpusTokenCount, int64_t(2));
    }

    void bpeTrainerStopsAtVocabSize()
    {
        rlq::BpeTrainingSettings settings;
        settings.minPairCount = 1;
        settings.vocabSize = 258;
        const rlq::BpeVocabulary vocabulary = rlq::trainByteLevelBpe("xy zw", settings);
        QCOMPARE(mergeLines(vocabulary), QStringList{"Ġ z"});
        QCOMPARE(vocabulary.tokenBytes.size(), size_t(258));
    }

    void bpeTrainerRejectsTinyVocab()
    {
        rlq::BpeTrainingSettings settings;
        settings.vocabSize = 256;
        QVERIFY_THROWS_EXCEPTION(rlq::Error, rlq::trainByteLevelBpe("ab", settings));
    }

    void bpeFilesLoadIntoTokenizer()
    {
        // The corpus mixes whitespace, contractions, digits and non-ASCII
        // letters. With minPairCount 1 every pre-token ends as one token, so
        // a pre-tokenizer that disagrees with Gpt2Tokenizer changes the count.
        const std::string corpus = "It's  a test.\n\n  Numbers: 123 4567!!\tdone \xC3\xBC" "ber caf\xC3\xA9 we'll see\r\n"
                                   "It's a test again, 123 times.  \n";
        rlq::BpeTrainingSettings settings;
        settings.minPairCount = 1;
        const rlq::BpeVocabulary vocabulary = rlq::trainByteLevelBpe(corpus, settings);
        QCOMPARE(vocabulary.corpusTokenCount, int64_t(rlq::splitPreTokens(corpus).size()));

        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        const std::filesystem::path path = folder.path().toStdString();
        rlq::writeBpeFiles(vocabulary, path);
        const rlq::Gpt2Tokenizer tokenizer = rlq::Gpt2Tokenizer::fromDirectory(path);

        const auto ids = tokenizer.encode(corpus);
        QCOMPARE(int64_t(ids.size()), vocabulary.corpusTokenCount);
        QCOMPARE(tokenizer.decode(ids), corpus);
        QCOMPARE(tokenizer.vocabSize(), int32_t(vocabulary.tokenBytes.size()));
        QCOMPARE(tokenizer.endOfTextId(), vocabulary.endOfTextId());
    }
};

QTEST_GUILESS_MAIN(DemoBundleTest)
#include "test_demo_bundle.moc"

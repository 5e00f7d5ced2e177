#include "TestSupport.h"

#include "tokenizer/Gpt2Tokenizer.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

const std::string kTokenizerDir = "data/gpt2-tokenizer";
const std::string kVocabFile = "data/gpt2-tokenizer/vocab.json";
const std::string kMergesFile = "data/gpt2-tokenizer/merges.txt";
const std::string kGoldenFile = "data/gpt2-tokenizer/golden_encodings.jsonl";

struct GoldenCase {
    std::string text;
    std::vector<int32_t> ids;
};

std::vector<GoldenCase> loadGoldenCases()
{
    std::ifstream stream(sharedPath(kGoldenFile));
    std::vector<GoldenCase> cases;
    std::string line;
    while (std::getline(stream, line)) {
        const nlohmann::json row = nlohmann::json::parse(line);
        cases.push_back({row.at("text").get<std::string>(), row.at("ids").get<std::vector<int32_t>>()});
    }
    return cases;
}

QString idsToString(const std::vector<int32_t>& ids)
{
    QStringList parts;
    for (const int32_t id : ids) {
        parts << QString::number(id);
    }
    return "[" + parts.join(", ") + "]";
}

// Describes the first difference between expected and actual ids, or returns
// an empty string when they are equal.
QString describeMismatch(const std::vector<int32_t>& expected, const std::vector<int32_t>& actual)
{
    if (expected == actual) {
        return {};
    }
    std::size_t position = 0;
    while (position < expected.size() && position < actual.size() && expected[position] == actual[position]) {
        ++position;
    }
    const QString expectedId = position < expected.size() ? QString::number(expected[position]) : "end";
    const QString actualId = position < actual.size() ? QString::number(actual[position]) : "end";
    return QString("first difference at position %1: expected %2, got %3 (expected %4 ids, got %5)")
        .arg(position)
        .arg(expectedId, actualId)
        .arg(expected.size())
        .arg(actual.size());
}

// Runs function and returns the message of the rlq::Error it throws, or an
// empty string when it throws nothing.
template <typename Function>
QString rlqErrorMessage(Function function)
{
    try {
        function();
    } catch (const rlq::Error& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

void writeFile(const std::filesystem::path& path, const std::string& contents)
{
    std::ofstream stream(path, std::ios::binary);
    stream << contents;
}

std::vector<int32_t> concatenate(std::vector<int32_t> first, const std::vector<int32_t>& second)
{
    first.insert(first.end(), second.begin(), second.end());
    return first;
}

} // namespace

// QCOMPARE in Qt 6.4 prints no values for std::vector, so this macro compares
// and prints the ids itself.
#define COMPARE_IDS(actual, expected)                                                          \
    do {                                                                                       \
        const std::vector<int32_t> actualIds_ = (actual);                                      \
        const std::vector<int32_t> expectedIds_ = (expected);                                  \
        QVERIFY2(actualIds_ == expectedIds_,                                                   \
                 qPrintable(QString("got %1, expected %2; %3")                                 \
                                .arg(idsToString(actualIds_), idsToString(expectedIds_),       \
                                     describeMismatch(expectedIds_, actualIds_))));            \
    } while (false)

// Compares byte strings exactly. On failure QCOMPARE prints each QByteArray
// with escaped bytes.
#define COMPARE_BYTES(actual, expected) \
    QCOMPARE(QByteArray::fromStdString(actual), QByteArray::fromStdString(expected))

class TokenizerTest : public QObject {
    Q_OBJECT

private:
    // Loaded once when the reference data exists. Tests that use it call
    // RLQ_REQUIRE_SHARED first.
    std::optional<rlq::Gpt2Tokenizer> tokenizer_;

    const rlq::Gpt2Tokenizer& tokenizer() const { return *tokenizer_; }

private slots:
    void initTestCase()
    {
        if (std::filesystem::exists(sharedPath(kVocabFile)) && std::filesystem::exists(sharedPath(kMergesFile))) {
            tokenizer_ = rlq::Gpt2Tokenizer::fromFiles(sharedPath(kVocabFile), sharedPath(kMergesFile));
        }
    }

    void goldenEncodings()
    {
        RLQ_REQUIRE_SHARED(kGoldenFile);
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::vector<GoldenCase> cases = loadGoldenCases();
        QCOMPARE(cases.size(), std::size_t(352));

        int failures = 0;
        QString report;
        for (std::size_t index = 0; index < cases.size(); ++index) {
            const QString mismatch = describeMismatch(cases[index].ids, tokenizer().encode(cases[index].text));
            if (mismatch.isEmpty()) {
                continue;
            }
            if (++failures <= 5) {
                report += QString("\n  case %1 %2: %3")
                              .arg(index)
                              .arg(QString::fromStdString(nlohmann::json(cases[index].text).dump()), mismatch);
            }
        }
        QVERIFY2(failures == 0, qPrintable(QString("%1 of %2 golden cases differ:%3")
                                               .arg(failures)
                                               .arg(cases.size())
                                               .arg(report)));
    }

    void decodeRoundTrip()
    {
        RLQ_REQUIRE_SHARED(kGoldenFile);
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::vector<GoldenCase> cases = loadGoldenCases();

        for (std::size_t index = 0; index < cases.size(); ++index) {
            const std::string decoded = tokenizer().decode(cases[index].ids);
            QVERIFY2(decoded == cases[index].text,
                     qPrintable(QString("case %1: decoded %2, expected %3")
                                    .arg(index)
                                    .arg(QString::fromStdString(nlohmann::json(decoded).dump()),
                                         QString::fromStdString(nlohmann::json(cases[index].text).dump()))));
        }
    }

    void vocabularySizes()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        QCOMPARE(tokenizer().vocabSize(), 50257);
        QCOMPARE(tokenizer().endOfTextId(), 50256);
    }

    void fromDirectoryLoads()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const rlq::Gpt2Tokenizer loaded = rlq::Gpt2Tokenizer::fromDirectory(sharedPath(kTokenizerDir));

        QCOMPARE(loaded.vocabSize(), 50257);
        COMPARE_IDS(loaded.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
    }

    void endOfTextSplit()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const rlq::Gpt2Tokenizer& tok = tokenizer();

        COMPARE_IDS(tok.encode("<|endoftext|>"), (std::vector<int32_t>{50256}));
        COMPARE_IDS(tok.encode("Hello<|endoftext|> world"), (std::vector<int32_t>{15496, 50256, 995}));
        COMPARE_IDS(tok.encode("<|endoftext|><|endoftext|>"), (std::vector<int32_t>{50256, 50256}));

        // The pieces around the special token are encoded on their own, so
        // the space before it is not joined to the word after it.
        const std::vector<int32_t> expected = concatenate(concatenate(tok.encode("a "), {50256}), tok.encode("b"));
        COMPARE_IDS(tok.encode("a <|endoftext|>b"), expected);

        const std::vector<int32_t> partial = tok.encode("<|endoftext|");
        QVERIFY(std::find(partial.begin(), partial.end(), 50256) == partial.end());

        COMPARE_BYTES(tok.decode({15496, 50256, 995}), std::string("Hello<|endoftext|> world"));
    }

    void whitespaceRules()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const rlq::Gpt2Tokenizer& tok = tokenizer();

        // "a", " ", " b": the run of two spaces gives its last space to "b".
        COMPARE_IDS(tok.encode("a  b"), (std::vector<int32_t>{64, 220, 275}));
        // Tabs do not join a word, so the last tab becomes its own pre-token.
        COMPARE_IDS(tok.encode("x\t\ty"), (std::vector<int32_t>{87, 197, 197, 88}));
        // Whitespace at the end of the text stays one pre-token.
        COMPARE_IDS(tok.encode("end  "), (std::vector<int32_t>{437, 220, 220}));
        // "\n\n" before a word splits into "\n", "\n" (not the single token 628).
        COMPARE_IDS(tok.encode("\n\nHello"), (std::vector<int32_t>{198, 198, 15496}));
        COMPARE_IDS(tok.encode(" \nhi"), (std::vector<int32_t>{220, 198, 5303}));
        COMPARE_IDS(tok.encode(""), (std::vector<int32_t>{}));
    }

    void contractionsCaseSensitive()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);

        // Pre-tokens: "it", "'s", " IT", "'", "S", " they", "'ll".
        COMPARE_IDS(tokenizer().encode("it's IT'S they'll"),
                    (std::vector<int32_t>{270, 338, 7283, 6, 50, 484, 1183}));
        // Pre-tokens: "don", "''", "t": a contraction only starts a pre-token.
        COMPARE_IDS(tokenizer().encode("don''t"), (std::vector<int32_t>{9099, 7061, 83}));
    }

    void invalidUtf8Input()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::string text = "ok\xFF\xFE end";

        // "ok", then the two invalid bytes as one run of class Other, then " end".
        const std::vector<int32_t> ids = tokenizer().encode(text);
        COMPARE_IDS(ids, (std::vector<int32_t>{482, 187, 186, 886}));
        COMPARE_BYTES(tokenizer().decode(ids), std::string("ok\xEF\xBF\xBD\xEF\xBF\xBD end"));

        // A sequence truncated by the end of the text: each byte is one code
        // point, and decoding replaces the maximal invalid subpart once.
        const std::vector<int32_t> truncated = tokenizer().encode("a\xE2\x82");
        COMPARE_IDS(truncated, (std::vector<int32_t>{64, 158, 224}));
        COMPARE_BYTES(tokenizer().decode(truncated), std::string("a\xEF\xBF\xBD"));
    }

    void decodeReplacesInvalidUtf8()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::string replacement = "\xEF\xBF\xBD";

        // Ids of one-byte tokens in vocab.json: 0xE2 158, 0x82 224, 0xF0 172,
        // 0x80 222, 0xED 169, 0xA0 254, 'a' 64. The expected strings are
        // those of Python's bytes.decode("utf-8", errors="replace").
        COMPARE_BYTES(tokenizer().decode({158, 224, 64}), replacement + "a");
        COMPARE_BYTES(tokenizer().decode({172, 222, 222}), replacement + replacement + replacement);
        COMPARE_BYTES(tokenizer().decode({169, 254, 222}), replacement + replacement + replacement);
        COMPARE_BYTES(tokenizer().decode({158, 224}), replacement);
    }

    void longPreTokens()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::size_t length = 200000;

        // Each text is one pre-token of 200,000 bytes. BPE with a heap of
        // candidate pairs takes well under a second, but a merge loop that
        // rescans all pairs after each merge would exceed the 10 s limit.
        for (const char byte : {' ', 'a', '!', '7'}) {
            const std::string text(length, byte);
            QElapsedTimer timer;
            timer.start();
            const std::vector<int32_t> ids = tokenizer().encode(text);
            QVERIFY2(timer.elapsed() < 10000, qPrintable(QString("took %1 ms").arg(timer.elapsed())));
            QVERIFY(!ids.empty());
            COMPARE_BYTES(tokenizer().decode(ids), text);
        }
    }

    void concurrentEncode()
    {
        RLQ_REQUIRE_SHARED(kGoldenFile);
        RLQ_REQUIRE_SHARED(kVocabFile);
        const std::vector<GoldenCase> cases = loadGoldenCases();

        // A fresh copy starts with an empty cache shared by all threads, so
        // the threads fill and read the same cache at the same time.
        const rlq::Gpt2Tokenizer shared = rlq::Gpt2Tokenizer::fromDirectory(sharedPath(kTokenizerDir));
        std::atomic<int> mismatches{0};
        std::vector<std::thread> threads;
        for (int threadIndex = 0; threadIndex < 4; ++threadIndex) {
            threads.emplace_back([&, threadIndex] {
                for (int round = 0; round < 3; ++round) {
                    for (std::size_t i = 0; i < cases.size(); ++i) {
                        const GoldenCase& golden = cases[(i + threadIndex * 89) % cases.size()];
                        if (shared.encode(golden.text) != golden.ids) {
                            ++mismatches;
                        }
                    }
                }
            });
        }
        for (std::thread& thread : threads) {
            thread.join();
        }
        QCOMPARE(mismatches.load(), 0);
    }

    void missingVocabFile()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path vocab = std::filesystem::path(dir.path().toStdString()) / "vocab.json";
        const std::filesystem::path merges = std::filesystem::path(dir.path().toStdString()) / "merges.txt";
        writeFile(merges, "#version: 0.2\n");

        const QString message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromFiles(vocab, merges); });
        QVERIFY2(!message.isEmpty(), "expected rlq::Error");
        QVERIFY2(message.contains(QString::fromStdString(vocab.string())), qPrintable(message));
        QVERIFY2(message.contains("not found"), qPrintable(message));
    }

    void missingDirectory()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path missing = std::filesystem::path(dir.path().toStdString()) / "absent";

        const QString message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromDirectory(missing); });
        QVERIFY2(message.contains(QString::fromStdString(missing.string())), qPrintable(message));
    }

    void malformedVocabJson()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path vocab = std::filesystem::path(dir.path().toStdString()) / "vocab.json";
        const std::filesystem::path merges = std::filesystem::path(dir.path().toStdString()) / "merges.txt";
        writeFile(vocab, "{\"a\": 0, \"b\": ");
        writeFile(merges, "#version: 0.2\n");

        const QString message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromFiles(vocab, merges); });
        QVERIFY2(!message.isEmpty(), "expected rlq::Error");
        QVERIFY2(message.contains(QString::fromStdString(vocab.string())), qPrintable(message));
        QVERIFY2(message.contains("invalid JSON"), qPrintable(message));
        QVERIFY2(!message.contains('\n'), qPrintable(message));
    }

    void vocabKeyWithBadId()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path vocab = std::filesystem::path(dir.path().toStdString()) / "vocab.json";
        const std::filesystem::path merges = std::filesystem::path(dir.path().toStdString()) / "merges.txt";
        writeFile(merges, "#version: 0.2\n");

        writeFile(vocab, "{\"a\": 0, \"hello\": \"one\"}");
        QString message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromFiles(vocab, merges); });
        QVERIFY2(message.contains(QString::fromStdString(vocab.string())), qPrintable(message));
        QVERIFY2(message.contains("\"hello\""), qPrintable(message));

        writeFile(vocab, "{\"a\": 0, \"hello\": 7}");
        message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromFiles(vocab, merges); });
        QVERIFY2(message.contains("\"hello\""), qPrintable(message));
        QVERIFY2(message.contains("7"), qPrintable(message));

        writeFile(vocab, "{\"a\": 0, \"hello\": 0}");
        message = rlqErrorMessage([&] { rlq::Gpt2Tokenizer::fromFiles(vocab, merges); });
        QVERIFY2(message.contains("\"hello\""), qPrintable(message));
    }

    void malformedMergesLine()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path merges = std::filesystem::path(dir.path().toStdString()) / "merges.txt";
        writeFile(merges, "#version: 0.2\n\xC4\xA0 t\nthree tokens here\n");

        const QString message = rlqErrorMessage(
            [&] { rlq::Gpt2Tokenizer::fromFiles(sharedPath(kVocabFile), merges); });
        QVERIFY2(!message.isEmpty(), "expected rlq::Error");
        QVERIFY2(message.contains(QString::fromStdString(merges.string())), qPrintable(message));
        QVERIFY2(message.contains("line 3"), qPrintable(message));
    }

    void mergeTokenNotInVocab()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::filesystem::path merges = std::filesystem::path(dir.path().toStdString()) / "merges.txt";
        writeFile(merges, "#version: 0.2\n\xC4\xA0 t\nqqqqqqqqqq zzzzzzzzzz\n");

        const QString message = rlqErrorMessage(
            [&] { rlq::Gpt2Tokenizer::fromFiles(sharedPath(kVocabFile), merges); });
        QVERIFY2(message.contains(QString::fromStdString(merges.string())), qPrintable(message));
        QVERIFY2(message.contains("line 3"), qPrintable(message));
        QVERIFY2(message.contains("qqqqqqqqqq"), qPrintable(message));
    }

    void decodeOutOfRangeId()
    {
        RLQ_REQUIRE_SHARED(kVocabFile);
        const QString vocabPath = QString::fromStdString(sharedPath(kVocabFile).string());

        for (const int32_t id : {50257, -1}) {
            const QString message = rlqErrorMessage([&] { tokenizer().decode({15496, id}); });
            QVERIFY2(!message.isEmpty(), qPrintable(QString("expected rlq::Error for id %1").arg(id)));
            QVERIFY2(message.contains(vocabPath), qPrintable(message));
            QVERIFY2(message.contains(QString::number(id)), qPrintable(message));
        }
    }
};

QTEST_GUILESS_MAIN(TokenizerTest)
#include "test_tokenizer.moc"

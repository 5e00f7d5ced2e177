// The rlq command line: real runs of the built program on real files.

#include "TestSupport.h"

#include <QProcess>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <fstream>

namespace {

const char* const kReferenceModel = "models/tiny-gpt2-ref";

struct RunResult {
    int exitCode;
    QString standardOutput;
    QString standardError;
};

QString rlqProgram()
{
    return qEnvironmentVariable("RLQ_BINARY_DIR") + "/app/rlq";
}

RunResult runRlq(const QStringList& arguments, const QByteArray& input = {})
{
    QProcess process;
    process.start(rlqProgram(), arguments);
    process.waitForStarted();
    if (!input.isEmpty()) {
        process.write(input);
    }
    process.closeWriteChannel();
    process.waitForFinished(600000);
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
            QString::fromUtf8(process.readAllStandardOutput()), QString::fromUtf8(process.readAllStandardError())};
}

QString shared(const char* relative)
{
    return QString::fromStdString(sharedPath(relative).string());
}

// An error run must exit with code 2 and print exactly one line.
void verifyOneLineError(const RunResult& result, const QString& expectedPart)
{
    QCOMPARE(result.exitCode, 2);
    QCOMPARE(result.standardError.trimmed().count('\n'), 0);
    QVERIFY2(result.standardError.contains(expectedPart), qPrintable(result.standardError));
}

} // namespace

class CliTest : public QObject {
    Q_OBJECT

private slots:
    void evalJsonReproducesReference()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const auto result = runRlq({"eval", "--model", shared(kReferenceModel), "--dataset",
                                    shared("data/openbookqa/test.jsonl"), "--max-items", "40", "--json"});
        QVERIFY2(result.exitCode == 0, qPrintable(result.standardError));
        const auto json = nlohmann::json::parse(result.standardOutput.toStdString());
        QCOMPARE(json.at("windows").get<int64_t>(), int64_t(87));
        QCOMPARE(json.at("tokens_scored").get<int64_t>(), int64_t(11136));
        QVERIFY(std::abs(json.at("perplexity").get<double>() / 73.16084820039259 - 1.0) < 1e-3);
        QCOMPARE(json.at("questions").get<int64_t>(), int64_t(40));
        QVERIFY(json.at("acc").get<double>() >= 0.0);
    }

    void evalTextTestPart()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const auto result = runRlq({"eval", "--model", shared(kReferenceModel), "--dataset",
                                    shared("data/text/tinyshakespeare.txt"), "--part", "test"});
        QVERIFY2(result.exitCode == 0, qPrintable(result.standardError));
        QVERIFY2(result.standardOutput.contains("perplexity   120.7"), qPrintable(result.standardOutput));
        QVERIFY(result.standardOutput.contains("35968 scored in 281 windows"));
    }

    void tokenizeRoundTrip()
    {
        RLQ_REQUIRE_SHARED("data/gpt2-tokenizer/vocab.json");
        const QString tokenizer = shared("data/gpt2-tokenizer");
        const auto encoded = runRlq({"tokenize", "--tokenizer", tokenizer}, "Hello world");
        QCOMPARE(encoded.exitCode, 0);
        QCOMPARE(encoded.standardOutput.trimmed(), QString("15496 995"));

        const auto decoded = runRlq({"tokenize", "--tokenizer", tokenizer, "--decode"}, "15496 995");
        QCOMPARE(decoded.exitCode, 0);
        QCOMPARE(decoded.standardOutput, QString("Hello world"));
    }

    void missingModelFolder()
    {
        verifyOneLineError(runRlq({"eval", "--model", "/nonexistent/model-folder"}), "/nonexistent/model-folder");
    }

    void corruptWeights()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const std::filesystem::path folder = dir.path().toStdString();
        for (const char* name : {"config.json", "vocab.json", "merges.txt"}) {
            std::filesystem::copy_file(sharedPath(kReferenceModel) / name, folder / name);
        }
        std::ofstream(folder / "model.safetensors", std::ios::binary) << "\x10\x00\x00\x00\x00\x00\x00\x00{\"broken\"";
        const auto result = runRlq({"eval", "--model", dir.path(), "--dataset", shared("data/openbookqa/test.jsonl")});
        verifyOneLineError(result, "model.safetensors");
    }

    void badDatasetRow()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const auto path = dir.path() + "/bad.jsonl";
        std::ofstream(path.toStdString())
            << R"({"id": "1", "question": {"stem": "Q?", "choices": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}]}, "answerKey": "A"})"
            << "\n"
            << R"({"id": "2", "question": {"choices": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}]}, "answerKey": "A"})"
            << "\n";
        const auto result = runRlq({"eval", "--model", shared(kReferenceModel), "--dataset", path});
        verifyOneLineError(result, "bad.jsonl:2");
    }

    void unknownOption()
    {
        verifyOneLineError(runRlq({"eval", "--modle", "x"}), "--modle");
    }
};

QTEST_GUILESS_MAIN(CliTest)
#include "test_cli.moc"

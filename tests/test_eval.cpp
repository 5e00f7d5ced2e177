// Perplexity and multiple-choice scoring against the reference metrics.

#include "TestSupport.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "model/ModelLocator.h"
#include "util/AtomicFile.h"
#include "util/Threads.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>

namespace {

const char* const kReferenceModel = "models/tiny-gpt2-ref";

struct Reference {
    int64_t windows;
    int64_t tokensScored;
    double perplexity;
};

Reference referenceFor(const std::string& key)
{
    const auto metrics = nlohmann::json::parse(rlq::readFile(sharedPath(kReferenceModel) / "reference_metrics.json"));
    const auto& entry = metrics.at("perplexity").at(key);
    return {entry.at("windows").get<int64_t>(), entry.at("tokens_scored").get<int64_t>(),
            entry.at("perplexity").get<double>()};
}

std::string fileText(const std::string& relative)
{
    return rlq::renderLanguageModelText(rlq::readDatasetFile(sharedPath(relative)));
}

} // namespace

class EvalTest : public QObject {
    Q_OBJECT

    std::optional<rlq::LoadedModel> model_;

private slots:
    void initTestCase()
    {
        rlq::configureTorchThreads();
        RLQ_REQUIRE_SHARED(kReferenceModel);
        model_.emplace(rlq::loadModel(sharedPath(kReferenceModel).string()));
    }

    void referencePerplexity_data()
    {
        QTest::addColumn<QString>("key");
        QTest::newRow("csqa_dev") << "csqa_dev";
        QTest::newRow("obqa_test") << "obqa_test";
        QTest::newRow("shakespeare_val") << "shakespeare_val";
    }

    void referencePerplexity()
    {
        RLQ_REQUIRE_SHARED("data/text/tinyshakespeare.txt");
        QFETCH(QString, key);
        std::string text;
        if (key == "csqa_dev") {
            text = fileText("data/commonsenseqa/dev_rand_split.jsonl");
        } else if (key == "obqa_test") {
            text = fileText("data/openbookqa/test.jsonl");
        } else {
            // The reference scores Shakespeare from character 1003854 on.
            text = rlq::readFile(sharedPath("data/text/tinyshakespeare.txt")).substr(1003854);
        }

        const Reference expected = referenceFor(key.toStdString());
        const auto ids = model_->tokenizer.encode(text);
        const auto result = rlq::evaluatePerplexity(model_->config, model_->weights, ids, rlq::PerplexityProtocol{});
        qInfo("%s: perplexity %.4f (reference %.4f)", qPrintable(key), result.perplexity, expected.perplexity);
        QCOMPARE(result.windows, expected.windows);
        QCOMPARE(result.tokensScored, expected.tokensScored);
        QVERIFY(std::abs(result.perplexity / expected.perplexity - 1.0) < 1e-3);
    }

    void slidingWindowScoresEveryToken()
    {
        RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");
        auto ids = model_->tokenizer.encode(fileText("data/openbookqa/test.jsonl"));
        ids.resize(3000);
        rlq::PerplexityProtocol sliding;
        sliding.kind = rlq::PerplexityProtocol::Kind::Sliding;
        sliding.window = 128;
        sliding.stride = 64;
        const auto overlapping = rlq::evaluatePerplexity(model_->config, model_->weights, ids, sliding);
        QCOMPARE(overlapping.tokensScored, int64_t(2999));

        // With more context per token, the sliding protocol must not score
        // worse than non-overlapping windows on the same text.
        const auto blocks = rlq::evaluatePerplexity(model_->config, model_->weights, ids, rlq::PerplexityProtocol{});
        qInfo("sliding %.3f, blocks %.3f", overlapping.perplexity, blocks.perplexity);
        QVERIFY(overlapping.perplexity < blocks.perplexity);

        // Stride equal to the window: as in Hugging Face's loop, the first
        // token of each window has no context and is not scored.
        sliding.stride = 128;
        const auto disjoint = rlq::evaluatePerplexity(model_->config, model_->weights, ids, sliding);
        QCOMPARE(disjoint.windows, int64_t(24));
        QCOMPARE(disjoint.tokensScored, int64_t(2999 - 23));
    }

    void multipleChoiceAccuracy()
    {
        RLQ_REQUIRE_SHARED("data/commonsenseqa/dev_rand_split.jsonl");
        const auto file = rlq::readDatasetFile(sharedPath("data/commonsenseqa/dev_rand_split.jsonl"));
        const auto result = rlq::evaluateMultipleChoice(model_->config, model_->weights, model_->tokenizer, file.items, 300);
        qInfo("CommonsenseQA dev, first 300: acc %.4f, acc_norm %.4f", result.acc, result.accNorm);
        QCOMPARE(result.items, int64_t(300));
        // Five choices, so chance is 0.2; a 7.7 M-parameter model stays near it.
        QVERIFY(result.acc > 0.1 && result.acc < 0.5);
        QVERIFY(result.accNorm > 0.1 && result.accNorm < 0.5);
    }

    void multipleChoiceMatchesManualScore()
    {
        RLQ_REQUIRE_SHARED("data/openbookqa/test.jsonl");
        auto items = rlq::readDatasetFile(sharedPath("data/openbookqa/test.jsonl")).items;
        items.resize(30);

        // Score every choice with a plain full-logits forward pass, one
        // sequence at a time, and count the hits of both rules.
        c10::InferenceMode inference;
        int64_t correct = 0;
        int64_t correctNorm = 0;
        for (const auto& item : items) {
            const auto prompt = model_->tokenizer.encode(rlq::multipleChoicePrompt(item));
            std::vector<double> scores;
            std::vector<double> normScores;
            for (size_t c = 0; c < item.choiceTexts.size(); ++c) {
                const auto continuationText = rlq::multipleChoiceContinuation(item, c);
                const auto continuation = model_->tokenizer.encode(continuationText);
                std::vector<int64_t> ids(prompt.begin(), prompt.end());
                ids.insert(ids.end(), continuation.begin(), continuation.end());
                const auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end() - 1)).unsqueeze(0);
                const auto logProbs = torch::log_softmax(rlq::gpt2Logits(model_->config, model_->weights, input), -1)[0];
                double score = 0;
                for (size_t t = prompt.size(); t < ids.size(); ++t) {
                    score += logProbs[int64_t(t) - 1][ids[t]].item<double>();
                }
                scores.push_back(score);
                normScores.push_back(score / double(continuationText.size()));   // ASCII text: bytes == characters
            }
            const auto best = std::max_element(scores.begin(), scores.end()) - scores.begin();
            const auto bestNorm = std::max_element(normScores.begin(), normScores.end()) - normScores.begin();
            correct += best == item.answerIndex;
            correctNorm += bestNorm == item.answerIndex;
        }

        const auto result = rlq::evaluateMultipleChoice(model_->config, model_->weights, model_->tokenizer, items);
        qInfo("OpenBookQA test, first 30: %lld and %lld correct", static_cast<long long>(correct),
              static_cast<long long>(correctNorm));
        QCOMPARE(result.items, int64_t(30));
        QCOMPARE(result.acc, double(correct) / 30.0);
        QCOMPARE(result.accNorm, double(correctNorm) / 30.0);
    }
};

QTEST_GUILESS_MAIN(EvalTest)
#include "test_eval.moc"

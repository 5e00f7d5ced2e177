// A short search end to end on the reference model: run folder, budget,
// resume, evaluation cache and the checks on bad settings.

#include "TestSupport.h"

#include "rl/QuantizationEnv.h"
#include "search/RunFolder.h"
#include "search/SearchSession.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QProcess>
#include <QTemporaryDir>

namespace fs = std::filesystem;

namespace {

const char* const kReferenceModel = "models/tiny-gpt2-ref";

// Small enough for CI: a few episodes, one fine-tuning step, short
// validation and test texts.
rlq::RunSettings shortRun(const fs::path& folder)
{
    rlq::RunSettings settings;
    settings.model = sharedPath(kReferenceModel).string();
    settings.dataset = sharedPath("data/openbookqa").string();
    settings.episodes = 6;
    settings.seed = 7;
    settings.maxFinetuneItems = 400;
    settings.maxValidationItems = 100;
    settings.runFolder = folder;
    settings.reward.mode = rlq::RewardMode::Budget;
    settings.reward.targetBits = 4.5;
    settings.finetune.steps = 1;
    settings.finetune.batchSize = 2;
    settings.eval.validationTokens = 512;
    settings.eval.sensitivityTokens = 256;
    settings.eval.testTokens = 512;
    settings.eval.testQuestions = 10;
    settings.ppo.episodesPerUpdate = 2;
    return settings;
}

// Counts episodes and stops the run after `stopAfter` of them.
class Recorder : public rlq::SearchObserver {
public:
    Recorder(rlq::SearchControl& control, int stopAfter) : control_(control), stopAfter_(stopAfter) {}

    void onRunStarted(const rlq::RunInfo& info) override { info_ = info; }
    void onEpisode(const rlq::EpisodeResult& episode) override
    {
        episodes.push_back(episode);
        if (stopAfter_ > 0 && int(episodes.size()) == stopAfter_) {
            control_.requestStop();
        }
    }

    std::vector<rlq::EpisodeResult> episodes;
    rlq::RunInfo info_;

private:
    rlq::SearchControl& control_;
    int stopAfter_;
};

rlq::RunSummary runSearch(const rlq::RunSettings& settings, Recorder& recorder, rlq::SearchControl& control,
                          bool resume = false)
{
    rlq::SearchSession session(settings);
    return session.run(recorder, control, resume);
}

} // namespace

class SearchTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::vector<rlq::EpisodeResult> uninterrupted_;

private slots:
    void initTestCase() { rlq::configureTorchThreads(); }

    void runFolderAndBudget()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const fs::path folder = fs::path(dir_.path().toStdString()) / "full";
        rlq::SearchControl control;
        Recorder recorder(control, 0);
        const auto summary = runSearch(shortRun(folder), recorder, control);
        uninterrupted_ = recorder.episodes;

        QCOMPARE(summary.episodesDone, 6);
        QCOMPARE(recorder.info_.units.size(), size_t(26));
        for (const char* name : {"config.json", "sensitivity.json", "events.jsonl", "best_policy.json", "report.json",
                                 "report.md", "checkpoint/agent.pt", "checkpoint/state.json"}) {
            QVERIFY2(fs::exists(folder / name), name);
        }

        // No episode breaks the 4.5-bit budget.
        const auto events = rlq::readEvents(folder / "events.jsonl");
        QCOMPARE(events.size(), size_t(6));
        for (const auto& episode : events) {
            QVERIFY2(episode.avgBits <= 4.5 + 1e-9, qPrintable(QString::number(episode.avgBits)));
            QCOMPARE(episode.bits.size(), size_t(26));
        }

        // float32, uniform 16/8/4/2 with and without fine-tuning, searched x2.
        QCOMPARE(summary.reports.size(), size_t(11));
        const auto report = nlohmann::json::parse(rlq::readFile(folder / "report.json"));
        QCOMPARE(report.at("policies").size(), size_t(11));
        const auto& uniform8 = summary.reports[3];
        QCOMPARE(uniform8.name, std::string("uniform 8-bit"));
        QVERIFY(uniform8.testAcc >= 0.0);
        QVERIFY(summary.reports[0].testPpl < summary.reports[7].testPpl);   // float32 beats uniform 2-bit

        const auto policy = nlohmann::json::parse(rlq::readFile(folder / "best_policy.json"));
        QCOMPARE(policy.at("schema_version").get<int>(), rlq::kPolicySchemaVersion);
        QCOMPARE(policy.at("units").size(), size_t(26));
        QVERIFY(policy.at("model").at("fingerprint").get<std::string>().rfind("fnv1a64:", 0) == 0);
    }

    void resumeContinuesExactly()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QVERIFY(!uninterrupted_.empty());
        const fs::path folder = fs::path(dir_.path().toStdString()) / "resumed";

        rlq::SearchControl firstControl;
        Recorder first(firstControl, 3);
        const auto stopped = runSearch(shortRun(folder), first, firstControl);
        QVERIFY(stopped.stoppedEarly);
        QCOMPARE(stopped.episodesDone, 3);

        rlq::SearchControl secondControl;
        Recorder second(secondControl, 0);
        const auto resumed = runSearch(shortRun(folder), second, secondControl, /*resume=*/true);
        QCOMPARE(resumed.episodesDone, 6);
        QCOMPARE(second.info_.firstEpisode, 4);

        // The same seed gives the same episodes whether or not the run was
        // interrupted.
        const auto events = rlq::readEvents(folder / "events.jsonl");
        QCOMPARE(events.size(), size_t(6));
        for (size_t i = 0; i < events.size(); ++i) {
            QCOMPARE(events[i].episode, int(i) + 1);
            QCOMPARE(events[i].bits, uninterrupted_[i].bits);
        }
    }

    void identicalPoliciesAreCached()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        auto settings = shortRun(fs::path(dir_.path().toStdString()) / "cached");
        settings.quant.allowedBits = {4};   // one possible policy
        settings.reward.targetBits = 4.0;
        settings.episodes = 3;
        rlq::SearchControl control;
        Recorder recorder(control, 0);
        runSearch(settings, recorder, control);
        QCOMPARE(recorder.episodes.size(), size_t(3));

        // The uniform reference measured before the episodes is the only
        // policy, so every episode reads it from the cache.
        QCOMPARE(recorder.info_.uniformValPpl.size(), size_t(1));
        for (const auto& episode : recorder.episodes) {
            QVERIFY(episode.cacheHit);
            QCOMPARE(episode.valPpl, recorder.info_.uniformValPpl[0]);
        }
    }

    void evenSpendActionTracksBudgetLeft()
    {
        // Three units of 100, 100 and 200 parameters; widths 2, 4, 8; bytes
        // are bits * parameters / 8 so both budgets agree.
        std::vector<rlq::UnitInfo> units(3);
        const int64_t counts[] = {100, 100, 200};
        std::vector<std::vector<int64_t>> bytes;
        for (size_t u = 0; u < units.size(); ++u) {
            units[u].name = "u" + std::to_string(u);
            units[u].kind = "mlp.c_fc";
            units[u].parameterCount = counts[u];
            bytes.push_back({counts[u] * 2 / 8, counts[u] * 4 / 8, counts[u] * 8 / 8});
        }
        rlq::RewardSettings reward;
        reward.mode = rlq::RewardMode::Budget;
        reward.targetBits = 4.0;
        rlq::QuantizationEnv env(units, {2, 4, 8}, bytes, 0, 1, reward, 3.0);

        QCOMPARE(env.evenSpendAction(), 1);   // uniform 4 bits spends the budget exactly
        env.step(2);                          // 8 bits: 800 of 1600 bit-parameters left for 300 parameters
        QCOMPARE(env.evenSpendAction(), 0);   // 2.67 bits each: nearer 2 than 4 in log ratio
        env.step(0);
        // 600 left for the last 200 parameters: 3 bits each, nearer 4 in log
        // ratio, but 4 would break the budget, so the vote stays with 2.
        QCOMPARE(env.evenSpendAction(), 0);
        env.step(0);
        QCOMPARE(env.evenSpendAction(), -1);  // episode over
    }

    void badSettingsRejected()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const fs::path folder = fs::path(dir_.path().toStdString()) / "bad";

        auto belowSmallest = shortRun(folder);
        belowSmallest.reward.targetBits = 1.5;
        QVERIFY(errorMessageOf([&] { rlq::validateRunSettings(belowSmallest); }).find("below the smallest") != std::string::npos);

        auto negativeSteps = shortRun(folder);
        negativeSteps.finetune.steps = -1;
        QVERIFY(errorMessageOf([&] { rlq::validateRunSettings(negativeSteps); }).find("fine-tuning steps") != std::string::npos);

        auto missingData = shortRun(folder);
        missingData.dataset = "/nonexistent/dataset";
        QVERIFY(errorMessageOf([&] { rlq::validateRunSettings(missingData); }).find("/nonexistent/dataset") != std::string::npos);

        QVERIFY(errorMessageOf([] { rlq::parseBitWidth("3"); }).find("2, 4, 8, 16") != std::string::npos);
        QVERIFY(!fs::exists(folder));   // nothing was started

        // A size budget below the all-2-bit footprint fails before the
        // sensitivity probe.
        auto tinyBudget = shortRun(fs::path(dir_.path().toStdString()) / "tiny-budget");
        tinyBudget.reward.targetBits = 0;
        tinyBudget.reward.targetMegabytes = 0.5;
        rlq::SearchControl control;
        Recorder recorder(control, 0);
        const auto message = errorMessageOf([&] { runSearch(tinyBudget, recorder, control); });
        QVERIFY2(message.find("cannot be met") != std::string::npos, message.c_str());
        QVERIFY(!fs::exists(fs::path(dir_.path().toStdString()) / "tiny-budget" / "sensitivity.json"));
    }

    void cliRejectsBadSettings()
    {
        const QString rlq = qEnvironmentVariable("RLQ_BINARY_DIR") + "/app/rlq";
        const QList<QStringList> cases = {
            {"search", "--bits", "2,3"},
            {"search", "--target-bits", "1"},
            {"search", "--finetune-steps", "-2"},
            {"search", "--dataset", "/nonexistent/data.jsonl"},
        };
        for (const auto& arguments : cases) {
            QProcess process;
            process.start(rlq, arguments);
            QVERIFY(process.waitForFinished(60000));
            QCOMPARE(process.exitCode(), 2);
            const QString error = QString::fromUtf8(process.readAllStandardError()).trimmed();
            QVERIFY2(error.startsWith("rlq search: error:"), qPrintable(error));
            QCOMPARE(error.count('\n'), 0);
        }
    }
};

QTEST_GUILESS_MAIN(SearchTest)
#include "test_search.moc"

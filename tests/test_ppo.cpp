// Tests of the PPO agent with real LibTorch networks: action masking,
// learning on small problems with a terminal reward, determinism, save and
// load, and the advantage estimate on hand-computed cases.

#include "TestSupport.h"

#include "rl/PpoAgent.h"
#include "util/Error.h"

#include <QTemporaryDir>

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

using namespace rlq;

namespace {

constexpr int kActionCount = 4;
const std::vector<uint8_t> kAllAllowed(kActionCount, 1);

// Tolerance for hand-computed advantages, which are double-precision arithmetic.
constexpr double kGaeTolerance = 1e-12;

// Returns the one-hot encoding of the step index, so the policy can see
// which step of the episode it is at.
std::vector<float> stepObservation(int step, int stepCount)
{
    std::vector<float> observation(size_t(stepCount), 0.0f);
    observation[size_t(step)] = 1.0f;
    return observation;
}

// Runs one episode of `stepCount` steps with all actions allowed, records
// every step, closes the episode with the fraction of steps whose action
// equals correctAction(step), and returns that reward.
double runFractionEpisode(PpoAgent& agent, int stepCount, const std::function<int(int)>& correctAction,
                          std::vector<int>* actions = nullptr)
{
    int correct = 0;
    for (int step = 0; step < stepCount; ++step) {
        const std::vector<float> observation = stepObservation(step, stepCount);
        const PpoAgent::Decision decision = agent.act(observation, kAllAllowed);
        agent.recordStep(observation, kAllAllowed, decision);
        if (decision.action == correctAction(step)) {
            ++correct;
        }
        if (actions) {
            actions->push_back(decision.action);
        }
    }
    const double reward = double(correct) / stepCount;
    agent.finishEpisode(reward);
    return reward;
}

// Trains for `updateCount` updates and returns the mean episode reward of each update.
std::vector<double> trainOnFractionTask(PpoAgent& agent, const PpoConfig& config, int updateCount, int stepCount,
                                        const std::function<int(int)>& correctAction)
{
    std::vector<double> meanRewards;
    for (int update = 0; update < updateCount; ++update) {
        double rewardSum = 0;
        while (!agent.readyToUpdate()) {
            rewardSum += runFractionEpisode(agent, stepCount, correctAction);
        }
        meanRewards.push_back(rewardSum / config.episodesPerUpdate);
        agent.update(double(update) / updateCount);
    }
    return meanRewards;
}

double meanOf(const std::vector<double>& values, size_t first, size_t count)
{
    return std::accumulate(values.begin() + long(first), values.begin() + long(first + count), 0.0) / double(count);
}

// Actions and statistics of a short training run, for determinism checks.
struct TrainingTrace {
    std::vector<int> actions;
    std::vector<PpoStats> stats;
};

TrainingTrace traceTraining(PpoAgent& agent, int updateCount)
{
    const int stepCount = 6;
    TrainingTrace trace;
    for (int update = 0; update < updateCount; ++update) {
        while (!agent.readyToUpdate()) {
            runFractionEpisode(agent, stepCount, [](int) { return 2; }, &trace.actions);
        }
        trace.stats.push_back(agent.update(double(update) / (updateCount + 1)));
    }
    return trace;
}

void compareStats(const PpoStats& actual, const PpoStats& expected)
{
    QCOMPARE(actual.update, expected.update);
    QCOMPARE(actual.learningRate, expected.learningRate);
    QCOMPARE(actual.policyLoss, expected.policyLoss);
    QCOMPARE(actual.valueLoss, expected.valueLoss);
    QCOMPARE(actual.entropy, expected.entropy);
    QCOMPARE(actual.approxKl, expected.approxKl);
    QCOMPARE(actual.clipFraction, expected.clipFraction);
    QCOMPARE(actual.explainedVariance, expected.explainedVariance);
}

void writeBytes(const std::filesystem::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

} // namespace

class PpoTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        // The networks are tiny, so thread start-up would cost more than it saves.
        torch::set_num_threads(1);
    }

    void maskedActionsNeverSampled()
    {
        PpoAgent agent(3, kActionCount, PpoConfig{}, 11);
        const std::vector<float> observation = {0.5f, -1.0f, 2.0f};
        const std::vector<uint8_t> mask = {1, 0, 1, 0};

        std::array<int, kActionCount> counts{};
        for (int draw = 0; draw < 1000; ++draw) {
            const PpoAgent::Decision decision = agent.act(observation, mask);
            QVERIFY(decision.action >= 0 && decision.action < kActionCount);
            ++counts[size_t(decision.action)];
            QVERIFY(std::isfinite(decision.logProb));
            QVERIFY(std::isfinite(decision.value));
        }
        QCOMPARE(counts[1], 0);
        QCOMPARE(counts[3], 0);
        // The initial policy is near uniform, so both allowed actions appear often.
        QVERIFY2(counts[0] > 350, qPrintable(QString("action 0 drawn %1 times").arg(counts[0])));
        QVERIFY2(counts[2] > 350, qPrintable(QString("action 2 drawn %1 times").arg(counts[2])));

        const std::vector<uint8_t> single = {0, 0, 0, 1};
        for (int draw = 0; draw < 50; ++draw) {
            const PpoAgent::Decision decision = agent.act(observation, single);
            QCOMPARE(decision.action, 3);
            // The only allowed action has probability 1.
            QVERIFY(std::abs(decision.logProb) < 1e-6f);
        }

        const std::vector<float> probabilities = agent.actionProbabilities(observation, mask);
        QCOMPARE(probabilities[1], 0.0f);
        QCOMPARE(probabilities[3], 0.0f);
        QVERIFY(std::abs(probabilities[0] + probabilities[2] - 1.0f) < 1e-6f);

        for (const std::vector<uint8_t>& greedyMask :
             {std::vector<uint8_t>{1, 0, 1, 0}, {0, 1, 0, 0}, {0, 0, 1, 1}, {1, 1, 1, 0}}) {
            const int action = agent.greedyAction(observation, greedyMask);
            QVERIFY(greedyMask[size_t(action)] != 0);
        }
    }

    void invalidInputsRejected()
    {
        PpoAgent agent(3, kActionCount, PpoConfig{}, 1);
        const std::vector<float> observation = {0.0f, 0.0f, 0.0f};

        QVERIFY_THROWS_EXCEPTION(Error, agent.act(observation, {0, 0, 0, 0}));
        QVERIFY_THROWS_EXCEPTION(Error, agent.greedyAction(observation, {0, 0, 0, 0}));
        QVERIFY_THROWS_EXCEPTION(Error, agent.act({0.0f, 0.0f}, kAllAllowed));
        QVERIFY_THROWS_EXCEPTION(Error, agent.act(observation, {1, 1}));

        const PpoAgent::Decision decision = agent.act(observation, {1, 0, 0, 0});
        PpoAgent::Decision disallowed = decision;
        disallowed.action = 1;
        QVERIFY_THROWS_EXCEPTION(Error, agent.recordStep(observation, {1, 0, 0, 0}, disallowed));

        QVERIFY_THROWS_EXCEPTION(Error, agent.finishEpisode(1.0));
        QVERIFY_THROWS_EXCEPTION(Error, agent.update(0.0));
        agent.recordStep(observation, {1, 0, 0, 0}, decision);
        agent.finishEpisode(1.0);
        QVERIFY_THROWS_EXCEPTION(Error, agent.update(1.5));

        PpoConfig noMinibatches;
        noMinibatches.minibatchCount = 0;
        QVERIFY_THROWS_EXCEPTION(Error, PpoAgent(3, kActionCount, noMinibatches, 1));
        QVERIFY_THROWS_EXCEPTION(Error, PpoAgent(0, kActionCount, PpoConfig{}, 1));
    }

    void learnsFixedBestAction()
    {
        const int stepCount = 6;
        const int updateCount = 60;
        const int bestAction = 2;
        PpoConfig config;
        PpoAgent agent(stepCount, kActionCount, config, 7);

        const std::vector<double> meanRewards =
            trainOnFractionTask(agent, config, updateCount, stepCount, [](int) { return bestAction; });
        QCOMPARE(agent.updatesDone(), updateCount);

        for (int step = 0; step < stepCount; ++step) {
            QCOMPARE(agent.greedyAction(stepObservation(step, stepCount), kAllAllowed), bestAction);
        }

        const double firstMean = meanOf(meanRewards, 0, 5);
        const double lastMean = meanOf(meanRewards, meanRewards.size() - 5, 5);
        QVERIFY2(lastMean > firstMean + 0.3,
                 qPrintable(QString("mean reward %1 in the first 5 updates, %2 in the last 5")
                                .arg(firstMean)
                                .arg(lastMean)));
        QVERIFY2(lastMean > 0.8, qPrintable(QString("mean reward in the last 5 updates %1").arg(lastMean)));

        // With the learned action masked, greedy and sampled actions avoid it.
        const std::vector<uint8_t> withoutBest = {1, 1, 0, 1};
        const std::vector<float> observation = stepObservation(0, stepCount);
        QVERIFY(agent.greedyAction(observation, withoutBest) != bestAction);
        QCOMPARE(agent.actionProbabilities(observation, withoutBest)[bestAction], 0.0f);
        for (int draw = 0; draw < 200; ++draw) {
            QVERIFY(agent.act(observation, withoutBest).action != bestAction);
        }
    }

    void logitPriorShapesPolicyAndStaysLearnable()
    {
        const int stepCount = 6;
        PpoConfig config;
        PpoAgent agent(stepCount, kActionCount, config, 11);
        const std::vector<float> prior = {0.0f, 0.0f, 2.0f, 0.0f};

        // A fresh policy head is near zero, so the prior alone sets the
        // probabilities: e^2 / (e^2 + 3) for the favoured action.
        const std::vector<float> observation = stepObservation(0, stepCount);
        const std::vector<float> probabilities = agent.actionProbabilities(observation, kAllAllowed, prior);
        const double favoured = std::exp(2.0) / (std::exp(2.0) + 3.0);
        QVERIFY2(std::abs(probabilities[2] - favoured) < 0.02,
                 qPrintable(QString("favoured probability %1, expected %2").arg(probabilities[2]).arg(favoured)));
        QCOMPARE(agent.greedyAction(observation, kAllAllowed, prior), 2);
        QCOMPARE(agent.actionProbabilities(observation, {1, 1, 0, 1}, prior)[2], 0.0f);

        // Rewarding another action overrides the prior. The update adds the
        // same prior as the rollout did, so the probability ratios stay exact.
        const int bestAction = 0;
        for (int update = 0; update < 40; ++update) {
            while (!agent.readyToUpdate()) {
                int correct = 0;
                for (int step = 0; step < stepCount; ++step) {
                    const std::vector<float> stepObs = stepObservation(step, stepCount);
                    const PpoAgent::Decision decision = agent.act(stepObs, kAllAllowed, prior);
                    agent.recordStep(stepObs, kAllAllowed, decision, prior);
                    correct += decision.action == bestAction ? 1 : 0;
                }
                agent.finishEpisode(double(correct) / stepCount);
            }
            const PpoStats stats = agent.update(double(update) / 40);
            QVERIFY2(stats.approxKl < 0.5, qPrintable(QString("approx KL %1 at update %2").arg(stats.approxKl).arg(update)));
        }
        for (int step = 0; step < stepCount; ++step) {
            QCOMPARE(agent.greedyAction(stepObservation(step, stepCount), kAllAllowed, prior), bestAction);
        }

        QVERIFY_EXCEPTION_THROWN(agent.act(observation, kAllAllowed, {1.0f, 2.0f}), Error);
    }

    void learnsObservationDependentBandit()
    {
        // The right action differs per step, so the policy must read the observation.
        const int stepCount = 4;
        const int updateCount = 80;
        const std::array<int, stepCount> rightAction = {3, 0, 2, 1};
        PpoConfig config;
        PpoAgent agent(stepCount, kActionCount, config, 3);

        const std::vector<double> meanRewards = trainOnFractionTask(
            agent, config, updateCount, stepCount, [&](int step) { return rightAction[size_t(step)]; });

        for (int step = 0; step < stepCount; ++step) {
            QCOMPARE(agent.greedyAction(stepObservation(step, stepCount), kAllAllowed), rightAction[size_t(step)]);
        }
        const double lastMean = meanOf(meanRewards, meanRewards.size() - 5, 5);
        QVERIFY2(lastMean > 0.8, qPrintable(QString("mean reward in the last 5 updates %1").arg(lastMean)));
    }

    void sameSeedSameRun()
    {
        PpoAgent first(6, kActionCount, PpoConfig{}, 42);
        PpoAgent second(6, kActionCount, PpoConfig{}, 42);
        const TrainingTrace firstTrace = traceTraining(first, 3);
        const TrainingTrace secondTrace = traceTraining(second, 3);

        QCOMPARE(firstTrace.actions, secondTrace.actions);
        QCOMPARE(firstTrace.stats.size(), secondTrace.stats.size());
        for (size_t i = 0; i < firstTrace.stats.size(); ++i) {
            compareStats(firstTrace.stats[i], secondTrace.stats[i]);
        }

        PpoAgent other(6, kActionCount, PpoConfig{}, 43);
        const TrainingTrace otherTrace = traceTraining(other, 3);
        QVERIFY(otherTrace.actions != firstTrace.actions);
        QVERIFY(otherTrace.stats.back().policyLoss != firstTrace.stats.back().policyLoss);
    }

    void constructionKeepsGlobalGenerator()
    {
        torch::manual_seed(123);
        const torch::Tensor expected = torch::rand({8});

        torch::manual_seed(123);
        PpoAgent agent(6, kActionCount, PpoConfig{}, 5);
        const torch::Tensor actual = torch::rand({8});

        QVERIFY(torch::equal(actual, expected));
    }

    void saveLoadContinuesIdentically()
    {
        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        const std::filesystem::path file = std::filesystem::path(folder.path().toStdString()) / "agent.pt";
        const int stepCount = 6;

        PpoAgent original(stepCount, kActionCount, PpoConfig{}, 21);
        traceTraining(original, 2);
        // Leave an episode half done so the pending rollout is part of the state.
        for (int step = 0; step < 3; ++step) {
            const std::vector<float> observation = stepObservation(step, stepCount);
            original.recordStep(observation, kAllAllowed, original.act(observation, kAllAllowed));
        }
        original.save(file);

        PpoAgent restored(stepCount, kActionCount, PpoConfig{}, 999);
        restored.load(file);
        QCOMPARE(restored.updatesDone(), original.updatesDone());

        // Finish the half-done episode the same way on both agents, then train on.
        const auto finishPending = [&](PpoAgent& agent, std::vector<int>& actions) {
            for (int step = 3; step < stepCount; ++step) {
                const std::vector<float> observation = stepObservation(step, stepCount);
                const PpoAgent::Decision decision = agent.act(observation, kAllAllowed);
                agent.recordStep(observation, kAllAllowed, decision);
                actions.push_back(decision.action);
            }
            agent.finishEpisode(0.5);
        };
        std::vector<int> originalActions;
        std::vector<int> restoredActions;
        finishPending(original, originalActions);
        finishPending(restored, restoredActions);
        const TrainingTrace originalTrace = traceTraining(original, 2);
        const TrainingTrace restoredTrace = traceTraining(restored, 2);

        QCOMPARE(restoredActions, originalActions);
        QCOMPARE(restoredTrace.actions, originalTrace.actions);
        QCOMPARE(restoredTrace.stats.size(), originalTrace.stats.size());
        for (size_t i = 0; i < originalTrace.stats.size(); ++i) {
            compareStats(restoredTrace.stats[i], originalTrace.stats[i]);
        }
    }

    void loadNetworksStartsFromTrainedPolicy()
    {
        const int stepCount = 6;
        PpoConfig config;
        PpoAgent trained(stepCount, kActionCount, config, 5);
        trainOnFractionTask(trained, config, 30, stepCount, [](int) { return 3; });
        QTemporaryDir dir;
        const std::filesystem::path file = std::filesystem::path(dir.path().toStdString()) / "policy_network.pt";
        trained.save(file);

        // A fresh agent with another seed takes the trained networks only:
        // it acts like the trained one and starts its own update count.
        PpoAgent reused(stepCount, kActionCount, config, 99);
        reused.loadNetworks(file);
        QCOMPARE(reused.updatesDone(), 0);
        for (int step = 0; step < stepCount; ++step) {
            const auto observation = stepObservation(step, stepCount);
            const auto expected = trained.actionProbabilities(observation, kAllAllowed);
            const auto actual = reused.actionProbabilities(observation, kAllAllowed);
            for (int a = 0; a < kActionCount; ++a) {
                QCOMPARE(actual[size_t(a)], expected[size_t(a)]);
            }
        }

        // It keeps learning from there.
        trainOnFractionTask(reused, config, 2, stepCount, [](int) { return 3; });
        QCOMPARE(reused.updatesDone(), 2);

        PpoAgent otherSize(stepCount + 1, kActionCount, config, 5);
        const std::string message = errorMessageOf([&] { otherSize.loadNetworks(file); });
        QVERIFY2(message.find("observation size") != std::string::npos, message.c_str());
    }

    void loadRejectsMismatchedFile()
    {
        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        const std::filesystem::path file = std::filesystem::path(folder.path().toStdString()) / "agent.pt";
        PpoAgent saved(6, kActionCount, PpoConfig{}, 1);
        saved.save(file);

        PpoAgent otherSize(7, kActionCount, PpoConfig{}, 1);
        const std::vector<float> observation(7, 0.25f);
        const std::vector<float> before = otherSize.actionProbabilities(observation, kAllAllowed);
        try {
            otherSize.load(file);
            QFAIL("loading a file saved for observation size 6 into an agent of size 7 did not throw");
        } catch (const Error& error) {
            const std::string message = error.what();
            QVERIFY2(message.find(file.string()) != std::string::npos, error.what());
            QVERIFY2(message.find("observation size") != std::string::npos, error.what());
        }
        // A rejected file leaves the agent as it was.
        QCOMPARE(otherSize.actionProbabilities(observation, kAllAllowed), before);

        const std::filesystem::path corrupt = std::filesystem::path(folder.path().toStdString()) / "corrupt.pt";
        writeBytes(corrupt, "not a LibTorch archive");
        try {
            saved.load(corrupt);
            QFAIL("loading a corrupt file did not throw");
        } catch (const Error& error) {
            QVERIFY2(std::string(error.what()).find(corrupt.string()) != std::string::npos, error.what());
        }

        const std::filesystem::path missing = std::filesystem::path(folder.path().toStdString()) / "missing.pt";
        QVERIFY_THROWS_EXCEPTION(Error, saved.load(missing));
    }

    void gaeMatchesHandComputation()
    {
        const std::vector<double> values = {0.5, 0.6, 0.7};
        const double gamma = 0.9;
        const double lambda = 0.8;

        // Terminal last step: the bootstrap value 5.0 must be ignored.
        // A2 = 1 - 0.7 = 0.3
        // A1 = (0.9 * 0.7 - 0.6) + 0.72 * 0.3 = 0.246
        // A0 = (0.9 * 0.6 - 0.5) + 0.72 * 0.246 = 0.21712
        const std::vector<double> terminal = computeGae({0, 0, 1}, values, {0, 0, 1}, 5.0, gamma, lambda);
        QCOMPARE(terminal.size(), size_t(3));
        QVERIFY(std::abs(terminal[0] - 0.21712) < kGaeTolerance);
        QVERIFY(std::abs(terminal[1] - 0.246) < kGaeTolerance);
        QVERIFY(std::abs(terminal[2] - 0.3) < kGaeTolerance);

        // Non-terminal last step bootstraps from lastValue 2.0.
        // A2 = 0.5 + 0.9 * 2 - 0.7 = 1.6
        // A1 = (0.9 * 0.7 - 0.6) + 0.72 * 1.6 = 1.182
        // A0 = (1 + 0.9 * 0.6 - 0.5) + 0.72 * 1.182 = 1.89104
        const std::vector<double> bootstrapped = computeGae({1, 0, 0.5}, values, {0, 0, 0}, 2.0, gamma, lambda);
        QVERIFY(std::abs(bootstrapped[0] - 1.89104) < kGaeTolerance);
        QVERIFY(std::abs(bootstrapped[1] - 1.182) < kGaeTolerance);
        QVERIFY(std::abs(bootstrapped[2] - 1.6) < kGaeTolerance);

        // An episode boundary after step 0 stops both bootstrapping and
        // advantage flow: A0 = 1 - 0.5.
        const std::vector<double> split = computeGae({1, 0, 1}, values, {1, 0, 1}, 0.0, gamma, lambda);
        QVERIFY(std::abs(split[0] - 0.5) < kGaeTolerance);
        QVERIFY(std::abs(split[1] - 0.246) < kGaeTolerance);
        QVERIFY(std::abs(split[2] - 0.3) < kGaeTolerance);

        // gamma = lambda = 1 gives the Monte Carlo return minus the value.
        const std::vector<double> monteCarlo = computeGae({0, 0, 1}, values, {0, 0, 1}, 0.0, 1.0, 1.0);
        QVERIFY(std::abs(monteCarlo[0] - 0.5) < kGaeTolerance);
        QVERIFY(std::abs(monteCarlo[1] - 0.4) < kGaeTolerance);
        QVERIFY(std::abs(monteCarlo[2] - 0.3) < kGaeTolerance);

        QVERIFY_THROWS_EXCEPTION(Error, computeGae({0, 1}, values, {0, 0, 1}, 0.0, gamma, lambda));
    }

    void updateReportsStatistics()
    {
        PpoConfig config;
        config.episodesPerUpdate = 3;
        PpoAgent agent(6, kActionCount, config, 8);
        QVERIFY(!agent.readyToUpdate());
        for (int episode = 0; episode < 3; ++episode) {
            runFractionEpisode(agent, 6, [](int) { return 2; });
        }
        QVERIFY(agent.readyToUpdate());

        const PpoStats stats = agent.update(0.25);
        QCOMPARE(stats.update, 1);
        QCOMPARE(agent.updatesDone(), 1);
        QVERIFY(!agent.readyToUpdate());
        QVERIFY(std::abs(stats.learningRate - config.learningRate * 0.75) < 1e-15);
        // The initial policy is near uniform over 4 actions: entropy near ln 4.
        QVERIFY2(std::abs(stats.entropy - std::log(4.0)) < 0.05, qPrintable(QString::number(stats.entropy)));
        QVERIFY(std::isfinite(stats.policyLoss));
        QVERIFY(stats.valueLoss >= 0);
        // The estimator is non-negative, but float rounding can leave it slightly below 0.
        QVERIFY(stats.approxKl > -1e-6);
        QVERIFY(stats.clipFraction >= 0 && stats.clipFraction <= 1);
        QVERIFY(std::isfinite(stats.explainedVariance));
    }
};

QTEST_GUILESS_MAIN(PpoTest)
#include "test_ppo.moc"

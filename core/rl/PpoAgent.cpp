#include "rl/PpoAgent.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

namespace rlq {

namespace {

// Identifies an agent state file among other LibTorch archives. Bump the
// version whenever the stored keys or their meaning change.
constexpr const char* kFormatTag = "rlq-ppo-agent";
constexpr int64_t kFormatVersion = 2;

// Adam epsilon, larger than the LibTorch 1.13 default of 1e-8 so that
// parameters with tiny second-moment estimates do not take huge steps.
constexpr double kAdamEpsilon = 1e-5;

// Added to the advantage standard deviation so a minibatch of equal
// advantages normalises to 0 instead of NaN.
constexpr double kAdvantageStdEpsilon = 1e-8;

// Gains of the output layers: a near-zero policy head starts with a
// near-uniform policy, and the value head keeps unit scale.
constexpr double kPolicyOutputGain = 0.01;
constexpr double kValueOutputGain = 1.0;

void validateConfig(int observationSize, int actionCount, const PpoConfig& config)
{
    auto require = [](bool valid, const std::string& message) {
        if (!valid) {
            throw Error("invalid PPO setting: " + message);
        }
    };
    require(observationSize > 0, "observation size " + std::to_string(observationSize) + " must be at least 1");
    require(actionCount > 0, "action count " + std::to_string(actionCount) + " must be at least 1");
    require(config.episodesPerUpdate > 0,
            "episodesPerUpdate " + std::to_string(config.episodesPerUpdate) + " must be at least 1");
    require(config.updateEpochs > 0, "updateEpochs " + std::to_string(config.updateEpochs) + " must be at least 1");
    require(config.minibatchCount > 0,
            "minibatchCount " + std::to_string(config.minibatchCount) + " must be at least 1");
    require(config.hiddenWidth > 0, "hiddenWidth " + std::to_string(config.hiddenWidth) + " must be at least 1");
    require(config.learningRate > 0, "learningRate " + std::to_string(config.learningRate) + " must be positive");
    require(config.gamma >= 0 && config.gamma <= 1, "gamma " + std::to_string(config.gamma) + " must be in [0, 1]");
    require(config.gaeLambda >= 0 && config.gaeLambda <= 1,
            "gaeLambda " + std::to_string(config.gaeLambda) + " must be in [0, 1]");
    require(config.clipRange > 0, "clipRange " + std::to_string(config.clipRange) + " must be positive");
    require(config.entropyCoefficient >= 0,
            "entropyCoefficient " + std::to_string(config.entropyCoefficient) + " must not be negative");
    require(config.budgetPrior >= 0 && std::isfinite(config.budgetPrior),
            "budgetPrior " + std::to_string(config.budgetPrior) + " must be 0 or positive");
    require(config.valueCoefficient >= 0,
            "valueCoefficient " + std::to_string(config.valueCoefficient) + " must not be negative");
    require(config.maxGradNorm > 0, "maxGradNorm " + std::to_string(config.maxGradNorm) + " must be positive");
    require(config.targetKl >= 0, "targetKl " + std::to_string(config.targetKl) + " must not be negative (0 disables)");
}

// Parameters of both networks, in the order the optimizer and its saved state use.
std::vector<torch::Tensor> parametersOf(const Mlp& policy, const Mlp& valueNetwork)
{
    std::vector<torch::Tensor> parameters = policy->parameters();
    for (const torch::Tensor& parameter : valueNetwork->parameters()) {
        parameters.push_back(parameter);
    }
    return parameters;
}

std::unique_ptr<torch::optim::Adam> makeOptimizer(const Mlp& policy, const Mlp& valueNetwork, double learningRate)
{
    return std::make_unique<torch::optim::Adam>(parametersOf(policy, valueNetwork),
                                                torch::optim::AdamOptions(learningRate).eps(kAdamEpsilon));
}

// Wraps a 1-D vector as a [1, size] tensor without copying. The tensor must
// not outlive `values` or be written to.
template <typename T>
torch::Tensor rowView(const std::vector<T>& values, torch::ScalarType type)
{
    return torch::from_blob(const_cast<T*>(values.data()), {1, int64_t(values.size())}, type);
}

int64_t readInteger(torch::serialize::InputArchive& archive, const std::string& key)
{
    c10::IValue value;
    archive.read(key, value);
    return value.toInt();
}

// Loads a network's parameters and rejects a file whose tensor shapes differ,
// because InputArchive::read silently replaces a parameter of another shape.
void loadNetwork(Mlp& network, torch::serialize::InputArchive& archive, const std::string& key)
{
    std::vector<std::vector<int64_t>> expectedShapes;
    for (const torch::Tensor& parameter : network->parameters()) {
        expectedShapes.push_back(parameter.sizes().vec());
    }

    torch::serialize::InputArchive networkArchive;
    archive.read(key, networkArchive);
    network->load(networkArchive);

    const std::vector<torch::Tensor> loaded = network->parameters();
    for (size_t i = 0; i < loaded.size(); ++i) {
        if (loaded[i].sizes().vec() != expectedShapes[i]) {
            throw Error("network '" + key + "' has a parameter of shape " + c10::str(loaded[i].sizes()) +
                        " where " + c10::str(torch::IntArrayRef(expectedShapes[i])) + " was expected");
        }
    }
}

} // namespace

PpoAgent::PpoAgent(int observationSize, int actionCount, const PpoConfig& config, uint64_t seed)
    : observationSize_(observationSize),
      actionCount_(actionCount),
      config_(config),
      generator_(at::make_generator<at::CPUGeneratorImpl>(seed)),
      rollout_(observationSize, actionCount)
{
    validateConfig(observationSize, actionCount, config);

    {
        // The Linear constructors draw a default initialisation from the
        // global generator, which initializeOrthogonal() then overwrites.
        GlobalGeneratorStateGuard keepGlobalSequence;
        policy_ = Mlp(observationSize, config.hiddenWidth, actionCount);
        valueNetwork_ = Mlp(observationSize, config.hiddenWidth, 1);
    }
    policy_->initializeOrthogonal(kPolicyOutputGain, generator_);
    valueNetwork_->initializeOrthogonal(kValueOutputGain, generator_);

    optimizer_ = makeOptimizer(policy_, valueNetwork_, config.learningRate);
}

void PpoAgent::validateInputs(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                              const std::vector<float>& logitPrior) const
{
    if (!logitPrior.empty() && int(logitPrior.size()) != actionCount_) {
        throw Error("PPO logit prior has " + std::to_string(logitPrior.size()) + " entries but the agent has " +
                    std::to_string(actionCount_) + " actions");
    }
    if (int(observation.size()) != observationSize_) {
        throw Error("PPO observation has " + std::to_string(observation.size()) + " values but the agent expects " +
                    std::to_string(observationSize_));
    }
    if (int(actionMask.size()) != actionCount_) {
        throw Error("PPO action mask has " + std::to_string(actionMask.size()) + " entries but the agent has " +
                    std::to_string(actionCount_) + " actions");
    }
    if (std::all_of(actionMask.begin(), actionMask.end(), [](uint8_t allowed) { return allowed == 0; })) {
        throw Error("PPO action mask allows no action; at least one action must stay allowed at every step");
    }
}

torch::Tensor PpoAgent::maskedLogProbabilities(const std::vector<float>& observation,
                                               const std::vector<uint8_t>& actionMask,
                                               const std::vector<float>& logitPrior) const
{
    const torch::Tensor allowed = rowView(actionMask, torch::kUInt8).ne(0);
    torch::Tensor logits = policy_->forward(rowView(observation, torch::kFloat32));
    if (!logitPrior.empty()) {
        logits = logits + rowView(logitPrior, torch::kFloat32);
    }
    logits = maskLogits(logits, allowed);
    return torch::log_softmax(logits, 1).squeeze(0).contiguous();
}

double PpoAgent::drawUniform()
{
    std::lock_guard<std::mutex> lock(generator_.mutex());
    auto* engine = generator_.get<at::CPUGeneratorImpl>();
    // The top 53 bits fill a double's mantissa: uniform in [0, 1).
    return double(engine->random64() >> 11) * 0x1.0p-53;
}

PpoAgent::Decision PpoAgent::act(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                                 const std::vector<float>& logitPrior)
{
    validateInputs(observation, actionMask, logitPrior);
    torch::InferenceMode inference;

    const torch::Tensor logProbs = maskedLogProbabilities(observation, actionMask, logitPrior);
    const float* logProb = logProbs.data_ptr<float>();

    // Inverse-CDF sampling over the allowed actions only, so a disallowed
    // action is never chosen even when rounding leaves it a tiny probability.
    const double uniform = drawUniform();
    double cumulative = 0.0;
    int chosen = -1;
    int mostLikely = -1;
    for (int a = 0; a < actionCount_; ++a) {
        if (actionMask[size_t(a)] == 0) {
            continue;
        }
        if (mostLikely < 0 || logProb[a] > logProb[mostLikely]) {
            mostLikely = a;
        }
        cumulative += std::exp(double(logProb[a]));
        if (chosen < 0 && uniform < cumulative) {
            chosen = a;
        }
    }
    // The probabilities can sum to slightly below 1 in float32.
    if (chosen < 0) {
        chosen = mostLikely;
    }

    Decision decision;
    decision.action = chosen;
    decision.logProb = logProb[chosen];
    decision.value = valueNetwork_->forward(rowView(observation, torch::kFloat32)).item<float>();
    return decision;
}

int PpoAgent::greedyAction(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                           const std::vector<float>& logitPrior) const
{
    validateInputs(observation, actionMask, logitPrior);
    torch::InferenceMode inference;

    const torch::Tensor logProbs = maskedLogProbabilities(observation, actionMask, logitPrior);
    const float* logProb = logProbs.data_ptr<float>();

    int best = -1;
    for (int a = 0; a < actionCount_; ++a) {
        if (actionMask[size_t(a)] != 0 && (best < 0 || logProb[a] > logProb[best])) {
            best = a;
        }
    }
    return best;
}

std::vector<float> PpoAgent::actionProbabilities(const std::vector<float>& observation,
                                                 const std::vector<uint8_t>& actionMask,
                                                 const std::vector<float>& logitPrior) const
{
    validateInputs(observation, actionMask, logitPrior);
    torch::InferenceMode inference;

    const torch::Tensor logProbs = maskedLogProbabilities(observation, actionMask, logitPrior);
    const float* logProb = logProbs.data_ptr<float>();

    std::vector<float> probabilities(size_t(actionCount_), 0.0f);
    for (int a = 0; a < actionCount_; ++a) {
        if (actionMask[size_t(a)] != 0) {
            probabilities[size_t(a)] = std::exp(logProb[a]);
        }
    }
    return probabilities;
}

void PpoAgent::recordStep(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                          const Decision& decision, const std::vector<float>& logitPrior)
{
    RolloutStep step;
    step.observation = observation;
    step.actionMask = actionMask;
    step.logitPrior = logitPrior.empty() ? std::vector<float>(size_t(actionCount_), 0.0f) : logitPrior;
    step.action = decision.action;
    step.logProb = decision.logProb;
    step.value = decision.value;
    rollout_.recordStep(std::move(step));
}

void PpoAgent::finishEpisode(double reward)
{
    if (!std::isfinite(reward)) {
        throw Error("PPO episode reward " + std::to_string(reward) + " is not finite; check the reward computation");
    }
    rollout_.finishEpisode(reward);
}

bool PpoAgent::readyToUpdate() const
{
    return int(rollout_.finishedEpisodes().size()) >= config_.episodesPerUpdate;
}

PpoStats PpoAgent::update(double progress)
{
    if (rollout_.finishedEpisodes().empty()) {
        throw Error("PPO update requested with no finished episode; call finishEpisode() first");
    }
    if (!(progress >= 0.0 && progress <= 1.0)) {
        throw Error("PPO update progress " + std::to_string(progress) +
                    " is outside [0, 1]; pass episodes done / total episodes");
    }

    const double learningRate = applyLearningRate(progress);

    std::vector<double> advantages;
    std::vector<double> returns;
    computeAdvantages(advantages, returns);
    const Batch batch = flattenBatch(advantages, returns);

    const LossTotals totals = optimiseEpochs(batch);

    rollout_.clearFinished();
    ++updatesDone_;

    const double minibatches = std::max(totals.minibatches, 1);
    PpoStats stats;
    stats.update = updatesDone_;
    stats.learningRate = learningRate;
    stats.policyLoss = totals.policyLoss / minibatches;
    stats.valueLoss = totals.valueLoss / minibatches;
    stats.entropy = totals.entropy / minibatches;
    stats.approxKl = totals.approxKl / minibatches;
    stats.clipFraction = totals.clipFraction / minibatches;
    stats.explainedVariance = explainedVariance(batch.values, batch.returns);
    return stats;
}

double PpoAgent::applyLearningRate(double progress)
{
    const double learningRate =
        config_.annealLearningRate ? config_.learningRate * (1.0 - progress) : config_.learningRate;
    for (torch::optim::OptimizerParamGroup& group : optimizer_->param_groups()) {
        static_cast<torch::optim::AdamOptions&>(group.options()).lr(learningRate);
    }
    return learningRate;
}

void PpoAgent::computeAdvantages(std::vector<double>& advantages, std::vector<double>& returns) const
{
    advantages.clear();
    returns.clear();
    for (const RolloutEpisode& episode : rollout_.finishedEpisodes()) {
        // finishEpisode() rejects empty episodes. The check only convinces
        // the compiler that back() below is safe.
        const size_t length = episode.steps.size();
        if (length == 0) {
            continue;
        }
        std::vector<double> rewards(length, 0.0);
        rewards.back() = episode.reward;
        std::vector<uint8_t> terminals(length, 0);
        terminals.back() = 1;
        std::vector<double> values(length);
        for (size_t t = 0; t < length; ++t) {
            values[t] = episode.steps[t].value;
        }

        // Every stored episode is complete, so the state after its last step
        // is terminal and its value is 0.
        const std::vector<double> episodeAdvantages =
            computeGae(rewards, values, terminals, 0.0, config_.gamma, config_.gaeLambda);

        for (size_t t = 0; t < length; ++t) {
            advantages.push_back(episodeAdvantages[t]);
            returns.push_back(episodeAdvantages[t] + values[t]);
        }
    }
}

PpoAgent::Batch PpoAgent::flattenBatch(const std::vector<double>& advantages, const std::vector<double>& returns) const
{
    const auto stepCount = int64_t(advantages.size());
    torch::Tensor observations = torch::empty({stepCount, observationSize_}, torch::kFloat32);
    torch::Tensor masks = torch::empty({stepCount, actionCount_}, torch::kUInt8);
    torch::Tensor priors = torch::empty({stepCount, actionCount_}, torch::kFloat32);
    torch::Tensor actions = torch::empty({stepCount}, torch::kInt64);
    torch::Tensor logProbs = torch::empty({stepCount}, torch::kFloat32);
    torch::Tensor values = torch::empty({stepCount}, torch::kFloat32);

    int64_t row = 0;
    for (const RolloutEpisode& episode : rollout_.finishedEpisodes()) {
        for (const RolloutStep& step : episode.steps) {
            std::memcpy(observations[row].data_ptr<float>(), step.observation.data(),
                        step.observation.size() * sizeof(float));
            std::memcpy(masks[row].data_ptr<uint8_t>(), step.actionMask.data(), step.actionMask.size());
            std::memcpy(priors[row].data_ptr<float>(), step.logitPrior.data(), step.logitPrior.size() * sizeof(float));
            actions.data_ptr<int64_t>()[row] = step.action;
            logProbs.data_ptr<float>()[row] = step.logProb;
            values.data_ptr<float>()[row] = step.value;
            ++row;
        }
    }

    Batch batch;
    batch.observations = observations;
    batch.allowed = masks.ne(0);
    batch.logitPriors = priors;
    batch.actions = actions;
    batch.logProbs = logProbs;
    batch.values = values;
    batch.advantages = torch::tensor(advantages, torch::kFloat64).to(torch::kFloat32);
    batch.returns = torch::tensor(returns, torch::kFloat64).to(torch::kFloat32);
    return batch;
}

PpoAgent::LossTotals PpoAgent::optimiseEpochs(const Batch& batch)
{
    const int64_t stepCount = batch.actions.size(0);
    // More minibatches than steps would leave some of them empty.
    const int64_t minibatchCount = std::min<int64_t>(config_.minibatchCount, stepCount);

    LossTotals totals;
    for (int epoch = 0; epoch < config_.updateEpochs; ++epoch) {
        const torch::Tensor permutation = torch::randperm(stepCount, generator_, torch::kInt64);
        const double klBefore = totals.approxKl;
        const int minibatchesBefore = totals.minibatches;

        for (const torch::Tensor& indices : permutation.tensor_split(minibatchCount)) {
            optimiseMinibatch(batch, indices, totals);
        }

        // The epoch's mean approx KL decides, so one noisy minibatch does not
        // end the update on its own.
        const double epochKl = (totals.approxKl - klBefore) / double(totals.minibatches - minibatchesBefore);
        if (config_.targetKl > 0 && epochKl > config_.targetKl) {
            break;
        }
    }
    return totals;
}

void PpoAgent::optimiseMinibatch(const Batch& batch, const torch::Tensor& indices, LossTotals& totals)
{
    const torch::Tensor mbObservations = batch.observations.index_select(0, indices);
    const torch::Tensor mbAllowed = batch.allowed.index_select(0, indices);
    const torch::Tensor mbPriors = batch.logitPriors.index_select(0, indices);
    const torch::Tensor mbActions = batch.actions.index_select(0, indices);
    const torch::Tensor mbOldLogProbs = batch.logProbs.index_select(0, indices);
    const torch::Tensor mbReturns = batch.returns.index_select(0, indices);
    torch::Tensor mbAdvantages = batch.advantages.index_select(0, indices);

    // The same prior and mask as at collection time, so the probability
    // ratio compares like with like and disallowed actions add no entropy.
    const torch::Tensor logits = maskLogits(policy_->forward(mbObservations) + mbPriors, mbAllowed);
    const torch::Tensor logProbsAll = torch::log_softmax(logits, 1);
    const torch::Tensor newLogProbs = logProbsAll.gather(1, mbActions.unsqueeze(1)).squeeze(1);
    const torch::Tensor entropy = -(logProbsAll.exp() * logProbsAll).sum(1).mean();
    const torch::Tensor logRatio = newLogProbs - mbOldLogProbs;
    const torch::Tensor ratio = logRatio.exp();

    {
        torch::NoGradGuard noGrad;
        // Low-variance estimator of KL(old || new). It is non-negative up to float rounding.
        totals.approxKl += ((ratio - 1) - logRatio).mean().item<double>();
        totals.clipFraction += ((ratio - 1).abs() > config_.clipRange).to(torch::kFloat32).mean().item<double>();
    }

    // The standard deviation of a single advantage is undefined.
    if (config_.normalizeAdvantages && mbAdvantages.size(0) > 1) {
        mbAdvantages = (mbAdvantages - mbAdvantages.mean()) / (mbAdvantages.std() + kAdvantageStdEpsilon);
    }

    // Clipped surrogate objective, negated for minimisation.
    const torch::Tensor unclippedLoss = -mbAdvantages * ratio;
    const torch::Tensor clippedLoss =
        -mbAdvantages * torch::clamp(ratio, 1.0 - config_.clipRange, 1.0 + config_.clipRange);
    const torch::Tensor policyLoss = torch::max(unclippedLoss, clippedLoss).mean();

    // The value loss is unclipped. Clipping it like the probability ratio is
    // an optional PPO variant and would need a clip range of its own.
    const torch::Tensor newValues = valueNetwork_->forward(mbObservations).squeeze(1);
    const torch::Tensor valueLoss = 0.5 * (newValues - mbReturns).pow(2).mean();

    const torch::Tensor loss =
        policyLoss - config_.entropyCoefficient * entropy + config_.valueCoefficient * valueLoss;

    optimizer_->zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(optimizer_->param_groups().front().params(), config_.maxGradNorm);
    optimizer_->step();

    totals.policyLoss += policyLoss.item<double>();
    totals.valueLoss += valueLoss.item<double>();
    totals.entropy += entropy.item<double>();
    totals.minibatches += 1;
}

double PpoAgent::explainedVariance(const torch::Tensor& values, const torch::Tensor& returns)
{
    // 1 - Var[returns - values] / Var[returns]: 1 is a perfect value
    // estimate, 0 no better than a constant, negative worse than a constant.
    const double returnVariance = returns.to(torch::kFloat64).var(false).item<double>();
    if (returnVariance == 0.0) {
        // Undefined for constant returns. Reporting 0 keeps the events file numeric.
        return 0.0;
    }
    const double residualVariance = (returns - values).to(torch::kFloat64).var(false).item<double>();
    return 1.0 - residualVariance / returnVariance;
}

void PpoAgent::save(const std::filesystem::path& file) const
{
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kFormatTag)));
    archive.write("format_version", c10::IValue(kFormatVersion));
    archive.write("observation_size", c10::IValue(int64_t(observationSize_)));
    archive.write("action_count", c10::IValue(int64_t(actionCount_)));
    archive.write("hidden_width", c10::IValue(int64_t(config_.hiddenWidth)));
    archive.write("updates_done", c10::IValue(int64_t(updatesDone_)));

    torch::serialize::OutputArchive policyArchive(archive.compilation_unit());
    policy_->save(policyArchive);
    archive.write("policy", policyArchive);

    torch::serialize::OutputArchive valueArchive(archive.compilation_unit());
    valueNetwork_->save(valueArchive);
    archive.write("value_network", valueArchive);

    torch::serialize::OutputArchive optimizerArchive(archive.compilation_unit());
    optimizer_->save(optimizerArchive);
    archive.write("optimizer", optimizerArchive);

    torch::serialize::OutputArchive rolloutArchive(archive.compilation_unit());
    rollout_.save(rolloutArchive);
    archive.write("rollout", rolloutArchive);

    {
        at::Generator generator = generator_;
        std::lock_guard<std::mutex> lock(generator.mutex());
        archive.write("generator_state", generator.get_state());
    }

    std::string bytes;
    archive.save_to([&bytes](const void* data, size_t size) {
        bytes.append(static_cast<const char*>(data), size);
        return size;
    });
    writeFileAtomically(file, bytes);
}

void PpoAgent::checkArchiveHeader(torch::serialize::InputArchive& archive, const std::string& fileName) const
{
    c10::IValue format;
    if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormatTag) {
        throw Error(fileName + " is not a PPO agent state file; pass the agent file of a run folder");
    }
    const int64_t version = readInteger(archive, "format_version");
    if (version != kFormatVersion) {
        throw Error(fileName + " has PPO agent format version " + std::to_string(version) + " but this build reads " +
                    std::to_string(kFormatVersion) + "; start a new run");
    }

    const auto checkSize = [&](const char* key, const char* what, int64_t expected) {
        const int64_t stored = readInteger(archive, key);
        if (stored != expected) {
            throw Error(fileName + " was saved for " + what + " " + std::to_string(stored) + " but this agent has " +
                        std::to_string(expected) + "; resume with the model and settings of the saved run");
        }
    };
    checkSize("observation_size", "observation size", observationSize_);
    checkSize("action_count", "action count", actionCount_);
    checkSize("hidden_width", "hidden width", config_.hiddenWidth);
}

std::pair<Mlp, Mlp> PpoAgent::readNetworks(torch::serialize::InputArchive& archive) const
{
    Mlp policy{nullptr};
    Mlp valueNetwork{nullptr};
    {
        // Fresh modules draw initial weights; the loaded ones replace them.
        GlobalGeneratorStateGuard keepGlobalSequence;
        policy = Mlp(observationSize_, config_.hiddenWidth, actionCount_);
        valueNetwork = Mlp(observationSize_, config_.hiddenWidth, 1);
    }
    loadNetwork(policy, archive, "policy");
    loadNetwork(valueNetwork, archive, "value_network");
    return {policy, valueNetwork};
}

void PpoAgent::loadNetworks(const std::filesystem::path& file)
{
    const std::string bytes = readFile(file);
    const std::string fileName = file.string();
    try {
        torch::serialize::InputArchive archive;
        archive.load_from(bytes.data(), bytes.size());
        checkArchiveHeader(archive, fileName);

        auto [policy, valueNetwork] = readNetworks(archive);

        // Fresh Adam moments: the step sizes of the old run do not carry over.
        policy_ = policy;
        valueNetwork_ = valueNetwork;
        optimizer_ = makeOptimizer(policy_, valueNetwork_, config_.learningRate);
    } catch (const c10::Error& error) {
        throw Error(fileName + " is not a valid PPO agent state file (" + error.what_without_backtrace() +
                    "); pass the policy_network.pt or checkpoint/agent.pt of a run folder");
    }
}

void PpoAgent::load(const std::filesystem::path& file)
{
    const std::string bytes = readFile(file);
    const std::string fileName = file.string();

    try {
        torch::serialize::InputArchive archive;
        archive.load_from(bytes.data(), bytes.size());

        checkArchiveHeader(archive, fileName);
        const int64_t updatesDone = readInteger(archive, "updates_done");

        // Everything loads into new objects first, so a failure leaves this agent unchanged.
        auto [policy, valueNetwork] = readNetworks(archive);

        std::unique_ptr<torch::optim::Adam> optimizer = makeOptimizer(policy, valueNetwork, config_.learningRate);
        torch::serialize::InputArchive optimizerArchive;
        archive.read("optimizer", optimizerArchive);
        optimizer->load(optimizerArchive);

        RolloutBuffer rollout(observationSize_, actionCount_);
        torch::serialize::InputArchive rolloutArchive;
        archive.read("rollout", rolloutArchive);
        rollout.load(rolloutArchive);

        torch::Tensor generatorState;
        archive.read("generator_state", generatorState);
        at::Generator generator = at::make_generator<at::CPUGeneratorImpl>();
        generator.set_state(generatorState);

        policy_ = policy;
        valueNetwork_ = valueNetwork;
        optimizer_ = std::move(optimizer);
        rollout_ = std::move(rollout);
        generator_ = generator;
        updatesDone_ = int(updatesDone);
    } catch (const Error& error) {
        const std::string message = error.what();
        if (message.find(fileName) != std::string::npos) {
            throw;
        }
        throw Error("cannot load PPO agent state from " + fileName + ": " + message);
    } catch (const c10::Error& error) {
        throw Error(fileName + " is not a valid PPO agent state file (" + error.what_without_backtrace() +
                    "); pass the agent file that this program saved, or start a new run");
    }
}

} // namespace rlq

#include "rl/RolloutBuffer.h"

#include "util/Error.h"

#include <cstring>
#include <string>
#include <utility>

namespace rlq {

std::vector<double> computeGae(const std::vector<double>& rewards, const std::vector<double>& values,
                               const std::vector<uint8_t>& terminals, double lastValue, double gamma,
                               double lambda)
{
    const size_t stepCount = rewards.size();
    if (values.size() != stepCount || terminals.size() != stepCount) {
        throw Error("computeGae: " + std::to_string(stepCount) + " rewards, " + std::to_string(values.size()) +
                    " values and " + std::to_string(terminals.size()) +
                    " terminal flags, but each step needs one of each");
    }

    std::vector<double> advantages(stepCount, 0.0);
    double nextAdvantage = 0.0;
    double nextValue = lastValue;
    for (size_t t = stepCount; t-- > 0;) {
        const double nonTerminal = terminals[t] != 0 ? 0.0 : 1.0;
        const double temporalDifference = rewards[t] + gamma * nextValue * nonTerminal - values[t];
        advantages[t] = temporalDifference + gamma * lambda * nonTerminal * nextAdvantage;

        nextAdvantage = advantages[t];
        nextValue = values[t];
    }
    return advantages;
}

RolloutBuffer::RolloutBuffer(int observationSize, int actionCount)
    : observationSize_(observationSize), actionCount_(actionCount)
{
}

void RolloutBuffer::validateStep(const RolloutStep& step) const
{
    if (int(step.observation.size()) != observationSize_) {
        throw Error("PPO rollout step has an observation of " + std::to_string(step.observation.size()) +
                    " values but the agent expects " + std::to_string(observationSize_) +
                    "; pass the observation that act() received");
    }
    if (int(step.actionMask.size()) != actionCount_) {
        throw Error("PPO rollout step has an action mask of " + std::to_string(step.actionMask.size()) +
                    " entries but the agent has " + std::to_string(actionCount_) + " actions");
    }
    if (int(step.logitPrior.size()) != actionCount_) {
        throw Error("PPO rollout step has a logit prior of " + std::to_string(step.logitPrior.size()) +
                    " entries but the agent has " + std::to_string(actionCount_) + " actions");
    }
    if (step.action < 0 || step.action >= actionCount_) {
        throw Error("PPO rollout step has action " + std::to_string(step.action) + ", which is outside 0.." +
                    std::to_string(actionCount_ - 1));
    }
    if (step.actionMask[size_t(step.action)] == 0) {
        throw Error("PPO rollout step has action " + std::to_string(step.action) +
                    ", which its action mask disallows; record the mask that act() received");
    }
}

void RolloutBuffer::recordStep(RolloutStep step)
{
    validateStep(step);
    pending_.push_back(std::move(step));
}

void RolloutBuffer::finishEpisode(double reward)
{
    if (pending_.empty()) {
        throw Error("PPO episode finished without any recorded step; call recordStep() for each decision first");
    }
    RolloutEpisode episode;
    episode.steps = std::move(pending_);
    episode.reward = reward;
    finished_.push_back(std::move(episode));
    pending_.clear();
}

namespace {

// Step tensors in archive order: finished episodes first, then the pending steps.
struct StepTensors {
    torch::Tensor observations; // [steps, observationSize] float32
    torch::Tensor actionMasks;  // [steps, actionCount] uint8
    torch::Tensor logitPriors;  // [steps, actionCount] float32
    torch::Tensor actions;      // [steps] int64
    torch::Tensor logProbs;     // [steps] float32
    torch::Tensor values;       // [steps] float32
};

StepTensors allocateStepTensors(int64_t stepCount, int observationSize, int actionCount)
{
    StepTensors tensors;
    tensors.observations = torch::empty({stepCount, observationSize}, torch::kFloat32);
    tensors.actionMasks = torch::empty({stepCount, actionCount}, torch::kUInt8);
    tensors.logitPriors = torch::empty({stepCount, actionCount}, torch::kFloat32);
    tensors.actions = torch::empty({stepCount}, torch::kInt64);
    tensors.logProbs = torch::empty({stepCount}, torch::kFloat32);
    tensors.values = torch::empty({stepCount}, torch::kFloat32);
    return tensors;
}

void storeStep(StepTensors& tensors, int64_t row, const RolloutStep& step)
{
    std::memcpy(tensors.observations[row].data_ptr<float>(), step.observation.data(),
                step.observation.size() * sizeof(float));
    std::memcpy(tensors.actionMasks[row].data_ptr<uint8_t>(), step.actionMask.data(), step.actionMask.size());
    std::memcpy(tensors.logitPriors[row].data_ptr<float>(), step.logitPrior.data(),
                step.logitPrior.size() * sizeof(float));
    tensors.actions.data_ptr<int64_t>()[row] = step.action;
    tensors.logProbs.data_ptr<float>()[row] = step.logProb;
    tensors.values.data_ptr<float>()[row] = step.value;
}

RolloutStep readStep(const StepTensors& tensors, int64_t row)
{
    RolloutStep step;
    const float* observation = tensors.observations[row].data_ptr<float>();
    step.observation.assign(observation, observation + tensors.observations.size(1));
    const uint8_t* mask = tensors.actionMasks[row].data_ptr<uint8_t>();
    step.actionMask.assign(mask, mask + tensors.actionMasks.size(1));
    const float* prior = tensors.logitPriors[row].data_ptr<float>();
    step.logitPrior.assign(prior, prior + tensors.logitPriors.size(1));
    step.action = int(tensors.actions.data_ptr<int64_t>()[row]);
    step.logProb = tensors.logProbs.data_ptr<float>()[row];
    step.value = tensors.values.data_ptr<float>()[row];
    return step;
}

void requireShape(const torch::Tensor& tensor, const std::string& name, torch::IntArrayRef expected,
                  torch::ScalarType type)
{
    if (!tensor.defined() || tensor.sizes() != expected || tensor.scalar_type() != type) {
        throw Error("rollout tensor '" + name + "' has an invalid shape or type (expected " +
                    c10::str(expected) + " " + c10::toString(type) + ")");
    }
}

} // namespace

void RolloutBuffer::save(torch::serialize::OutputArchive& archive) const
{
    const auto episodeCount = int64_t(finished_.size());
    torch::Tensor lengths = torch::empty({episodeCount}, torch::kInt64);
    torch::Tensor rewards = torch::empty({episodeCount}, torch::kFloat64);
    int64_t stepCount = int64_t(pending_.size());
    for (int64_t e = 0; e < episodeCount; ++e) {
        lengths.data_ptr<int64_t>()[e] = int64_t(finished_[size_t(e)].steps.size());
        rewards.data_ptr<double>()[e] = finished_[size_t(e)].reward;
        stepCount += int64_t(finished_[size_t(e)].steps.size());
    }

    StepTensors tensors = allocateStepTensors(stepCount, observationSize_, actionCount_);
    int64_t row = 0;
    for (const RolloutEpisode& episode : finished_) {
        for (const RolloutStep& step : episode.steps) {
            storeStep(tensors, row++, step);
        }
    }
    for (const RolloutStep& step : pending_) {
        storeStep(tensors, row++, step);
    }

    archive.write("finished_lengths", lengths);
    archive.write("finished_rewards", rewards);
    archive.write("pending_length", torch::tensor({int64_t(pending_.size())}, torch::kInt64));
    archive.write("observations", tensors.observations);
    archive.write("action_masks", tensors.actionMasks);
    archive.write("logit_priors", tensors.logitPriors);
    archive.write("actions", tensors.actions);
    archive.write("log_probs", tensors.logProbs);
    archive.write("values", tensors.values);
}

void RolloutBuffer::load(torch::serialize::InputArchive& archive)
{
    torch::Tensor lengths, rewards, pendingLength;
    StepTensors tensors;
    archive.read("finished_lengths", lengths);
    archive.read("finished_rewards", rewards);
    archive.read("pending_length", pendingLength);
    archive.read("observations", tensors.observations);
    archive.read("action_masks", tensors.actionMasks);
    archive.read("logit_priors", tensors.logitPriors);
    archive.read("actions", tensors.actions);
    archive.read("log_probs", tensors.logProbs);
    archive.read("values", tensors.values);

    requireShape(lengths, "finished_lengths", {lengths.numel()}, torch::kInt64);
    const int64_t episodeCount = lengths.numel();
    requireShape(rewards, "finished_rewards", {episodeCount}, torch::kFloat64);
    requireShape(pendingLength, "pending_length", {1}, torch::kInt64);
    const int64_t stepCount = lengths.sum().item<int64_t>() + pendingLength.item<int64_t>();
    requireShape(tensors.observations, "observations", {stepCount, observationSize_}, torch::kFloat32);
    requireShape(tensors.actionMasks, "action_masks", {stepCount, actionCount_}, torch::kUInt8);
    requireShape(tensors.logitPriors, "logit_priors", {stepCount, actionCount_}, torch::kFloat32);
    requireShape(tensors.actions, "actions", {stepCount}, torch::kInt64);
    requireShape(tensors.logProbs, "log_probs", {stepCount}, torch::kFloat32);
    requireShape(tensors.values, "values", {stepCount}, torch::kFloat32);

    std::vector<RolloutEpisode> finished(static_cast<size_t>(episodeCount));
    int64_t row = 0;
    for (int64_t e = 0; e < episodeCount; ++e) {
        const int64_t length = lengths.data_ptr<int64_t>()[e];
        if (length <= 0) {
            throw Error("rollout episode " + std::to_string(e) + " has " + std::to_string(length) + " steps");
        }
        for (int64_t s = 0; s < length; ++s) {
            finished[size_t(e)].steps.push_back(readStep(tensors, row++));
            validateStep(finished[size_t(e)].steps.back());
        }
        finished[size_t(e)].reward = rewards.data_ptr<double>()[e];
    }

    std::vector<RolloutStep> pending;
    while (row < stepCount) {
        pending.push_back(readStep(tensors, row++));
        validateStep(pending.back());
    }

    finished_ = std::move(finished);
    pending_ = std::move(pending);
}

} // namespace rlq

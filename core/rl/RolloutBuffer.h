#pragma once

// Rollout storage of the PPO agent and the generalized advantage estimate.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace rlq {

// One decision as the agent took it: what the policy saw, which actions it
// was allowed, what it chose, and the log-probability and value estimate at
// that time.
struct RolloutStep {
    std::vector<float> observation;
    std::vector<uint8_t> actionMask; // != 0 = allowed
    std::vector<float> logitPrior;   // fixed offset added to the policy logits, one per action
    int action = 0;
    float logProb = 0;               // log-probability of `action` under the masked policy
    float value = 0;                 // value estimate of `observation`
};

// A finished episode: its steps and the terminal reward of the last step.
// All other steps have reward 0.
struct RolloutEpisode {
    std::vector<RolloutStep> steps;
    double reward = 0;
};

// Computes generalized advantage estimates backwards in time and returns
// one advantage per step.
// terminals[t] != 0 means the episode ended with step t, so the value of the
// next state counts as 0 and no advantage flows back across that boundary.
// lastValue is the value estimate of the state after the last step, used
// only when the last step is not terminal. All vectors have the same
// length. Returns are advantages + values.
std::vector<double> computeGae(const std::vector<double>& rewards, const std::vector<double>& values,
                               const std::vector<uint8_t>& terminals, double lastValue, double gamma,
                               double lambda);

// Steps of the episode in progress plus the finished episodes awaiting the
// next PPO update. Throws rlq::Error on steps whose sizes do not match.
class RolloutBuffer {
public:
    RolloutBuffer(int observationSize, int actionCount);

    void recordStep(RolloutStep step);

    // Moves the episode in progress to the finished episodes with its
    // terminal reward. Throws rlq::Error when no step was recorded.
    void finishEpisode(double reward);

    const std::vector<RolloutEpisode>& finishedEpisodes() const { return finished_; }
    const std::vector<RolloutStep>& pendingSteps() const { return pending_; }

    // Drops the finished episodes but keeps the episode in progress.
    void clearFinished() { finished_.clear(); }

    // Writes finished and pending steps as tensors under `archive`.
    void save(torch::serialize::OutputArchive& archive) const;

    // Replaces the contents with those written by save(). Throws rlq::Error
    // when the stored sizes do not match this buffer's sizes.
    void load(torch::serialize::InputArchive& archive);

private:
    void validateStep(const RolloutStep& step) const;

    int observationSize_;
    int actionCount_;
    std::vector<RolloutEpisode> finished_;
    std::vector<RolloutStep> pending_;
};

} // namespace rlq

#pragma once

// Proximal policy optimisation (PPO) agent with a masked categorical policy.
// Each episode is a fixed sequence of decisions whose only reward arrives
// after the last step, as in the bit-width search.

#include "rl/PolicyNetworks.h"
#include "rl/PpoConfig.h"
#include "rl/RolloutBuffer.h"
#include "search/SearchTypes.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

namespace rlq {

// The agent owns a policy MLP (observation -> action logits), a value MLP
// (observation -> value estimate), one Adam optimizer over both, the rollout
// of the episodes since the last update, and a private random generator for
// sampling and minibatch shuffling. The same seed and the same sequence of
// calls give the same actions and updates, and construction leaves the
// global torch generator in the state it found it.
// Not thread-safe: one thread drives an agent at a time.
class PpoAgent {
public:
    // Throws rlq::Error when a size or a hyperparameter is out of range.
    PpoAgent(int observationSize, int actionCount, const PpoConfig& config, uint64_t seed);

    struct Decision {
        int action;
        float logProb; // natural log of the probability of `action` under the masked policy
        float value;   // value estimate of the observation
    };

    // Samples an action from the masked categorical policy. actionMask[i] != 0
    // allows action i. logitPrior, when not empty, is a fixed offset added to
    // the policy network's logits (one per action): a prior the network
    // learns corrections to, kept with the step so updates see the same
    // policy. Throws rlq::Error when no action is allowed or a size does not
    // match.
    Decision act(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                 const std::vector<float>& logitPrior = {});

    // Returns the allowed action of highest probability without sampling.
    // Ties go to the lowest index.
    int greedyAction(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                     const std::vector<float>& logitPrior = {}) const;

    // Returns the masked policy's probability of each action, with 0 for disallowed actions.
    std::vector<float> actionProbabilities(const std::vector<float>& observation,
                                           const std::vector<uint8_t>& actionMask,
                                           const std::vector<float>& logitPrior = {}) const;

    // Stores one step of the current episode. Pass the observation, mask and
    // prior that act() received and the decision it returned.
    void recordStep(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                    const Decision& decision, const std::vector<float>& logitPrior = {});

    // Closes the current episode with its terminal reward. All other steps of
    // the episode get reward 0.
    void finishEpisode(double reward);

    // True once config.episodesPerUpdate finished episodes are stored.
    bool readyToUpdate() const;

    // Runs one PPO update over all finished episodes, then drops them. A
    // started but unfinished episode stays in the rollout. progress is the
    // fraction of the run done, in [0, 1]. With annealLearningRate the step
    // size is learningRate * (1 - progress), so progress 1 leaves the networks
    // unchanged. Throws rlq::Error when no episode is finished.
    PpoStats update(double progress);

    int updatesDone() const { return updatesDone_; }

    // Writes both networks, the Adam state, the random generator state, the
    // update counter and the stored rollout atomically to `file`.
    void save(const std::filesystem::path& file) const;

    // Replaces the whole state with the one save() wrote. Throws rlq::Error
    // naming the file when it is missing, corrupt or was saved for other
    // sizes, and leaves the agent unchanged in that case.
    void load(const std::filesystem::path& file);

    // Takes only the policy and value networks of a file that save() wrote,
    // as the starting point of a new search (on the same or a related model
    // with the same observation and action sizes). The optimizer restarts,
    // and the rollout, generator and update count stay this agent's. Throws
    // rlq::Error naming the file when the sizes differ.
    void loadNetworks(const std::filesystem::path& file);

private:
    // Steps of all finished episodes as [steps, ...] tensors, with advantages
    // and returns from GAE.
    struct Batch {
        torch::Tensor observations; // float32 [steps, observationSize]
        torch::Tensor allowed;      // bool [steps, actionCount]
        torch::Tensor logitPriors;  // float32 [steps, actionCount]
        torch::Tensor actions;      // int64 [steps]
        torch::Tensor logProbs;     // float32 [steps], at collection time
        torch::Tensor values;       // float32 [steps], at collection time
        torch::Tensor advantages;   // float32 [steps]
        torch::Tensor returns;      // float32 [steps], advantages + values
    };

    // Sums over the minibatches of one update, for the reported means.
    struct LossTotals {
        double policyLoss = 0;
        double valueLoss = 0;
        double entropy = 0;
        double approxKl = 0;
        double clipFraction = 0;
        int minibatches = 0;
    };

    void checkArchiveHeader(torch::serialize::InputArchive& archive, const std::string& fileName) const;
    // Policy and value networks of an archive that save() wrote.
    std::pair<Mlp, Mlp> readNetworks(torch::serialize::InputArchive& archive) const;
    void validateInputs(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                        const std::vector<float>& logitPrior) const;
    torch::Tensor maskedLogProbabilities(const std::vector<float>& observation, const std::vector<uint8_t>& actionMask,
                                         const std::vector<float>& logitPrior) const;
    double drawUniform();

    double applyLearningRate(double progress);
    void computeAdvantages(std::vector<double>& advantages, std::vector<double>& returns) const;
    Batch flattenBatch(const std::vector<double>& advantages, const std::vector<double>& returns) const;
    LossTotals optimiseEpochs(const Batch& batch);
    void optimiseMinibatch(const Batch& batch, const torch::Tensor& indices, LossTotals& totals);
    static double explainedVariance(const torch::Tensor& values, const torch::Tensor& returns);

    int observationSize_;
    int actionCount_;
    PpoConfig config_;
    Mlp policy_{nullptr};
    Mlp valueNetwork_{nullptr};
    std::unique_ptr<torch::optim::Adam> optimizer_;
    at::Generator generator_;
    RolloutBuffer rollout_;
    int updatesDone_ = 0;
};

} // namespace rlq

#pragma once

#include <cstdint>

namespace rlq {

// Hyperparameters of the PPO agent. Defaults suit a search of a few hundred
// episodes over 26 to 100 decision units.
struct PpoConfig {
    int episodesPerUpdate = 8;        // episodes collected before each PPO update
    int updateEpochs = 4;             // passes over the collected steps per update
    int minibatchCount = 4;           // minibatches per epoch
    double learningRate = 3e-3;       // Adam step size of policy and value networks
    bool annealLearningRate = true;   // decay the step size linearly to 0 over the run
    double gamma = 1.0;               // discount; episodes are short and the reward comes at the end
    double gaeLambda = 0.95;          // GAE bias/variance trade-off
    double clipRange = 0.2;           // PPO ratio clip range epsilon
    double entropyCoefficient = 0.01; // weight of the entropy bonus
    double valueCoefficient = 0.5;    // weight of the value loss
    double maxGradNorm = 0.5;         // global gradient-norm clip
    double targetKl = 0.05;           // stop the epochs early above this approx KL; 0 disables
    bool normalizeAdvantages = true;  // per minibatch
    int hiddenWidth = 64;             // width of the two hidden layers of each MLP
    // Logit bonus, in budget mode, for the width that spreads the budget left
    // evenly over the remaining units (QuantizationEnv::evenSpendAction).
    // Episodes then start near the uniform policy at the target and explore
    // deviations from it, instead of spending the budget on the first units
    // at random. 3.0 gives that width about 87% of the probability over four
    // widths at the start (a few deviations per episode of 26 units); 0
    // disables the prior.
    double budgetPrior = 3.0;
};

} // namespace rlq

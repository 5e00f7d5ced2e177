#pragma once

#include "search/SearchTypes.h"

#include <cstdint>
#include <vector>

namespace rlq {

// The episode structure of the search, free of LibTorch: an episode walks
// the decision units in forward order and picks one bit-width per unit.
// The environment builds each step's observation, masks the widths that
// would break the budget, and turns the measured validation loss into the
// reward.
class QuantizationEnv {
public:
    // unitBytes[u][a] is unit u's footprint at allowedBits[a]; fixedBytes is
    // the float32 remainder (biases, LayerNorms).
    QuantizationEnv(std::vector<UnitInfo> units, std::vector<int> allowedBits,
                    std::vector<std::vector<int64_t>> unitBytes, int64_t fixedBytes, int layerCount,
                    const RewardSettings& reward, double baseValLoss);

    int unitCount() const { return int(units_.size()); }
    int actionCount() const { return int(allowedBits_.size()); }
    int observationSize() const;

    // Replaces the unit descriptions (same units, e.g. with sensitivities
    // measured after construction).
    void setUnits(std::vector<UnitInfo> units);

    void reset();
    int currentUnit() const { return int(policy_.size()); }
    bool done() const { return policy_.size() == units_.size(); }

    // Features of the current unit: depth, kind, size, weight statistics,
    // measured sensitivity per width, previous action, budget used so far.
    std::vector<float> observation() const;
    // 1 for each width that keeps the rest of the episode within budget.
    std::vector<uint8_t> actionMask() const;
    // The allowed width that, given to this unit and all units after it,
    // comes closest (in log ratio) to spending exactly the budget left. From
    // the first unit that is the uniform policy at the target, and after
    // earlier deviations it is the even correction. -1 without a budget.
    int evenSpendAction() const;
    void step(int action);

    const std::vector<int>& policyBits() const { return policy_; }

    // Reward of a finished policy with validation loss valLoss.
    double reward(double valLoss, double averageBits) const;

    // Footprint budget in bytes and bit budget (0 when unused).
    int64_t budgetBytes() const { return budgetBytes_; }
    double budgetBits() const { return reward_.mode == RewardMode::Budget ? reward_.targetBits : 0.0; }

    // True when assigning the smallest allowed width to every unit meets
    // the budget (else no policy can).
    bool budgetReachable() const;

private:
    bool fitsBudget(int unit, int action) const;
    // Average bit-width the units not yet decided may still use (0 without
    // a bit budget).
    double bitBudgetLeftPerParameter() const;

    std::vector<UnitInfo> units_;
    std::vector<int> allowedBits_;
    std::vector<std::vector<int64_t>> unitBytes_;
    int64_t fixedBytes_;
    int layerCount_;
    RewardSettings reward_;
    double baseValLoss_;
    int64_t totalParameters_ = 0;
    int64_t budgetBytes_ = 0;
    std::vector<int64_t> minBytesFrom_;     // min bytes of units [u, end)
    std::vector<int64_t> minBitsFrom_;      // min bit*params of units [u, end)

    // Episode state.
    std::vector<int> policy_;               // bit-widths chosen so far
    int64_t bytesUsed_ = 0;
    int64_t bitParametersUsed_ = 0;         // sum of bits * parameters so far
    int64_t parametersDone_ = 0;
};

} // namespace rlq

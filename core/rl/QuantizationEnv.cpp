#include "rl/QuantizationEnv.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rlq {

namespace {

const char* const kUnitKinds[] = {"wte", "wpe", "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj", "block"};
constexpr int kKindCount = 7;

int kindIndex(const std::string& kind)
{
    for (int i = 0; i < kKindCount; ++i) {
        if (kind == kUnitKinds[i]) {
            return i;
        }
    }
    return kKindCount - 1;
}

} // namespace

QuantizationEnv::QuantizationEnv(std::vector<UnitInfo> units, std::vector<int> allowedBits,
                                 std::vector<std::vector<int64_t>> unitBytes, int64_t fixedBytes, int layerCount,
                                 const RewardSettings& reward, double baseValLoss)
    : units_(std::move(units)), allowedBits_(std::move(allowedBits)), unitBytes_(std::move(unitBytes)),
      fixedBytes_(fixedBytes), layerCount_(std::max(1, layerCount)), reward_(reward), baseValLoss_(baseValLoss)
{
    std::sort(allowedBits_.begin(), allowedBits_.end());
    for (const auto& unit : units_) {
        totalParameters_ += unit.parameterCount;
    }
    if (reward_.mode == RewardMode::Budget && reward_.targetMegabytes > 0) {
        budgetBytes_ = int64_t(std::floor(reward_.targetMegabytes * 1e6));
    }

    // Suffix minima let the mask check in O(1) that the remaining units can
    // still fit at their smallest width.
    const size_t count = units_.size();
    minBytesFrom_.assign(count + 1, 0);
    minBitsFrom_.assign(count + 1, 0);
    for (size_t u = count; u-- > 0;) {
        const int64_t smallestBytes = *std::min_element(unitBytes_[u].begin(), unitBytes_[u].end());
        minBytesFrom_[u] = minBytesFrom_[u + 1] + smallestBytes;
        minBitsFrom_[u] = minBitsFrom_[u + 1] + int64_t(allowedBits_.front()) * units_[u].parameterCount;
    }
    reset();
}

int QuantizationEnv::observationSize() const
{
    // position, depth, kind one-hot, log size, std, max/std, sensitivities,
    // previous action, bits used, bytes used, parameters done, bit budget
    // left per remaining parameter.
    return 2 + kKindCount + 3 + actionCount() + 5;
}

void QuantizationEnv::setUnits(std::vector<UnitInfo> units)
{
    if (units.size() != units_.size()) {
        throw Error("QuantizationEnv::setUnits: expected " + std::to_string(units_.size()) + " units, got " +
                    std::to_string(units.size()));
    }
    units_ = std::move(units);
}

void QuantizationEnv::reset()
{
    policy_.clear();
    bytesUsed_ = fixedBytes_;
    bitParametersUsed_ = 0;
    parametersDone_ = 0;
}

std::vector<float> QuantizationEnv::observation() const
{
    const UnitInfo& unit = units_.at(size_t(currentUnit()));
    std::vector<float> features;
    features.reserve(size_t(observationSize()));

    features.push_back(float(currentUnit()) / float(std::max(1, unitCount() - 1)));
    features.push_back(unit.block < 0 ? -0.5f : float(unit.block) / float(layerCount_));
    for (int k = 0; k < kKindCount; ++k) {
        features.push_back(kindIndex(unit.kind) == k ? 1.0f : 0.0f);
    }

    features.push_back(float(std::log10(double(std::max<int64_t>(1, unit.parameterCount))) / 8.0));
    features.push_back(float(std::log10(std::max(1e-6, unit.weightStd)) / 3.0));
    features.push_back(float(unit.maxAbsOverStd / 10.0));

    // Sensitivity as relative loss increase, squashed so 2-bit blow-ups do
    // not dominate the input scale.
    for (int a = 0; a < actionCount(); ++a) {
        const double increase = a < int(unit.sensitivity.size()) ? unit.sensitivity[size_t(a)] : 0.0;
        features.push_back(float(std::tanh(increase / std::max(1e-9, baseValLoss_) * 10.0)));
    }

    const int previous = policy_.empty() ? -1 : int(std::find(allowedBits_.begin(), allowedBits_.end(), policy_.back()) - allowedBits_.begin());
    features.push_back(previous < 0 ? -1.0f : float(previous) / float(std::max(1, actionCount() - 1)));
    features.push_back(parametersDone_ > 0 ? float(double(bitParametersUsed_) / double(parametersDone_) / 16.0) : 0.0f);
    features.push_back(budgetBytes_ > 0 ? float(double(bytesUsed_) / double(budgetBytes_)) : 0.0f);
    features.push_back(float(double(parametersDone_) / double(std::max<int64_t>(1, totalParameters_))));

    // Without the budget left, the agent spends a bit budget on the first
    // blocks and has to put the last ones at the smallest width.
    features.push_back(float(bitBudgetLeftPerParameter() / 16.0));
    return features;
}

double QuantizationEnv::bitBudgetLeftPerParameter() const
{
    const int64_t parametersLeft = totalParameters_ - parametersDone_;
    if (reward_.mode != RewardMode::Budget || reward_.targetBits <= 0 || parametersLeft <= 0) {
        return 0.0;
    }
    const double bitsLeft = reward_.targetBits * double(totalParameters_) - double(bitParametersUsed_);
    return bitsLeft / double(parametersLeft);
}

bool QuantizationEnv::fitsBudget(int unit, int action) const
{
    if (reward_.mode != RewardMode::Budget) {
        return true;
    }
    const auto u = size_t(unit);
    if (reward_.targetBits > 0) {
        const int64_t bits = bitParametersUsed_ + int64_t(allowedBits_[size_t(action)]) * units_[u].parameterCount +
                             minBitsFrom_[u + 1];
        if (double(bits) > reward_.targetBits * double(totalParameters_) + 1e-6) {
            return false;
        }
    }
    if (budgetBytes_ > 0) {
        const int64_t bytes = bytesUsed_ + unitBytes_[u][size_t(action)] + minBytesFrom_[u + 1];
        if (bytes > budgetBytes_) {
            return false;
        }
    }
    return true;
}

std::vector<uint8_t> QuantizationEnv::actionMask() const
{
    std::vector<uint8_t> mask(size_t(actionCount()), 0);
    for (int a = 0; a < actionCount(); ++a) {
        mask[size_t(a)] = fitsBudget(currentUnit(), a) ? 1 : 0;
    }
    return mask;
}

int QuantizationEnv::evenSpendAction() const
{
    if (reward_.mode != RewardMode::Budget || done()) {
        return -1;
    }
    const int64_t parametersLeft = totalParameters_ - parametersDone_;

    // Each budget votes for its nearest width among those the masks allow,
    // and the smaller vote wins.
    int chosen = -1;
    auto vote = [&](auto spendAt, double left) {
        int nearest = 0;
        double nearestDistance = std::numeric_limits<double>::infinity();
        for (int a = 0; a < actionCount(); ++a) {
            if (!fitsBudget(currentUnit(), a)) {
                continue;   // a bonus on a masked width would be void
            }
            const double distance = std::abs(std::log(std::max(1e-9, spendAt(a)) / std::max(1e-9, left)));
            if (distance < nearestDistance) {
                nearestDistance = distance;
                nearest = a;
            }
        }
        chosen = chosen < 0 ? nearest : std::min(chosen, nearest);
    };
    if (reward_.targetBits > 0) {
        const double bitsLeft = reward_.targetBits * double(totalParameters_) - double(bitParametersUsed_);
        vote([&](int a) { return double(allowedBits_[size_t(a)]) * double(parametersLeft); }, bitsLeft);
    }
    if (budgetBytes_ > 0) {
        // Bytes of the units left, all at width a.
        auto bytesLeftAt = [&](int a) {
            int64_t bytes = 0;
            for (size_t v = size_t(currentUnit()); v < units_.size(); ++v) {
                bytes += unitBytes_[v][size_t(a)];
            }
            return double(bytes);
        };
        vote(bytesLeftAt, double(budgetBytes_ - bytesUsed_));
    }
    return chosen;
}

void QuantizationEnv::step(int action)
{
    if (done()) {
        throw Error("QuantizationEnv::step called after the last unit");
    }
    const auto u = size_t(currentUnit());
    bytesUsed_ += unitBytes_[u][size_t(action)];
    bitParametersUsed_ += int64_t(allowedBits_[size_t(action)]) * units_[u].parameterCount;
    parametersDone_ += units_[u].parameterCount;
    policy_.push_back(allowedBits_[size_t(action)]);
}

double QuantizationEnv::reward(double valLoss, double averageBits) const
{
    const double relativeIncrease = (valLoss - baseValLoss_) / baseValLoss_;
    if (reward_.mode == RewardMode::Penalty) {
        return -relativeIncrease - reward_.lambda * averageBits / 16.0;
    }
    return -relativeIncrease;
}

bool QuantizationEnv::budgetReachable() const
{
    if (reward_.mode != RewardMode::Budget) {
        return true;
    }
    const bool bitsOk = reward_.targetBits <= 0 ||
                        double(minBitsFrom_[0]) <= reward_.targetBits * double(totalParameters_) + 1e-6;
    const bool bytesOk = budgetBytes_ <= 0 || fixedBytes_ + minBytesFrom_[0] <= budgetBytes_;
    return bitsOk && bytesOk;
}

} // namespace rlq

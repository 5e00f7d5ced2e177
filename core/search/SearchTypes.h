#pragma once

// Plain value types of a search run: settings in, results out. No LibTorch
// or Qt include, so the GUI can hold and pass these across threads cheaply.

#include "quant/QuantTypes.h"
#include "rl/PpoConfig.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rlq {

enum class RewardMode {
    // reward = -(relative validation-loss increase) - lambda * average bits / 16
    Penalty,
    // Actions that would break the budget (average bits or megabytes) are
    // masked; reward = -(relative validation-loss increase).
    Budget,
};

struct QuantSettings {
    std::vector<int> allowedBits = {2, 4, 8, 16};
    Granularity granularity = Granularity::PerGroup;
    int64_t groupSize = 64;
    bool groupUnitsPerBlock = false;   // one decision per block instead of per matrix
};

struct RewardSettings {
    RewardMode mode = RewardMode::Budget;
    double lambda = 0.5;             // Penalty mode: weight of average bits / 16
    double targetBits = 4.0;         // Budget mode: maximum parameter-weighted average bit-width; 0 = unused
    double targetMegabytes = 0.0;    // Budget mode: maximum footprint in MB (1e6 bytes); 0 = unused
};

struct FinetuneSettings {
    int steps = 4;                   // quantization-aware fine-tuning steps per episode; 0 allowed
    int batchSize = 8;               // windows per step
    int64_t window = 128;            // tokens per window
    double learningRate = 1e-4;      // AdamW step size
};

struct EvalSettings {
    int64_t validationTokens = 8192; // validation tokens scored per episode (reward); 0 = whole split
    int64_t sensitivityTokens = 2048;// validation tokens per sensitivity probe (units x widths probes)
    int64_t window = 128;            // non-overlapping windows for perplexity
    int64_t testTokens = 0;          // test tokens for the final report; 0 = whole split
    int64_t testQuestions = 0;       // questions for acc/acc_norm; 0 = all
};

struct RunSettings {
    std::string model = "demo";      // folder, Hugging Face cache name, or demo
    std::string dataset = "demo";    // dataset spec (see loadDatasetSplits) or demo
    int episodes = 100;
    uint64_t seed = 0;
    double validationFraction = 0.1;
    size_t maxFinetuneItems = 0;     // QA rows of the fine-tuning split; 0 = all
    size_t maxValidationItems = 0;   // QA rows of the validation split; 0 = all
    std::filesystem::path runFolder; // where config.json, events.jsonl, ... go
    std::filesystem::path initAgent; // policy_network.pt of an earlier run to start from; empty = fresh networks
    QuantSettings quant;
    RewardSettings reward;
    FinetuneSettings finetune;
    EvalSettings eval;
    PpoConfig ppo;
};

// Statistics of one PPO update, with the metric names of the events file.
struct PpoStats {
    int update = 0;
    double learningRate = 0;
    double policyLoss = 0;
    double valueLoss = 0;
    double entropy = 0;
    double approxKl = 0;
    double clipFraction = 0;
    double explainedVariance = 0;
};

// One decision unit as the UI and reports show it.
struct UnitInfo {
    std::string name;                // e.g. "h.3.mlp.c_fc", or "h.3" when grouped per block
    std::string kind;                // "wte", "attn.c_attn", ..., or "block"
    int block = -1;
    int64_t parameterCount = 0;
    double weightStd = 0;
    double maxAbsOverStd = 0;
    std::vector<double> sensitivity; // validation-loss increase (nats) with only this unit at allowedBits[i]
};

struct EpisodeResult {
    int episode = 0;                 // 1-based
    std::vector<int> bits;           // one bit-width per unit
    double reward = 0;
    double valLoss = 0;
    double valPpl = 0;
    double avgBits = 0;              // parameter-weighted over the quantized units
    int64_t bytes = 0;               // footprint of the whole model
    double bestValPpl = 0;           // best validation perplexity so far
    double bestReward = 0;
    bool cacheHit = false;
    double seconds = 0;              // wall time of this episode
    double elapsedSeconds = 0;       // since the run started
    std::optional<PpoStats> ppo;     // set when a PPO update followed this episode
};

// One row of the final comparison, measured on the test split.
struct PolicyReport {
    std::string name;                // "uniform 4-bit", "searched", ...
    std::vector<int> bits;
    bool finetuned = false;
    double valPpl = 0;
    double testPpl = 0;
    double testAcc = -1;             // -1 when the dataset has no questions
    double testAccNorm = -1;
    double avgBits = 0;
    int64_t bytes = 0;
};

struct RunSummary {
    std::filesystem::path runFolder;
    int episodesDone = 0;
    bool stoppedEarly = false;
    std::vector<int> bestBits;
    double bestReward = 0;
    std::vector<PolicyReport> reports;
    int64_t fp32Bytes = 0;
    int64_t fp16Bytes = 0;
    double seconds = 0;
};

// Facts about a run that are fixed before its first episode.
struct RunInfo {
    std::string modelName;
    std::string datasetName;
    std::vector<UnitInfo> units;
    std::vector<int> allowedBits;
    double baseValLoss = 0;          // float32 model on the validation tokens
    int64_t fp32Bytes = 0;
    int64_t fp16Bytes = 0;
    int64_t budgetBytes = 0;         // 0 when the run has no size budget
    double budgetBits = 0;           // 0 when the run has no bit budget
    int episodes = 0;
    int firstEpisode = 1;            // > 1 when resuming
    // Validation perplexity of each uniform policy after the same
    // fine-tuning as the episodes, one per allowedBits entry: the reference
    // lines a search is judged against while it runs.
    std::vector<double> uniformValPpl;
};

// Histograms and error metrics of one unit at one bit-width.
struct LayerInspection {
    std::string unitName;
    int bits = 0;
    int64_t parameterCount = 0;
    Histogram before;                // float32 weights
    Histogram after;                 // fake-quantized weights, same bins
    QuantizationError error;
};

// Receives progress from a running session on the session's thread.
class SearchObserver {
public:
    virtual ~SearchObserver() = default;
    virtual void onRunStarted(const RunInfo&) {}
    virtual void onPhase(const std::string& /*phase*/) {}
    virtual void onLog(const std::string& /*line*/) {}
    virtual void onEpisode(const EpisodeResult&) {}
    virtual void onBaseline(const PolicyReport&) {}
    virtual void onFinished(const RunSummary&) {}
};

// Metric names shared by the CLI, the events file, the plots and the report.
namespace metric {
constexpr const char* kEpisode = "episode";
constexpr const char* kReward = "reward";
constexpr const char* kValLoss = "val_loss";
constexpr const char* kValPpl = "val_ppl";
constexpr const char* kAvgBits = "avg_bits";
constexpr const char* kBytes = "bytes";
constexpr const char* kBestValPpl = "best_val_ppl";
constexpr const char* kPolicyLoss = "policy_loss";
constexpr const char* kValueLoss = "value_loss";
constexpr const char* kEntropy = "entropy";
constexpr const char* kApproxKl = "approx_kl";
constexpr const char* kClipFraction = "clip_fraction";
constexpr const char* kExplainedVariance = "explained_variance";
constexpr const char* kEpisodesPerMin = "episodes_per_min";
constexpr const char* kTestPpl = "test_ppl";
constexpr const char* kTestAcc = "test_acc";
constexpr const char* kTestAccNorm = "test_acc_norm";
} // namespace metric

} // namespace rlq

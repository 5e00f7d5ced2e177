#include "search/SearchSession.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "model/ModelLocator.h"
#include "quant/QuantStats.h"
#include "quant/Quantization.h"
#include "rl/PpoAgent.h"
#include "rl/QuantizationEnv.h"
#include "search/PolicyEvaluator.h"
#include "search/RunFolder.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

namespace rlq {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A model or dataset spec with every existing path made absolute, so a
// policy file works from any working folder. Names such as "demo" or
// "gpt2" and TRAIN,TEST pairs of paths keep their form.
std::string absoluteSpec(const std::string& spec)
{
    std::string result;
    size_t start = 0;
    while (true) {
        const size_t comma = spec.find(',', start);
        const std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        result += fs::exists(part) ? fs::absolute(part).lexically_normal().string() : part;
        if (comma == std::string::npos) {
            return result;
        }
        result += ",";
        start = comma + 1;
    }
}

RunSettings portableSettings(RunSettings settings)
{
    settings.model = absoluteSpec(settings.model);
    settings.dataset = absoluteSpec(settings.dataset);
    return settings;
}

std::string policyKey(const std::vector<int>& bits)
{
    std::string key;
    for (int b : bits) {
        key += std::to_string(b) + ",";
    }
    return key;
}

// Windows of `ids` for evaluation, at most maxTokens scored tokens (0 = all).
struct EvalWindows {
    torch::Tensor inputs;
    torch::Tensor targets;
};

EvalWindows makeWindows(const std::vector<int32_t>& ids, int64_t window, int64_t maxTokens, const std::string& split)
{
    const int64_t maxWindows = maxTokens > 0 ? std::max<int64_t>(1, maxTokens / window) : 0;
    auto [inputs, targets] = blockWindows(ids, window, maxWindows);
    if (inputs.size(0) == 0) {
        throw Error("the " + split + " split has " + std::to_string(ids.size()) + " tokens, fewer than one window of " +
                    std::to_string(window) + "; use more data or a smaller window");
    }
    return {inputs.clone(), targets.clone()};
}

void writeJson(const fs::path& path, const nlohmann::json& json)
{
    writeFileAtomically(path, json.dump(2) + "\n");
}

} // namespace

// In-memory state of one run, used only on the session's thread.
class SearchEngine {
public:
    SearchEngine(const RunSettings& settings, SearchObserver& observer, SearchControl& control)
        : settings_(settings), observer_(observer), control_(control)
    {
    }

    RunSummary run(bool resume);
    LayerInspection inspect(int unitIndex, int bits, int bins) const;

private:
    void prepareFolder(bool resume);
    void loadModelAndData();
    void measureUnitStatistics();
    void createEnvironment();
    void measureSensitivity();
    void restoreCheckpoint();
    void runEpisodes();
    EpisodeResult runOneEpisode(int episode);
    void measureUniformReferences();
    std::vector<float> budgetPrior() const;
    double validationLoss(const std::vector<int>& bits, bool& cacheHit, bool& interrupted);
    void saveCheckpoint(int episodesDone);
    void writeBestPolicy(const std::vector<PolicyReport>& reports) const;
    std::vector<PolicyReport> evaluateFinalPolicies();
    PolicyReport evaluateOnTest(const std::string& name, const std::vector<int>& bits, bool finetuned);
    void log(const std::string& line) { observer_.onLog(line); }

    RunSettings settings_;
    SearchObserver& observer_;
    SearchControl& control_;
    fs::path folder_;

    std::optional<LoadedModel> model_;
    std::string modelFingerprint_;
    std::string datasetName_;
    bool hasQuestions_ = false;
    std::vector<QaItem> testItems_;
    std::vector<int32_t> testIds_;
    EvalWindows validation_;
    EvalWindows sensitivityWindows_;
    std::unique_ptr<PolicyEvaluator> evaluator_;
    std::unique_ptr<QuantizationEnv> env_;
    std::unique_ptr<PpoAgent> agent_;
    RunInfo info_;

    std::map<std::string, double> valLossCache_;   // policy key -> validation loss
    int episodesDone_ = 0;
    std::vector<int> bestBits_;
    double bestReward_ = -std::numeric_limits<double>::infinity();
    double bestValPpl_ = std::numeric_limits<double>::infinity();
    double elapsedBefore_ = 0;                     // seconds of earlier sessions of a resumed run
    Clock::time_point start_ = Clock::now();
    bool stopped_ = false;

};

void SearchEngine::prepareFolder(bool resume)
{
    folder_ = settings_.runFolder;
    if (folder_.empty()) {
        throw Error("no run folder given; pass --out FOLDER");
    }
    fs::create_directories(folder_ / runfile::kCheckpointFolder);
    const bool hasEvents = fs::exists(folder_ / runfile::kEvents) && fs::file_size(folder_ / runfile::kEvents) > 0;
    if (hasEvents && !resume) {
        throw Error(folder_.string() + " already contains a run (events.jsonl); continue it with --resume or pick another --out");
    }
    writeJson(folder_ / runfile::kConfig, settingsToJson(settings_));
}

void SearchEngine::loadModelAndData()
{
    observer_.onPhase("loading model and data");
    model_.emplace(loadModel(settings_.model));
    modelFingerprint_ = modelFingerprint(model_->source.folder);

    const DatasetSplits splits = loadDatasetSplits(resolveDatasetSpec(settings_.dataset), runSplitSettings(settings_));
    datasetName_ = splits.name;
    hasQuestions_ = isQuestionAnswering(splits.layout);
    testItems_ = splits.test.items;

    evaluator_ = makeRunEvaluator(settings_, *model_, splits);
    log("fine-tuning split: " + splits.finetune.description + ", " + std::to_string(evaluator_->finetuneTokenCount()) +
        " tokens");

    const auto& tokenizer = model_->tokenizer;
    const auto validationIds = tokenizer.encode(splits.validation.text);
    testIds_ = tokenizer.encode(splits.test.text);
    validation_ = makeWindows(validationIds, settings_.eval.window, settings_.eval.validationTokens, "validation");
    sensitivityWindows_ = makeWindows(validationIds, settings_.eval.window, settings_.eval.sensitivityTokens, "validation");
    log("validation split: " + splits.validation.description + ", " + std::to_string(validation_.targets.numel()) +
        " tokens scored per episode");
    log("test split: " + splits.test.description + ", " + std::to_string(testIds_.size()) + " tokens");

}

void SearchEngine::measureUnitStatistics()
{
    c10::InferenceMode inference;
    info_.units.clear();
    for (const auto& unit : evaluator_->units()) {
        std::vector<torch::Tensor> parts;
        for (int m : unit.matrices) {
            parts.push_back(unitTensor(model_->weights, evaluator_->matrices()[size_t(m)]).reshape({-1}));
        }
        const auto values = torch::cat(parts);
        UnitInfo info = unit.info;
        info.weightStd = values.std().item<double>();
        info.maxAbsOverStd = values.abs().max().item<double>() / std::max(1e-12, info.weightStd);
        info_.units.push_back(info);
    }
}

void SearchEngine::createEnvironment()
{
    std::vector<std::vector<int64_t>> unitBytes;
    for (int u = 0; u < int(info_.units.size()); ++u) {
        std::vector<int64_t> bytes;
        for (int bits : settings_.quant.allowedBits) {
            bytes.push_back(evaluator_->unitBytes(u, bits));
        }
        unitBytes.push_back(bytes);
    }
    const int64_t fixedBytes = evaluator_->float32Bytes() - evaluator_->quantizableParameters() * 4;
    env_ = std::make_unique<QuantizationEnv>(info_.units, settings_.quant.allowedBits, unitBytes, fixedBytes,
                                             int(model_->config.nLayer), settings_.reward, info_.baseValLoss);

    // Checked before the sensitivity probe, so an unreachable budget fails
    // before the long part of the run.
    if (!env_->budgetReachable()) {
        const int smallest = *std::min_element(settings_.quant.allowedBits.begin(), settings_.quant.allowedBits.end());
        throw Error("the budget cannot be met even with every unit at " + std::to_string(smallest) +
                    " bits (" + std::to_string(double(evaluator_->footprint(std::vector<int>(info_.units.size(), smallest))) / 1e6) +
                    " MB); raise --target-bits or --target-mb, or allow a smaller bit-width");
    }
}

void SearchEngine::measureSensitivity()
{
    const fs::path file = folder_ / runfile::kSensitivity;
    const auto& allowed = settings_.quant.allowedBits;
    if (fs::exists(file)) {
        const auto json = nlohmann::json::parse(readFile(file));
        if (json.value("allowed_bits", std::vector<int>{}) == allowed &&
            json.value("units", nlohmann::json::array()).size() == info_.units.size()) {
            for (size_t u = 0; u < info_.units.size(); ++u) {
                info_.units[u].sensitivity = json["units"][u]["loss_increase"].get<std::vector<double>>();
            }
            log("sensitivity read from " + file.string());
            return;
        }
    }

    observer_.onPhase("measuring sensitivity");
    const auto& config = model_->config;
    const double baseLoss =
        meanNllOfWindows(config, model_->weights, sensitivityWindows_.inputs, sensitivityWindows_.targets);
    nlohmann::json units = nlohmann::json::array();
    for (size_t u = 0; u < info_.units.size(); ++u) {
        std::vector<int> policy(info_.units.size(), kUnquantizedBits);
        info_.units[u].sensitivity.clear();
        for (int bits : allowed) {
            if (!control_.checkpoint()) {
                throw Error("the run was stopped during the sensitivity probe; nothing to report yet");
            }
            policy[u] = bits;
            const auto weights = evaluator_->quantizedWeights(policy);
            const double loss = meanNllOfWindows(config, weights, sensitivityWindows_.inputs, sensitivityWindows_.targets);
            info_.units[u].sensitivity.push_back(loss - baseLoss);
        }
        units.push_back({{"unit", info_.units[u].name}, {"loss_increase", info_.units[u].sensitivity}});
        log("sensitivity " + info_.units[u].name + ": " + nlohmann::json(info_.units[u].sensitivity).dump());
    }
    writeJson(file, {{"allowed_bits", allowed},
                     {"base_loss", baseLoss},
                     {"tokens", sensitivityWindows_.targets.numel()},
                     {"units", units}});
}

void SearchEngine::restoreCheckpoint()
{
    const fs::path agentFile = folder_ / runfile::kCheckpointFolder / runfile::kAgent;
    const fs::path stateFile = folder_ / runfile::kCheckpointFolder / runfile::kState;
    if (!fs::exists(agentFile) || !fs::exists(stateFile)) {
        return;
    }
    agent_->load(agentFile);
    const auto state = nlohmann::json::parse(readFile(stateFile));
    episodesDone_ = state.at("episodes_done").get<int>();
    bestBits_ = state.at("best_bits").get<std::vector<int>>();
    bestReward_ = state.at("best_reward").get<double>();
    bestValPpl_ = state.at("best_val_ppl").get<double>();
    elapsedBefore_ = state.at("elapsed_seconds").get<double>();
    for (const auto& entry : state.at("val_loss_cache")) {
        valLossCache_[entry.at(0).get<std::string>()] = entry.at(1).get<double>();
    }

    // Keep exactly the episodes the checkpoint covers; a line written after
    // the last checkpoint is replayed by the resumed run.
    const auto events = readEvents(folder_ / runfile::kEvents);
    std::string kept;
    for (const auto& episode : events) {
        if (episode.episode <= episodesDone_) {
            kept += episodeToJson(episode).dump() + "\n";
        }
    }
    writeFileAtomically(folder_ / runfile::kEvents, kept);
    log("resuming after episode " + std::to_string(episodesDone_));
}

void SearchEngine::saveCheckpoint(int episodesDone)
{
    const fs::path checkpoint = folder_ / runfile::kCheckpointFolder;
    agent_->save(checkpoint / runfile::kAgent);
    nlohmann::json cache = nlohmann::json::array();
    for (const auto& [key, loss] : valLossCache_) {
        cache.push_back({key, loss});
    }
    writeJson(checkpoint / runfile::kState, {{"episodes_done", episodesDone},
                                             {"best_bits", bestBits_},
                                             {"best_reward", bestReward_},
                                             {"best_val_ppl", bestValPpl_},
                                             {"elapsed_seconds", elapsedBefore_ + secondsSince(start_)},
                                             {"val_loss_cache", cache}});
}

double SearchEngine::validationLoss(const std::vector<int>& bits, bool& cacheHit, bool& interrupted)
{
    const std::string key = policyKey(bits);
    const auto found = valLossCache_.find(key);
    cacheHit = found != valLossCache_.end();
    interrupted = false;
    if (cacheHit) {
        return found->second;
    }

    const auto weights = evaluator_->finetunedWeights(bits, [this] { return control_.checkpoint(); });
    if (control_.stopRequested()) {
        interrupted = true;
        return 0.0;
    }
    const double loss = meanNllOfWindows(model_->config, weights, validation_.inputs, validation_.targets);
    valLossCache_[key] = loss;
    return loss;
}

void SearchEngine::measureUniformReferences()
{
    observer_.onPhase("measuring uniform references");
    info_.uniformValPpl.clear();
    for (int bits : settings_.quant.allowedBits) {
        bool cacheHit = false;
        bool interrupted = false;
        const double loss = validationLoss(std::vector<int>(info_.units.size(), bits), cacheHit, interrupted);
        if (interrupted) {
            return;
        }
        info_.uniformValPpl.push_back(std::exp(loss));
        log("uniform " + std::to_string(bits) + "-bit after fine-tuning: validation perplexity " +
            std::to_string(info_.uniformValPpl.back()));
    }
}

std::vector<float> SearchEngine::budgetPrior() const
{
    std::vector<float> prior(size_t(env_->actionCount()), 0.0f);
    const int even = env_->evenSpendAction();
    if (even >= 0) {
        prior[size_t(even)] = float(settings_.ppo.budgetPrior);
    }
    return prior;
}

EpisodeResult SearchEngine::runOneEpisode(int episode)
{
    const auto episodeStart = Clock::now();
    env_->reset();
    while (!env_->done()) {
        const auto observation = env_->observation();
        const auto mask = env_->actionMask();
        const auto prior = budgetPrior();
        const auto decision = agent_->act(observation, mask, prior);
        agent_->recordStep(observation, mask, decision, prior);
        env_->step(decision.action);
    }

    EpisodeResult result;
    result.episode = episode;
    result.bits = env_->policyBits();
    bool interrupted = false;
    result.valLoss = validationLoss(result.bits, result.cacheHit, interrupted);
    if (interrupted) {
        result.episode = 0;   // the caller drops it
        return result;
    }
    result.valPpl = std::exp(result.valLoss);
    result.avgBits = evaluator_->averageBits(result.bits);
    result.bytes = evaluator_->footprint(result.bits);
    result.reward = env_->reward(result.valLoss, result.avgBits);
    agent_->finishEpisode(result.reward);

    if (result.reward > bestReward_) {
        bestReward_ = result.reward;
        bestBits_ = result.bits;
    }
    bestValPpl_ = std::min(bestValPpl_, result.valPpl);
    result.bestReward = bestReward_;
    result.bestValPpl = bestValPpl_;

    if (agent_->readyToUpdate()) {
        // Progress at the start of the batch, so the last update still
        // trains with a learning rate above zero.
        const int batchStart = std::max(0, episode - settings_.ppo.episodesPerUpdate);
        result.ppo = agent_->update(double(batchStart) / double(settings_.episodes));
    }
    result.seconds = secondsSince(episodeStart);
    result.elapsedSeconds = elapsedBefore_ + secondsSince(start_);
    return result;
}

void SearchEngine::runEpisodes()
{
    observer_.onPhase("searching");
    std::ofstream events(folder_ / runfile::kEvents, std::ios::app);
    if (!events) {
        throw Error("cannot append to " + (folder_ / runfile::kEvents).string() + "; check that the folder is writable");
    }
    for (int episode = episodesDone_ + 1; episode <= settings_.episodes; ++episode) {
        if (!control_.checkpoint()) {
            stopped_ = true;
            break;
        }
        const EpisodeResult result = runOneEpisode(episode);
        if (result.episode == 0) {
            stopped_ = true;
            break;
        }

        // One line per episode, flushed at once: a killed run loses at most
        // the line being written, which readEvents() skips.
        events << episodeToJson(result).dump() << "\n" << std::flush;
        episodesDone_ = episode;
        saveCheckpoint(episodesDone_);
        observer_.onEpisode(result);
    }
}

PolicyReport SearchEngine::evaluateOnTest(const std::string& name, const std::vector<int>& bits, bool finetuned)
{
    const auto weights = finetuned ? evaluator_->finetunedWeights(bits) : evaluator_->quantizedWeights(bits);
    const auto& config = model_->config;

    PolicyReport report;
    report.name = name;
    report.bits = bits;
    report.finetuned = finetuned;
    report.valPpl = std::exp(meanNllOfWindows(config, weights, validation_.inputs, validation_.targets));
    PerplexityProtocol protocol;
    protocol.window = settings_.eval.window;
    report.testPpl = evaluatePerplexity(config, weights, testIds_, protocol, settings_.eval.testTokens).perplexity;
    if (hasQuestions_ && !testItems_.empty()) {
        const auto choices = evaluateMultipleChoice(config, weights, model_->tokenizer, testItems_, settings_.eval.testQuestions);
        report.testAcc = choices.acc;
        report.testAccNorm = choices.accNorm;
    }
    report.avgBits = evaluator_->averageBits(bits);
    report.bytes = evaluator_->footprint(bits);
    observer_.onBaseline(report);
    log(name + (finetuned ? " (fine-tuned)" : "") + ": test ppl " + std::to_string(report.testPpl));
    return report;
}

std::vector<PolicyReport> SearchEngine::evaluateFinalPolicies()
{
    observer_.onPhase("evaluating baselines and the best policy on the test split");
    const size_t unitCount = info_.units.size();
    std::vector<PolicyReport> reports;
    reports.push_back(evaluateOnTest("float32", std::vector<int>(unitCount, kUnquantizedBits), false));
    reports.back().bytes = evaluator_->float32Bytes();

    // Fine-tuning rows get the same step count and batches as every policy
    // of the search, so a gain from fine-tuning is never credited to it.
    const bool finetunes = settings_.finetune.steps > 0;
    for (int bits : {16, 8, 4, 2}) {
        const std::vector<int> uniform(unitCount, bits);
        const std::string name = "uniform " + std::to_string(bits) + "-bit";
        reports.push_back(evaluateOnTest(name, uniform, false));
        if (finetunes) {
            reports.push_back(evaluateOnTest(name, uniform, true));
        }
    }
    if (!bestBits_.empty()) {
        reports.push_back(evaluateOnTest("searched", bestBits_, false));
        if (finetunes) {
            reports.push_back(evaluateOnTest("searched", bestBits_, true));
        }
    }
    return reports;
}

void SearchEngine::writeBestPolicy(const std::vector<PolicyReport>& reports) const
{
    nlohmann::json units = nlohmann::json::array();
    const auto& decision = evaluator_->units();
    for (size_t u = 0; u < decision.size() && u < bestBits_.size(); ++u) {
        nlohmann::json matrices = nlohmann::json::array();
        for (int m : decision[u].matrices) {
            matrices.push_back(evaluator_->matrices()[size_t(m)].name);
        }
        units.push_back({{"name", decision[u].info.name},
                         {"bits", bestBits_[u]},
                         {"matrices", matrices},
                         {"parameters", decision[u].info.parameterCount}});
    }

    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& report : reports) {
        if (report.name == "searched") {
            metrics.push_back(reportToJson(report));
        }
    }
    writeJson(folder_ / runfile::kBestPolicy,
              {{"schema_version", kPolicySchemaVersion},
               {"model", {{"name", model_->source.name}, {"fingerprint", modelFingerprint_}}},
               {"granularity", granularityName(settings_.quant.granularity)},
               {"group_size", settings_.quant.groupSize},
               {"units", units},
               {"reward", bestReward_},
               {"avg_bits", bestBits_.empty() ? 0.0 : evaluator_->averageBits(bestBits_)},
               {"bytes", bestBits_.empty() ? 0 : evaluator_->footprint(bestBits_)},
               {"metrics", metrics},
               {"settings", settingsToJson(portableSettings(settings_))}});
}

RunSummary SearchEngine::run(bool resume)
{
    start_ = Clock::now();
    prepareFolder(resume);
    loadModelAndData();
    measureUnitStatistics();

    const auto& config = model_->config;
    info_.baseValLoss = meanNllOfWindows(config, model_->weights, validation_.inputs, validation_.targets);
    log("float32 validation perplexity " + std::to_string(std::exp(info_.baseValLoss)));
    createEnvironment();

    // Created before the sensitivity probe, so a starting agent of the
    // wrong size fails before the long part of the run.
    agent_ = std::make_unique<PpoAgent>(env_->observationSize(), env_->actionCount(), settings_.ppo, settings_.seed);
    if (resume) {
        restoreCheckpoint();
    } else if (!settings_.initAgent.empty()) {
        agent_->loadNetworks(settings_.initAgent);
        log("policy and value networks start from " + settings_.initAgent.string());
    }
    measureSensitivity();
    env_->setUnits(info_.units);

    info_.modelName = model_->source.name;
    info_.datasetName = datasetName_;
    info_.allowedBits = settings_.quant.allowedBits;
    info_.fp32Bytes = evaluator_->float32Bytes();
    info_.fp16Bytes = evaluator_->float16Bytes();
    info_.budgetBytes = env_->budgetBytes();
    info_.budgetBits = env_->budgetBits();
    info_.episodes = settings_.episodes;
    info_.firstEpisode = episodesDone_ + 1;
    measureUniformReferences();
    observer_.onRunStarted(info_);

    runEpisodes();

    RunSummary summary;
    summary.runFolder = folder_;
    summary.episodesDone = episodesDone_;
    summary.stoppedEarly = stopped_;
    summary.bestBits = bestBits_;
    summary.bestReward = bestReward_;
    summary.fp32Bytes = info_.fp32Bytes;
    summary.fp16Bytes = info_.fp16Bytes;
    summary.reports = evaluateFinalPolicies();
    summary.seconds = elapsedBefore_ + secondsSince(start_);

    nlohmann::json reports = nlohmann::json::array();
    for (const auto& report : summary.reports) {
        reports.push_back(reportToJson(report));
    }
    writeJson(folder_ / runfile::kReportJson, {{"model", info_.modelName},
                                               {"model_fingerprint", modelFingerprint_},
                                               {"dataset", info_.datasetName},
                                               {"episodes_done", summary.episodesDone},
                                               {"stopped_early", summary.stoppedEarly},
                                               {"best_bits", summary.bestBits},
                                               {"best_reward", summary.bestReward},
                                               {"fp32_bytes", summary.fp32Bytes},
                                               {"fp16_bytes", summary.fp16Bytes},
                                               {"seconds", summary.seconds},
                                               {"policies", reports}});
    writeFileAtomically(folder_ / runfile::kReportMarkdown, reportMarkdown(settings_, info_, summary));
    // The trained networks, to start a later search from (--init-agent).
    agent_->save(folder_ / runfile::kPolicyNetwork);
    if (!bestBits_.empty()) {
        writeBestPolicy(summary.reports);
    }
    observer_.onFinished(summary);
    return summary;
}

LayerInspection SearchEngine::inspect(int unitIndex, int bits, int bins) const
{
    if (!evaluator_ || unitIndex < 0 || unitIndex >= int(evaluator_->units().size())) {
        throw Error("unit " + std::to_string(unitIndex) + " does not exist in this run");
    }
    c10::InferenceMode inference;
    const DecisionUnit& unit = evaluator_->units()[size_t(unitIndex)];
    const QuantScheme scheme{bits, settings_.quant.granularity, settings_.quant.groupSize};

    std::vector<torch::Tensor> before;
    std::vector<torch::Tensor> after;
    LayerInspection inspection;
    inspection.unitName = unit.info.name;
    inspection.bits = bits;
    double squaredError = 0;
    double squaredSignal = 0;
    for (size_t i = 0; i < unit.matrices.size(); ++i) {
        const WeightUnit& matrix = evaluator_->matrices()[size_t(unit.matrices[i])];
        const auto canonical = toCanonical(unitTensor(model_->weights, matrix), matrix.kind);
        const auto quantized = fakeQuantize(canonical, scheme);
        before.push_back(canonical.reshape({-1}));
        after.push_back(quantized.reshape({-1}));

        // Grouped units combine per-matrix errors: sums for MSE and SQNR,
        // extremes for the rest.
        const QuantizationError error = measureQuantizationError(canonical, scheme);
        squaredError += error.mse * double(canonical.numel());
        squaredSignal += canonical.pow(2).sum().item<double>();
        QuantizationError& total = inspection.error;
        total.maxAbsError = std::max(total.maxAbsError, error.maxAbsError);
        total.distinctLevels = std::max(total.distinctLevels, error.distinctLevels);
        total.minScale = i == 0 ? error.minScale : std::min(total.minScale, error.minScale);
        total.maxScale = i == 0 ? error.maxScale : std::max(total.maxScale, error.maxScale);
        total.minZeroPoint = i == 0 ? error.minZeroPoint : std::min(total.minZeroPoint, error.minZeroPoint);
        total.maxZeroPoint = i == 0 ? error.maxZeroPoint : std::max(total.maxZeroPoint, error.maxZeroPoint);
    }
    const auto original = torch::cat(before);
    const auto quantized = torch::cat(after);
    inspection.parameterCount = original.numel();
    inspection.error.mse = squaredError / double(original.numel());
    inspection.error.sqnrDb = squaredError > 0 ? 10.0 * std::log10(squaredSignal / squaredError)
                                               : std::numeric_limits<double>::infinity();

    const double lower = std::min(original.min().item<double>(), quantized.min().item<double>());
    const double upper = std::max(original.max().item<double>(), quantized.max().item<double>());
    inspection.before = histogram(original, bins, lower, upper);
    inspection.after = histogram(quantized, bins, lower, upper);
    return inspection;
}

// ---------------------------------------------------------------------------

void validateRunSettings(const RunSettings& settings)
{
    if (settings.quant.allowedBits.empty()) {
        throw Error("no bit-width allowed; pick at least one of " + allowedBitWidthsText());
    }
    if (!settings.initAgent.empty() && !fs::is_regular_file(settings.initAgent)) {
        throw Error("starting agent " + settings.initAgent.string() +
                    " not found; pass the policy_network.pt of a finished run folder");
    }
    std::vector<int> seen;
    for (int bits : settings.quant.allowedBits) {
        bitWidthInfo(bits);   // throws for widths outside the table
        if (std::find(seen.begin(), seen.end(), bits) != seen.end()) {
            throw Error("bit-width " + std::to_string(bits) + " is listed twice in the allowed bit-widths");
        }
        seen.push_back(bits);
    }
    if (settings.quant.granularity == Granularity::PerGroup && settings.quant.groupSize < 1) {
        throw Error("group size " + std::to_string(settings.quant.groupSize) + " must be at least 1");
    }
    if (settings.episodes < 1) {
        throw Error("episodes must be at least 1, got " + std::to_string(settings.episodes));
    }
    if (settings.finetune.steps < 0) {
        throw Error("fine-tuning steps must be 0 or more, got " + std::to_string(settings.finetune.steps));
    }
    if (settings.finetune.batchSize < 1 || settings.finetune.window < 2 || !(settings.finetune.learningRate > 0)) {
        throw Error("fine-tuning needs batch size >= 1, window >= 2 and a positive learning rate");
    }
    if (settings.eval.window < 1) {
        throw Error("evaluation window must be at least 1 token");
    }

    const int smallest = *std::min_element(settings.quant.allowedBits.begin(), settings.quant.allowedBits.end());
    if (settings.reward.mode == RewardMode::Budget) {
        if (settings.reward.targetBits <= 0 && settings.reward.targetMegabytes <= 0) {
            throw Error("budget mode needs --target-bits or --target-mb");
        }
        if (settings.reward.targetBits > 0 && settings.reward.targetBits < smallest) {
            throw Error("target of " + std::to_string(settings.reward.targetBits) +
                        " average bits is below the smallest allowed bit-width " + std::to_string(smallest) +
                        "; raise the target or allow a smaller width");
        }
    } else if (settings.reward.lambda < 0) {
        throw Error("penalty weight lambda must be 0 or more");
    }
    if (!(settings.validationFraction > 0 && settings.validationFraction <= 0.5)) {
        throw Error("validation fraction must be in (0, 0.5]");
    }

    // The model and dataset must resolve before any work starts.
    resolveModel(settings.model);
    const std::string dataset = resolveDatasetSpec(settings.dataset);
    if (!fs::exists(dataset) && dataset.find(',') == std::string::npos) {
        throw Error("dataset " + settings.dataset + " not found; pass a data file, a dataset folder, TRAIN,TEST or demo");
    }
}

std::string runSettingsToJson(const RunSettings& settings)
{
    return settingsToJson(settings).dump(2);
}

RunSettings runSettingsFromJson(const std::string& json, const std::string& sourceName)
{
    try {
        return settingsFromJson(nlohmann::json::parse(json), sourceName);
    } catch (const nlohmann::json::exception& error) {
        throw Error(sourceName + ": not valid JSON (" + std::string(error.what()) + ")");
    }
}

SearchSession::SearchSession(RunSettings settings) : settings_(std::move(settings)) {}

SearchSession::~SearchSession() = default;

RunSummary SearchSession::run(SearchObserver& observer, SearchControl& control, bool resume)
{
    validateRunSettings(settings_);
    engine_ = std::make_unique<SearchEngine>(settings_, observer, control);
    auto summary = engine_->run(resume);
    control.runPendingTasks();
    return summary;
}

LayerInspection SearchSession::inspect(int unitIndex, int bits, int bins) const
{
    if (!engine_) {
        throw Error("no run has started yet; start a run before inspecting a unit");
    }
    return engine_->inspect(unitIndex, bits, bins);
}

} // namespace rlq

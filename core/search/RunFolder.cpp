#include "search/RunFolder.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace rlq {

namespace {

std::string rewardModeName(RewardMode mode)
{
    return mode == RewardMode::Penalty ? "penalty" : "budget";
}

RewardMode rewardModeFromName(const std::string& name, const std::string& sourceName)
{
    if (name == "penalty") {
        return RewardMode::Penalty;
    }
    if (name == "budget") {
        return RewardMode::Budget;
    }
    throw Error(sourceName + ": field 'reward.mode' is '" + name + "'; allowed: penalty, budget");
}

template <typename T>
void readField(const nlohmann::json& json, const char* key, T& value, const std::string& context)
{
    if (!json.contains(key)) {
        return;   // older files keep the default
    }
    try {
        value = json.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(context + ": field '" + key + "' has the wrong type (" + json.at(key).dump() + ")");
    }
}

std::string formatNumber(double value, int decimals)
{
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

} // namespace

nlohmann::json settingsToJson(const RunSettings& s)
{
    return {
        {"model", s.model},
        {"dataset", s.dataset},
        {"episodes", s.episodes},
        {"seed", s.seed},
        {"init_agent", s.initAgent.string()},
        {"validation_fraction", s.validationFraction},
        {"max_finetune_items", s.maxFinetuneItems},
        {"max_validation_items", s.maxValidationItems},
        {"quant",
         {{"allowed_bits", s.quant.allowedBits},
          {"granularity", granularityName(s.quant.granularity)},
          {"group_size", s.quant.groupSize},
          {"group_units_per_block", s.quant.groupUnitsPerBlock}}},
        {"reward",
         {{"mode", rewardModeName(s.reward.mode)},
          {"lambda", s.reward.lambda},
          {"target_bits", s.reward.targetBits},
          {"target_megabytes", s.reward.targetMegabytes}}},
        {"finetune",
         {{"steps", s.finetune.steps},
          {"batch_size", s.finetune.batchSize},
          {"window", s.finetune.window},
          {"learning_rate", s.finetune.learningRate}}},
        {"eval",
         {{"validation_tokens", s.eval.validationTokens},
          {"sensitivity_tokens", s.eval.sensitivityTokens},
          {"window", s.eval.window},
          {"test_tokens", s.eval.testTokens},
          {"test_questions", s.eval.testQuestions}}},
        {"ppo",
         {{"episodes_per_update", s.ppo.episodesPerUpdate},
          {"update_epochs", s.ppo.updateEpochs},
          {"minibatch_count", s.ppo.minibatchCount},
          {"learning_rate", s.ppo.learningRate},
          {"anneal_learning_rate", s.ppo.annealLearningRate},
          {"gamma", s.ppo.gamma},
          {"gae_lambda", s.ppo.gaeLambda},
          {"clip_range", s.ppo.clipRange},
          {"entropy_coefficient", s.ppo.entropyCoefficient},
          {"value_coefficient", s.ppo.valueCoefficient},
          {"max_grad_norm", s.ppo.maxGradNorm},
          {"target_kl", s.ppo.targetKl},
          {"normalize_advantages", s.ppo.normalizeAdvantages},
          {"hidden_width", s.ppo.hiddenWidth},
          {"budget_prior", s.ppo.budgetPrior}}},
    };
}

RunSettings settingsFromJson(const nlohmann::json& json, const std::string& sourceName)
{
    if (!json.is_object()) {
        throw Error(sourceName + ": expected a JSON object with the run settings");
    }
    RunSettings s;
    readField(json, "model", s.model, sourceName);
    readField(json, "dataset", s.dataset, sourceName);
    readField(json, "episodes", s.episodes, sourceName);
    readField(json, "seed", s.seed, sourceName);
    std::string initAgent;
    readField(json, "init_agent", initAgent, sourceName);
    s.initAgent = initAgent;
    readField(json, "validation_fraction", s.validationFraction, sourceName);
    readField(json, "max_finetune_items", s.maxFinetuneItems, sourceName);
    readField(json, "max_validation_items", s.maxValidationItems, sourceName);

    const auto section = [&](const char* key) { return json.contains(key) ? json.at(key) : nlohmann::json::object(); };
    const auto quant = section("quant");
    readField(quant, "allowed_bits", s.quant.allowedBits, sourceName);
    std::string granularity = granularityName(s.quant.granularity);
    readField(quant, "granularity", granularity, sourceName);
    s.quant.granularity = parseGranularity(granularity);
    readField(quant, "group_size", s.quant.groupSize, sourceName);
    readField(quant, "group_units_per_block", s.quant.groupUnitsPerBlock, sourceName);

    const auto reward = section("reward");
    std::string mode = rewardModeName(s.reward.mode);
    readField(reward, "mode", mode, sourceName);
    s.reward.mode = rewardModeFromName(mode, sourceName);
    readField(reward, "lambda", s.reward.lambda, sourceName);
    readField(reward, "target_bits", s.reward.targetBits, sourceName);
    readField(reward, "target_megabytes", s.reward.targetMegabytes, sourceName);

    const auto finetune = section("finetune");
    readField(finetune, "steps", s.finetune.steps, sourceName);
    readField(finetune, "batch_size", s.finetune.batchSize, sourceName);
    readField(finetune, "window", s.finetune.window, sourceName);
    readField(finetune, "learning_rate", s.finetune.learningRate, sourceName);

    const auto eval = section("eval");
    readField(eval, "validation_tokens", s.eval.validationTokens, sourceName);
    readField(eval, "sensitivity_tokens", s.eval.sensitivityTokens, sourceName);
    readField(eval, "window", s.eval.window, sourceName);
    readField(eval, "test_tokens", s.eval.testTokens, sourceName);
    readField(eval, "test_questions", s.eval.testQuestions, sourceName);

    const auto ppo = section("ppo");
    readField(ppo, "episodes_per_update", s.ppo.episodesPerUpdate, sourceName);
    readField(ppo, "update_epochs", s.ppo.updateEpochs, sourceName);
    readField(ppo, "minibatch_count", s.ppo.minibatchCount, sourceName);
    readField(ppo, "learning_rate", s.ppo.learningRate, sourceName);
    readField(ppo, "anneal_learning_rate", s.ppo.annealLearningRate, sourceName);
    readField(ppo, "gamma", s.ppo.gamma, sourceName);
    readField(ppo, "gae_lambda", s.ppo.gaeLambda, sourceName);
    readField(ppo, "clip_range", s.ppo.clipRange, sourceName);
    readField(ppo, "entropy_coefficient", s.ppo.entropyCoefficient, sourceName);
    readField(ppo, "value_coefficient", s.ppo.valueCoefficient, sourceName);
    readField(ppo, "max_grad_norm", s.ppo.maxGradNorm, sourceName);
    readField(ppo, "target_kl", s.ppo.targetKl, sourceName);
    readField(ppo, "normalize_advantages", s.ppo.normalizeAdvantages, sourceName);
    readField(ppo, "hidden_width", s.ppo.hiddenWidth, sourceName);
    readField(ppo, "budget_prior", s.ppo.budgetPrior, sourceName);
    return s;
}

nlohmann::json episodeToJson(const EpisodeResult& e)
{
    nlohmann::json json = {
        {metric::kEpisode, e.episode},
        {"bits", e.bits},
        {metric::kReward, e.reward},
        {metric::kValLoss, e.valLoss},
        {metric::kValPpl, e.valPpl},
        {metric::kAvgBits, e.avgBits},
        {metric::kBytes, e.bytes},
        {metric::kBestValPpl, e.bestValPpl},
        {"best_reward", e.bestReward},
        {"cache_hit", e.cacheHit},
        {"seconds", e.seconds},
        {"elapsed_seconds", e.elapsedSeconds},
    };
    if (e.ppo) {
        json["ppo"] = {
            {"update", e.ppo->update},
            {"learning_rate", e.ppo->learningRate},
            {metric::kPolicyLoss, e.ppo->policyLoss},
            {metric::kValueLoss, e.ppo->valueLoss},
            {metric::kEntropy, e.ppo->entropy},
            {metric::kApproxKl, e.ppo->approxKl},
            {metric::kClipFraction, e.ppo->clipFraction},
            {metric::kExplainedVariance, e.ppo->explainedVariance},
        };
    }
    return json;
}

EpisodeResult episodeFromJson(const nlohmann::json& json)
{
    EpisodeResult e;
    const std::string context = "events.jsonl";
    readField(json, metric::kEpisode, e.episode, context);
    readField(json, "bits", e.bits, context);
    readField(json, metric::kReward, e.reward, context);
    readField(json, metric::kValLoss, e.valLoss, context);
    readField(json, metric::kValPpl, e.valPpl, context);
    readField(json, metric::kAvgBits, e.avgBits, context);
    readField(json, metric::kBytes, e.bytes, context);
    readField(json, metric::kBestValPpl, e.bestValPpl, context);
    readField(json, "best_reward", e.bestReward, context);
    readField(json, "cache_hit", e.cacheHit, context);
    readField(json, "seconds", e.seconds, context);
    readField(json, "elapsed_seconds", e.elapsedSeconds, context);
    if (json.contains("ppo")) {
        const auto& ppo = json.at("ppo");
        PpoStats stats;
        readField(ppo, "update", stats.update, context);
        readField(ppo, "learning_rate", stats.learningRate, context);
        readField(ppo, metric::kPolicyLoss, stats.policyLoss, context);
        readField(ppo, metric::kValueLoss, stats.valueLoss, context);
        readField(ppo, metric::kEntropy, stats.entropy, context);
        readField(ppo, metric::kApproxKl, stats.approxKl, context);
        readField(ppo, metric::kClipFraction, stats.clipFraction, context);
        readField(ppo, metric::kExplainedVariance, stats.explainedVariance, context);
        e.ppo = stats;
    }
    return e;
}

nlohmann::json reportToJson(const PolicyReport& r)
{
    nlohmann::json json = {
        {"name", r.name},           {"bits", r.bits},           {"finetuned", r.finetuned},
        {metric::kValPpl, r.valPpl}, {metric::kTestPpl, r.testPpl}, {metric::kAvgBits, r.avgBits},
        {metric::kBytes, r.bytes},
    };
    if (r.testAcc >= 0) {
        json[metric::kTestAcc] = r.testAcc;
        json[metric::kTestAccNorm] = r.testAccNorm;
    }
    return json;
}

PolicyReport reportFromJson(const nlohmann::json& json)
{
    PolicyReport r;
    const std::string context = "report.json";
    readField(json, "name", r.name, context);
    readField(json, "bits", r.bits, context);
    readField(json, "finetuned", r.finetuned, context);
    readField(json, metric::kValPpl, r.valPpl, context);
    readField(json, metric::kTestPpl, r.testPpl, context);
    readField(json, metric::kTestAcc, r.testAcc, context);
    readField(json, metric::kTestAccNorm, r.testAccNorm, context);
    readField(json, metric::kAvgBits, r.avgBits, context);
    readField(json, metric::kBytes, r.bytes, context);
    return r;
}

std::vector<EpisodeResult> readEvents(const std::filesystem::path& eventsFile)
{
    std::ifstream in(eventsFile);
    if (!in) {
        throw Error(eventsFile.string() + " not found; pick a run folder that rlq search or RLQ Studio wrote");
    }
    std::vector<EpisodeResult> episodes;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        try {
            episodes.push_back(episodeFromJson(nlohmann::json::parse(line)));
        } catch (const nlohmann::json::exception&) {
            break;   // a partial last line from an interrupted run
        }
    }
    return episodes;
}

std::string reportMarkdown(const RunSettings& settings, const RunInfo& info, const RunSummary& summary)
{
    const bool hasAccuracy = !summary.reports.empty() && summary.reports.front().testAcc >= 0;
    std::ostringstream md;
    md << "# Quantization search report\n\n";
    md << "- model: " << info.modelName << "\n";
    md << "- dataset: " << info.datasetName << "\n";
    md << "- episodes: " << summary.episodesDone << (summary.stoppedEarly ? " (stopped early)" : "") << " of "
       << settings.episodes << ", seed " << settings.seed << "\n";
    md << "- granularity: " << granularityName(settings.quant.granularity);
    if (settings.quant.granularity == Granularity::PerGroup) {
        md << " (group size " << settings.quant.groupSize << ")";
    }
    md << "\n";
    md << "- reward: " << (settings.reward.mode == RewardMode::Budget ? "budget" : "penalty");
    if (settings.reward.mode == RewardMode::Budget) {
        if (settings.reward.targetBits > 0) {
            md << ", at most " << formatNumber(settings.reward.targetBits, 2) << " average bits";
        }
        if (settings.reward.targetMegabytes > 0) {
            md << ", at most " << formatNumber(settings.reward.targetMegabytes, 3) << " MB";
        }
    } else {
        md << ", lambda " << formatNumber(settings.reward.lambda, 3);
    }
    md << "\n";
    md << "- fine-tuning for every policy: " << settings.finetune.steps << " steps of " << settings.finetune.batchSize
       << " x " << settings.finetune.window << " tokens, learning rate " << settings.finetune.learningRate << "\n";
    md << "- FP32 size " << formatNumber(double(summary.fp32Bytes) / 1e6, 3) << " MB, FP16 size "
       << formatNumber(double(summary.fp16Bytes) / 1e6, 3) << " MB\n\n";

    md << "Perplexity and accuracy on the test split; validation perplexity is the reward's split.\n\n";
    md << "| policy | fine-tuned | avg bits | size (MB) | val ppl | test ppl |";
    md << (hasAccuracy ? " acc | acc_norm |\n" : "\n");
    md << "|---|---|---:|---:|---:|---:|" << (hasAccuracy ? "---:|---:|\n" : "\n");
    for (const auto& r : summary.reports) {
        md << "| " << r.name << " | " << (r.finetuned ? "yes" : "no") << " | " << formatNumber(r.avgBits, 2) << " | "
           << formatNumber(double(r.bytes) / 1e6, 3) << " | " << formatNumber(r.valPpl, 3) << " | "
           << formatNumber(r.testPpl, 3) << " |";
        if (hasAccuracy) {
            md << " " << formatNumber(r.testAcc, 4) << " | " << formatNumber(r.testAccNorm, 4) << " |";
        }
        md << "\n";
    }

    md << "\n## Best policy\n\n| unit | bits |\n|---|---:|\n";
    for (size_t u = 0; u < info.units.size() && u < summary.bestBits.size(); ++u) {
        md << "| " << info.units[u].name << " | " << summary.bestBits[u] << " |\n";
    }
    return md.str();
}

} // namespace rlq

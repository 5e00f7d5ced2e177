#include "CliArguments.h"
#include "Commands.h"

#include "model/ModelLocator.h"
#include "search/RunFolder.h"
#include "search/SearchSession.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace rlq::cli {

const char* const kSearchUsage =
    "usage: rlq search [--model PATH|NAME] [--dataset SPEC] [options]\n"
    "\n"
    "Searches a per-unit bit-width policy with PPO, then compares it with uniform\n"
    "quantization on the test split. Without --model and --dataset it runs on the\n"
    "built-in demo bundle.\n"
    "\n"
    "model and data\n"
    "  --model PATH|NAME        model folder, Hugging Face cache name, or demo (default demo)\n"
    "  --dataset SPEC           dataset folder, data file, TRAIN,TEST pair, or demo (default demo)\n"
    "  --validation-fraction F  share of the training file held out for the reward (default 0.1)\n"
    "  --max-train-items N      QA rows of the fine-tuning split to use (0 = all)\n"
    "search\n"
    "  --episodes N             episodes (default 100)\n"
    "  --mode budget|penalty    reward mode (default budget)\n"
    "  --target-bits B          budget: maximum average bit-width (default 4.0)\n"
    "  --target-mb M            budget: maximum footprint in MB (1e6 bytes)\n"
    "  --lambda L               penalty: weight of average bits / 16 (default 0.5)\n"
    "  --bits LIST              allowed bit-widths, from 2,4,8,16 (default all)\n"
    "  --granularity G          tensor, channel or group (default group)\n"
    "  --group-size G           weights per group along the input dimension (default 64)\n"
    "  --per-block              one decision per transformer block instead of per matrix\n"
    "  --seed S                 seed of splits, fine-tuning batches and agent (default 0)\n"
    "fine-tuning and evaluation\n"
    "  --finetune-steps K       quantization-aware fine-tuning steps per policy (default 4)\n"
    "  --finetune-batch B       windows per step (default 8)\n"
    "  --finetune-lr LR         AdamW learning rate (default 1e-4)\n"
    "  --val-tokens N           validation tokens per episode (default 8192; 0 = all)\n"
    "  --sensitivity-tokens N   validation tokens per sensitivity probe (default 2048)\n"
    "  --test-tokens N          test tokens for the report (default 0 = all)\n"
    "  --test-questions N       test questions for acc (default 0 = all)\n"
    "PPO\n"
    "  --episodes-per-update N  episodes per PPO update (default 8)\n"
    "  --ppo-lr LR              agent learning rate (default 3e-3)\n"
    "  --entropy C              entropy bonus coefficient (default 0.01)\n"
    "  --init-agent FILE        start the policy and value networks from a finished\n"
    "                           run's policy_network.pt (same allowed bit-widths)\n"
    "  --budget-prior L         logit bonus for the width that spreads the budget\n"
    "                           left evenly (budget mode; default 3, 0 = off)\n"
    "run folder\n"
    "  --out FOLDER             run folder (default runs/MODEL-DATASET-seedS-TIME)\n"
    "  --resume                 continue the run in --out from its last episode\n"
    "  --threads N              LibTorch threads (default: all cores)\n"
    "  --quiet                  no line per episode\n"
    "\n"
    "example: rlq search --model ../shared/models/tiny-gpt2-ref \\\n"
    "           --dataset ../shared/data/commonsenseqa --episodes 300 --mode budget \\\n"
    "           --target-bits 4.0 --finetune-steps 4 --seed 0 --out runs/csqa-4bit\n";

namespace {

SearchControl* activeControl = nullptr;

// Ctrl-C requests a stop after the current episode, and the report is
// still written. A second Ctrl-C ends the program at once.
void handleInterrupt(int)
{
    if (activeControl && !activeControl->stopRequested()) {
        activeControl->requestStop();
        std::signal(SIGINT, SIG_DFL);
    }
}

std::vector<int> parseBitList(const std::string& text)
{
    std::vector<int> bits;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
        bits.push_back(parseBitWidth(item));
    }
    return bits;
}

std::string formatDuration(double seconds)
{
    char text[32];
    const long total = long(seconds + 0.5);
    if (total >= 3600) {
        std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total / 60) % 60);
    } else {
        std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
    }
    return text;
}

std::string defaultRunFolder(const RunSettings& settings)
{
    const auto stem = [](const std::string& spec) {
        auto name = std::filesystem::path(spec).filename().string();
        return name.empty() ? std::filesystem::path(spec).parent_path().filename().string() : name;
    };
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    return "runs/" + stem(settings.model) + "-" + stem(settings.dataset) + "-seed" + std::to_string(settings.seed) + "-" +
           stamp;
}

RunSettings settingsFromArguments(const Arguments& a)
{
    RunSettings s;
    s.model = a.value("--model", "demo");
    s.dataset = a.value("--dataset", "demo");
    s.validationFraction = a.number("--validation-fraction", s.validationFraction);
    s.maxFinetuneItems = size_t(std::max<int64_t>(0, a.integer("--max-train-items", 0)));
    s.episodes = int(a.integer("--episodes", s.episodes));
    s.seed = uint64_t(a.integer("--seed", 0));

    const std::string mode = a.value("--mode", "budget");
    if (mode != "budget" && mode != "penalty") {
        throw Error("--mode '" + mode + "' is not valid; use budget or penalty");
    }
    s.reward.mode = mode == "budget" ? RewardMode::Budget : RewardMode::Penalty;
    s.reward.targetMegabytes = a.number("--target-mb", 0.0);
    s.reward.targetBits = a.number("--target-bits", a.has("--target-mb") ? 0.0 : 4.0);
    s.reward.lambda = a.number("--lambda", s.reward.lambda);

    if (a.has("--bits")) {
        s.quant.allowedBits = parseBitList(a.value("--bits"));
    }
    if (a.has("--granularity")) {
        s.quant.granularity = parseGranularity(a.value("--granularity"));
    }
    s.quant.groupSize = a.integer("--group-size", s.quant.groupSize);
    s.quant.groupUnitsPerBlock = a.has("--per-block");

    s.finetune.steps = int(a.integer("--finetune-steps", s.finetune.steps));
    s.finetune.batchSize = int(a.integer("--finetune-batch", s.finetune.batchSize));
    s.finetune.learningRate = a.number("--finetune-lr", s.finetune.learningRate);
    s.eval.validationTokens = a.integer("--val-tokens", s.eval.validationTokens);
    s.eval.sensitivityTokens = a.integer("--sensitivity-tokens", s.eval.sensitivityTokens);
    s.eval.testTokens = a.integer("--test-tokens", s.eval.testTokens);
    s.eval.testQuestions = a.integer("--test-questions", s.eval.testQuestions);

    s.ppo.episodesPerUpdate = int(a.integer("--episodes-per-update", s.ppo.episodesPerUpdate));
    s.ppo.learningRate = a.number("--ppo-lr", s.ppo.learningRate);
    s.ppo.entropyCoefficient = a.number("--entropy", s.ppo.entropyCoefficient);
    s.ppo.budgetPrior = a.number("--budget-prior", s.ppo.budgetPrior);
    s.initAgent = a.value("--init-agent");
    s.runFolder = a.value("--out", defaultRunFolder(s));
    return s;
}

// Prints a line per episode and the final table.
class ConsolePrinter : public SearchObserver {
public:
    explicit ConsolePrinter(bool quiet) : quiet_(quiet) {}

    void onRunStarted(const RunInfo& info) override
    {
        info_ = info;
        std::printf("model %s, dataset %s: %zu units, FP32 %.3f MB, FP16 %.3f MB, float32 val ppl %.3f\n",
                    info.modelName.c_str(), info.datasetName.c_str(), info.units.size(), double(info.fp32Bytes) / 1e6,
                    double(info.fp16Bytes) / 1e6, std::exp(info.baseValLoss));
        std::fflush(stdout);
    }

    void onPhase(const std::string& phase) override
    {
        std::printf("== %s\n", phase.c_str());
        std::fflush(stdout);
    }

    void onLog(const std::string& line) override
    {
        if (!quiet_) {
            std::printf("   %s\n", line.c_str());
            std::fflush(stdout);
        }
    }

    void onEpisode(const EpisodeResult& e) override
    {
        if (quiet_) {
            return;
        }
        // Episode times only: the elapsed time also contains loading and the
        // sensitivity probe, which would inflate the first estimates.
        episodeSeconds_ += e.seconds;
        ++episodesSeen_;
        const double eta = episodeSeconds_ / double(episodesSeen_) * double(info_.episodes - e.episode);
        std::printf("ep %4d/%d  reward %+.4f  val_ppl %8.3f  avg_bits %5.2f  %8.3f MB  best_ppl %8.3f  %s elapsed %s  eta %s\n",
                    e.episode, info_.episodes, e.reward, e.valPpl, e.avgBits, double(e.bytes) / 1e6, e.bestValPpl,
                    e.cacheHit ? "[cached]" : "        ", formatDuration(e.elapsedSeconds).c_str(),
                    formatDuration(eta).c_str());
        if (e.ppo) {
            std::printf("   ppo update %d: policy_loss %+.4f value_loss %.4f entropy %.3f approx_kl %.4f clip_fraction %.3f explained_variance %.3f\n",
                        e.ppo->update, e.ppo->policyLoss, e.ppo->valueLoss, e.ppo->entropy, e.ppo->approxKl,
                        e.ppo->clipFraction, e.ppo->explainedVariance);
        }
        std::fflush(stdout);
    }

    void onFinished(const RunSummary& summary) override
    {
        const bool accuracy = !summary.reports.empty() && summary.reports.front().testAcc >= 0;
        std::printf("\n%-16s %-10s %8s %10s %10s %10s", "policy", "fine-tuned", "avg_bits", "MB", "val_ppl", "test_ppl");
        std::printf(accuracy ? " %8s %9s\n" : "\n", "acc", "acc_norm");
        for (const auto& r : summary.reports) {
            std::printf("%-16s %-10s %8.2f %10.3f %10.3f %10.3f", r.name.c_str(), r.finetuned ? "yes" : "no", r.avgBits,
                        double(r.bytes) / 1e6, r.valPpl, r.testPpl);
            if (accuracy) {
                std::printf(" %8.4f %9.4f", r.testAcc, r.testAccNorm);
            }
            std::printf("\n");
        }
        std::printf("\nrun folder %s (%d episodes%s, %s)\n", summary.runFolder.string().c_str(), summary.episodesDone,
                    summary.stoppedEarly ? ", stopped early" : "", formatDuration(summary.seconds).c_str());
    }

private:
    bool quiet_;
    double episodeSeconds_ = 0;   // sum over the episodes of this session
    int episodesSeen_ = 0;
    RunInfo info_;
};

} // namespace

int runSearch(const std::vector<std::string>& args)
{
    const Arguments arguments(
        args,
        {"--model", "--dataset", "--validation-fraction", "--max-train-items", "--episodes", "--mode", "--target-bits",
         "--target-mb", "--lambda", "--bits", "--granularity", "--group-size", "--seed", "--finetune-steps",
         "--finetune-batch", "--finetune-lr", "--val-tokens", "--sensitivity-tokens", "--test-tokens",
         "--test-questions", "--episodes-per-update", "--ppo-lr", "--entropy", "--budget-prior", "--init-agent", "--out", "--threads"},
        {"--per-block", "--resume", "--quiet"});
    const int threads = configureTorchThreads(int(arguments.integer("--threads", 0)));

    RunSettings settings = settingsFromArguments(arguments);
    const bool resume = arguments.has("--resume");
    if (resume) {
        // A resumed run keeps the settings it started with; only the
        // episode count may grow.
        if (!arguments.has("--out")) {
            throw Error("--resume needs --out FOLDER naming the run to continue");
        }
        const auto configFile = settings.runFolder / runfile::kConfig;
        const auto stored = runSettingsFromJson(readFile(configFile), configFile.string());
        const int episodes = arguments.has("--episodes") ? settings.episodes : stored.episodes;
        const auto folder = settings.runFolder;
        settings = stored;
        settings.episodes = episodes;
        settings.runFolder = folder;
    }
    validateRunSettings(settings);

    std::printf("rlq search on %d threads, settings:\n%s\n", threads, runSettingsToJson(settings).c_str());
    std::fflush(stdout);

    SearchControl control;
    activeControl = &control;
    std::signal(SIGINT, handleInterrupt);
    ConsolePrinter printer(arguments.has("--quiet"));
    SearchSession session(settings);
    session.run(printer, control, resume);
    activeControl = nullptr;
    return 0;
}

} // namespace rlq::cli

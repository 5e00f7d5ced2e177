#include "CliArguments.h"
#include "Commands.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "model/ModelLocator.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace rlq::cli {

const char* const kEvalUsage =
    "usage: rlq eval [--model PATH|NAME] [--dataset SPEC] [options]\n"
    "\n"
    "Prints perplexity and, for question-answering data, multiple-choice accuracy.\n"
    "\n"
    "  --model PATH|NAME   model folder, a name in the Hugging Face cache (gpt2,\n"
    "                      distilgpt2, ...) or demo (default: demo)\n"
    "  --dataset SPEC      a data file (.jsonl QA or plain text), a dataset folder,\n"
    "                      TRAIN,TEST file pair, or demo (default: demo)\n"
    "  --part PART         all, finetune, validation or test (default: all for a\n"
    "                      single file, test for a folder or pair)\n"
    "  --window W          tokens per model input (default 128)\n"
    "  --stride S          use Hugging Face's sliding-window protocol with this\n"
    "                      stride; without it windows do not overlap\n"
    "  --max-tokens N      score only the first N tokens of the text (0 = all)\n"
    "  --max-items N       score only the first N questions (0 = all)\n"
    "  --no-accuracy       skip the multiple-choice accuracy\n"
    "  --seed N            seed of the validation hold-out (default 0)\n"
    "  --threads N         LibTorch threads (default: all cores)\n"
    "  --json              print one JSON object instead of a table\n"
    "\n"
    "example: rlq eval --model ../shared/models/tiny-gpt2-ref \\\n"
    "           --dataset ../shared/data/commonsenseqa/dev_rand_split.jsonl\n";

namespace {

struct EvalData {
    std::string description;
    std::string layout;
    std::string text;
    std::vector<QaItem> items;
};

EvalData selectPart(const DatasetSplits& splits, const std::string& part)
{
    const DatasetPart* selected = nullptr;
    if (part == "finetune") {
        selected = &splits.finetune;
    } else if (part == "validation") {
        selected = &splits.validation;
    } else if (part == "test") {
        selected = &splits.test;
    } else {
        throw Error("--part '" + part + "' is not valid for a split dataset; use finetune, validation or test");
    }
    return {selected->description, layoutName(splits.layout), selected->text, selected->items};
}

EvalData loadEvalData(const std::string& requestedSpec, const std::string& requestedPart, uint64_t seed)
{
    const std::string spec = resolveDatasetSpec(requestedSpec);
    const bool singleFile = std::filesystem::is_regular_file(spec);
    // A single file is scored whole by default; a folder or pair by its test part.
    std::string part = requestedPart;
    if (part.empty()) {
        part = singleFile ? "all" : "test";
    }

    if (singleFile && part == "all") {
        const DatasetFile file = readDatasetFile(spec);
        const std::string rows = isQuestionAnswering(file.layout) ? ", " + std::to_string(file.items.size()) + " rows" : "";
        return {file.path.filename().string() + rows, layoutName(file.layout), renderLanguageModelText(file), file.items};
    }
    if (part == "all") {
        throw Error("--part all needs a single data file; for a folder or pair use finetune, validation or test");
    }
    SplitSettings settings;
    settings.seed = seed;
    return selectPart(loadDatasetSplits(spec, settings), part);
}

PerplexityProtocol protocolFromArguments(const Arguments& arguments)
{
    PerplexityProtocol protocol;
    protocol.window = arguments.integer("--window", 128);
    if (arguments.has("--stride")) {
        protocol.kind = PerplexityProtocol::Kind::Sliding;
        protocol.stride = arguments.integer("--stride", protocol.window);
    }
    return protocol;
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int runEval(const std::vector<std::string>& args)
{
    const Arguments arguments(args,
                              {"--model", "--dataset", "--part", "--window", "--stride", "--max-tokens",
                               "--max-items", "--seed", "--threads"},
                              {"--json", "--no-accuracy"});
    const int threads = configureTorchThreads(int(arguments.integer("--threads", 0)));
    const PerplexityProtocol protocol = protocolFromArguments(arguments);

    const LoadedModel model = loadModel(arguments.value("--model", "demo"));
    const EvalData data = loadEvalData(arguments.value("--dataset", "demo"), arguments.value("--part"),
                                       uint64_t(arguments.integer("--seed", 0)));

    const auto tokenizeStart = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = model.tokenizer.encode(data.text);
    const double tokenizeSeconds = secondsSince(tokenizeStart);

    const auto perplexityStart = std::chrono::steady_clock::now();
    const PerplexityResult perplexity =
        evaluatePerplexity(model.config, model.weights, ids, protocol, arguments.integer("--max-tokens", 0));
    const double perplexitySeconds = secondsSince(perplexityStart);

    const bool scoreChoices = !data.items.empty() && !arguments.has("--no-accuracy");
    MultipleChoiceResult choices;
    double choiceSeconds = 0;
    if (scoreChoices) {
        const auto choiceStart = std::chrono::steady_clock::now();
        choices = evaluateMultipleChoice(model.config, model.weights, model.tokenizer, data.items,
                                         arguments.integer("--max-items", 0));
        choiceSeconds = secondsSince(choiceStart);
    }

    if (arguments.has("--json")) {
        nlohmann::json out = {
            {"model", model.source.name},
            {"model_folder", model.source.folder.string()},
            {"dataset", data.description},
            {"layout", data.layout},
            {"protocol", protocol.describe()},
            {"window", protocol.window},
            {"tokens_in_text", perplexity.tokensInText},
            {"tokens_scored", perplexity.tokensScored},
            {"windows", perplexity.windows},
            {"mean_nll", perplexity.meanNll},
            {"perplexity", perplexity.perplexity},
            {"perplexity_seconds", perplexitySeconds},
            {"threads", threads},
        };
        if (protocol.kind == PerplexityProtocol::Kind::Sliding) {
            out["stride"] = protocol.stride;
        }
        if (scoreChoices) {
            out["acc"] = choices.acc;
            out["acc_norm"] = choices.accNorm;
            out["questions"] = choices.items;
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }

    std::printf("model        %s (%s)\n", model.source.name.c_str(), model.source.folder.string().c_str());
    std::printf("dataset      %s [%s]\n", data.description.c_str(), data.layout.c_str());
    std::printf("protocol     %s\n", protocol.describe().c_str());
    std::printf("tokens       %lld in text (tokenized in %.2f s), %lld scored in %lld windows\n",
                static_cast<long long>(perplexity.tokensInText), tokenizeSeconds,
                static_cast<long long>(perplexity.tokensScored), static_cast<long long>(perplexity.windows));
    std::printf("perplexity   %.4f (mean NLL %.6f nats), %.2f s, %.0f tokens/s on %d threads\n", perplexity.perplexity,
                perplexity.meanNll, perplexitySeconds, double(perplexity.tokensScored) / perplexitySeconds, threads);
    if (scoreChoices) {
        std::printf("acc          %.4f\nacc_norm     %.4f (%lld questions, %.2f s)\n", choices.acc, choices.accNorm,
                    static_cast<long long>(choices.items), choiceSeconds);
    }
    return 0;
}

} // namespace rlq::cli

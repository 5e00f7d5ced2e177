// rlq-make-demo: regenerates the built-in demo bundle (resources/demo).
//
// It generates the question data, trains a byte-level BPE tokenizer on the
// rendered training text, trains a small GPT-2 on the same text with AdamW
// and measures it on the test part. The files go to a hidden folder beside
// --out, which replaces --out only when everything has been written and
// checked, so a failed run leaves the previous bundle unchanged.

#include "BpeTrainer.h"
#include "DemoText.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "model/Gpt2Config.h"
#include "model/Gpt2Model.h"
#include "model/ModelLocator.h"
#include "model/Safetensors.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ctime>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char* const kUsage =
    "usage: rlq-make-demo --out DIR [--seed N] [--steps N] [--threads N]\n"
    "\n"
    "Generates the demo questions, trains a BPE tokenizer and a small GPT-2 on\n"
    "them, and writes the bundle (model/, data/, README.md) to DIR, replacing\n"
    "what DIR contained.\n"
    "\n"
    "  --out DIR      bundle folder, e.g. resources/demo\n"
    "  --seed N       seed of the questions, the weights and the batches (default 1)\n"
    "  --steps N      optimizer steps of model training (default 2000)\n"
    "  --threads N    LibTorch threads (default: all cores)\n";

// Counts of the generated questions; README.md and the bundle test state them too.
constexpr std::size_t kTrainQuestions = 3000;
constexpr std::size_t kValidationQuestions = 300;
constexpr std::size_t kTestQuestions = 300;

constexpr int32_t kVocabSize = 2048;

struct Options {
    fs::path out;
    uint64_t seed = 1;
    int64_t steps = 2000;
    int threads = 0; // 0: all cores
};

// Model and optimizer settings. With 4 blocks of width 64, one step of 16
// windows took about 0.2 s of CPU time on the Xeon that made the bundle.
struct TrainingSettings {
    int64_t layers = 4;
    int64_t heads = 4;
    int64_t width = 64;
    int64_t positions = 256;
    int64_t window = 128;                 // tokens per training sequence
    int64_t batchSize = 16;               // sequences per step
    double peakLearningRate = 5e-3;
    int64_t warmupSteps = 100;            // linear warm-up from 0
    double finalLearningRateShare = 0.1;  // the cosine decays to this share of the peak
    double weightDecay = 0.1;             // matrices only, not biases or layer norms
    double maxGradientNorm = 1.0;
    int64_t reportInterval = 200;         // steps between progress lines with validation loss
};

struct TrainingReport {
    double finalTrainLoss = 0;       // mean of the last reportInterval steps, nats per token
    double finalValidationLoss = 0;  // nats per token on validation.jsonl
    double bestValidationLoss = 0;   // lowest validation loss of the progress lines
    int64_t bestValidationStep = 0;
    double seconds = 0;              // wall time
    double cpuSeconds = 0;           // process CPU time, all threads together
};

struct TestMetrics {
    rlq::PerplexityResult perplexity;
    rlq::MultipleChoiceResult choices;
};

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// Command line

int64_t parseInteger(const std::string& option, const std::string& text, int64_t minimum)
{
    std::size_t used = 0;
    int64_t value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || value < minimum) {
        throw rlq::Error(option + " '" + text + "' is not a valid value; pass an integer of at least "
                         + std::to_string(minimum));
    }
    return value;
}

Options parseOptions(int argc, char** argv)
{
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--help" || option == "-h") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (i + 1 >= argc) {
            throw rlq::Error("option " + option + " is unknown or lacks a value; see rlq-make-demo --help");
        }

        const std::string value = argv[++i];
        if (option == "--out") {
            options.out = value;
        } else if (option == "--seed") {
            options.seed = static_cast<uint64_t>(parseInteger(option, value, 0));
        } else if (option == "--steps") {
            options.steps = parseInteger(option, value, 1);
        } else if (option == "--threads") {
            options.threads = static_cast<int>(parseInteger(option, value, 1));
        } else {
            throw rlq::Error("unknown option " + option + "; see rlq-make-demo --help");
        }
    }

    if (options.out.empty()) {
        throw rlq::Error("--out is missing; pass the bundle folder, e.g. --out resources/demo");
    }
    // "resources/demo/" has an empty file name, which the sibling folders below need.
    options.out = fs::absolute(options.out).lexically_normal();
    if (!options.out.has_filename()) {
        options.out = options.out.parent_path();
    }
    return options;
}

std::string commandLine(const Options& options, const std::string& outArgument)
{
    std::string command = "rlq-make-demo --out " + outArgument + " --seed " + std::to_string(options.seed)
                          + " --steps " + std::to_string(options.steps);
    if (options.threads > 0) {
        command += " --threads " + std::to_string(options.threads);
    }
    return command;
}

// ---------------------------------------------------------------------------
// Data and tokenizer

void writeQuestions(const rlq::DemoQuestions& questions, const fs::path& dataFolder)
{
    rlq::writeFileAtomically(dataFolder / "train.jsonl", rlq::openBookQaJsonl(questions.train));
    rlq::writeFileAtomically(dataFolder / "validation.jsonl", rlq::openBookQaJsonl(questions.validation));
    rlq::writeFileAtomically(dataFolder / "test.jsonl", rlq::openBookQaJsonl(questions.test));
}

// Reads a written file back through the app's reader, so the training text
// is exactly what the app renders from it.
std::string renderedText(const fs::path& file)
{
    const rlq::DatasetFile dataset = rlq::readDatasetFile(file);
    if (dataset.layout != rlq::DatasetLayout::OpenBookQaOriginal) {
        throw rlq::Error(file.string() + " was read as " + rlq::layoutName(dataset.layout)
                         + " instead of OpenBookQA (original JSONL); the generator's output format is broken");
    }
    return rlq::renderLanguageModelText(dataset);
}

// Loads the written tokenizer files and checks that Gpt2Tokenizer splits
// the training text into as many tokens as the trainer counted and decodes
// it back unchanged.
rlq::Gpt2Tokenizer loadCheckedTokenizer(const fs::path& modelFolder, const rlq::BpeVocabulary& vocabulary,
                                        const std::string& trainText)
{
    const rlq::Gpt2Tokenizer tokenizer = rlq::Gpt2Tokenizer::fromDirectory(modelFolder);
    const std::vector<int32_t> ids = tokenizer.encode(trainText);
    if (static_cast<int64_t>(ids.size()) != vocabulary.corpusTokenCount) {
        throw rlq::Error("Gpt2Tokenizer encodes the training text into " + std::to_string(ids.size())
                         + " tokens but the BPE trainer counted " + std::to_string(vocabulary.corpusTokenCount)
                         + "; the pre-tokenizer in tools/BpeTrainer.cpp disagrees with the tokenizer's");
    }
    if (tokenizer.decode(ids) != trainText) {
        throw rlq::Error("decoding the training text's tokens does not give the text back; check "
                         + (modelFolder / "vocab.json").string());
    }
    return tokenizer;
}

// ---------------------------------------------------------------------------
// Model training

rlq::Gpt2Config demoConfig(const TrainingSettings& settings, int32_t vocabSize)
{
    rlq::Gpt2Config config;
    config.nLayer = settings.layers;
    config.nHead = settings.heads;
    config.nEmbd = settings.width;
    config.nPositions = settings.positions;
    config.vocabSize = vocabSize;
    config.layerNormEpsilon = 1e-5;
    config.activation = "gelu_new";
    return config;
}

// Creates GPT-2's initial weights: normal(0, 0.02) matrices, zero biases
// and unit layer norms. The two projections into the residual stream are
// scaled by 1 / sqrt(2 * layers), so the residual's variance does not grow
// with depth.
rlq::Gpt2Weights initialWeights(const rlq::Gpt2Config& config)
{
    const int64_t width = config.nEmbd;
    const int64_t inner = config.mlpWidth();
    const double deviation = 0.02;
    const double residualDeviation = deviation / std::sqrt(2.0 * double(config.nLayer));
    const auto normal = [](std::vector<int64_t> shape, double scale) { return torch::randn(shape) * scale; };

    rlq::Gpt2Weights weights;
    weights.wte = normal({config.vocabSize, width}, deviation);
    weights.wpe = normal({config.nPositions, width}, deviation / 2);
    for (int64_t layer = 0; layer < config.nLayer; ++layer) {
        rlq::Gpt2Block block;
        block.ln1Weight = torch::ones({width});
        block.ln1Bias = torch::zeros({width});
        block.attnWeight = normal({width, 3 * width}, deviation);
        block.attnBias = torch::zeros({3 * width});
        block.attnProjWeight = normal({width, width}, residualDeviation);
        block.attnProjBias = torch::zeros({width});
        block.ln2Weight = torch::ones({width});
        block.ln2Bias = torch::zeros({width});
        block.fcWeight = normal({width, inner}, deviation);
        block.fcBias = torch::zeros({inner});
        block.mlpProjWeight = normal({inner, width}, residualDeviation);
        block.mlpProjBias = torch::zeros({width});
        weights.blocks.push_back(std::move(block));
    }
    weights.lnfWeight = torch::ones({width});
    weights.lnfBias = torch::zeros({width});

    for (auto& [name, tensor] : weights.namedMutable()) {
        tensor->set_requires_grad(true);
    }
    return weights;
}

// Creates AdamW with weight decay on the matrices (2-D tensors, embeddings
// included) and none on biases and layer-norm parameters.
torch::optim::AdamW makeOptimizer(rlq::Gpt2Weights& weights, const TrainingSettings& settings)
{
    std::vector<torch::Tensor> decayed;
    std::vector<torch::Tensor> undecayed;
    for (auto& [name, tensor] : weights.namedMutable()) {
        (tensor->dim() >= 2 ? decayed : undecayed).push_back(*tensor);
    }

    const auto options = [&](double weightDecay) {
        auto adamW = std::make_unique<torch::optim::AdamWOptions>(settings.peakLearningRate);
        adamW->betas({0.9, 0.95}).weight_decay(weightDecay);
        return adamW;
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, options(settings.weightDecay));
    groups.emplace_back(undecayed, options(0.0));
    return torch::optim::AdamW(groups, torch::optim::AdamWOptions(settings.peakLearningRate));
}

// Returns the learning rate of `step`: a linear warm-up to the peak, then a
// cosine decay to finalLearningRateShare of the peak at the last step.
double learningRate(const TrainingSettings& settings, int64_t step, int64_t totalSteps)
{
    if (step < settings.warmupSteps) {
        return settings.peakLearningRate * double(step + 1) / double(settings.warmupSteps);
    }
    const double progress = double(step - settings.warmupSteps) / double(std::max<int64_t>(1, totalSteps - settings.warmupSteps));
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    const double floor = settings.finalLearningRateShare;
    return settings.peakLearningRate * (floor + (1.0 - floor) * cosine);
}

void setLearningRate(torch::optim::AdamW& optimizer, double rate)
{
    for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(rate);
    }
}

// Draws batchSize windows of window + 1 consecutive tokens at uniform
// random starts and splits them into inputs and next-token targets, each
// [batch, window].
std::pair<torch::Tensor, torch::Tensor> randomWindows(const torch::Tensor& ids, const TrainingSettings& settings)
{
    const int64_t starts = ids.size(0) - settings.window;
    const auto first = torch::randint(starts, {settings.batchSize, 1}, torch::kInt64);
    const auto positions = first + torch::arange(settings.window + 1, torch::kInt64);
    const auto tokens = ids.index_select(0, positions.reshape({-1})).view({settings.batchSize, settings.window + 1});
    return {tokens.narrow(1, 0, settings.window), tokens.narrow(1, 1, settings.window)};
}

rlq::Gpt2Weights detached(const rlq::Gpt2Weights& weights)
{
    rlq::Gpt2Weights copy = weights;
    for (auto& [name, tensor] : copy.namedMutable()) {
        *tensor = tensor->detach();
    }
    return copy;
}

torch::Tensor idTensor(const std::vector<int32_t>& ids)
{
    return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64);
}

double validationLoss(const rlq::Gpt2Config& config, const rlq::Gpt2Weights& weights,
                      const std::vector<int32_t>& validationIds, int64_t window)
{
    const auto [inputs, targets] = rlq::blockWindows(validationIds, window);
    return rlq::meanNllOfWindows(config, detached(weights), inputs, targets);
}

TrainingReport trainModel(const rlq::Gpt2Config& config, rlq::Gpt2Weights& weights,
                          const std::vector<int32_t>& trainIds, const std::vector<int32_t>& validationIds,
                          const TrainingSettings& settings, int64_t steps)
{
    if (static_cast<int64_t>(trainIds.size()) <= settings.window + 1) {
        throw rlq::Error("the training text has only " + std::to_string(trainIds.size())
                         + " tokens, too few for one training window; generate more questions");
    }

    const torch::Tensor ids = idTensor(trainIds);
    const std::clock_t cpuStart = std::clock();
    std::vector<torch::Tensor> parameters;
    for (const auto& [name, tensor] : weights.named()) {
        parameters.push_back(tensor);
    }
    torch::optim::AdamW optimizer = makeOptimizer(weights, settings);
    const auto start = std::chrono::steady_clock::now();
    TrainingReport report;
    double lossSum = 0;
    int64_t lossCount = 0;

    for (int64_t step = 0; step < steps; ++step) {
        const double rate = learningRate(settings, step, steps);
        setLearningRate(optimizer, rate);

        const auto [inputs, targets] = randomWindows(ids, settings);
        const auto logits = rlq::gpt2Logits(config, weights, inputs);
        const auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, config.vocabSize}),
                                                               targets.reshape({-1}));
        optimizer.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(parameters, settings.maxGradientNorm);
        optimizer.step();

        lossSum += loss.item<double>();
        ++lossCount;
        const bool lastStep = step + 1 == steps;
        if ((step + 1) % settings.reportInterval == 0 || lastStep) {
            report.finalTrainLoss = lossSum / double(lossCount);
            report.finalValidationLoss = validationLoss(config, weights, validationIds, settings.window);
            if (report.bestValidationStep == 0 || report.finalValidationLoss < report.bestValidationLoss) {
                report.bestValidationLoss = report.finalValidationLoss;
                report.bestValidationStep = step + 1;
            }
            std::printf("step %5lld/%lld  lr %.2e  train loss %.4f  validation loss %.4f  %.0f s\n",
                        static_cast<long long>(step + 1), static_cast<long long>(steps), rate, report.finalTrainLoss,
                        report.finalValidationLoss, secondsSince(start));
            std::fflush(stdout);
            lossSum = 0;
            lossCount = 0;
        }
    }
    report.seconds = secondsSince(start);
    report.cpuSeconds = double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    return report;
}

// ---------------------------------------------------------------------------
// Writing and measuring the bundle

void writeModel(const rlq::Gpt2Config& config, const rlq::Gpt2Weights& weights, int32_t endOfTextId,
                const fs::path& modelFolder)
{
    // gpt2ConfigJson gives GPT-2's special-token ids (50256); this vocabulary
    // puts <|endoftext|> at its last id.
    auto json = nlohmann::ordered_json::parse(rlq::gpt2ConfigJson(config));
    json["bos_token_id"] = endOfTextId;
    json["eos_token_id"] = endOfTextId;
    rlq::writeFileAtomically(modelFolder / "config.json", json.dump(2) + "\n");

    rlq::writeSafetensors(modelFolder / "model.safetensors", detached(weights).named(), {{"format", "pt"}});
}

// Scores the written bundle as `rlq eval --model DIR/model --dataset DIR/data`
// does by default: the test part, 128-token windows, then multiple choice.
TestMetrics measureBundle(const fs::path& bundle)
{
    const rlq::LoadedModel model = rlq::loadModel((bundle / "model").string());
    const rlq::DatasetSplits splits = rlq::loadDatasetSplits((bundle / "data").string(), rlq::SplitSettings{});

    TestMetrics metrics;
    metrics.perplexity = rlq::evaluatePerplexity(model.config, model.weights, model.tokenizer.encode(splits.test.text),
                                                 rlq::PerplexityProtocol{});
    metrics.choices = rlq::evaluateMultipleChoice(model.config, model.weights, model.tokenizer, splits.test.items);
    return metrics;
}

uint64_t folderBytes(const fs::path& folder)
{
    uint64_t bytes = 0;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
        if (entry.is_regular_file()) {
            bytes += entry.file_size();
        }
    }
    return bytes;
}

std::string formatted(const char* format, double value)
{
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

struct BundleFacts {
    std::string command;
    rlq::Gpt2Config config;
    int64_t parameters = 0;
    int32_t vocabSize = 0;
    int64_t mergeCount = 0;
    int64_t trainTokens = 0;
    int64_t steps = 0;
    TrainingSettings training;
    TrainingReport report;
    TestMetrics test;
    int threads = 0;
    std::string cpuName;
    double totalSeconds = 0;
};

// The "model name" of the first CPU in /proc/cpuinfo, for the README.
std::string cpuModelName()
{
    std::ifstream cpuInfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuInfo, line)) {
        const std::size_t colon = line.find(':');
        if (line.rfind("model name", 0) == 0 && colon != std::string::npos && colon + 2 <= line.size()) {
            return line.substr(colon + 2);
        }
    }
    return "CPU model unknown";
}

// A paragraph for the README when the validation loss rose before the end
// of training, else nothing.
std::string overfittingNote(const TrainingReport& report)
{
    if (report.finalValidationLoss <= report.bestValidationLoss) {
        return {};
    }
    return "The validation loss was lowest at step " + std::to_string(report.bestValidationStep)
           + " and rose afterwards while the training loss kept falling:\n"
             "the later steps fit the wordings of the training part more closely than other wordings.\n\n";
}

std::string readmeText(const BundleFacts& facts)
{
    const TrainingSettings& t = facts.training;
    std::ostringstream text;
    text << "# Demo bundle\n\n"
         << "A small GPT-2 and a question dataset that let RLQ Studio and the `rlq` CLI run offline\n"
         << "with `--model demo` and `--dataset resources/demo/data`. The program `rlq-make-demo`\n"
         << "(tools/make_demo_bundle.cpp) writes every file in this folder, README.md included,\n"
         << "from code and hand-written word lists in this repository. No text, vocabulary or\n"
         << "weights come from elsewhere.\n\n"
         << "## Contents\n\n"
         << "- `data/train.jsonl`, `data/validation.jsonl`, `data/test.jsonl`: " << kTrainQuestions << ", "
         << kValidationQuestions << " and " << kTestQuestions << "\n"
         << "  multiple-choice questions in OpenBookQA's original layout (`id`, `question.stem`,\n"
         << "  `question.choices` with labels A-D, `answerKey`). tools/DemoText.cpp generates them\n"
         << "  from templates over an invented world. They ask for traits of 48 made-up creatures\n"
         << "  (colour, home, food, sound, legs, size), kinds of everyday things, sums of numbers up\n"
         << "  to 10, differences of numbers up to 15, neighbouring days, months, numbers and letters,\n"
         << "  and opposites. Other questions pick one of four listed options: the heaviest object,\n"
         << "  the biggest creature, the one that eats moss, the one that is a fruit. The seed\n"
         << "  assigns the creatures' traits, so a model can only learn them from the training part.\n"
         << "  Each fixed fact is asked in one to four wordings, and a seeded shuffle deals all\n"
         << "  questions into test, validation and train, so the wordings of one fact are spread\n"
         << "  over the parts. No question appears in two parts.\n"
         << "- `model/vocab.json`, `model/merges.txt`: a byte-level BPE tokenizer in GPT-2's format\n"
         << "  (" << facts.vocabSize << " ids: 256 byte tokens, " << facts.mergeCount
         << " merges, `<|endoftext|>` last), trained by\n"
         << "  tools/BpeTrainer.cpp on the rendered training text (\"Q: {stem}\\nA: {answer}\\n\\n\" per question).\n"
         << "- `model/config.json`, `model/model.safetensors`: GPT-2 with " << facts.config.nLayer << " layers, "
         << facts.config.nHead << " heads, width " << facts.config.nEmbd << ",\n"
         << "  " << facts.config.nPositions << " positions and " << facts.parameters
         << " float32 parameters (tied LM head, Hugging Face key names without `transformer.`).\n\n"
         << "## How the model was trained\n\n"
         << "Random windows of " << t.window << " tokens from the tokenized training text (" << facts.trainTokens
         << " tokens),\n"
         << t.batchSize << " windows per step, " << facts.steps << " AdamW steps (betas 0.9/0.95, weight decay "
         << t.weightDecay << " on matrices),\n"
         << "learning rate " << t.peakLearningRate << " after " << t.warmupSteps
         << " warm-up steps with a cosine decay to " << t.finalLearningRateShare << " of it, gradients clipped\n"
         << "to norm " << t.maxGradientNorm << ", on the project's own forward pass (`rlq::gpt2Logits`).\n\n"
         << "## Regenerating\n\n"
         << "```\n"
         << "cmake --build build --target rlq-make-demo\n"
         << "build/tools/" << facts.command << "\n"
         << "```\n\n"
         << "The run that wrote this folder took " << formatted("%.0f", facts.totalSeconds) << " s of wall time on "
         << facts.threads << (facts.threads == 1 ? " LibTorch thread\n" : " LibTorch threads\n")
         << "(" << facts.cpuName << "). Training took " << formatted("%.0f", facts.report.seconds) << " s of wall time and "
         << formatted("%.0f", facts.report.cpuSeconds) << " s of CPU time;\n"
         << "wall time grows when other programs share the cores.\n\n"
         << "The questions and the tokenizer come out the same on every machine. With the same seed\n"
         << "and thread count the weights come out the same on the same machine, but another CPU,\n"
         << "BLAS library or thread count changes the float results slightly.\n\n"
         << "## Measured\n\n"
         << "| measure | value |\n"
         << "| --- | --- |\n"
         << "| training steps | " << facts.steps << " |\n"
         << "| final training loss (mean of the last " << t.reportInterval << " steps) | "
         << formatted("%.4f", facts.report.finalTrainLoss) << " nats/token |\n"
         << "| validation loss | " << formatted("%.4f", facts.report.finalValidationLoss) << " nats/token |\n"
         << "| lowest validation loss (step " << facts.report.bestValidationStep << ") | "
         << formatted("%.4f", facts.report.bestValidationLoss) << " nats/token |\n"
         << "| test perplexity (" << facts.test.perplexity.windows << " windows of 128 tokens, "
         << facts.test.perplexity.tokensScored << " tokens scored) | "
         << formatted("%.4f", facts.test.perplexity.perplexity) << " |\n"
         << "| test acc (" << facts.test.choices.items << " questions, chance 0.25) | "
         << formatted("%.4f", facts.test.choices.acc) << " |\n"
         << "| test acc_norm | " << formatted("%.4f", facts.test.choices.accNorm) << " |\n\n"
         << overfittingNote(facts.report)
         << "rlq-make-demo prints these numbers at the end of its run. The same test numbers come from\n\n"
         << "```\n"
         << "build/app/rlq eval --model resources/demo/model --dataset resources/demo/data\n"
         << "```\n\n"
         << "which scores `test.jsonl` with non-overlapping 128-token windows and, for acc, compares the\n"
         << "summed log-probabilities of \" {choice}\" after \"Q: {stem}\\nA:\".\n"
         << "tests/test_demo_bundle.cpp checks the bundle against bounds with a margin.\n";
    return text.str();
}

// Replaces `out` by `staging`. The old bundle is moved aside first and
// restored when the second rename fails.
void replaceFolder(const fs::path& staging, const fs::path& out)
{
    const fs::path previous = out.parent_path() / ("." + out.filename().string() + ".previous-" + std::to_string(::getpid()));
    const bool hadOut = fs::exists(out);
    if (hadOut) {
        fs::rename(out, previous);
    }
    try {
        fs::rename(staging, out);
    } catch (const fs::filesystem_error& error) {
        if (hadOut) {
            fs::rename(previous, out);
        }
        throw rlq::Error("cannot move " + staging.string() + " to " + out.string() + ": " + error.code().message());
    }
    if (hadOut) {
        fs::remove_all(previous);
    }
}

fs::path freshStagingFolder(const fs::path& out)
{
    const fs::path staging = out.parent_path() / ("." + out.filename().string() + ".partial-" + std::to_string(::getpid()));
    fs::remove_all(staging);
    fs::create_directories(staging / "model");
    fs::create_directories(staging / "data");
    return staging;
}

// Builds the bundle in `staging` and moves it to options.out.
void makeBundle(const Options& options, const fs::path& staging, int threads,
                std::chrono::steady_clock::time_point start)
{
    torch::manual_seed(options.seed);

    rlq::DemoTextSettings textSettings;
    textSettings.seed = options.seed;
    textSettings.trainCount = kTrainQuestions;
    textSettings.validationCount = kValidationQuestions;
    textSettings.testCount = kTestQuestions;
    writeQuestions(rlq::generateDemoQuestions(textSettings), staging / "data");
    const std::string trainText = renderedText(staging / "data" / "train.jsonl");
    const std::string validationText = renderedText(staging / "data" / "validation.jsonl");
    std::printf("questions: %zu train, %zu validation, %zu test (%zu bytes of training text)\n", kTrainQuestions,
                kValidationQuestions, kTestQuestions, trainText.size());

    const auto tokenizerStart = std::chrono::steady_clock::now();
    rlq::BpeTrainingSettings bpeSettings;
    bpeSettings.vocabSize = kVocabSize;
    const rlq::BpeVocabulary vocabulary = rlq::trainByteLevelBpe(trainText, bpeSettings);
    rlq::writeBpeFiles(vocabulary, staging / "model");
    const rlq::Gpt2Tokenizer tokenizer = loadCheckedTokenizer(staging / "model", vocabulary, trainText);
    std::printf("tokenizer: %d ids, %zu merges, %lld training tokens, trained in %.1f s\n", tokenizer.vocabSize(),
                vocabulary.merges.size(), static_cast<long long>(vocabulary.corpusTokenCount),
                secondsSince(tokenizerStart));

    const TrainingSettings training;
    const rlq::Gpt2Config config = demoConfig(training, tokenizer.vocabSize());
    rlq::Gpt2Weights weights = initialWeights(config);
    std::printf("model: %lld layers, width %lld, %lld parameters; training %lld steps\n",
                static_cast<long long>(config.nLayer), static_cast<long long>(config.nEmbd),
                static_cast<long long>(weights.parameterCount()), static_cast<long long>(options.steps));
    const std::vector<int32_t> trainIds = tokenizer.encode(trainText);
    const TrainingReport report =
        trainModel(config, weights, trainIds, tokenizer.encode(validationText), training, options.steps);
    writeModel(config, weights, tokenizer.endOfTextId(), staging / "model");

    const TestMetrics test = measureBundle(staging);
    std::printf("test: perplexity %.4f (%lld tokens scored), acc %.4f, acc_norm %.4f (%lld questions)\n",
                test.perplexity.perplexity, static_cast<long long>(test.perplexity.tokensScored), test.choices.acc,
                test.choices.accNorm, static_cast<long long>(test.choices.items));

    BundleFacts facts;
    facts.command = commandLine(options, "resources/demo");
    facts.config = config;
    facts.parameters = weights.parameterCount();
    facts.vocabSize = tokenizer.vocabSize();
    facts.mergeCount = static_cast<int64_t>(vocabulary.merges.size());
    facts.trainTokens = static_cast<int64_t>(trainIds.size());
    facts.steps = options.steps;
    facts.training = training;
    facts.report = report;
    facts.test = test;
    facts.threads = threads;
    facts.cpuName = cpuModelName();
    facts.totalSeconds = secondsSince(start);
    rlq::writeFileAtomically(staging / "README.md", readmeText(facts));

    const uint64_t bytes = folderBytes(staging);
    replaceFolder(staging, options.out);
    std::printf("wrote %s: %.2f MB in %.0f s (training %.0f s)\n", options.out.string().c_str(), double(bytes) / 1e6,
                secondsSince(start), report.seconds);
}

int run(int argc, char** argv)
{
    const auto start = std::chrono::steady_clock::now();
    const Options options = parseOptions(argc, argv);
    const int threads = rlq::configureTorchThreads(options.threads);

    const fs::path staging = freshStagingFolder(options.out);
    std::printf("writing to %s (staging in %s), seed %llu, %d threads\n", options.out.string().c_str(),
                staging.string().c_str(), static_cast<unsigned long long>(options.seed), threads);
    try {
        makeBundle(options, staging, threads, start);
    } catch (...) {
        // A failed run leaves the previous bundle in place and no half-written folder.
        std::error_code ignored;
        fs::remove_all(staging, ignored);
        throw;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const rlq::Error& error) {
        std::fprintf(stderr, "rlq-make-demo: %s\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "rlq-make-demo: failed: %s\n", error.what());
        return 1;
    }
}

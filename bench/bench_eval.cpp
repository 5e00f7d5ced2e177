// Evaluation throughput of the reference model: tokens scored per second
// under the non-overlapping 128-token window protocol, against the
// 3,300 tokens/s that a Python (PyTorch) implementation reaches on the same
// 2-core machine. Target: at least twice that.

#include "data/Dataset.h"
#include "eval/Perplexity.h"
#include "model/ModelLocator.h"
#include "util/Threads.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace {

constexpr double kPythonTokensPerSecond = 3300.0;
constexpr double kTargetRatio = 2.0;

} // namespace

int main()
{
    const std::filesystem::path shared = RLQ_SHARED_DIR;
    const auto modelFolder = shared / "models/tiny-gpt2-ref";
    const auto dataFile = shared / "data/commonsenseqa/dev_rand_split.jsonl";
    if (!std::filesystem::exists(modelFolder) || !std::filesystem::exists(dataFile)) {
        std::fprintf(stderr, "bench_eval: reference data not found under %s; set RLQ_SHARED_DIR when configuring\n",
                     shared.string().c_str());
        return 1;
    }

    const int threads = rlq::configureTorchThreads();
    const auto model = rlq::loadModel(modelFolder.string());
    const auto ids = model.tokenizer.encode(rlq::renderLanguageModelText(rlq::readDatasetFile(dataFile)));

    // One warm-up pass, then the best of three.
    double bestSeconds = 1e30;
    rlq::PerplexityResult result;
    for (int run = 0; run < 4; ++run) {
        const auto start = std::chrono::steady_clock::now();
        result = rlq::evaluatePerplexity(model.config, model.weights, ids, rlq::PerplexityProtocol{});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (run > 0) {
            bestSeconds = std::min(bestSeconds, seconds);
        }
    }

    const double tokensPerSecond = double(result.tokensScored) / bestSeconds;
    const double ratio = tokensPerSecond / kPythonTokensPerSecond;
    std::printf("eval perplexity: %lld tokens in %.3f s on %d threads = %.0f tokens/s (perplexity %.4f)\n",
                static_cast<long long>(result.tokensScored), bestSeconds, threads, tokensPerSecond, result.perplexity);
    std::printf("ratio to the Python baseline (%.0f tokens/s): %.2fx (target %.1fx)\n", kPythonTokensPerSecond, ratio,
                kTargetRatio);
    return 0;
}

// Measures Gpt2Tokenizer::encode throughput on one thread against the target
// of 1 MB of text per second (MB = 10^6 bytes).
//
// Each file is encoded 3 times and the fastest run counts. "Cold" runs use a
// freshly loaded tokenizer, so its pre-token cache starts empty. "Warm" runs
// encode the same text again after a cold run has filled the cache.
//
// Usage: bench_tokenizer (no arguments; data comes from RLQ_SHARED_DIR).

#include "tokenizer/Gpt2Tokenizer.h"
#include "util/Error.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

constexpr double kTargetMegabytesPerSecond = 1.0;
constexpr int kRuns = 3;

const std::filesystem::path kSharedDir = RLQ_SHARED_DIR;
const std::filesystem::path kTokenizerDir = kSharedDir / "data" / "gpt2-tokenizer";
const std::vector<std::filesystem::path> kTexts = {
    kSharedDir / "data" / "text" / "tinyshakespeare.txt",
    kSharedDir / "data" / "text" / "wikitext-2.valid.tokens",
    kSharedDir / "data" / "text" / "wikitext-2.test.tokens",
};

struct Measurement {
    double seconds = 0.0; // fastest of kRuns
    std::size_t tokens = 0;
};

std::string readText(const std::filesystem::path& file)
{
    std::ifstream stream(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

double secondsToEncode(const rlq::Gpt2Tokenizer& tokenizer, const std::string& text, std::size_t& tokens)
{
    const auto start = std::chrono::steady_clock::now();
    tokens = tokenizer.encode(text).size();
    const auto stop = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(stop - start).count();
}

// Returns the fastest cold run (fresh tokenizer) and the fastest warm run
// (same tokenizer, second encode).
std::pair<Measurement, Measurement> measure(const std::string& text)
{
    Measurement cold;
    Measurement warm;
    for (int run = 0; run < kRuns; ++run) {
        const rlq::Gpt2Tokenizer tokenizer = rlq::Gpt2Tokenizer::fromDirectory(kTokenizerDir);
        std::size_t tokens = 0;

        const double coldSeconds = secondsToEncode(tokenizer, text, tokens);
        if (run == 0 || coldSeconds < cold.seconds) {
            cold = {coldSeconds, tokens};
        }

        const double warmSeconds = secondsToEncode(tokenizer, text, tokens);
        if (run == 0 || warmSeconds < warm.seconds) {
            warm = {warmSeconds, tokens};
        }
    }
    return {cold, warm};
}

void printMeasurement(const std::string& label, std::size_t bytes, const Measurement& measurement)
{
    const double megabytesPerSecond = static_cast<double>(bytes) / 1e6 / measurement.seconds;
    const double tokensPerSecond = static_cast<double>(measurement.tokens) / measurement.seconds;
    std::printf("tokenizer encode %s: %.2f MB/s, %.0f tokens/s (%zu bytes, %zu tokens; target %.2f MB/s, "
                "ratio %.2fx)\n",
                label.c_str(), megabytesPerSecond, tokensPerSecond, bytes, measurement.tokens,
                kTargetMegabytesPerSecond, megabytesPerSecond / kTargetMegabytesPerSecond);
}

} // namespace

int main()
{
    std::vector<std::filesystem::path> required = {kTokenizerDir / "vocab.json", kTokenizerDir / "merges.txt"};
    required.insert(required.end(), kTexts.begin(), kTexts.end());
    for (const auto& file : required) {
        if (!std::filesystem::exists(file)) {
            std::fprintf(stderr, "benchmark data not found: %s; set the CMake option RLQ_SHARED_DIR to the "
                                 "folder that contains data/\n",
                         file.string().c_str());
            return 1;
        }
    }

    std::size_t totalBytes = 0;
    Measurement totalCold;
    try {
        for (const auto& file : kTexts) {
            const std::string text = readText(file);
            const auto [cold, warm] = measure(text);
            const std::string name = file.filename().string();
            printMeasurement(name + " (cold cache)", text.size(), cold);
            printMeasurement(name + " (warm cache)", text.size(), warm);

            totalBytes += text.size();
            totalCold.seconds += cold.seconds;
            totalCold.tokens += cold.tokens;
        }
    } catch (const rlq::Error& error) {
        std::fprintf(stderr, "%s\n", error.what());
        return 1;
    }

    const double megabytesPerSecond = static_cast<double>(totalBytes) / 1e6 / totalCold.seconds;
    std::printf("tokenizer encode: %.2f MB/s (target %.2f MB/s, ratio %.2fx; all files, cold cache, one thread)\n",
                megabytesPerSecond, kTargetMegabytesPerSecond, megabytesPerSecond / kTargetMegabytesPerSecond);
    return 0;
}

// Times fakeQuantize and fakeQuantizeSte (forward + backward) on GPT-2 small
// weight matrices at every policy bit-width with groups of 64, and prints
// milliseconds per call and GB/s of float32 weights processed.
//
// Usage: bench_quantization [seconds per measurement, default 1]
//                           [intra-op threads, default all hardware threads]
//
// Other processes on the machine stretch the wall-clock times, so the
// program prints the load average before it starts and the process CPU time
// per call next to the wall time. When the CPU time is far below the wall
// time, other processes held the cores.
//
// Conv1D matrices (c_attn, mlp.c_proj) are timed twice: as the transposed
// view of their stored [in, out] tensor, which is how the model passes
// them, and as a contiguous [out, in] copy. The backward pass includes the
// copy of the upstream gradient into the leaf's .grad, because the
// benchmark keeps its own reference to that gradient.

#include "quant/Quantization.h"
#include "util/Error.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

struct MatrixCase {
    std::string name;
    int64_t outChannels;
    int64_t inFeatures;
    bool conv1dLayout;   // true: pass a transposed view of a stored [in, out] tensor
};

struct Timing {
    double millisecondsPerCall = 0.0;     // wall clock
    double cpuMillisecondsPerCall = 0.0;  // process CPU time, all threads
    int calls = 0;
};

// Runs `call` once to warm up, then repeatedly until `minSeconds` have
// passed and at least 3 calls were timed.
Timing timeCalls(const std::function<void()>& call, double minSeconds)
{
    using Clock = std::chrono::steady_clock;
    call();

    Timing timing;
    const Clock::time_point start = Clock::now();
    const std::clock_t cpuStart = std::clock();
    double elapsedSeconds = 0.0;
    while (timing.calls < 3 || elapsedSeconds < minSeconds) {
        call();
        ++timing.calls;
        elapsedSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    }

    const double cpuSeconds = static_cast<double>(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    timing.millisecondsPerCall = 1000.0 * elapsedSeconds / timing.calls;
    timing.cpuMillisecondsPerCall = 1000.0 * cpuSeconds / timing.calls;
    return timing;
}

// Returns a leaf tensor with random weights of standard deviation 0.02 (the
// initializer range of GPT-2) and the canonical [out, in] tensor that the
// quantizer receives from it.
std::pair<torch::Tensor, torch::Tensor> makeWeight(const MatrixCase& matrix)
{
    if (matrix.conv1dLayout) {
        torch::Tensor stored = (torch::randn({matrix.inFeatures, matrix.outChannels}) * 0.02).requires_grad_();
        return {stored, stored.t()};
    }
    torch::Tensor stored = (torch::randn({matrix.outChannels, matrix.inFeatures}) * 0.02).requires_grad_();
    return {stored, stored};
}

void printRow(const MatrixCase& matrix, const rlq::QuantScheme& scheme, const char* mode, const Timing& timing)
{
    const double gigabytes = static_cast<double>(matrix.outChannels * matrix.inFeatures) * 4.0 / 1e9;
    const double gigabytesPerSecond = gigabytes / (timing.millisecondsPerCall / 1000.0);
    const std::string shape = "[" + std::to_string(matrix.outChannels) + ", " + std::to_string(matrix.inFeatures) + "]";
    const std::string call = std::string(mode) + " " + std::to_string(scheme.bits);
    std::printf("%-12s %-13s %-10s %-10s %9.2f %9.2f %7.2f %6d\n", matrix.name.c_str(), shape.c_str(),
                matrix.conv1dLayout ? "view" : "contiguous", call.c_str(), timing.millisecondsPerCall,
                timing.cpuMillisecondsPerCall, gigabytesPerSecond, timing.calls);
    std::fflush(stdout);
}

void benchmarkMatrix(const MatrixCase& matrix, double minSeconds)
{
    const std::pair<torch::Tensor, torch::Tensor> weights = makeWeight(matrix);
    torch::Tensor leaf = weights.first;
    const torch::Tensor canonical = weights.second;
    // The upstream gradient arrives in the stored layout, as it does from
    // the model's matmul, so a Conv1D weight is transposed back first.
    const torch::Tensor upstream = torch::ones_like(leaf);

    for (const rlq::BitWidthInfo& info : rlq::bitWidthTable()) {
        rlq::QuantScheme scheme;
        scheme.bits = info.bits;
        scheme.granularity = rlq::Granularity::PerGroup;
        scheme.groupSize = 64;

        const Timing forward = timeCalls([&] { rlq::fakeQuantize(canonical, scheme); }, minSeconds);
        printRow(matrix, scheme, "fake", forward);

        const Timing straightThrough = timeCalls(
            [&] {
                leaf.mutable_grad().reset();
                const torch::Tensor quantized = rlq::fakeQuantizeSte(canonical, scheme);
                (matrix.conv1dLayout ? quantized.t() : quantized).backward(upstream);
            },
            minSeconds);
        printRow(matrix, scheme, "ste f+b", straightThrough);
    }
}

// The 1-minute load average from /proc/loadavg, or "unknown" off Linux.
std::string loadAverage()
{
    std::ifstream file("/proc/loadavg");
    std::string oneMinute;
    if (!(file >> oneMinute)) {
        return "unknown";
    }
    return oneMinute;
}

} // namespace

int main(int argc, char** argv)
{
    const double minSeconds = argc > 1 ? std::atof(argv[1]) : 1.0;
    if (!(minSeconds > 0.0)) {
        std::fprintf(stderr, "invalid seconds per measurement '%s'; expected a positive number\n", argv[1]);
        return 2;
    }

    const int hardwareThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = argc > 2 ? std::atoi(argv[2]) : hardwareThreads;
    if (threads < 1) {
        std::fprintf(stderr, "invalid thread count '%s'; expected a positive integer\n", argv[2]);
        return 2;
    }
    torch::set_num_threads(threads);
    torch::manual_seed(0);

    const std::vector<MatrixCase> matrices = {
        {"attn.c_attn", 2304, 768, true},
        {"attn.c_attn", 2304, 768, false},
        {"mlp.c_proj", 768, 3072, true},
        {"mlp.c_proj", 768, 3072, false},
        {"wte", 50257, 768, false},
    };

    std::printf("LibTorch %s, %d intra-op threads of %d hardware threads, load average %s, group size 64, "
                ">= %.1f s per measurement\n",
                TORCH_VERSION, torch::get_num_threads(), hardwareThreads, loadAverage().c_str(), minSeconds);
    std::printf("%-12s %-13s %-10s %-10s %9s %9s %7s %6s\n", "matrix", "shape", "layout", "call bits", "ms/call",
                "cpu ms", "GB/s", "calls");
    try {
        for (const MatrixCase& matrix : matrices) {
            benchmarkMatrix(matrix, minSeconds);
        }
    } catch (const rlq::Error& error) {
        std::fprintf(stderr, "error: %s\n", error.what());
        return 2;
    }
    return 0;
}

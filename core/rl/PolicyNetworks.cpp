#include "rl/PolicyNetworks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace rlq {

MlpImpl::MlpImpl(int64_t inputSize, int64_t hiddenWidth, int64_t outputSize)
{
    hidden1_ = register_module("hidden1", torch::nn::Linear(inputSize, hiddenWidth));
    hidden2_ = register_module("hidden2", torch::nn::Linear(hiddenWidth, hiddenWidth));
    output_ = register_module("output", torch::nn::Linear(hiddenWidth, outputSize));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& input) const
{
    // torch::linear on the parameter tensors keeps this method const, which
    // LinearImpl::forward is not.
    torch::Tensor hidden = torch::tanh(torch::linear(input, hidden1_->weight, hidden1_->bias));
    hidden = torch::tanh(torch::linear(hidden, hidden2_->weight, hidden2_->bias));
    return torch::linear(hidden, output_->weight, output_->bias);
}

void MlpImpl::initializeOrthogonal(double outputGain, at::Generator& generator)
{
    // Gain sqrt(2) for the hidden layers is the common setting of PPO implementations.
    const double hiddenGain = std::sqrt(2.0);

    torch::NoGradGuard noGrad;
    fillOrthogonal(hidden1_->weight, hiddenGain, generator);
    fillOrthogonal(hidden2_->weight, hiddenGain, generator);
    fillOrthogonal(output_->weight, outputGain, generator);

    hidden1_->bias.zero_();
    hidden2_->bias.zero_();
    output_->bias.zero_();
}

void fillOrthogonal(torch::Tensor& weight, double gain, at::Generator& generator)
{
    const int64_t rows = weight.size(0);
    const int64_t columns = weight.size(1);
    const int64_t longSide = std::max(rows, columns);
    const int64_t shortSide = std::min(rows, columns);

    // QR of a Gaussian [long, short] matrix gives Q with orthonormal columns.
    // Multiplying each column by the sign of R's diagonal makes Q uniformly
    // distributed over such matrices instead of biased by the QR convention.
    const torch::Tensor gaussian = torch::randn({longSide, shortSide}, generator, torch::kFloat64);
    auto [q, r] = torch::linalg_qr(gaussian, "reduced");
    q = q * torch::sign(torch::diagonal(r)).unsqueeze(0);

    if (rows < columns) {
        q = q.t();
    }

    torch::NoGradGuard noGrad;
    weight.copy_(q * gain);
}

torch::Tensor maskLogits(const torch::Tensor& logits, const torch::Tensor& allowed)
{
    return logits.masked_fill(allowed.logical_not(), kMaskedLogit);
}

GlobalGeneratorStateGuard::GlobalGeneratorStateGuard()
{
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    savedState_ = generator.get_state();
}

GlobalGeneratorStateGuard::~GlobalGeneratorStateGuard()
{
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(savedState_);
}

} // namespace rlq

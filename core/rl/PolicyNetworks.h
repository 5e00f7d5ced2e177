#pragma once

// The two networks of the PPO agent and the action masking they share.

#include <torch/torch.h>

#include <cstdint>

namespace rlq {

// Logit given to disallowed actions. It is finite so that softmax gives them
// probability 0 and 0 * log-probability stays 0 in the entropy. With -inf or
// the lowest float that product would be NaN.
constexpr float kMaskedLogit = -1e8f;

// Multilayer perceptron input -> hiddenWidth -> hiddenWidth -> output with
// tanh after both hidden layers and a linear output layer.
class MlpImpl : public torch::nn::Module {
public:
    MlpImpl(int64_t inputSize, int64_t hiddenWidth, int64_t outputSize);

    // Maps a [batch, inputSize] float tensor to [batch, outputSize].
    torch::Tensor forward(const torch::Tensor& input) const;

    // Replaces all weights with orthogonal matrices drawn from `generator`
    // (gain sqrt(2) for the hidden layers, `outputGain` for the output layer)
    // and all biases with 0. The global torch generator is not used.
    void initializeOrthogonal(double outputGain, at::Generator& generator);

private:
    torch::nn::Linear hidden1_{nullptr};
    torch::nn::Linear hidden2_{nullptr};
    torch::nn::Linear output_{nullptr};
};
TORCH_MODULE(Mlp);

// Fills a 2-D weight in place with a random orthogonal matrix times `gain`:
// orthonormal rows when it has fewer rows than columns, orthonormal columns
// otherwise.
void fillOrthogonal(torch::Tensor& weight, double gain, at::Generator& generator);

// Returns the logits with every action whose mask entry is false set to
// kMaskedLogit. `logits` is [batch, actions] float, `allowed` the same shape bool.
torch::Tensor maskLogits(const torch::Tensor& logits, const torch::Tensor& allowed);

// Restores the state of the global CPU generator on destruction, so code
// that draws from it (such as the default initialisation in the
// torch::nn::Linear constructor) leaves the caller's random sequence as it was.
class GlobalGeneratorStateGuard {
public:
    GlobalGeneratorStateGuard();
    ~GlobalGeneratorStateGuard();
    GlobalGeneratorStateGuard(const GlobalGeneratorStateGuard&) = delete;
    GlobalGeneratorStateGuard& operator=(const GlobalGeneratorStateGuard&) = delete;

private:
    torch::Tensor savedState_;
};

} // namespace rlq

#include "model/Gpt2Model.h"

#include "model/LogSumExpKernel.h"
#include "model/Safetensors.h"
#include "util/Error.h"

#include <cmath>
#include <limits>
#include <mutex>
#include <sstream>

namespace rlq {

namespace {

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::ostringstream text;
    text << "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        text << (i ? ", " : "") << shape[i];
    }
    text << "]";
    return text.str();
}

// Additive causal mask [time, time]: 0 on and below the diagonal, -inf above.
// Cached per length because every forward pass of a run uses the same one.
torch::Tensor causalMask(int64_t time)
{
    static std::mutex mutex;
    static std::map<int64_t, torch::Tensor> cache;
    std::lock_guard<std::mutex> lock(mutex);

    auto found = cache.find(time);
    if (found != cache.end()) {
        return found->second;
    }
    torch::Tensor mask;
    {
        // Created outside any InferenceMode so it can also be used in
        // autograd-recording fine-tuning steps.
        c10::InferenceMode enable(false);
        mask = torch::full({time, time}, -std::numeric_limits<float>::infinity()).triu(1);
    }
    cache.emplace(time, mask);
    return mask;
}

torch::Tensor activate(const torch::Tensor& x, const std::string& activation)
{
    if (activation == "gelu_new" || activation == "gelu_pytorch_tanh") {
        return torch::gelu(x, "tanh");
    }
    if (activation == "gelu") {
        return torch::gelu(x);
    }
    return torch::relu(x);
}

// Causal self-attention of one block on x [batch, time, nEmbd].
torch::Tensor attention(const Gpt2Config& config, const Gpt2Block& block, const torch::Tensor& x)
{
    const int64_t batch = x.size(0);
    const int64_t time = x.size(1);
    const int64_t heads = config.nHead;
    const int64_t headDim = config.headDim();

    auto qkv = torch::addmm(block.attnBias, x.reshape({batch * time, config.nEmbd}), block.attnWeight);
    qkv = qkv.view({batch, time, 3, heads, headDim}).permute({2, 0, 3, 1, 4});
    auto query = qkv[0].reshape({batch * heads, time, headDim});
    auto key = qkv[1].reshape({batch * heads, time, headDim});
    auto value = qkv[2].reshape({batch * heads, time, headDim});

    const double scale = config.scaleAttnWeights ? 1.0 / std::sqrt(double(headDim)) : 1.0;
    auto scores = torch::baddbmm(causalMask(time), query, key.transpose(1, 2), /*beta=*/1.0, /*alpha=*/scale);
    auto probabilities = torch::softmax(scores, -1);
    auto context = torch::bmm(probabilities, value);

    context = context.view({batch, heads, time, headDim}).permute({0, 2, 1, 3}).reshape({batch * time, config.nEmbd});
    return torch::addmm(block.attnProjBias, context, block.attnProjWeight).view({batch, time, config.nEmbd});
}

torch::Tensor mlp(const Gpt2Config& config, const Gpt2Block& block, const torch::Tensor& x)
{
    const auto sizes = x.sizes().vec();
    auto hidden = torch::addmm(block.fcBias, x.reshape({-1, config.nEmbd}), block.fcWeight);
    hidden = activate(hidden, config.activation);
    return torch::addmm(block.mlpProjBias, hidden, block.mlpProjWeight).view(sizes);
}

std::string findKey(const SafetensorsFile& file, const std::string& name)
{
    if (file.contains(name)) {
        return name;
    }
    if (file.contains("transformer." + name)) {
        return "transformer." + name;
    }
    throw Error(file.path().string() + ": tensor '" + name + "' not found (also tried 'transformer." + name +
                "'); the file is not a GPT-2 checkpoint or does not match config.json");
}

torch::Tensor loadChecked(const SafetensorsFile& file, const std::string& name, const std::vector<int64_t>& shape,
                          const std::string& configHint)
{
    const std::string key = findKey(file, name);
    const auto& stored = file.entries().at(key).shape;
    if (stored != shape) {
        throw Error(file.path().string() + ": tensor '" + key + "' has shape " + shapeText(stored) + " but config.json (" +
                    configHint + ") expects " + shapeText(shape) + "; the weights do not belong to this config");
    }
    return file.readFloat(key);
}

} // namespace

std::vector<std::pair<std::string, torch::Tensor>> Gpt2Weights::named() const
{
    std::vector<std::pair<std::string, torch::Tensor>> result;
    for (auto& [name, tensor] : const_cast<Gpt2Weights*>(this)->namedMutable()) {
        result.emplace_back(name, *tensor);
    }
    return result;
}

std::vector<std::pair<std::string, torch::Tensor*>> Gpt2Weights::namedMutable()
{
    std::vector<std::pair<std::string, torch::Tensor*>> result = {{"wte.weight", &wte}, {"wpe.weight", &wpe}};
    for (size_t i = 0; i < blocks.size(); ++i) {
        const std::string prefix = "h." + std::to_string(i) + ".";
        Gpt2Block& block = blocks[i];
        result.emplace_back(prefix + "ln_1.weight", &block.ln1Weight);
        result.emplace_back(prefix + "ln_1.bias", &block.ln1Bias);
        result.emplace_back(prefix + "attn.c_attn.weight", &block.attnWeight);
        result.emplace_back(prefix + "attn.c_attn.bias", &block.attnBias);
        result.emplace_back(prefix + "attn.c_proj.weight", &block.attnProjWeight);
        result.emplace_back(prefix + "attn.c_proj.bias", &block.attnProjBias);
        result.emplace_back(prefix + "ln_2.weight", &block.ln2Weight);
        result.emplace_back(prefix + "ln_2.bias", &block.ln2Bias);
        result.emplace_back(prefix + "mlp.c_fc.weight", &block.fcWeight);
        result.emplace_back(prefix + "mlp.c_fc.bias", &block.fcBias);
        result.emplace_back(prefix + "mlp.c_proj.weight", &block.mlpProjWeight);
        result.emplace_back(prefix + "mlp.c_proj.bias", &block.mlpProjBias);
    }
    result.emplace_back("ln_f.weight", &lnfWeight);
    result.emplace_back("ln_f.bias", &lnfBias);
    return result;
}

Gpt2Weights Gpt2Weights::clone() const
{
    Gpt2Weights copy = *this;
    for (auto& [name, tensor] : copy.namedMutable()) {
        *tensor = tensor->detach().clone();
    }
    return copy;
}

int64_t Gpt2Weights::parameterCount() const
{
    int64_t count = 0;
    for (const auto& [name, tensor] : named()) {
        count += tensor.numel();
    }
    return count;
}

std::string unitKindName(UnitKind kind)
{
    switch (kind) {
    case UnitKind::TokenEmbedding: return "wte";
    case UnitKind::PositionEmbedding: return "wpe";
    case UnitKind::AttentionQkv: return "attn.c_attn";
    case UnitKind::AttentionProjection: return "attn.c_proj";
    case UnitKind::MlpUp: return "mlp.c_fc";
    case UnitKind::MlpDown: return "mlp.c_proj";
    }
    return "unknown";
}

std::vector<WeightUnit> weightUnits(const Gpt2Config& config)
{
    const int64_t embd = config.nEmbd;
    const int64_t inner = config.mlpWidth();
    std::vector<WeightUnit> units;
    units.push_back({"wte", UnitKind::TokenEmbedding, -1, {config.vocabSize, embd}, config.vocabSize * embd});
    units.push_back({"wpe", UnitKind::PositionEmbedding, -1, {config.nPositions, embd}, config.nPositions * embd});
    for (int block = 0; block < int(config.nLayer); ++block) {
        const std::string prefix = "h." + std::to_string(block) + ".";
        units.push_back({prefix + "attn.c_attn", UnitKind::AttentionQkv, block, {3 * embd, embd}, 3 * embd * embd});
        units.push_back({prefix + "attn.c_proj", UnitKind::AttentionProjection, block, {embd, embd}, embd * embd});
        units.push_back({prefix + "mlp.c_fc", UnitKind::MlpUp, block, {inner, embd}, inner * embd});
        units.push_back({prefix + "mlp.c_proj", UnitKind::MlpDown, block, {embd, inner}, inner * embd});
    }
    return units;
}

torch::Tensor& unitTensor(Gpt2Weights& weights, const WeightUnit& unit)
{
    switch (unit.kind) {
    case UnitKind::TokenEmbedding: return weights.wte;
    case UnitKind::PositionEmbedding: return weights.wpe;
    case UnitKind::AttentionQkv: return weights.blocks.at(unit.block).attnWeight;
    case UnitKind::AttentionProjection: return weights.blocks.at(unit.block).attnProjWeight;
    case UnitKind::MlpUp: return weights.blocks.at(unit.block).fcWeight;
    case UnitKind::MlpDown: return weights.blocks.at(unit.block).mlpProjWeight;
    }
    throw Error("unknown weight unit kind for " + unit.name);
}

const torch::Tensor& unitTensor(const Gpt2Weights& weights, const WeightUnit& unit)
{
    return unitTensor(const_cast<Gpt2Weights&>(weights), unit);
}

torch::Tensor toCanonical(const torch::Tensor& stored, UnitKind kind)
{
    const bool embedding = kind == UnitKind::TokenEmbedding || kind == UnitKind::PositionEmbedding;
    return embedding ? stored : stored.t();
}

torch::Tensor fromCanonical(const torch::Tensor& canonical, UnitKind kind)
{
    return toCanonical(canonical, kind);
}

Gpt2Weights loadGpt2Weights(const std::filesystem::path& safetensorsPath, const Gpt2Config& config)
{
    SafetensorsFile file(safetensorsPath);
    const int64_t embd = config.nEmbd;
    const int64_t inner = config.mlpWidth();
    const std::string embdHint = "n_embd " + std::to_string(embd);

    Gpt2Weights weights;
    weights.wte = loadChecked(file, "wte.weight", {config.vocabSize, embd},
                              "vocab_size " + std::to_string(config.vocabSize) + ", " + embdHint);
    weights.wpe = loadChecked(file, "wpe.weight", {config.nPositions, embd},
                              "n_positions " + std::to_string(config.nPositions) + ", " + embdHint);
    for (int64_t i = 0; i < config.nLayer; ++i) {
        const std::string prefix = "h." + std::to_string(i) + ".";
        Gpt2Block block;
        block.ln1Weight = loadChecked(file, prefix + "ln_1.weight", {embd}, embdHint);
        block.ln1Bias = loadChecked(file, prefix + "ln_1.bias", {embd}, embdHint);
        block.attnWeight = loadChecked(file, prefix + "attn.c_attn.weight", {embd, 3 * embd}, embdHint);
        block.attnBias = loadChecked(file, prefix + "attn.c_attn.bias", {3 * embd}, embdHint);
        block.attnProjWeight = loadChecked(file, prefix + "attn.c_proj.weight", {embd, embd}, embdHint);
        block.attnProjBias = loadChecked(file, prefix + "attn.c_proj.bias", {embd}, embdHint);
        block.ln2Weight = loadChecked(file, prefix + "ln_2.weight", {embd}, embdHint);
        block.ln2Bias = loadChecked(file, prefix + "ln_2.bias", {embd}, embdHint);
        block.fcWeight = loadChecked(file, prefix + "mlp.c_fc.weight", {embd, inner}, embdHint);
        block.fcBias = loadChecked(file, prefix + "mlp.c_fc.bias", {inner}, embdHint);
        block.mlpProjWeight = loadChecked(file, prefix + "mlp.c_proj.weight", {inner, embd}, embdHint);
        block.mlpProjBias = loadChecked(file, prefix + "mlp.c_proj.bias", {embd}, embdHint);
        weights.blocks.push_back(std::move(block));
    }
    weights.lnfWeight = loadChecked(file, "ln_f.weight", {embd}, embdHint);
    weights.lnfBias = loadChecked(file, "ln_f.bias", {embd}, embdHint);

    const std::string extraLayer = "h." + std::to_string(config.nLayer) + ".ln_1.weight";
    if (file.contains(extraLayer) || file.contains("transformer." + extraLayer)) {
        throw Error(safetensorsPath.string() + ": contains more than the " + std::to_string(config.nLayer) +
                    " layers that config.json's n_layer gives; the weights do not belong to this config");
    }
    return weights;
}

torch::Tensor gpt2HiddenStates(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputIds)
{
    TORCH_CHECK(inputIds.dim() == 2, "input ids must be [batch, time]");
    const int64_t time = inputIds.size(1);
    if (time > config.nPositions) {
        throw Error("input of " + std::to_string(time) + " tokens exceeds the model's " +
                    std::to_string(config.nPositions) + " positions; use a shorter window");
    }

    auto x = weights.wte.index_select(0, inputIds.reshape({-1})).view({inputIds.size(0), time, config.nEmbd});
    x = x + weights.wpe.narrow(0, 0, time);

    const std::vector<int64_t> normShape = {config.nEmbd};
    for (const Gpt2Block& block : weights.blocks) {
        auto normed = torch::layer_norm(x, normShape, block.ln1Weight, block.ln1Bias, config.layerNormEpsilon);
        x = x + attention(config, block, normed);
        normed = torch::layer_norm(x, normShape, block.ln2Weight, block.ln2Bias, config.layerNormEpsilon);
        x = x + mlp(config, block, normed);
    }
    return torch::layer_norm(x, normShape, weights.lnfWeight, weights.lnfBias, config.layerNormEpsilon);
}

torch::Tensor gpt2Logits(const Gpt2Config& config, const Gpt2Weights& weights, const torch::Tensor& inputIds)
{
    return torch::matmul(gpt2HiddenStates(config, weights, inputIds), weights.wte.t());
}

torch::Tensor tokenNegativeLogLikelihood(const torch::Tensor& hidden, const torch::Tensor& wte,
                                         const torch::Tensor& targets)
{
    // The LM head runs in tiles of kRowsPerChunk x kVocabPerTile logits
    // (1 MB of float32), small enough to stay in cache between the matrix
    // product and the log-sum-exp, so the [rows, vocab] logits matrix
    // (400 MB for 2,048 GPT-2 tokens) is never written to memory.
    constexpr int64_t kRowsPerChunk = 256;
    constexpr int64_t kVocabPerTile = 1024;
    const auto hiddenRows = hidden.contiguous();
    const int64_t rows = hiddenRows.size(0);
    const int64_t vocab = wte.size(0);

    auto logSumExp = torch::empty({rows}, torch::kFloat32);
    auto tile = torch::empty({std::min(rows, kRowsPerChunk), kVocabPerTile}, torch::kFloat32);
    std::vector<float> runningMax;
    std::vector<double> runningSum;

    for (int64_t start = 0; start < rows; start += kRowsPerChunk) {
        const int64_t count = std::min(kRowsPerChunk, rows - start);
        const auto chunk = hiddenRows.narrow(0, start, count);
        runningMax.assign(size_t(count), -std::numeric_limits<float>::infinity());
        runningSum.assign(size_t(count), 0.0);

        for (int64_t first = 0; first < vocab; first += kVocabPerTile) {
            const int64_t columns = std::min(kVocabPerTile, vocab - first);
            auto logits = tile.narrow(0, 0, count).narrow(1, 0, columns);
            torch::mm_out(logits, chunk, wte.narrow(0, first, columns).t());
            // One thread: OpenMP worker threads that spin after a parallel
            // region take the cores from OpenBLAS's threads in the next
            // product (measured 3.6x slower end to end on 2 cores).
            accumulateLogSumExp(tile.data_ptr<float>(), count, columns, kVocabPerTile, runningMax.data(),
                                runningSum.data());
        }

        auto out = logSumExp.accessor<float, 1>();
        for (int64_t r = 0; r < count; ++r) {
            out[start + r] = float(double(runningMax[size_t(r)]) + std::log(runningSum[size_t(r)]));
        }
    }

    const auto targetLogits = (hiddenRows * wte.index_select(0, targets)).sum(1);
    return logSumExp - targetLogits;
}

} // namespace rlq

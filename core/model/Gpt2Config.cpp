#include "model/Gpt2Config.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

namespace rlq {

namespace {

const char* const kActivations[] = {"gelu_new", "gelu_pytorch_tanh", "gelu", "relu"};

int64_t readPositiveInt(const nlohmann::json& config, const std::string& file, const char* key, int64_t fallback)
{
    if (!config.contains(key) || config[key].is_null()) {
        return fallback;
    }
    if (!config[key].is_number_integer() || config[key].get<int64_t>() <= 0) {
        throw Error(file + ": field '" + key + "' must be a positive integer, found " + config[key].dump() +
                    "; fix config.json");
    }
    return config[key].get<int64_t>();
}

bool readBool(const nlohmann::json& config, const std::string& file, const char* key, bool fallback)
{
    if (!config.contains(key) || config[key].is_null()) {
        return fallback;
    }
    if (!config[key].is_boolean()) {
        throw Error(file + ": field '" + key + "' must be true or false; fix config.json");
    }
    return config[key].get<bool>();
}

void checkSupported(const nlohmann::json& config, const std::string& file, Gpt2Config& result)
{
    if (config.contains("model_type") && config["model_type"] != "gpt2") {
        throw Error(file + ": field 'model_type' is " + config["model_type"].dump() +
                    "; RLQ Studio loads GPT-2 models only (model_type \"gpt2\")");
    }
    if (result.nEmbd % result.nHead != 0) {
        throw Error(file + ": n_embd " + std::to_string(result.nEmbd) + " is not divisible by n_head " +
                    std::to_string(result.nHead) + "; fix config.json");
    }
    bool knownActivation = false;
    for (const char* name : kActivations) {
        knownActivation = knownActivation || result.activation == name;
    }
    if (!knownActivation) {
        throw Error(file + ": field 'activation_function' is '" + result.activation +
                    "'; supported: gelu_new, gelu_pytorch_tanh, gelu, relu");
    }
    if (readBool(config, file, "scale_attn_by_inverse_layer_idx", false)) {
        throw Error(file + ": scale_attn_by_inverse_layer_idx = true is not supported; "
                           "use a checkpoint trained without it");
    }
}

} // namespace

Gpt2Config readGpt2Config(const std::filesystem::path& configJson)
{
    const std::string file = configJson.string();
    if (!std::filesystem::exists(configJson)) {
        throw Error(file + " not found; a Hugging Face GPT-2 folder needs config.json, model.safetensors, "
                           "vocab.json and merges.txt");
    }

    nlohmann::json config;
    try {
        config = nlohmann::json::parse(readFile(configJson));
    } catch (const nlohmann::json::exception& error) {
        throw Error(file + ": not valid JSON (" + std::string(error.what()) + "); fix or download config.json again");
    }
    if (!config.is_object()) {
        throw Error(file + ": expected a JSON object; fix or download config.json again");
    }

    Gpt2Config result;
    result.nLayer = readPositiveInt(config, file, "n_layer", result.nLayer);
    result.nHead = readPositiveInt(config, file, "n_head", result.nHead);
    result.nEmbd = readPositiveInt(config, file, "n_embd", result.nEmbd);
    result.nInner = config.contains("n_inner") && !config["n_inner"].is_null()
                        ? readPositiveInt(config, file, "n_inner", 0)
                        : 0;
    result.nPositions = readPositiveInt(config, file, "n_positions", result.nPositions);
    result.vocabSize = readPositiveInt(config, file, "vocab_size", result.vocabSize);
    if (config.contains("layer_norm_epsilon")) {
        if (!config["layer_norm_epsilon"].is_number() || config["layer_norm_epsilon"].get<double>() <= 0) {
            throw Error(file + ": field 'layer_norm_epsilon' must be a positive number; fix config.json");
        }
        result.layerNormEpsilon = config["layer_norm_epsilon"].get<double>();
    }
    if (config.contains("activation_function")) {
        if (!config["activation_function"].is_string()) {
            throw Error(file + ": field 'activation_function' must be a string; fix config.json");
        }
        result.activation = config["activation_function"].get<std::string>();
    }
    result.scaleAttnWeights = readBool(config, file, "scale_attn_weights", true);

    checkSupported(config, file, result);
    return result;
}

std::string gpt2ConfigJson(const Gpt2Config& config)
{
    nlohmann::json json = {
        {"architectures", {"GPT2LMHeadModel"}},
        {"model_type", "gpt2"},
        {"activation_function", config.activation},
        {"n_layer", config.nLayer},
        {"n_head", config.nHead},
        {"n_embd", config.nEmbd},
        {"n_inner", config.nInner > 0 ? nlohmann::json(config.nInner) : nlohmann::json(nullptr)},
        {"n_positions", config.nPositions},
        {"n_ctx", config.nPositions},
        {"vocab_size", config.vocabSize},
        {"layer_norm_epsilon", config.layerNormEpsilon},
        {"scale_attn_weights", config.scaleAttnWeights},
        {"bos_token_id", 50256},
        {"eos_token_id", 50256},
        {"tie_word_embeddings", true},
    };
    return json.dump(2) + "\n";
}

} // namespace rlq

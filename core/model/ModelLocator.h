#pragma once

#include "model/Gpt2Config.h"
#include "model/Gpt2Model.h"
#include "tokenizer/Gpt2Tokenizer.h"

#include <filesystem>
#include <string>
#include <vector>

namespace rlq {

// Location of a model's files.
struct ModelSource {
    std::string name;                 // what the user typed or the repo id
    std::filesystem::path folder;     // contains config.json, model.safetensors, vocab.json, merges.txt
    std::string origin;               // "folder", "huggingface-cache" or "demo"
};

// The Hugging Face hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub,
// else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::filesystem::path huggingFaceHubCache();

// Resolves a folder path, "demo", or a repo id cached by Hugging Face
// ("gpt2", "distilgpt2", "openai-community/gpt2-medium"). A snapshot is
// picked by refs/main, else the most recently modified one. Throws
// rlq::Error listing where it looked.
ModelSource resolveModel(const std::string& pathOrName);

// Every cached snapshot whose config.json has model_type "gpt2".
std::vector<ModelSource> listCachedGpt2Models();

// The built-in demo model's folder (resources/demo/model beside the
// executable's install or source tree); empty when not found.
std::filesystem::path demoBundleFolder();

// A model ready to run: config, float32 weights and its tokenizer.
struct LoadedModel {
    ModelSource source;
    Gpt2Config config;
    Gpt2Weights weights;
    Gpt2Tokenizer tokenizer;
};

// Loads config.json, model.safetensors and the tokenizer files, checking
// that they agree with each other. Throws rlq::Error naming the file.
LoadedModel loadModel(const std::string& pathOrName);
LoadedModel loadModel(const ModelSource& source);

} // namespace rlq

namespace rlq {

// Identity of a model's weights: "fnv1a64:" and the hex FNV-1a hash of
// config.json followed by model.safetensors. Policies record it so that
// applying one to another model can be rejected.
std::string modelFingerprint(const std::filesystem::path& folder);

} // namespace rlq

namespace rlq {

// Maps "demo" to the built-in bundle's data folder; other specs unchanged.
std::string resolveDatasetSpec(const std::string& spec);

} // namespace rlq

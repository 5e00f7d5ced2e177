#pragma once

// The two checkpoint formats of a quantized model.
//
// Packed (model.rlq.safetensors + rlq_manifest.json): a weight matrix at 2,
// 4 or 8 bits is stored as "NAME.codes", "NAME.scales" and
// "NAME.zero_points". The codes are U8, bit-packed from the canonical
// [out, in] matrix in row-major order as in quant/Packing.h. Scales and zero
// points are F16, one per group. A matrix at 16 bits is stored as "NAME" in
// F16 and Hugging Face's layout. Biases and LayerNorms stay F32
// under their Hugging Face names. The manifest lists every matrix with its
// bit-width, shape and tensors, plus the byte size and FNV-1a hash of the
// packed file, so truncation and corruption are caught on load.
//
// Dequantized (a Hugging Face GPT-2 folder): model.safetensors contains every
// weight already rounded to its quantization levels, in F32 (exact) or F16
// (rounded once more), under Hugging Face's names and layout.
//
// Both folders also hold config.json, vocab.json and merges.txt, copied from
// the source model, so loadModel() and rlq eval take either folder.

#include "model/Gpt2Model.h"
#include "quant/QuantTypes.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace rlq {

constexpr const char* kPackedWeightsFile = "model.rlq.safetensors";
constexpr const char* kPackedManifestFile = "rlq_manifest.json";
constexpr const char* kPackedFormat = "rlq-packed";
constexpr int kPackedFormatVersion = 1;

// True when `folder` contains a packed checkpoint's manifest.
bool isPackedCheckpoint(const std::filesystem::path& folder);

// A model under a quantization policy, ready to write.
struct QuantizedModelContent {
    std::filesystem::path sourceFolder;   // config.json, vocab.json and merges.txt come from here
    Gpt2Config config;
    Gpt2Weights weights;                  // float32 weights before quantization (fine-tuned or original)
    std::vector<int> matrixBits;          // per weightUnits(config) matrix: 2, 4, 8 or 16
    Granularity granularity = Granularity::PerGroup;
    int64_t groupSize = 64;
    nlohmann::json provenance;            // stored in the manifest: model, policy, run settings
};

// Footprint of a quantized model as a run reports it: packed codes, fp16
// scales and zero points, fp16 16-bit matrices, and the float32 remainder.
struct PolicySize {
    int64_t footprintBytes = 0;
    double averageBits = 0;   // parameter-weighted over the weight matrices
};
PolicySize policySize(const QuantizedModelContent& content);

// Writes a packed checkpoint into `folder` (created if needed) and returns
// the size of model.rlq.safetensors in bytes. Every file is written
// atomically; the manifest goes last, so a folder without one never passes
// for a complete export.
int64_t writePackedCheckpoint(const std::filesystem::path& folder, const QuantizedModelContent& content);

enum class DequantizedType { Float32, Float16 };

// Writes a dequantized Hugging Face folder and returns the size of its
// model.safetensors in bytes.
int64_t writeDequantizedCheckpoint(const std::filesystem::path& folder, const QuantizedModelContent& content,
                                   DequantizedType type);

// Reads the weights of a packed checkpoint, decoded to float32 in Hugging
// Face's layout. Checks the manifest against the file (size, hash, every
// tensor's dtype and shape, code and zero-point ranges) and against the
// config. Throws rlq::Error naming the file, the field and the fix.
Gpt2Weights readPackedWeights(const std::filesystem::path& folder, const Gpt2Config& config);

// Quantized tensors of the packed file as (name, tensor) pairs, in the
// order the file stores them. Exposed for tests and size accounting.
std::vector<std::pair<std::string, torch::Tensor>> packedTensors(const QuantizedModelContent& content,
                                                                 nlohmann::json& matricesManifest);

} // namespace rlq

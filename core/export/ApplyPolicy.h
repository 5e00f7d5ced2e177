#pragma once

// Applying a saved policy to a model and exporting the result: what
// `rlq apply` and RLQ Studio's checkpoint export both run. No LibTorch
// include, so the GUI can call it from its worker thread.

#include "export/PolicyFile.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rlq {

struct ApplyRequest {
    std::filesystem::path policyFile;
    std::string model;                    // empty: the model of the run that found the policy
    bool finetune = true;                 // replay the run's fine-tuning (same split, steps, seed)
    bool allowOtherModel = false;         // accept weights whose fingerprint differs from the policy's
    std::filesystem::path packedFolder;   // empty: no packed checkpoint
    std::filesystem::path hfFolder;       // empty: no dequantized folder
    bool hfFloat16 = false;               // dequantized weights as F16 instead of F32
};

struct ApplyResult {
    std::string modelName;
    std::vector<std::string> unitNames;
    std::vector<int> unitBits;
    bool finetuned = false;
    int finetuneSteps = 0;
    double avgBits = 0;
    int64_t footprintBytes = 0;           // as the run reports it
    int64_t packedWeightsBytes = 0;       // size of model.rlq.safetensors, 0 when not written
    int64_t hfWeightsBytes = 0;           // size of the dequantized model.safetensors, 0 when not written
    std::optional<PolicyReport> reported; // the run's test numbers for this policy, when recorded
    std::string dataset;                  // the run's dataset and perplexity window, to check those numbers
    int64_t evalWindow = 128;
};

// Reads the policy, loads the model, checks that they match (units and
// fingerprint), quantizes (after replaying the fine-tuning unless disabled)
// and writes the requested checkpoints. `log` receives progress lines.
// Throws rlq::Error naming the file, field and fix on bad input; a failed
// export leaves no partial file under a final name.
ApplyResult applyPolicy(const ApplyRequest& request, const std::function<void(const std::string&)>& log = {});

} // namespace rlq

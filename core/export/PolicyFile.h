#pragma once

// best_policy.json as a value: what a run found, for which model, under
// which settings. No LibTorch include, so the GUI can read policies.

#include "search/SearchTypes.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace rlq {

// One decision unit of a policy and the weight matrices it covers
// (Hugging Face names without ".weight").
struct PolicyUnit {
    std::string name;
    int bits = 0;
    std::vector<std::string> matrices;
    int64_t parameters = 0;
};

struct PolicyFile {
    std::filesystem::path path;
    int schemaVersion = 0;
    std::string modelName;          // as the run was given it
    std::string modelFingerprint;   // "fnv1a64:..." of config.json and the weights
    Granularity granularity = Granularity::PerGroup;
    int64_t groupSize = 64;
    std::vector<PolicyUnit> units;
    RunSettings settings;           // of the run that found the policy
    std::vector<PolicyReport> metrics;   // the run's test results for this policy

    // The run's report for this policy with or without fine-tuning, if any.
    const PolicyReport* reported(bool finetuned) const;
};

// Reads and checks a policy file: schema version, every unit's name,
// bit-width (2, 4, 8 or 16) and matrices. Throws rlq::Error naming the file,
// the field and the fix.
PolicyFile readPolicyFile(const std::filesystem::path& path);

// A weight matrix of the target model: its name and parameter count.
struct ModelMatrix {
    std::string name;
    int64_t parameters = 0;
};

// Bit-width of each model matrix, in the model's order. Throws rlq::Error
// naming the first unit that does not match: a matrix the policy does not
// cover, a policy matrix the model lacks, or a parameter count that differs.
std::vector<int> policyMatrixBits(const PolicyFile& policy, const std::vector<ModelMatrix>& matrices);

} // namespace rlq

#include "export/ApplyPolicy.h"

#include "data/Dataset.h"
#include "export/QuantizedCheckpoint.h"
#include "model/ModelLocator.h"
#include "search/PolicyEvaluator.h"
#include "search/RunFolder.h"
#include "util/Error.h"

#include <cstdio>

namespace rlq {

namespace {

void say(const std::function<void(const std::string&)>& log, const std::string& line)
{
    if (log) {
        log(line);
    }
}

std::vector<ModelMatrix> modelMatrices(const Gpt2Config& config)
{
    std::vector<ModelMatrix> matrices;
    for (const auto& unit : weightUnits(config)) {
        matrices.push_back({unit.name, unit.parameterCount});
    }
    return matrices;
}

LoadedModel loadPolicyModel(const PolicyFile& policy, const std::string& modelSpec, bool fromPolicy)
{
    try {
        return loadModel(modelSpec);
    } catch (const Error& error) {
        if (!fromPolicy) {
            throw;
        }
        throw Error(std::string(error.what()) + " (the model of " + policy.path.string() +
                    " field 'settings.model'; pass --model to load it from elsewhere)");
    }
}

void checkFingerprint(const PolicyFile& policy, const LoadedModel& model, bool allowOtherModel,
                      const std::function<void(const std::string&)>& log)
{
    const std::string fingerprint = modelFingerprint(model.source.folder);
    if (fingerprint == policy.modelFingerprint) {
        return;
    }
    const std::string difference = "the policy was found on '" + policy.modelName + "' (" + policy.modelFingerprint +
                                   ") but " + model.source.folder.string() + " has weights " + fingerprint;
    if (!allowOtherModel) {
        throw Error(policy.path.string() + ": field 'model.fingerprint': " + difference +
                    "; pass the policy's model, or --allow-other-model to apply it to these weights anyway");
    }
    say(log, "warning: " + difference + "; applying it anyway (--allow-other-model)");
}

// Bit-width per decision unit of the run's evaluator, from per-matrix widths.
std::vector<int> unitBitsFor(const PolicyEvaluator& evaluator, const std::vector<int>& matrixBits,
                             const PolicyFile& policy)
{
    std::vector<int> bits;
    for (const auto& unit : evaluator.units()) {
        const int first = matrixBits[size_t(unit.matrices.front())];
        for (int m : unit.matrices) {
            if (matrixBits[size_t(m)] != first) {
                throw Error(policy.path.string() + ": the matrices of unit '" + unit.info.name +
                            "' have different bit-widths, but field 'settings.quant.group_units_per_block' groups them");
            }
        }
        bits.push_back(first);
    }
    return bits;
}

nlohmann::json provenanceOf(const PolicyFile& policy, const ApplyResult& result)
{
    nlohmann::json units = nlohmann::json::array();
    for (size_t u = 0; u < result.unitNames.size(); ++u) {
        units.push_back({{"name", result.unitNames[u]}, {"bits", result.unitBits[u]}});
    }
    return {{"model", {{"name", policy.modelName}, {"fingerprint", policy.modelFingerprint}}},
            {"policy_file", policy.path.filename().string()},
            {"units", units},
            {"finetuned", result.finetuned},
            {"finetune_steps", result.finetuneSteps},
            {"settings", settingsToJson(policy.settings)}};
}

// Creates an output folder before the long part of the export, so a bad
// path fails at once. A dequantized folder must not keep an older packed
// manifest, which loadModel would prefer over the new model.safetensors.
void prepareOutputFolder(const std::filesystem::path& folder, bool dequantized)
{
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error || !std::filesystem::is_directory(folder)) {
        throw Error("cannot create the output folder " + folder.string() + " (" +
                    (error ? error.message() : std::string("a file has that name")) + "); pick another folder");
    }
    if (dequantized && isPackedCheckpoint(folder)) {
        throw Error(folder.string() + " already contains a packed checkpoint (" + kPackedManifestFile +
                    "); pick an empty folder for --hf, or delete the packed files first");
    }
}

std::string megabytes(int64_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.3f MB", double(bytes) / 1e6);
    return text;
}

} // namespace

ApplyResult applyPolicy(const ApplyRequest& request, const std::function<void(const std::string&)>& log)
{
    if (request.packedFolder.empty() && request.hfFolder.empty()) {
        throw Error("nothing to write; pass --packed FOLDER, --hf FOLDER or both");
    }
    if (!request.packedFolder.empty() && !request.hfFolder.empty() &&
        std::filesystem::weakly_canonical(request.packedFolder) == std::filesystem::weakly_canonical(request.hfFolder)) {
        throw Error("--packed and --hf name the same folder " + request.packedFolder.string() +
                    "; give each format its own folder");
    }
    const PolicyFile policy = readPolicyFile(request.policyFile);
    if (!request.packedFolder.empty()) {
        prepareOutputFolder(request.packedFolder, false);
    }
    if (!request.hfFolder.empty()) {
        prepareOutputFolder(request.hfFolder, true);
    }

    // The run's own model spec (a path or cache name); modelName is only a label.
    const std::string modelSpec = request.model.empty() ? policy.settings.model : request.model;
    say(log, "loading model " + modelSpec);
    const LoadedModel model = loadPolicyModel(policy, modelSpec, request.model.empty());
    checkFingerprint(policy, model, request.allowOtherModel, log);
    const std::vector<int> matrixBits = policyMatrixBits(policy, modelMatrices(model.config));

    ApplyResult result;
    result.modelName = model.source.name;
    for (const auto& unit : policy.units) {
        result.unitNames.push_back(unit.name);
        result.unitBits.push_back(unit.bits);
    }
    result.finetuned = request.finetune && policy.settings.finetune.steps > 0;
    result.finetuneSteps = result.finetuned ? policy.settings.finetune.steps : 0;
    result.dataset = policy.settings.dataset;
    result.evalWindow = policy.settings.eval.window;
    if (const PolicyReport* reported = policy.reported(result.finetuned)) {
        result.reported = *reported;
    }

    QuantizedModelContent content;
    content.sourceFolder = model.source.folder;
    content.config = model.config;
    content.matrixBits = matrixBits;
    content.granularity = policy.granularity;
    content.groupSize = policy.groupSize;
    if (result.finetuned) {
        // The same split, windows and seed as the run, so the export
        // contains the weights the run measured.
        say(log, "replaying the run's fine-tuning: " + std::to_string(result.finetuneSteps) + " steps on " +
                     policy.settings.dataset);
        RunSettings settings = policy.settings;
        settings.quant.granularity = policy.granularity;
        settings.quant.groupSize = policy.groupSize;
        const DatasetSplits splits = loadDatasetSplits(resolveDatasetSpec(settings.dataset), runSplitSettings(settings));
        auto evaluator = makeRunEvaluator(settings, model, splits);
        content.weights = evaluator->finetunedLatentWeights(unitBitsFor(*evaluator, matrixBits, policy));
    } else {
        content.weights = model.weights;
    }
    const PolicySize size = policySize(content);
    result.footprintBytes = size.footprintBytes;
    result.avgBits = size.averageBits;
    content.provenance = provenanceOf(policy, result);

    if (!request.packedFolder.empty()) {
        result.packedWeightsBytes = writePackedCheckpoint(request.packedFolder, content);
        say(log, "packed checkpoint: " + request.packedFolder.string() + " (" + kPackedWeightsFile + " " +
                     megabytes(result.packedWeightsBytes) + ", footprint " + megabytes(result.footprintBytes) + ")");
    }
    if (!request.hfFolder.empty()) {
        const auto type = request.hfFloat16 ? DequantizedType::Float16 : DequantizedType::Float32;
        result.hfWeightsBytes = writeDequantizedCheckpoint(request.hfFolder, content, type);
        say(log, "dequantized Hugging Face folder: " + request.hfFolder.string() + " (model.safetensors " +
                     megabytes(result.hfWeightsBytes) + (request.hfFloat16 ? ", F16)" : ", F32)"));
    }
    return result;
}

} // namespace rlq

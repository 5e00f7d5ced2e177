#include "export/PolicyFile.h"

#include "search/RunFolder.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace rlq {

namespace {

// Field `key` of `json`, required, as T. `where` names the object in
// messages, e.g. "units[3]".
template <typename T>
T requireField(const nlohmann::json& json, const char* key, const std::string& file, const std::string& where)
{
    const std::string field = where.empty() ? key : where + "." + key;
    if (!json.is_object() || !json.contains(key)) {
        throw Error(file + ": field '" + field + "' is missing; export the policy again with rlq search or RLQ Studio");
    }
    try {
        return json.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(file + ": field '" + field + "' has the wrong type (" + json.at(key).dump() + ")");
    }
}

PolicyUnit readUnit(const nlohmann::json& json, const std::string& file, size_t index)
{
    const std::string where = "units[" + std::to_string(index) + "]";
    PolicyUnit unit;
    unit.name = requireField<std::string>(json, "name", file, where);
    unit.bits = requireField<int>(json, "bits", file, where);
    unit.matrices = requireField<std::vector<std::string>>(json, "matrices", file, where);
    unit.parameters = requireField<int64_t>(json, "parameters", file, where);

    const auto& widths = bitWidthTable();
    const bool known = std::any_of(widths.begin(), widths.end(), [&](const BitWidthInfo& w) { return w.bits == unit.bits; });
    if (!known) {
        throw Error(file + ": field '" + where + ".bits' of unit '" + unit.name + "' is " + std::to_string(unit.bits) +
                    "; allowed bit-widths: " + allowedBitWidthsText());
    }
    if (unit.matrices.empty()) {
        throw Error(file + ": field '" + where + ".matrices' of unit '" + unit.name + "' is empty; list its weight matrices");
    }
    return unit;
}

} // namespace

const PolicyReport* PolicyFile::reported(bool finetuned) const
{
    for (const auto& report : metrics) {
        if (report.finetuned == finetuned) {
            return &report;
        }
    }
    return nullptr;
}

PolicyFile readPolicyFile(const std::filesystem::path& path)
{
    const std::string file = path.string();
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(readFile(path));
    } catch (const nlohmann::json::exception& error) {
        throw Error(file + ": not valid JSON (" + error.what() + "); pick the best_policy.json of a run folder");
    }

    PolicyFile policy;
    policy.path = path;
    policy.schemaVersion = requireField<int>(json, "schema_version", file, "");
    if (policy.schemaVersion != kPolicySchemaVersion) {
        throw Error(file + ": field 'schema_version' is " + std::to_string(policy.schemaVersion) + ", this rlq reads " +
                    std::to_string(kPolicySchemaVersion) + "; export the policy with this version");
    }
    const auto model = requireField<nlohmann::json>(json, "model", file, "");
    policy.modelName = requireField<std::string>(model, "name", file, "model");
    policy.modelFingerprint = requireField<std::string>(model, "fingerprint", file, "model");
    try {
        policy.granularity = parseGranularity(requireField<std::string>(json, "granularity", file, ""));
    } catch (const Error& error) {
        throw Error(file + ": field 'granularity': " + error.what());
    }
    policy.groupSize = requireField<int64_t>(json, "group_size", file, "");
    if (policy.granularity == Granularity::PerGroup && policy.groupSize < 1) {
        throw Error(file + ": field 'group_size' is " + std::to_string(policy.groupSize) + "; it must be at least 1");
    }

    const auto units = requireField<nlohmann::json>(json, "units", file, "");
    if (!units.is_array() || units.empty()) {
        throw Error(file + ": field 'units' must be a non-empty array of units");
    }
    for (size_t u = 0; u < units.size(); ++u) {
        policy.units.push_back(readUnit(units[u], file, u));
    }

    policy.settings = settingsFromJson(requireField<nlohmann::json>(json, "settings", file, ""), file);
    for (const auto& report : json.value("metrics", nlohmann::json::array())) {
        policy.metrics.push_back(reportFromJson(report));
    }
    return policy;
}

std::vector<int> policyMatrixBits(const PolicyFile& policy, const std::vector<ModelMatrix>& matrices)
{
    const std::string file = policy.path.string();
    std::map<std::string, const PolicyUnit*> unitOfMatrix;
    std::map<std::string, int64_t> modelParameters;
    for (const auto& matrix : matrices) {
        modelParameters[matrix.name] = matrix.parameters;
    }

    // Policy units in order: each matrix must exist in the model, and the
    // unit's parameter count must equal the model's for those matrices.
    for (const auto& unit : policy.units) {
        int64_t parameters = 0;
        for (const auto& name : unit.matrices) {
            const auto found = modelParameters.find(name);
            if (found == modelParameters.end()) {
                throw Error(file + ": unit '" + unit.name + "' names matrix '" + name +
                            "', which this model does not have; the policy was found for another architecture (" +
                            policy.modelName + "); run a search on this model instead");
            }
            parameters += found->second;
            unitOfMatrix[name] = &unit;
        }
        if (parameters != unit.parameters) {
            throw Error(file + ": unit '" + unit.name + "' has " + std::to_string(unit.parameters) +
                        " parameters in the policy but " + std::to_string(parameters) +
                        " in this model; the policy was found for another architecture (" + policy.modelName + ")");
        }
    }

    std::vector<int> bits;
    for (const auto& matrix : matrices) {
        const auto found = unitOfMatrix.find(matrix.name);
        if (found == unitOfMatrix.end()) {
            throw Error(file + ": the model's matrix '" + matrix.name +
                        "' is in no unit of the policy; the policy was found for another architecture (" +
                        policy.modelName + ")");
        }
        bits.push_back(found->second->bits);
    }
    return bits;
}

} // namespace rlq

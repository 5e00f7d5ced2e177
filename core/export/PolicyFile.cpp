#include "export/PolicyFile.h"

#include "search/RunFolder.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/JsonFields.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace rlq {

namespace {

PolicyUnit readUnit(const nlohmann::json& json, const JsonContext& context, size_t index)
{
    const std::string where = "units[" + std::to_string(index) + "]";
    PolicyUnit unit;
    unit.name = requireJsonField<std::string>(json, where, "name", context);
    unit.bits = requireJsonField<int>(json, where, "bits", context);
    unit.parameters = requireJsonField<int64_t>(json, where, "parameters", context);
    const auto matrices = requireJsonField<nlohmann::json>(json, where, "matrices", context);
    if (!matrices.is_array() || matrices.empty()) {
        context.fail(where + ".matrices", "of unit '" + unit.name + "' must be a non-empty array of matrix names");
    }
    for (size_t m = 0; m < matrices.size(); ++m) {
        unit.matrices.push_back(jsonValueAs<std::string>(matrices[m], context, where + ".matrices[" + std::to_string(m) + "]"));
    }

    const auto& widths = bitWidthTable();
    const bool known = std::any_of(widths.begin(), widths.end(), [&](const BitWidthInfo& w) { return w.bits == unit.bits; });
    if (!known) {
        context.fail(where + ".bits", "of unit '" + unit.name + "' is " + std::to_string(unit.bits) +
                                          ", allowed bit-widths are " + allowedBitWidthsText());
    }
    return unit;
}

// The run's report rows for this policy. Rows without a test perplexity are
// skipped, so a stripped file never passes for a measured one.
std::vector<PolicyReport> readMetrics(const nlohmann::json& json, const JsonContext& context)
{
    std::vector<PolicyReport> metrics;
    if (!json.contains("metrics")) {
        return metrics;
    }
    const auto& rows = json.at("metrics");
    if (!rows.is_array()) {
        context.fail("metrics", "is " + rows.dump() + ", expected an array of report rows");
    }
    for (size_t i = 0; i < rows.size(); ++i) {
        const std::string where = "metrics[" + std::to_string(i) + "]";
        PolicyReport report;
        report.finetuned = requireJsonField<bool>(rows[i], where, "finetuned", context);
        report.testPpl = requireJsonField<double>(rows[i], where, "test_ppl", context);
        report.valPpl = rows[i].contains("val_ppl") ? requireJsonField<double>(rows[i], where, "val_ppl", context) : 0.0;
        report.testAcc = rows[i].contains("test_acc") ? requireJsonField<double>(rows[i], where, "test_acc", context) : -1.0;
        report.testAccNorm =
            rows[i].contains("test_acc_norm") ? requireJsonField<double>(rows[i], where, "test_acc_norm", context) : -1.0;
        metrics.push_back(report);
    }
    return metrics;
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

PolicyFile readPolicyFile(const std::filesystem::path& requested)
{
    // A run folder stands for its best policy.
    const std::filesystem::path path =
        std::filesystem::is_directory(requested) ? requested / runfile::kBestPolicy : requested;
    const JsonContext context{path.string(), "export the policy again with rlq search or RLQ Studio"};
    if (!std::filesystem::is_regular_file(path)) {
        throw Error(path.string() + " not found; pass the best_policy.json of a run folder, or the folder itself");
    }
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(readFile(path));
    } catch (const nlohmann::json::exception& error) {
        throw Error(path.string() + ": not valid JSON (" + error.what() + "); pick the best_policy.json of a run folder");
    }

    PolicyFile policy;
    policy.path = path;
    policy.schemaVersion = requireJsonField<int>(json, "", "schema_version", context);
    if (policy.schemaVersion != kPolicySchemaVersion) {
        context.fail("schema_version", "is " + std::to_string(policy.schemaVersion) + " but this rlq reads " +
                                           std::to_string(kPolicySchemaVersion));
    }
    const auto model = requireJsonField<nlohmann::json>(json, "", "model", context);
    policy.modelName = requireJsonField<std::string>(model, "model", "name", context);
    policy.modelFingerprint = requireJsonField<std::string>(model, "model", "fingerprint", context);
    try {
        policy.granularity = parseGranularity(requireJsonField<std::string>(json, "", "granularity", context));
    } catch (const Error& error) {
        throw Error(path.string() + ": field 'granularity': " + error.what());
    }
    policy.groupSize = requireJsonField<int64_t>(json, "", "group_size", context);
    if (policy.granularity == Granularity::PerGroup && policy.groupSize < 1) {
        context.fail("group_size", "is " + std::to_string(policy.groupSize) + " but must be at least 1");
    }

    const auto units = requireJsonField<nlohmann::json>(json, "", "units", context);
    if (!units.is_array() || units.empty()) {
        context.fail("units", "must be a non-empty array of units");
    }
    for (size_t u = 0; u < units.size(); ++u) {
        policy.units.push_back(readUnit(units[u], context, u));
    }

    policy.settings = settingsFromJson(requireJsonField<nlohmann::json>(json, "", "settings", context), path.string());
    policy.metrics = readMetrics(json, context);
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
            if (unitOfMatrix.count(name)) {
                throw Error(file + ": matrix '" + name + "' is listed in unit '" + unitOfMatrix[name]->name +
                            "' and again in unit '" + unit.name + "'; each matrix belongs to one unit");
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

#include "export/QuantizedCheckpoint.h"

#include "model/Safetensors.h"
#include "quant/Quantization.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Hash.h"
#include "util/JsonFields.h"

#include <map>
#include <set>

namespace fs = std::filesystem;

namespace rlq {

namespace {

const char* const kCopiedFiles[] = {"config.json", "vocab.json", "merges.txt"};

// Copies the config and tokenizer files of the source model, atomically.
void copyModelFiles(const fs::path& sourceFolder, const fs::path& folder)
{
    for (const char* name : kCopiedFiles) {
        writeFileAtomically(folder / name, readFile(sourceFolder / name));
    }
}

void requireMatrixBits(const QuantizedModelContent& content, size_t matrixCount)
{
    if (content.matrixBits.size() != matrixCount) {
        throw Error("checkpoint export: " + std::to_string(content.matrixBits.size()) + " bit-widths for " +
                    std::to_string(matrixCount) + " weight matrices");
    }
    for (int bits : content.matrixBits) {
        bitWidthInfo(bits);   // throws for widths a policy cannot hold
    }
}

QuantScheme schemeOf(const QuantizedModelContent& content, int bits)
{
    return QuantScheme{bits, content.granularity, content.groupSize};
}

std::string layoutName(UnitKind kind)
{
    const bool embedding = kind == UnitKind::TokenEmbedding || kind == UnitKind::PositionEmbedding;
    return embedding ? "rows" : "conv1d";
}

// Float32 remainder tensors (biases, LayerNorms) by Hugging Face name.
std::vector<std::pair<std::string, torch::Tensor>> remainderTensors(const Gpt2Weights& weights,
                                                                    const std::set<std::string>& matrixNames)
{
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& [name, tensor] : weights.named()) {
        if (!matrixNames.count(name)) {
            tensors.emplace_back(name, tensor.detach().to(torch::kFloat32).contiguous());
        }
    }
    return tensors;
}

int64_t fileBytes(const fs::path& path)
{
    return int64_t(fs::file_size(path));
}

} // namespace

PolicySize policySize(const QuantizedModelContent& content)
{
    const auto matrices = weightUnits(content.config);
    requireMatrixBits(content, matrices.size());

    PolicySize size;
    int64_t quantizable = 0;
    double bitSum = 0;
    for (size_t m = 0; m < matrices.size(); ++m) {
        size.footprintBytes += footprintBytes(matrices[m].canonicalShape, schemeOf(content, content.matrixBits[m]));
        quantizable += matrices[m].parameterCount;
        bitSum += double(content.matrixBits[m]) * double(matrices[m].parameterCount);
    }
    size.footprintBytes += (content.weights.parameterCount() - quantizable) * 4;
    size.averageBits = bitSum / double(quantizable);
    return size;
}

bool isPackedCheckpoint(const fs::path& folder)
{
    return fs::exists(folder / kPackedManifestFile);
}

std::vector<std::pair<std::string, torch::Tensor>> packedTensors(const QuantizedModelContent& content,
                                                                 nlohmann::json& matricesManifest)
{
    c10::InferenceMode inference;
    const auto matrices = weightUnits(content.config);
    requireMatrixBits(content, matrices.size());

    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    std::set<std::string> matrixNames;
    matricesManifest = nlohmann::json::array();
    for (size_t m = 0; m < matrices.size(); ++m) {
        const WeightUnit& unit = matrices[m];
        const std::string name = unit.name + ".weight";
        const int bits = content.matrixBits[m];
        const auto stored = unitTensor(content.weights, unit).detach();
        matrixNames.insert(name);

        nlohmann::json entry = {{"name", name}, {"bits", bits}, {"shape", unit.canonicalShape}, {"layout", layoutName(unit.kind)}};
        if (bits == 16) {
            // Hugging Face layout, so the tensor reads like the original.
            tensors.emplace_back(name, stored.to(torch::kHalf).contiguous());
            entry["half"] = name;
        } else {
            const QuantizedTensor q = quantize(toCanonical(stored, unit.kind), schemeOf(content, bits));
            tensors.emplace_back(name + ".codes", packCodes(q.codes, bits));
            tensors.emplace_back(name + ".scales", q.scales.contiguous());
            tensors.emplace_back(name + ".zero_points", q.zeroPoints.contiguous());
            entry["codes"] = name + ".codes";
            entry["scales"] = name + ".scales";
            entry["zero_points"] = name + ".zero_points";
        }
        matricesManifest.push_back(entry);
    }

    for (auto& tensor : remainderTensors(content.weights, matrixNames)) {
        tensors.push_back(std::move(tensor));
    }
    return tensors;
}

int64_t writePackedCheckpoint(const fs::path& folder, const QuantizedModelContent& content)
{
    nlohmann::json matrices;
    const auto tensors = packedTensors(content, matrices);

    fs::create_directories(folder);
    copyModelFiles(content.sourceFolder, folder);
    const fs::path weightsPath = folder / kPackedWeightsFile;
    writeSafetensors(weightsPath, tensors, {{"format", kPackedFormat}});

    const nlohmann::json manifest = {{"format", kPackedFormat},
                                     {"version", kPackedFormatVersion},
                                     {"weights_file", kPackedWeightsFile},
                                     {"weights_bytes", fileBytes(weightsPath)},
                                     {"weights_hash", fnv1a64Text(fnv1a64File(weightsPath))},
                                     {"granularity", granularityName(content.granularity)},
                                     {"group_size", content.groupSize},
                                     {"footprint_bytes", policySize(content).footprintBytes},
                                     {"matrices", matrices},
                                     {"provenance", content.provenance}};
    writeFileAtomically(folder / kPackedManifestFile, manifest.dump(2) + "\n");
    return fileBytes(weightsPath);
}

int64_t writeDequantizedCheckpoint(const fs::path& folder, const QuantizedModelContent& content, DequantizedType type)
{
    c10::InferenceMode inference;
    const auto matrices = weightUnits(content.config);
    requireMatrixBits(content, matrices.size());

    Gpt2Weights rounded = content.weights;
    for (size_t m = 0; m < matrices.size(); ++m) {
        const WeightUnit& unit = matrices[m];
        const auto canonical = toCanonical(unitTensor(content.weights, unit).detach(), unit.kind);
        unitTensor(rounded, unit) = fromCanonical(fakeQuantize(canonical, schemeOf(content, content.matrixBits[m])), unit.kind);
    }

    const auto dtype = type == DequantizedType::Float16 ? torch::kHalf : torch::kFloat32;
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& [name, tensor] : rounded.named()) {
        tensors.emplace_back(name, tensor.detach().to(dtype).contiguous());
    }

    fs::create_directories(folder);
    copyModelFiles(content.sourceFolder, folder);
    // transformers refuses safetensors files without this metadata entry.
    writeSafetensors(folder / "model.safetensors", tensors, {{"format", "pt"}});
    return fileBytes(folder / "model.safetensors");
}

namespace {

// One entry of the manifest's "matrices" array.
struct MatrixEntry {
    std::string name;
    int bits = 0;
    std::vector<int64_t> shape;
    std::map<std::string, std::string> tensors;   // field ("codes", "scales", "zero_points", "half") -> tensor name
};

// Reads a packed checkpoint with the manifest's context in every message.
class PackedReader {
public:
    PackedReader(const fs::path& folder, const Gpt2Config& config) : folder_(folder), config_(config)
    {
        manifestName_ = (folder / kPackedManifestFile).string();
        readManifest();
        checkWeightsFile();
        file_ = std::make_unique<SafetensorsFile>(folder_ / kPackedWeightsFile);
    }

    Gpt2Weights read()
    {
        c10::InferenceMode inference;
        std::map<std::string, torch::Tensor> decoded;
        for (const WeightUnit& unit : weightUnits(config_)) {
            const std::string name = unit.name + ".weight";
            const auto found = entries_.find(name);
            if (found == entries_.end()) {
                fail("field 'matrices' has no entry for '" + name + "', which config.json's model has");
            }
            decoded[name] = decodeMatrix(unit, found->second);
        }

        Gpt2Weights weights;
        weights.blocks.resize(size_t(config_.nLayer));
        for (auto& [name, tensor] : weights.namedMutable()) {
            const auto found = decoded.find(name);
            *tensor = found != decoded.end() ? found->second : readRemainder(name);
        }
        return weights;
    }

private:
    [[noreturn]] void fail(const std::string& what) const
    {
        throw Error(manifestName_ + ": " + what + "; export the checkpoint again with rlq apply");
    }

    void readManifest()
    {
        try {
            manifest_ = nlohmann::json::parse(readFile(folder_ / kPackedManifestFile));
        } catch (const nlohmann::json::exception& error) {
            fail(std::string("not valid JSON (") + error.what() + ")");
        }
        const JsonContext context{manifestName_, "export the checkpoint again with rlq apply"};
        if (requireJsonField<std::string>(manifest_, "", "format", context) != kPackedFormat) {
            context.fail("format", std::string("is not '") + kPackedFormat + "'");
        }
        const int version = requireJsonField<int>(manifest_, "", "version", context);
        if (version != kPackedFormatVersion) {
            context.fail("version", "is " + std::to_string(version) + " but this rlq reads " +
                                        std::to_string(kPackedFormatVersion));
        }
        if (requireJsonField<std::string>(manifest_, "", "weights_file", context) != kPackedWeightsFile) {
            context.fail("weights_file", std::string("is not '") + kPackedWeightsFile + "'");
        }
        weightsBytes_ = requireJsonField<int64_t>(manifest_, "", "weights_bytes", context);
        weightsHash_ = requireJsonField<std::string>(manifest_, "", "weights_hash", context);
        try {
            granularity_ = parseGranularity(requireJsonField<std::string>(manifest_, "", "granularity", context));
        } catch (const Error& error) {
            fail(std::string("field 'granularity': ") + error.what());
        }
        groupSize_ = requireJsonField<int64_t>(manifest_, "", "group_size", context);

        const auto matrices = requireJsonField<nlohmann::json>(manifest_, "", "matrices", context);
        if (!matrices.is_array()) {
            context.fail("matrices", "is not an array");
        }
        for (size_t i = 0; i < matrices.size(); ++i) {
            const std::string where = "matrices[" + std::to_string(i) + "]";
            MatrixEntry entry;
            entry.name = requireJsonField<std::string>(matrices[i], where, "name", context);
            entry.bits = requireJsonField<int>(matrices[i], where, "bits", context);
            const auto shape = requireJsonField<nlohmann::json>(matrices[i], where, "shape", context);
            if (!shape.is_array()) {
                context.fail(where + ".shape", "is " + shape.dump() + ", expected [out, in]");
            }
            for (size_t d = 0; d < shape.size(); ++d) {
                entry.shape.push_back(jsonValueAs<int64_t>(shape[d], context, where + ".shape[" + std::to_string(d) + "]"));
            }
            for (const char* field : {"codes", "scales", "zero_points", "half"}) {
                if (matrices[i].contains(field) && !matrices[i].at(field).is_null()) {
                    entry.tensors[field] = requireJsonField<std::string>(matrices[i], where, field, context);
                }
            }
            if (entries_.count(entry.name)) {
                context.fail(where + ".name", "repeats '" + entry.name + "'; each matrix has one entry");
            }
            entries_[entry.name] = entry;
        }
    }

    // Size first (cheap, names truncation), then the content hash.
    void checkWeightsFile() const
    {
        const fs::path path = folder_ / kPackedWeightsFile;
        if (!fs::exists(path)) {
            throw Error(path.string() + " not found; a packed checkpoint needs it beside " + kPackedManifestFile +
                        "; export the checkpoint again with rlq apply");
        }
        const int64_t expectedBytes = weightsBytes_;
        const int64_t bytes = fileBytes(path);
        if (bytes != expectedBytes) {
            throw Error(path.string() + " is " + std::to_string(bytes) + " bytes but " + kPackedManifestFile +
                        " field 'weights_bytes' is " + std::to_string(expectedBytes) +
                        ": the file is truncated or was replaced; export the checkpoint again with rlq apply");
        }
        const std::string hash = fnv1a64Text(fnv1a64File(path));
        if (hash != weightsHash_) {
            throw Error(path.string() + " has hash " + hash + " but " + kPackedManifestFile + " field 'weights_hash' is " +
                        weightsHash_ +
                        ": the file is corrupted or was changed after export; export the checkpoint again with rlq apply");
        }
    }

    torch::Tensor tensorNamed(const MatrixEntry& entry, const char* field, torch::ScalarType type) const
    {
        const auto found = entry.tensors.find(field);
        if (found == entry.tensors.end()) {
            fail("matrix '" + entry.name + "' lacks field '" + field + "'");
        }
        const std::string& name = found->second;
        if (!file_->contains(name)) {
            fail("matrix '" + entry.name + "' field '" + field + "' names tensor '" + name + "', which " +
                 kPackedWeightsFile + " does not contain");
        }
        const torch::Tensor tensor = file_->read(name);
        if (tensor.scalar_type() != type) {
            fail("tensor '" + name + "' is " + safetensorsDtypeName(tensor.scalar_type()) + ", expected " +
                 safetensorsDtypeName(type));
        }
        return tensor;
    }

    torch::Tensor decodeMatrix(const WeightUnit& unit, const MatrixEntry& entry) const
    {
        const std::string name = unit.name + ".weight";
        const int bits = entry.bits;
        if (bits != 2 && bits != 4 && bits != 8 && bits != 16) {
            fail("matrix '" + name + "' field 'bits' is " + std::to_string(bits) + ", allowed: 2, 4, 8, 16");
        }
        const auto& shape = entry.shape;
        if (shape != unit.canonicalShape) {
            fail("matrix '" + name + "' field 'shape' is " + shapeText(shape) + " but config.json gives " +
                 shapeText(unit.canonicalShape));
        }

        if (bits == 16) {
            const torch::Tensor half = tensorNamed(entry, "half", torch::kHalf);
            const auto expected = fromCanonical(torch::empty(shape), unit.kind).sizes().vec();
            if (half.sizes() != torch::IntArrayRef(expected)) {
                fail("tensor '" + name + "' has shape " + c10::str(half.sizes()) + ", which does not match field 'shape'");
            }
            return half.to(torch::kFloat32).contiguous();
        }

        QuantizedTensor q;
        q.scheme = QuantScheme{bits, granularity_, groupSize_};
        q.shape = shape;
        q.scales = tensorNamed(entry, "scales", torch::kHalf);
        q.zeroPoints = tensorNamed(entry, "zero_points", torch::kHalf);
        const torch::Tensor packed = tensorNamed(entry, "codes", torch::kUInt8);
        try {
            q.codes = unpackCodes(packed.reshape({-1}), bits, shape);
        } catch (const Error& error) {
            fail("matrix '" + name + "' codes: " + error.what());
        }

        const auto scales = q.scales.to(torch::kFloat32);
        const auto zeroPoints = q.zeroPoints.to(torch::kFloat32);
        if (!torch::isfinite(scales).all().item<bool>() || (scales <= 0).any().item<bool>()) {
            fail("matrix '" + name + "' has a scale that is not a positive finite number");
        }
        const bool integral = zeroPoints.eq(zeroPoints.round()).all().item<bool>();
        const bool inRange = (zeroPoints >= 0).all().item<bool>() && (zeroPoints <= double((1 << bits) - 1)).all().item<bool>();
        if (!integral || !inRange) {
            fail("matrix '" + name + "' has a zero point outside the integers 0.." + std::to_string((1 << bits) - 1));
        }

        torch::Tensor canonical;
        try {
            canonical = dequantize(q);
        } catch (const Error& error) {
            fail("matrix '" + name + "': " + error.what());
        }
        return fromCanonical(canonical, unit.kind).contiguous();
    }

    std::vector<int64_t> remainderShape(const std::string& name) const
    {
        const int64_t embd = config_.nEmbd;
        const auto endsWith = [&](const std::string& suffix) {
            return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        if (endsWith("attn.c_attn.bias")) {
            return {3 * embd};
        }
        if (endsWith("mlp.c_fc.bias")) {
            return {config_.mlpWidth()};
        }
        return {embd};   // LayerNorm weights and biases, projection biases
    }

    torch::Tensor readRemainder(const std::string& name) const
    {
        if (!file_->contains(name)) {
            throw Error((folder_ / kPackedWeightsFile).string() + ": tensor '" + name +
                        "' is missing; export the checkpoint again with rlq apply");
        }
        const torch::Tensor tensor = file_->read(name);
        const auto expected = remainderShape(name);
        if (tensor.scalar_type() != torch::kFloat32 || tensor.sizes() != torch::IntArrayRef(expected)) {
            throw Error((folder_ / kPackedWeightsFile).string() + ": tensor '" + name + "' is " +
                        safetensorsDtypeName(tensor.scalar_type()) + " " + c10::str(tensor.sizes()) + ", expected F32 " +
                        shapeText(expected) + " from config.json; the checkpoint does not belong to this config.json");
        }
        if (!torch::isfinite(tensor).all().item<bool>()) {
            throw Error((folder_ / kPackedWeightsFile).string() + ": tensor '" + name +
                        "' contains NaN or infinite values; export the checkpoint again with rlq apply");
        }
        return tensor.contiguous();
    }

    fs::path folder_;
    Gpt2Config config_;
    std::string manifestName_;
    nlohmann::json manifest_;
    int64_t weightsBytes_ = 0;
    std::string weightsHash_;
    std::map<std::string, MatrixEntry> entries_;   // by matrix name
    Granularity granularity_ = Granularity::PerGroup;
    int64_t groupSize_ = 64;
    std::unique_ptr<SafetensorsFile> file_;
};

} // namespace

Gpt2Weights readPackedWeights(const fs::path& folder, const Gpt2Config& config)
{
    return PackedReader(folder, config).read();
}

} // namespace rlq

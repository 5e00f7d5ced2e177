// Export and reuse of a search result. The packed and dequantized
// checkpoints of a real demo run are read back through loadModel and
// compared with each other and with the run's report. Codes go through the
// file format at every bit-width and granularity. Truncated, corrupted or
// inconsistent files and mismatched policies must fail with clear errors.

#include "TestSupport.h"

#include "data/Dataset.h"
#include "eval/MultipleChoice.h"
#include "eval/Perplexity.h"
#include "export/ApplyPolicy.h"
#include "export/QuantizedCheckpoint.h"
#include "model/ModelLocator.h"
#include "model/Safetensors.h"
#include "quant/Quantization.h"
#include "search/PolicyEvaluator.h"
#include "search/RunFolder.h"
#include "search/SearchSession.h"
#include "util/AtomicFile.h"
#include "util/Threads.h"

#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <fstream>

namespace fs = std::filesystem;
using namespace rlq;

namespace {

const char* const kReferenceModel = "models/tiny-gpt2-ref";

class SilentObserver : public SearchObserver {};

// A short real search on the demo bundle, so the policy file carries the
// run's own test numbers.
RunSettings demoRun(const fs::path& folder)
{
    RunSettings settings;
    settings.episodes = 4;
    settings.seed = 3;
    settings.runFolder = folder;
    settings.reward.targetBits = 4.0;
    settings.finetune.steps = 2;
    settings.finetune.batchSize = 2;
    settings.eval.validationTokens = 512;
    settings.eval.sensitivityTokens = 256;
    settings.eval.testQuestions = 40;
    settings.ppo.episodesPerUpdate = 2;
    return settings;
}

void copyFolder(const fs::path& from, const fs::path& to)
{
    fs::remove_all(to);
    fs::copy(from, to, fs::copy_options::recursive);
}

void overwriteByte(const fs::path& file, int64_t offset)
{
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    stream.seekg(offset);
    const char original = char(stream.get());
    stream.seekp(offset);
    stream.put(char(original ^ 0x5a));
}

nlohmann::json readJsonFile(const fs::path& file)
{
    return nlohmann::json::parse(readFile(file));
}

void writeJsonFile(const fs::path& file, const nlohmann::json& json)
{
    writeFileAtomically(file, json.dump(2));
}

torch::Tensor sampleInput()
{
    return torch::arange(0, 96, torch::kInt64).remainder(1000).reshape({2, 48});
}

bool containsText(const std::string& message, const std::string& part)
{
    return message.find(part) != std::string::npos;
}

} // namespace

class ExportTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    fs::path runFolder_;
    fs::path packed_;
    fs::path hf_;
    ApplyResult applied_;

    fs::path temp(const std::string& name) const { return fs::path(dir_.path().toStdString()) / name; }

private slots:
    void initTestCase()
    {
        configureTorchThreads();
        QVERIFY(dir_.isValid());

        runFolder_ = temp("run");
        SearchControl control;
        SilentObserver observer;
        SearchSession(demoRun(runFolder_)).run(observer, control);
        QVERIFY(fs::exists(runFolder_ / runfile::kBestPolicy));

        packed_ = temp("packed");
        hf_ = temp("hf");
        ApplyRequest request;
        request.policyFile = runFolder_ / runfile::kBestPolicy;
        request.packedFolder = packed_;
        request.hfFolder = hf_;
        applied_ = applyPolicy(request);
    }

    void foldersHoldTheStatedFiles()
    {
        for (const char* name : {"config.json", "vocab.json", "merges.txt", kPackedWeightsFile, kPackedManifestFile}) {
            QVERIFY2(fs::exists(packed_ / name), name);
        }
        for (const char* name : {"config.json", "vocab.json", "merges.txt", "model.safetensors"}) {
            QVERIFY2(fs::exists(hf_ / name), name);
        }
        QVERIFY(!fs::exists(packed_ / "model.safetensors"));
        QVERIFY(applied_.finetuned);
        QCOMPARE(applied_.finetuneSteps, 2);

        // The dequantized folder is a plain Hugging Face checkpoint: F32
        // tensors under the usual names, with the metadata transformers needs.
        SafetensorsFile hfFile(hf_ / "model.safetensors");
        QCOMPARE(hfFile.metadata().at("format"), std::string("pt"));
        QCOMPARE(hfFile.entries().at("h.0.attn.c_attn.weight").dtype, std::string("F32"));
        QVERIFY(hfFile.contains("wte.weight"));
    }

    void packedAndDequantizedGiveIdenticalLogits()
    {
        const LoadedModel packed = loadModel(packed_.string());
        const LoadedModel hf = loadModel(hf_.string());
        c10::InferenceMode inference;
        const auto packedLogits = gpt2Logits(packed.config, packed.weights, sampleInput());
        const auto hfLogits = gpt2Logits(hf.config, hf.weights, sampleInput());
        QVERIFY(torch::equal(packedLogits, hfLogits));

        // Every decoded weight equals the dequantized folder's, bit for bit.
        const auto hfNamed = hf.weights.named();
        const auto packedNamed = packed.weights.named();
        QCOMPARE(packedNamed.size(), hfNamed.size());
        for (size_t i = 0; i < packedNamed.size(); ++i) {
            QVERIFY2(torch::equal(packedNamed[i].second, hfNamed[i].second), packedNamed[i].first.c_str());
        }
    }

    void evalReproducesTheReport()
    {
        QVERIFY(applied_.reported.has_value());
        const RunSettings settings = demoRun(runFolder_);
        const DatasetSplits splits = loadDatasetSplits(resolveDatasetSpec("demo"), runSplitSettings(settings));

        for (const fs::path& folder : {packed_, hf_}) {
            const LoadedModel model = loadModel(folder.string());
            PerplexityProtocol protocol;
            protocol.window = settings.eval.window;
            const double perplexity =
                evaluatePerplexity(model.config, model.weights, model.tokenizer.encode(splits.test.text), protocol, 0).perplexity;
            const double relative = std::abs(perplexity / applied_.reported->testPpl - 1.0);
            QVERIFY2(relative < 1e-3, qPrintable(QString("%1: perplexity %2, the run reported %3")
                                                     .arg(QString::fromStdString(folder.string()))
                                                     .arg(perplexity)
                                                     .arg(applied_.reported->testPpl)));

            const auto choices = evaluateMultipleChoice(model.config, model.weights, model.tokenizer, splits.test.items,
                                                        settings.eval.testQuestions);
            QCOMPARE(choices.acc, applied_.reported->testAcc);
            QCOMPARE(choices.accNorm, applied_.reported->testAccNorm);
        }
    }

    void fileSizesMatchTheFootprint()
    {
        // The footprint counts the packed codes, fp16 scales and zero points
        // and the float32 remainder; the file adds only its JSON header.
        const double packedBytes = double(fs::file_size(packed_ / kPackedWeightsFile));
        QCOMPARE(qlonglong(packedBytes), qlonglong(applied_.packedWeightsBytes));
        QVERIFY(packedBytes > double(applied_.footprintBytes));
        // The demo model is tiny (0.17 MB), so the header of about 90 tensors
        // weighs more here than on real models (see the reference test).
        QVERIFY2(packedBytes < 1.06 * double(applied_.footprintBytes),
                 qPrintable(QString("%1 bytes for a footprint of %2").arg(packedBytes).arg(applied_.footprintBytes)));

        const LoadedModel model = loadModel("demo");
        const double hfBytes = double(fs::file_size(hf_ / "model.safetensors"));
        const double float32Bytes = double(model.weights.parameterCount()) * 4;
        QVERIFY(hfBytes > float32Bytes && hfBytes < 1.01 * float32Bytes);
    }

    void referencePackedSizeWithinOnePercent()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const LoadedModel model = loadModel(sharedPath(kReferenceModel).string());

        // A hand-made mixed policy: wte at 4 bits, the blocks cycling
        // through every width.
        RunSettings settings;
        settings.model = sharedPath(kReferenceModel).string();
        settings.finetune.steps = 0;
        nlohmann::json units = nlohmann::json::array();
        const int cycle[] = {2, 4, 8, 16};
        int index = 0;
        for (const auto& unit : weightUnits(model.config)) {
            const int bits = unit.kind == UnitKind::TokenEmbedding ? 4 : cycle[index++ % 4];
            units.push_back({{"name", unit.name}, {"bits", bits}, {"matrices", {unit.name}}, {"parameters", unit.parameterCount}});
        }
        const fs::path policyFile = temp("reference_policy.json");
        writeJsonFile(policyFile, {{"schema_version", kPolicySchemaVersion},
                                   {"model", {{"name", settings.model}, {"fingerprint", modelFingerprint(model.source.folder)}}},
                                   {"granularity", "group"},
                                   {"group_size", 64},
                                   {"units", units},
                                   {"settings", settingsToJson(settings)}});

        ApplyRequest request;
        request.policyFile = policyFile;
        request.packedFolder = temp("reference-packed");
        const ApplyResult result = applyPolicy(request);
        QVERIFY(!result.finetuned);
        const double ratio = double(result.packedWeightsBytes) / double(result.footprintBytes);
        QVERIFY2(ratio > 1.0 && ratio < 1.01, qPrintable(QString("file / footprint = %1").arg(ratio, 0, 'f', 5)));

        // The decoded model equals the policy applied in memory.
        const LoadedModel packed = loadModel(request.packedFolder.string());
        const auto matrices = weightUnits(model.config);
        for (size_t m = 0; m < matrices.size(); ++m) {
            const auto& unit = matrices[m];
            const auto expected = fromCanonical(
                fakeQuantize(toCanonical(unitTensor(model.weights, unit), unit.kind),
                             QuantScheme{units[m]["bits"].get<int>(), Granularity::PerGroup, 64}),
                unit.kind);
            QVERIFY2(torch::equal(unitTensor(packed.weights, unit), expected.contiguous()), unit.name.c_str());
        }
    }

    void packedCodesRoundTrip_data()
    {
        QTest::addColumn<int>("bits");
        QTest::addColumn<QString>("granularity");
        for (int bits : {2, 4, 8, 16}) {
            for (const char* granularity : {"tensor", "channel", "group"}) {
                QTest::newRow(qPrintable(QString("%1-bit %2").arg(bits).arg(granularity))) << bits << QString(granularity);
            }
        }
    }

    void packedCodesRoundTrip()
    {
        QFETCH(int, bits);
        QFETCH(QString, granularity);
        const LoadedModel model = loadModel("demo");
        const auto matrices = weightUnits(model.config);

        QuantizedModelContent content;
        content.sourceFolder = model.source.folder;
        content.config = model.config;
        content.weights = model.weights;
        content.matrixBits.assign(matrices.size(), bits);
        content.granularity = parseGranularity(granularity.toStdString());
        content.groupSize = 48;   // does not divide the 64-wide rows: the last group is short
        const fs::path folder = temp("roundtrip-" + std::to_string(bits) + "-" + granularity.toStdString());
        writePackedCheckpoint(folder, content);

        SafetensorsFile file(folder / kPackedWeightsFile);
        const Gpt2Weights decoded = readPackedWeights(folder, model.config);
        for (const auto& unit : matrices) {
            const QuantScheme scheme{bits, content.granularity, content.groupSize};
            const auto canonical = toCanonical(unitTensor(model.weights, unit), unit.kind);
            if (bits != 16) {
                const QuantizedTensor q = quantize(canonical, scheme);
                const auto codes = unpackCodes(file.read(unit.name + ".weight.codes"), bits, unit.canonicalShape);
                QVERIFY2(torch::equal(codes, q.codes), unit.name.c_str());
                QVERIFY(torch::equal(file.read(unit.name + ".weight.scales"), q.scales));
            }
            const auto expected = fromCanonical(fakeQuantize(canonical, scheme), unit.kind).contiguous();
            QVERIFY2(torch::equal(unitTensor(decoded, unit), expected), unit.name.c_str());
        }
    }

    void policyNetworkStartsANewSearch()
    {
        const fs::path network = runFolder_ / runfile::kPolicyNetwork;
        QVERIFY(fs::exists(network));

        RunSettings settings = demoRun(temp("reused-run"));
        settings.episodes = 2;
        settings.initAgent = network;
        SearchControl control;
        SilentObserver observer;
        const RunSummary summary = SearchSession(settings).run(observer, control);
        QCOMPARE(summary.episodesDone, 2);
        const auto config = readJsonFile(settings.runFolder / runfile::kConfig);
        QCOMPARE(config["init_agent"].get<std::string>(), network.string());

        settings.runFolder = temp("missing-agent");
        settings.initAgent = temp("nowhere.pt");
        const std::string message = errorMessageOf([&] { validateRunSettings(settings); });
        QVERIFY2(message.find("nowhere.pt") != std::string::npos, message.c_str());
    }

    void truncatedFileRejected()
    {
        const fs::path folder = temp("truncated");
        copyFolder(packed_, folder);
        const auto size = fs::file_size(folder / kPackedWeightsFile);
        fs::resize_file(folder / kPackedWeightsFile, size - 1000);
        const std::string message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "truncated") && containsText(message, kPackedWeightsFile), message.c_str());
    }

    void corruptedFileRejected()
    {
        const fs::path folder = temp("corrupted");
        copyFolder(packed_, folder);
        overwriteByte(folder / kPackedWeightsFile, int64_t(fs::file_size(folder / kPackedWeightsFile)) - 500);
        const std::string message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "corrupted") && containsText(message, "weights_hash"), message.c_str());
    }

    void manifestDisagreeingWithTensorsRejected()
    {
        // A bit-width that does not fit the stored codes.
        const fs::path folder = temp("bad-bits");
        copyFolder(packed_, folder);
        auto manifest = readJsonFile(folder / kPackedManifestFile);
        auto& first = manifest["matrices"][2];
        const std::string name = first["name"].get<std::string>();
        first["bits"] = first["bits"].get<int>() == 8 ? 2 : 8;
        first["half"] = nullptr;
        if (!first.contains("codes")) {
            first["codes"] = name + ".codes";
        }
        writeJsonFile(folder / kPackedManifestFile, manifest);
        std::string message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, name) && containsText(message, kPackedManifestFile), message.c_str());

        // A shape that the config does not give.
        copyFolder(packed_, folder);
        manifest = readJsonFile(folder / kPackedManifestFile);
        manifest["matrices"][0]["shape"] = {7, 7};
        writeJsonFile(folder / kPackedManifestFile, manifest);
        message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "field 'shape'") && containsText(message, "wte.weight"), message.c_str());

        // A matrix missing from the manifest.
        copyFolder(packed_, folder);
        manifest = readJsonFile(folder / kPackedManifestFile);
        manifest["matrices"].erase(manifest["matrices"].begin() + 1);
        writeJsonFile(folder / kPackedManifestFile, manifest);
        message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "no entry for 'wpe.weight'"), message.c_str());

        // Not JSON at all.
        writeFileAtomically(folder / kPackedManifestFile, "{\"format\": ");
        message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "not valid JSON"), message.c_str());
    }

    void policyForAnotherModelRejected()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        ApplyRequest request;
        request.policyFile = runFolder_ / runfile::kBestPolicy;
        request.model = sharedPath(kReferenceModel).string();
        request.packedFolder = temp("wrong-model");

        std::string message = errorMessageOf([&] { applyPolicy(request); });
        QVERIFY2(containsText(message, "model.fingerprint") && containsText(message, "--allow-other-model"), message.c_str());

        // Even when other weights are allowed, the units must match: the
        // demo's wte is smaller than the reference model's.
        request.allowOtherModel = true;
        message = errorMessageOf([&] { applyPolicy(request); });
        QVERIFY2(containsText(message, "unit 'wte'") && containsText(message, "parameters"), message.c_str());
        QVERIFY(!fs::exists(request.packedFolder / kPackedWeightsFile));
    }

    void badPolicyFieldsRejected()
    {
        const auto original = readJsonFile(runFolder_ / runfile::kBestPolicy);
        const fs::path file = temp("bad_policy.json");

        auto badBits = original;
        badBits["units"][3]["bits"] = 3;
        writeJsonFile(file, badBits);
        std::string message = errorMessageOf([&] { readPolicyFile(file); });
        QVERIFY2(containsText(message, "units[3].bits") && containsText(message, "2, 4, 8, 16"), message.c_str());

        auto renamed = original;
        renamed["units"][5]["matrices"] = {"h.9.mlp.c_fc"};
        writeJsonFile(file, renamed);
        ApplyRequest request;
        request.policyFile = file;
        request.packedFolder = temp("renamed");
        message = errorMessageOf([&] { applyPolicy(request); });
        QVERIFY2(containsText(message, "h.9.mlp.c_fc"), message.c_str());

        auto noUnits = original;
        noUnits.erase("units");
        writeJsonFile(file, noUnits);
        message = errorMessageOf([&] { readPolicyFile(file); });
        QVERIFY2(containsText(message, "field 'units' is missing"), message.c_str());
    }

    void wrongJsonTypesRejected()
    {
        // Manifest fields of the wrong type name the field instead of
        // failing inside the JSON library.
        const fs::path folder = temp("bad-types");
        copyFolder(packed_, folder);
        auto manifest = readJsonFile(folder / kPackedManifestFile);
        manifest["version"] = "1";
        writeJsonFile(folder / kPackedManifestFile, manifest);
        std::string message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "field 'version'") && containsText(message, "whole number"), message.c_str());

        manifest = readJsonFile(packed_ / kPackedManifestFile);
        manifest["matrices"][0]["bits"] = 4.5;
        writeJsonFile(folder / kPackedManifestFile, manifest);
        message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "matrices[0].bits"), message.c_str());

        manifest = readJsonFile(packed_ / kPackedManifestFile);
        manifest["matrices"][1] = manifest["matrices"][0];
        writeJsonFile(folder / kPackedManifestFile, manifest);
        message = errorMessageOf([&] { loadModel(folder.string()); });
        QVERIFY2(containsText(message, "repeats 'wte.weight'"), message.c_str());

        // A fractional bit-width in a policy is not rounded to a valid one.
        auto policy = readJsonFile(runFolder_ / runfile::kBestPolicy);
        policy["units"][0]["bits"] = 4.9;
        const fs::path file = temp("fractional_policy.json");
        writeJsonFile(file, policy);
        message = errorMessageOf([&] { readPolicyFile(file); });
        QVERIFY2(containsText(message, "units[0].bits") && containsText(message, "whole number"), message.c_str());

        // A matrix in two units is rejected rather than taking the last width.
        policy = readJsonFile(runFolder_ / runfile::kBestPolicy);
        policy["units"][1]["matrices"].push_back(policy["units"][0]["matrices"][0]);
        writeJsonFile(file, policy);
        ApplyRequest request;
        request.policyFile = file;
        request.packedFolder = temp("duplicated-matrix");
        message = errorMessageOf([&] { applyPolicy(request); });
        QVERIFY2(containsText(message, "listed in unit"), message.c_str());
    }

    void failedExportLeavesNoPartialFile()
    {
        // The final name is taken by a folder, so the rename fails after the
        // data was written: the temporary file must be gone afterwards.
        const fs::path folder = temp("blocked");
        fs::create_directories(folder / kPackedWeightsFile / "occupied");
        ApplyRequest request;
        request.policyFile = runFolder_ / runfile::kBestPolicy;
        request.packedFolder = folder;
        const std::string message = errorMessageOf([&] { applyPolicy(request); });
        QVERIFY2(!message.empty(), "the export should fail");
        QVERIFY(fs::is_directory(folder / kPackedWeightsFile));
        QVERIFY(!fs::exists(folder / kPackedManifestFile));
        for (const auto& entry : fs::directory_iterator(folder)) {
            const std::string name = entry.path().filename().string();
            QVERIFY2(name == kPackedWeightsFile || name == "config.json" || name == "vocab.json" || name == "merges.txt",
                     name.c_str());
        }
    }
};

QTEST_GUILESS_MAIN(ExportTest)
#include "test_export.moc"

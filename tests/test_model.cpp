// Model loading and the GPT-2 forward pass against reference logits.

#include "TestSupport.h"

#include "model/Gpt2Model.h"
#include "model/ModelLocator.h"
#include "model/Safetensors.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QTemporaryDir>

#include <fstream>

namespace fs = std::filesystem;

namespace {

const char* const kReferenceModel = "models/tiny-gpt2-ref";

void writeBytes(const fs::path& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string littleEndian64(uint64_t value)
{
    std::string bytes;
    for (int i = 0; i < 8; ++i) {
        bytes.push_back(char((value >> (8 * i)) & 0xff));
    }
    return bytes;
}

// A safetensors file with a hand-written header and `dataBytes` zero bytes.
std::string safetensorsWithHeader(const std::string& header, size_t dataBytes)
{
    return littleEndian64(header.size()) + header + std::string(dataBytes, '\0');
}

void copyModelFolder(const fs::path& from, const fs::path& to)
{
    fs::create_directories(to);
    for (const char* name : {"config.json", "model.safetensors", "vocab.json", "merges.txt"}) {
        fs::copy_file(from / name, to / name);
    }
}

} // namespace

class ModelTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { rlq::configureTorchThreads(); }

    void goldenLogits()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const auto folder = sharedPath(kReferenceModel);
        const auto model = rlq::loadModel(folder.string());
        rlq::SafetensorsFile golden(folder / "golden.safetensors");
        const auto inputIds = golden.read("input_ids");
        const auto expected = golden.read("logits");

        c10::InferenceMode inference;
        const auto logits = rlq::gpt2Logits(model.config, model.weights, inputIds);
        QCOMPARE(logits.sizes().vec(), expected.sizes().vec());
        const double maxDifference = (logits - expected).abs().max().item<double>();
        qInfo("max abs logit difference: %.3g", maxDifference);
        QVERIFY(maxDifference < 1e-4);
    }

    void tokenNllMatchesCrossEntropy()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const auto model = rlq::loadModel(sharedPath(kReferenceModel).string());
        torch::manual_seed(3);
        c10::InferenceMode inference;
        const auto ids = torch::randint(0, 50257, {2, 300}, torch::kInt64);
        const auto targets = torch::randint(0, 50257, {600}, torch::kInt64);
        const auto hidden = rlq::gpt2HiddenStates(model.config, model.weights, ids).reshape({600, 128});

        const auto fast = rlq::tokenNegativeLogLikelihood(hidden, model.weights.wte, targets);
        const auto reference = torch::nn::functional::cross_entropy(
            torch::mm(hidden, model.weights.wte.t()), targets,
            torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
        // Float32 sums over 50,257 logits of about 10 carry rounding of a few 1e-5.
        const double maxDifference = (fast - reference).abs().max().item<double>();
        qInfo("max abs NLL difference: %.3g (mean NLL %.3f)", maxDifference, reference.mean().item<double>());
        QVERIFY(maxDifference < 5e-4);
    }

    void parameterCountAndUnits()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        const auto model = rlq::loadModel(sharedPath(kReferenceModel).string());
        QCOMPARE(model.weights.parameterCount(), int64_t(7753856));
        const auto units = rlq::weightUnits(model.config);
        QCOMPARE(units.size(), size_t(26));
        QCOMPARE(units.front().name, std::string("wte"));
        QCOMPARE(units[2].name, std::string("h.0.attn.c_attn"));
        QCOMPARE(units.back().name, std::string("h.5.mlp.c_proj"));
        for (const auto& unit : units) {
            const auto canonical = rlq::toCanonical(rlq::unitTensor(model.weights, unit), unit.kind);
            QCOMPARE(canonical.sizes().vec(), unit.canonicalShape);
        }
    }

    void halfPrecisionCheckpoint()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        copyModelFolder(sharedPath(kReferenceModel), folder);
        const auto original = rlq::loadModel(folder.string());

        // Rewrite the weights as F16 with the "transformer." prefix that
        // GPT2LMHeadModel.save_pretrained produces.
        std::vector<std::pair<std::string, torch::Tensor>> tensors;
        for (const auto& [name, tensor] : original.weights.named()) {
            tensors.emplace_back("transformer." + name, tensor.to(torch::kFloat16));
        }
        rlq::writeSafetensors(folder / "model.safetensors", tensors);

        const auto reloaded = rlq::loadModel(folder.string());
        const auto expected = original.weights.wte.to(torch::kFloat16).to(torch::kFloat32);
        QVERIFY(torch::equal(reloaded.weights.wte, expected));
    }

    void huggingFaceCacheLookup()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const fs::path hub = fs::path(dir.path().toStdString()) / "hub";
        const fs::path repo = hub / "models--openai-community--gpt2-tiny";
        const std::string revision = "0123456789abcdef0123456789abcdef01234567";
        copyModelFolder(sharedPath(kReferenceModel), repo / "snapshots" / revision);
        fs::create_directories(repo / "refs");
        rlq::writeFileAtomically(repo / "refs" / "main", revision);
        qputenv("HF_HUB_CACHE", QByteArray::fromStdString(hub.string()));

        const auto byShortName = rlq::resolveModel("gpt2-tiny");
        QCOMPARE(byShortName.origin, std::string("huggingface-cache"));
        QCOMPARE(byShortName.name, std::string("openai-community/gpt2-tiny"));
        QCOMPARE(byShortName.folder, repo / "snapshots" / revision);
        QCOMPARE(rlq::resolveModel("openai-community/gpt2-tiny").folder, byShortName.folder);

        const auto listed = rlq::listCachedGpt2Models();
        QCOMPARE(listed.size(), size_t(1));
        QCOMPARE(listed[0].name, std::string("openai-community/gpt2-tiny"));
        QCOMPARE(rlq::loadModel("gpt2-tiny").config.nLayer, int64_t(6));

        const auto missing = errorMessageOf([] { rlq::resolveModel("gpt2-xl"); });
        QVERIFY(missing.find("gpt2-xl") != std::string::npos);
        QVERIFY(missing.find(hub.string()) != std::string::npos);
        qunsetenv("HF_HUB_CACHE");
    }

    void safetensorsTruncatedHeader()
    {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "model.safetensors";
        writeBytes(path, littleEndian64(4096) + "{\"a\":");
        const auto message = errorMessageOf([&] { rlq::SafetensorsFile file(path); });
        QVERIFY(message.find(path.string()) != std::string::npos);
        QVERIFY(message.find("header length 4096") != std::string::npos);

        writeBytes(path, "abc");
        QVERIFY(errorMessageOf([&] { rlq::SafetensorsFile file(path); }).find("too short") != std::string::npos);
    }

    void safetensorsOffsetsOutOfRange()
    {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "model.safetensors";
        writeBytes(path, safetensorsWithHeader(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
        const auto message = errorMessageOf([&] { rlq::SafetensorsFile file(path); });
        QVERIFY(message.find("tensor 'w'") != std::string::npos);
        QVERIFY(message.find("outside") != std::string::npos);

        writeBytes(path, safetensorsWithHeader(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16));
        QVERIFY(errorMessageOf([&] { rlq::SafetensorsFile file(path); }).find("need 12") != std::string::npos);
    }

    void safetensorsUnknownDtype()
    {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "model.safetensors";
        writeBytes(path, safetensorsWithHeader(R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", 4));
        const auto message = errorMessageOf([&] { rlq::SafetensorsFile file(path); });
        QVERIFY(message.find("unknown dtype 'F8_E4M3'") != std::string::npos);
        QVERIFY(message.find("F32") != std::string::npos);
    }

    void safetensorsRoundTrip()
    {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "t.safetensors";
        torch::manual_seed(1);
        const auto a = torch::randn({3, 5});
        const auto b = torch::randint(0, 255, {7}, torch::kUInt8);
        rlq::writeSafetensors(path, {{"a", a}, {"b", b}}, {{"format", "pt"}});
        rlq::SafetensorsFile file(path);
        QVERIFY(torch::equal(file.read("a"), a));
        QVERIFY(torch::equal(file.read("b"), b));
        QCOMPARE(file.metadata().at("format"), std::string("pt"));
        QVERIFY(errorMessageOf([&] { file.read("c"); }).find("'c' not found") != std::string::npos);
    }

    void configWeightsMismatch()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        copyModelFolder(sharedPath(kReferenceModel), folder);
        auto config = rlq::readFile(folder / "config.json");
        config.replace(config.find("\"n_embd\": 128"), 13, "\"n_embd\": 256");
        rlq::writeFileAtomically(folder / "config.json", config);

        const auto message = errorMessageOf([&] { rlq::loadModel(folder.string()); });
        QVERIFY(message.find("model.safetensors") != std::string::npos);
        QVERIFY(message.find("n_embd 256") != std::string::npos);
        QVERIFY(message.find("do not belong") != std::string::npos);
    }

    void configErrors()
    {
        QTemporaryDir dir;
        const fs::path path = fs::path(dir.path().toStdString()) / "config.json";
        rlq::writeFileAtomically(path, "{\"model_type\": \"llama\"}");
        QVERIFY(errorMessageOf([&] { rlq::readGpt2Config(path); }).find("GPT-2 models only") != std::string::npos);

        rlq::writeFileAtomically(path, "{\"n_layer\": -1}");
        QVERIFY(errorMessageOf([&] { rlq::readGpt2Config(path); }).find("'n_layer'") != std::string::npos);

        rlq::writeFileAtomically(path, "{not json");
        QVERIFY(errorMessageOf([&] { rlq::readGpt2Config(path); }).find("not valid JSON") != std::string::npos);

        const auto missing = errorMessageOf([&] { rlq::loadModel(dir.path().toStdString()); });
        QVERIFY(missing.find("not found") != std::string::npos);
    }

    void tokenizerVocabMismatch()
    {
        RLQ_REQUIRE_SHARED(kReferenceModel);
        QTemporaryDir dir;
        const fs::path folder = dir.path().toStdString();
        copyModelFolder(sharedPath(kReferenceModel), folder);
        auto config = rlq::readFile(folder / "config.json");
        config.replace(config.find("\"vocab_size\": 50257"), 19, "\"vocab_size\": 50000");
        rlq::writeFileAtomically(folder / "config.json", config);

        const auto message = errorMessageOf([&] { rlq::loadModel(folder.string()); });
        QVERIFY(message.find("vocab.json") != std::string::npos);
        QVERIFY(message.find("50000") != std::string::npos);
    }
};

QTEST_GUILESS_MAIN(ModelTest)
#include "test_model.moc"

#include "model/ModelLocator.h"

#include "export/QuantizedCheckpoint.h"

#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/Hash.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace rlq {

namespace {

std::string environment(const char* name)
{
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

std::string trimmed(std::string text)
{
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.pop_back();
    }
    return text;
}

// Picks the snapshot that refs/main names, else the newest one.
std::filesystem::path pickSnapshot(const std::filesystem::path& repoFolder)
{
    const auto snapshots = repoFolder / "snapshots";
    const auto mainRef = repoFolder / "refs" / "main";
    if (std::filesystem::exists(mainRef)) {
        const auto revision = trimmed(readFile(mainRef));
        if (!revision.empty() && std::filesystem::exists(snapshots / revision / "config.json")) {
            return snapshots / revision;
        }
    }

    std::filesystem::path newest;
    std::filesystem::file_time_type newestTime{};
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(snapshots, error)) {
        if (!std::filesystem::exists(entry.path() / "config.json")) {
            continue;
        }
        const auto time = std::filesystem::last_write_time(entry.path(), error);
        if (newest.empty() || time > newestTime) {
            newest = entry.path();
            newestTime = time;
        }
    }
    return newest;
}

// Cache folder names to try for a repo id: "gpt2" may be cached under its
// old name or under the owner Hugging Face moved it to.
std::vector<std::string> cacheFolderNames(const std::string& repoId)
{
    std::string slashFree = repoId;
    for (auto& c : slashFree) {
        if (c == '/') {
            c = '-';
        }
    }
    std::vector<std::string> names;
    if (repoId.find('/') != std::string::npos) {
        const auto slash = repoId.find('/');
        names.push_back("models--" + repoId.substr(0, slash) + "--" + repoId.substr(slash + 1));
    } else {
        names.push_back("models--" + repoId);
        names.push_back("models--openai-community--" + repoId);
        names.push_back("models--distilbert--" + repoId);
    }
    return names;
}

bool isGpt2Config(const std::filesystem::path& configJson)
{
    try {
        const auto config = nlohmann::json::parse(readFile(configJson));
        return config.is_object() && config.value("model_type", std::string()) == "gpt2";
    } catch (const std::exception&) {
        return false;
    }
}

std::string repoIdFromCacheFolder(const std::string& folderName)
{
    // "models--openai-community--gpt2" -> "openai-community/gpt2"
    std::string id = folderName.substr(std::string("models--").size());
    const auto separator = id.find("--");
    if (separator != std::string::npos) {
        id.replace(separator, 2, "/");
    }
    return id;
}

void requireFile(const std::filesystem::path& folder, const char* name)
{
    if (!std::filesystem::exists(folder / name)) {
        throw Error((folder / name).string() + " not found; a GPT-2 model folder needs config.json, "
                                               "model.safetensors (or a packed RLQ checkpoint), vocab.json and merges.txt");
    }
}

} // namespace

std::filesystem::path huggingFaceHubCache()
{
    if (const auto hubCache = environment("HF_HUB_CACHE"); !hubCache.empty()) {
        return hubCache;
    }
    if (const auto home = environment("HF_HOME"); !home.empty()) {
        return std::filesystem::path(home) / "hub";
    }
    if (const auto xdg = environment("XDG_CACHE_HOME"); !xdg.empty()) {
        return std::filesystem::path(xdg) / "huggingface" / "hub";
    }
    return std::filesystem::path(environment("HOME")) / ".cache" / "huggingface" / "hub";
}

std::filesystem::path demoBundleFolder()
{
    std::vector<std::filesystem::path> candidates;
    if (const auto configured = environment("RLQ_DEMO_DIR"); !configured.empty()) {
        candidates.emplace_back(configured);
    }
    std::error_code error;
    const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) {
        const auto binDir = executable.parent_path();
        candidates.push_back(binDir / "../share/rlq-studio/demo");
        candidates.push_back(binDir / "../resources/demo");
        candidates.push_back(binDir / "../../resources/demo");
    }
#ifdef RLQ_SOURCE_RESOURCES
    candidates.emplace_back(RLQ_SOURCE_RESOURCES "/demo");
#endif
    for (const auto& candidate : candidates) {
        if (std::filesystem::exists(candidate / "model" / "config.json")) {
            return std::filesystem::weakly_canonical(candidate);
        }
    }
    return {};
}

ModelSource resolveModel(const std::string& pathOrName)
{
    if (pathOrName.empty()) {
        throw Error("no model given; pass a folder, a cached Hugging Face name such as gpt2, or demo");
    }
    if (pathOrName == "demo") {
        const auto demo = demoBundleFolder();
        if (demo.empty()) {
            throw Error("the built-in demo bundle was not found (resources/demo); set RLQ_DEMO_DIR to its folder");
        }
        return {"demo", demo / "model", "demo"};
    }

    const std::filesystem::path asPath(pathOrName);
    if (std::filesystem::is_directory(asPath)) {
        return {asPath.filename().string(), asPath, "folder"};
    }
    if (std::filesystem::exists(asPath)) {
        throw Error(pathOrName + " is a file; pass the model's folder (with config.json and model.safetensors)");
    }

    const auto cache = huggingFaceHubCache();
    for (const auto& folderName : cacheFolderNames(pathOrName)) {
        const auto repoFolder = cache / folderName;
        if (!std::filesystem::is_directory(repoFolder)) {
            continue;
        }
        const auto snapshot = pickSnapshot(repoFolder);
        if (!snapshot.empty()) {
            return {repoIdFromCacheFolder(folderName), snapshot, "huggingface-cache"};
        }
    }
    throw Error("model '" + pathOrName + "' is neither a folder nor in the Hugging Face cache at " + cache.string() +
                "; pass a folder path, download it with huggingface-cli, or use demo");
}

std::vector<ModelSource> listCachedGpt2Models()
{
    std::vector<ModelSource> models;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(huggingFaceHubCache(), error)) {
        const std::string folderName = entry.path().filename().string();
        if (folderName.rfind("models--", 0) != 0) {
            continue;
        }
        const auto snapshot = pickSnapshot(entry.path());
        if (!snapshot.empty() && isGpt2Config(snapshot / "config.json") &&
            std::filesystem::exists(snapshot / "model.safetensors")) {
            models.push_back({repoIdFromCacheFolder(folderName), snapshot, "huggingface-cache"});
        }
    }
    std::sort(models.begin(), models.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return models;
}

LoadedModel loadModel(const ModelSource& source)
{
    const bool packed = isPackedCheckpoint(source.folder);
    for (const char* name : {"config.json", packed ? kPackedWeightsFile : "model.safetensors", "vocab.json", "merges.txt"}) {
        requireFile(source.folder, name);
    }

    LoadedModel model{source, readGpt2Config(source.folder / "config.json"), {},
                      Gpt2Tokenizer::fromDirectory(source.folder)};
    if (model.tokenizer.vocabSize() > model.config.vocabSize) {
        throw Error((source.folder / "vocab.json").string() + ": the tokenizer has " +
                    std::to_string(model.tokenizer.vocabSize()) + " ids but config.json's vocab_size is " +
                    std::to_string(model.config.vocabSize) + "; use the tokenizer files that came with the model");
    }
    model.weights = packed ? readPackedWeights(source.folder, model.config)
                           : loadGpt2Weights(source.folder / "model.safetensors", model.config);
    return model;
}

LoadedModel loadModel(const std::string& pathOrName)
{
    return loadModel(resolveModel(pathOrName));
}

} // namespace rlq

namespace rlq {

std::string modelFingerprint(const std::filesystem::path& folder)
{
    // A packed RLQ checkpoint has no model.safetensors; its packed file
    // identifies the weights instead.
    const char* weightsFile = std::filesystem::exists(folder / "rlq_manifest.json") ? "model.rlq.safetensors"
                                                                                   : "model.safetensors";
    uint64_t hash = kFnv1a64Basis;
    for (const char* name : {"config.json", weightsFile}) {
        if (!std::filesystem::exists(folder / name)) {
            throw Error((folder / name).string() + " not found; cannot fingerprint the model");
        }
        hash = fnv1a64File(folder / name, hash);
    }
    return fnv1a64Text(hash);
}

} // namespace rlq

namespace rlq {

std::string resolveDatasetSpec(const std::string& spec)
{
    if (spec != "demo") {
        return spec;
    }
    const auto demo = demoBundleFolder();
    if (demo.empty()) {
        throw Error("the built-in demo bundle was not found (resources/demo); set RLQ_DEMO_DIR to its folder");
    }
    return (demo / "data").string();
}

} // namespace rlq

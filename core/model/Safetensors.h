#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace rlq {

// One tensor entry of a safetensors header.
struct SafetensorsEntry {
    std::string dtype;              // "F32", "F16", "BF16", "I64", "U8", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0;             // byte offsets relative to the data section
    uint64_t end = 0;
};

// A safetensors file mapped into memory. The layout is an 8-byte
// little-endian header length, a JSON header and the raw tensor bytes.
// Every offset is checked against the file size when the file is opened, so
// later reads never leave the mapping.
class SafetensorsFile {
public:
    // Throws rlq::Error naming the file and the bad field.
    explicit SafetensorsFile(const std::filesystem::path& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    bool contains(const std::string& name) const { return entries_.count(name) != 0; }
    const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    // Returns a copy of the tensor in its stored dtype (owning memory, so it
    // outlives this object). Throws rlq::Error when the name is absent.
    torch::Tensor read(const std::string& name) const;

    // Returns the tensor converted to float32 (F32, F16 and BF16 only).
    torch::Tensor readFloat(const std::string& name) const;

private:
    void parseHeader(uint64_t fileSize);

    std::filesystem::path path_;
    std::map<std::string, SafetensorsEntry> entries_;
    std::map<std::string, std::string> metadata_;
    const uint8_t* data_ = nullptr;   // start of the tensor bytes
    void* mapping_ = nullptr;
    size_t mappingSize_ = 0;
};

// Maps a safetensors dtype name to a LibTorch scalar type; throws rlq::Error
// for names this project does not read.
torch::ScalarType scalarTypeFromSafetensors(const std::string& dtype, const std::string& context);
std::string safetensorsDtypeName(torch::ScalarType type);

// Writes tensors (made contiguous, CPU) to `path` atomically: the bytes go to
// a temporary file beside it, which is renamed over `path` only when complete.
void writeSafetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

} // namespace rlq

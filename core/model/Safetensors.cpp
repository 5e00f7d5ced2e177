#include "model/Safetensors.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rlq {

namespace {

// A header longer than this is certainly not a tensor index; the format's
// reference implementation uses the same order of magnitude (100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

struct DtypeInfo {
    const char* name;
    torch::ScalarType type;
    size_t bytes;
};

const DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2}, {"BF16", torch::kBFloat16, 2},
    {"F64", torch::kFloat64, 8}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* findDtype(const std::string& name)
{
    for (const auto& info : kDtypes) {
        if (name == info.name) {
            return &info;
        }
    }
    return nullptr;
}

std::string allowedDtypeNames()
{
    std::string names;
    for (const auto& info : kDtypes) {
        names += names.empty() ? "" : ", ";
        names += info.name;
    }
    return names;
}

uint64_t readLittleEndian64(const uint8_t* bytes)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) {
        value = (value << 8) | bytes[i];
    }
    return value;
}

void appendLittleEndian64(std::string& out, uint64_t value)
{
    for (int i = 0; i < 8; ++i) {
        out.push_back(char((value >> (8 * i)) & 0xff));
    }
}

} // namespace

torch::ScalarType scalarTypeFromSafetensors(const std::string& dtype, const std::string& context)
{
    const DtypeInfo* info = findDtype(dtype);
    if (!info) {
        throw Error(context + ": unknown dtype '" + dtype + "'; supported: " + allowedDtypeNames());
    }
    return info->type;
}

std::string safetensorsDtypeName(torch::ScalarType type)
{
    for (const auto& info : kDtypes) {
        if (info.type == type) {
            return info.name;
        }
    }
    throw Error(std::string("cannot store tensors of type ") + c10::toString(type) + " in safetensors");
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        throw Error("cannot open " + path.string() + ": " + std::strerror(errno) +
                    "; check that the model folder contains model.safetensors");
    }

    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        ::close(fd);
        throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    const uint64_t fileSize = uint64_t(info.st_size);
    if (fileSize < 8) {
        ::close(fd);
        throw Error(path.string() + ": file is " + std::to_string(fileSize) +
                    " bytes, too short for a safetensors header; the download is probably truncated");
    }

    void* mapping = ::mmap(nullptr, fileSize, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (mapping == MAP_FAILED) {
        throw Error("cannot map " + path.string() + " into memory: " + std::strerror(errno));
    }
    mapping_ = mapping;
    mappingSize_ = fileSize;

    try {
        parseHeader(fileSize);
    } catch (...) {
        ::munmap(mapping_, mappingSize_);
        throw;
    }
}

SafetensorsFile::~SafetensorsFile()
{
    if (mapping_) {
        ::munmap(mapping_, mappingSize_);
    }
}

void SafetensorsFile::parseHeader(uint64_t fileSize)
{
    const auto* bytes = static_cast<const uint8_t*>(mapping_);
    const std::string file = path_.string();

    const uint64_t headerSize = readLittleEndian64(bytes);
    if (headerSize > kMaxHeaderBytes || headerSize > fileSize - 8) {
        throw Error(file + ": header length " + std::to_string(headerSize) + " exceeds the file size " +
                    std::to_string(fileSize) + "; the file is truncated or not a safetensors file");
    }
    data_ = bytes + 8 + headerSize;
    const uint64_t dataSize = fileSize - 8 - headerSize;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(bytes + 8, bytes + 8 + headerSize);
    } catch (const nlohmann::json::exception& error) {
        throw Error(file + ": header is not valid JSON (" + error.what() +
                    "); the file is truncated or corrupt, download it again");
    }
    if (!header.is_object()) {
        throw Error(file + ": header is not a JSON object; the file is not a safetensors file");
    }

    for (const auto& [name, value] : header.items()) {
        const std::string context = file + ": tensor '" + name + "'";
        if (name == "__metadata__") {
            if (value.is_object()) {
                for (const auto& [key, text] : value.items()) {
                    if (text.is_string()) {
                        metadata_[key] = text.get<std::string>();
                    }
                }
            }
            continue;
        }
        if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
            !value.contains("data_offsets")) {
            throw Error(context + ": entry needs 'dtype', 'shape' and 'data_offsets'; the file is corrupt");
        }

        SafetensorsEntry entry;
        if (!value["dtype"].is_string()) {
            throw Error(context + ": field 'dtype' is not a string; the file is corrupt");
        }
        entry.dtype = value["dtype"].get<std::string>();
        const DtypeInfo* dtype = findDtype(entry.dtype);
        if (!dtype) {
            throw Error(context + ": unknown dtype '" + entry.dtype + "'; supported: " + allowedDtypeNames());
        }

        uint64_t numel = 1;
        for (const auto& dim : value["shape"]) {
            if (!dim.is_number_unsigned()) {
                throw Error(context + ": field 'shape' must hold non-negative integers; the file is corrupt");
            }
            entry.shape.push_back(dim.get<int64_t>());
            numel *= dim.get<uint64_t>();
        }

        const auto& offsets = value["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned()) {
            throw Error(context + ": field 'data_offsets' must be two non-negative integers; the file is corrupt");
        }
        entry.begin = offsets[0].get<uint64_t>();
        entry.end = offsets[1].get<uint64_t>();
        if (entry.begin > entry.end || entry.end > dataSize) {
            throw Error(context + ": data_offsets [" + std::to_string(entry.begin) + ", " +
                        std::to_string(entry.end) + "] lie outside the " + std::to_string(dataSize) +
                        "-byte data section; the file is truncated or corrupt, download it again");
        }
        if (entry.end - entry.begin != numel * dtype->bytes) {
            throw Error(context + ": contains " + std::to_string(entry.end - entry.begin) + " bytes but shape and dtype " +
                        entry.dtype + " need " + std::to_string(numel * dtype->bytes) + "; the file is corrupt");
        }
        entries_[name] = std::move(entry);
    }
}

torch::Tensor SafetensorsFile::read(const std::string& name) const
{
    const auto found = entries_.find(name);
    if (found == entries_.end()) {
        throw Error(path_.string() + ": tensor '" + name + "' not found; the checkpoint does not match the config");
    }
    const SafetensorsEntry& entry = found->second;
    const torch::ScalarType type = scalarTypeFromSafetensors(entry.dtype, path_.string());

    // from_blob does not own the mapped bytes, so clone before returning.
    // Safetensors data offsets need not be aligned; clone copies bytewise.
    auto* source = const_cast<uint8_t*>(data_ + entry.begin);
    auto view = torch::from_blob(source, entry.shape, torch::TensorOptions().dtype(type));
    return view.clone();
}

torch::Tensor SafetensorsFile::readFloat(const std::string& name) const
{
    const auto found = entries_.find(name);
    if (found != entries_.end()) {
        const std::string& dtype = found->second.dtype;
        if (dtype != "F32" && dtype != "F16" && dtype != "BF16") {
            throw Error(path_.string() + ": tensor '" + name + "' has dtype " + dtype +
                        "; model weights must be F32, F16 or BF16");
        }
    }
    return read(name).to(torch::kFloat32);
}

void writeSafetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    std::vector<torch::Tensor> contiguous;
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }

    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        auto data = tensor.detach().to(torch::kCPU).contiguous();
        const uint64_t bytes = uint64_t(data.numel()) * data.element_size();
        header[name] = {{"dtype", safetensorsDtypeName(data.scalar_type())},
                        {"shape", data.sizes().vec()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        contiguous.push_back(std::move(data));
    }

    // Pad the header with spaces to a multiple of 8 bytes so that readers
    // which map the file get aligned tensor data.
    std::string headerText = header.dump();
    headerText.append((8 - headerText.size() % 8) % 8, ' ');
    std::string prefix;
    appendLittleEndian64(prefix, headerText.size());

    writeFileAtomically(path, [&](std::ofstream& out) {
        out.write(prefix.data(), std::streamsize(prefix.size()));
        out.write(headerText.data(), std::streamsize(headerText.size()));
        for (const auto& data : contiguous) {
            out.write(static_cast<const char*>(data.data_ptr()), std::streamsize(data.numel() * data.element_size()));
        }
    });
}

} // namespace rlq

#include "util/Hash.h"

#include "util/Error.h"

#include <cstdio>
#include <fstream>
#include <vector>

namespace rlq {

uint64_t fnv1a64(const void* data, size_t size, uint64_t hash)
{
    constexpr uint64_t kPrime = 1099511628211ull;
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
        hash = (hash ^ bytes[i]) * kPrime;
    }
    return hash;
}

uint64_t fnv1a64File(const std::filesystem::path& path, uint64_t hash)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path.string() + " cannot be read; check that it exists and is readable");
    }
    std::vector<char> buffer(size_t(1) << 20);
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        hash = fnv1a64(buffer.data(), size_t(in.gcount()), hash);
    }
    // eof alone ends a complete read; bad means the read itself failed.
    if (in.bad()) {
        throw Error("reading " + path.string() + " failed; check the disk and retry");
    }
    return hash;
}

std::string fnv1a64Text(uint64_t hash)
{
    char text[32];
    std::snprintf(text, sizeof text, "fnv1a64:%016llx", static_cast<unsigned long long>(hash));
    return text;
}

} // namespace rlq

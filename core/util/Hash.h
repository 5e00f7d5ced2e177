#pragma once

// 64-bit FNV-1a: a fast, dependency-free content hash for fingerprints
// and corruption checks (not for security).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace rlq {

constexpr uint64_t kFnv1a64Basis = 14695981039346656037ull;

// Continues a hash over `size` bytes; start from kFnv1a64Basis.
uint64_t fnv1a64(const void* data, size_t size, uint64_t hash = kFnv1a64Basis);

// Continues a hash over the bytes of a file. Throws rlq::Error naming the
// file when it cannot be read.
uint64_t fnv1a64File(const std::filesystem::path& path, uint64_t hash = kFnv1a64Basis);

// "fnv1a64:" and 16 lower-case hex digits.
std::string fnv1a64Text(uint64_t hash);

} // namespace rlq

#pragma once

// Helpers shared by the dataset sources (Dataset.cpp, QaReaders.cpp,
// Splits.cpp). Not part of the public API.

#include "data/Dataset.h"

#include <filesystem>
#include <string>
#include <vector>

namespace rlq::detail {

// Parses JSONL bytes (already checked to be valid UTF-8) into QA rows. The
// first non-blank row picks the layout, and every row must match it.
// Throws rlq::Error "FILE:LINE: ..." on the first bad row.
DatasetFile readQaJsonl(const std::filesystem::path& path, const std::string& bytes);

// Returns the 1-based line that contains byte `offset` of `bytes`.
size_t lineNumberAt(const std::string& bytes, size_t offset);

// Returns "PATH:LINE", the prefix of every row-level message.
std::string fileLine(const std::filesystem::path& path, size_t line);

// Returns the short dataset name shared by the original and Hugging Face
// layouts ("commonsenseqa", "openbookqa"), or "" for plain text.
std::string datasetFamily(DatasetLayout layout);

} // namespace rlq::detail

#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace rlq {

// Writes a file atomically: `writeContents` fills a temporary file in the
// same folder, which is flushed and renamed over `path` only when the
// callback returns normally. On any error the temporary file is removed and
// `path` keeps its previous contents. Throws rlq::Error on I/O failure.
void writeFileAtomically(const std::filesystem::path& path,
                         const std::function<void(std::ofstream&)>& writeContents);

// Convenience form for text and small binary payloads.
void writeFileAtomically(const std::filesystem::path& path, const std::string& contents);

// Reads a whole file; throws rlq::Error naming the file when it cannot.
std::string readFile(const std::filesystem::path& path);

} // namespace rlq

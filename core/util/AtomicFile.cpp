#include "util/AtomicFile.h"

#include "util/Error.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <unistd.h>

namespace rlq {

namespace {

std::filesystem::path temporaryPathFor(const std::filesystem::path& path)
{
    // The process id and a counter keep concurrent writers of one folder
    // from sharing a temporary name.
    static std::atomic<unsigned> counter{0};
    std::ostringstream name;
    name << "." << path.filename().string() << ".tmp-" << ::getpid() << "-" << counter++;
    return path.parent_path() / name.str();
}

} // namespace

void writeFileAtomically(const std::filesystem::path& path,
                         const std::function<void(std::ofstream&)>& writeContents)
{
    if (!path.parent_path().empty()) {
        std::error_code ignored;
        std::filesystem::create_directories(path.parent_path(), ignored);
    }
    const auto temporary = temporaryPathFor(path);

    try {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw Error("cannot write " + temporary.string() + ": " + std::strerror(errno) +
                        "; check that the folder exists and is writable");
        }
        writeContents(out);
        out.flush();
        if (!out) {
            throw Error("failed to write " + path.string() + " (disk full?); free space and retry");
        }
        out.close();
        std::filesystem::rename(temporary, path);
    } catch (const std::filesystem::filesystem_error& error) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw Error("cannot replace " + path.string() + ": " + error.code().message());
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(temporary, ignored);
        throw;
    }
}

void writeFileAtomically(const std::filesystem::path& path, const std::string& contents)
{
    writeFileAtomically(path, [&](std::ofstream& out) { out.write(contents.data(), std::streamsize(contents.size())); });
}

std::string readFile(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("cannot open " + path.string() + ": " + std::strerror(errno) + "; check the path");
    }
    std::ostringstream contents;
    contents << in.rdbuf();
    return contents.str();
}

} // namespace rlq

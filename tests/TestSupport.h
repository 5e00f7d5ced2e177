#pragma once

#include "util/Error.h"

#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <string>

// Locates the read-only reference data. CTest passes RLQ_SHARED_DIR from the
// CMake cache setting of the same name.
inline std::filesystem::path sharedDir()
{
    const char* value = std::getenv("RLQ_SHARED_DIR");
    return value ? std::filesystem::path(value) : std::filesystem::path("../shared");
}

// Returns the path of a file or folder below the shared data folder.
inline std::filesystem::path sharedPath(const std::string& relative)
{
    return sharedDir() / relative;
}

// Skips the calling test function when a required shared file is absent.
#define RLQ_REQUIRE_SHARED(relative)                                                   \
    do {                                                                               \
        const auto required_path_ = sharedPath(relative);                              \
        if (!std::filesystem::exists(required_path_)) {                                \
            QSKIP(qPrintable(QStringLiteral("reference data not found at %1; set the " \
                                            "CMake option RLQ_SHARED_DIR")             \
                                 .arg(QString::fromStdString(required_path_.string())))); \
        }                                                                              \
    } while (false)

// Runs `action` and returns the message of the rlq::Error it throws, or ""
// when it throws none.
template <typename Action>
std::string errorMessageOf(Action action)
{
    try {
        action();
    } catch (const rlq::Error& error) {
        return error.what();
    }
    return {};
}

#pragma once

#include <stdexcept>
#include <string>

namespace rlq {

// Error for bad user input or a failed operation. The message is one line
// meant for the user: what failed, on which file or value, and what to do.
// Front ends print it as is (CLI exit code 2, GUI message box).
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

} // namespace rlq

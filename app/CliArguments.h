#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace rlq::cli {

// Parsed "--name value" options and "--flag" switches of one subcommand.
// Unknown options are rejected so that a typo never silently falls back to
// a default.
class Arguments {
public:
    // valueOptions take one value; flagOptions take none. Throws rlq::Error
    // naming the unknown option or the option missing its value.
    Arguments(const std::vector<std::string>& args, const std::set<std::string>& valueOptions,
              const std::set<std::string>& flagOptions);

    bool has(const std::string& name) const;
    std::string value(const std::string& name, const std::string& fallback = {}) const;
    int64_t integer(const std::string& name, int64_t fallback) const;
    double number(const std::string& name, double fallback) const;

private:
    std::map<std::string, std::string> values_;
};

} // namespace rlq::cli

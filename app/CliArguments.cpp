#include "CliArguments.h"

#include "util/Error.h"

#include <cmath>

namespace rlq::cli {

Arguments::Arguments(const std::vector<std::string>& args, const std::set<std::string>& valueOptions,
                     const std::set<std::string>& flagOptions)
{
    for (size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::string inlineValue;
        bool hasInlineValue = false;
        if (const auto equals = name.find('='); name.rfind("--", 0) == 0 && equals != std::string::npos) {
            inlineValue = name.substr(equals + 1);
            name = name.substr(0, equals);
            hasInlineValue = true;
        }

        if (flagOptions.count(name)) {
            values_[name] = "1";
        } else if (valueOptions.count(name)) {
            if (hasInlineValue) {
                values_[name] = inlineValue;
            } else if (i + 1 < args.size()) {
                values_[name] = args[++i];
            } else {
                throw Error("option " + name + " needs a value; see --help");
            }
        } else {
            throw Error("unknown option '" + args[i] + "'; see --help for the options of this command");
        }
    }
}

bool Arguments::has(const std::string& name) const
{
    return values_.count(name) != 0;
}

std::string Arguments::value(const std::string& name, const std::string& fallback) const
{
    const auto found = values_.find(name);
    return found == values_.end() ? fallback : found->second;
}

int64_t Arguments::integer(const std::string& name, int64_t fallback) const
{
    if (!has(name)) {
        return fallback;
    }
    const std::string text = value(name);
    try {
        size_t used = 0;
        const long long parsed = std::stoll(text, &used);
        if (used == text.size()) {
            return parsed;
        }
    } catch (const std::exception&) {
    }
    throw Error("option " + name + " needs a whole number, got '" + text + "'");
}

double Arguments::number(const std::string& name, double fallback) const
{
    if (!has(name)) {
        return fallback;
    }
    const std::string text = value(name);
    try {
        size_t used = 0;
        const double parsed = std::stod(text, &used);
        if (used == text.size() && std::isfinite(parsed)) {
            return parsed;
        }
    } catch (const std::exception&) {
    }
    throw Error("option " + name + " needs a number, got '" + text + "'");
}

} // namespace rlq::cli

#pragma once

// Typed, checked reading of JSON fields for the project's file formats, so
// that every bad value becomes an rlq::Error naming the file, the field and
// the fix instead of a library type error.

#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <type_traits>

namespace rlq {

// Location of a JSON field for messages: the file, and the fix to suggest.
struct JsonContext {
    std::string file;   // e.g. "runs/x/best_policy.json"
    std::string fix;    // what to do, e.g. "export the policy again with rlq search"

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const
    {
        throw Error(file + ": field '" + field + "' " + problem + "; " + fix);
    }
};

// Joins a parent path and a key: ("model", "name") -> "model.name".
inline std::string jsonFieldPath(const std::string& parent, const std::string& key)
{
    return parent.empty() ? key : parent + "." + key;
}

// Converts `value` to T. Integers must be JSON integers within T's range
// (4.9 or true is not an integer), numbers any JSON number, strings JSON
// strings.
template <typename T>
T jsonValueAs(const nlohmann::json& value, const JsonContext& context, const std::string& field)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (!value.is_boolean()) {
            context.fail(field, "is " + value.dump() + ", expected true or false");
        }
        return value.get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
        const bool integral = value.is_number_integer();
        bool inRange = false;
        if (value.is_number_unsigned()) {
            inRange = value.get<unsigned long long>() <= static_cast<unsigned long long>(std::numeric_limits<T>::max());
        } else if (integral) {
            const long long number = value.get<long long>();
            inRange = number >= static_cast<long long>(std::numeric_limits<T>::min()) &&
                      (number < 0 || static_cast<unsigned long long>(number) <=
                                         static_cast<unsigned long long>(std::numeric_limits<T>::max()));
        }
        if (!integral || !inRange) {
            context.fail(field, "is " + value.dump() + ", expected a whole number");
        }
        return value.get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!value.is_number()) {
            context.fail(field, "is " + value.dump() + ", expected a number");
        }
        return value.get<T>();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!value.is_string()) {
            context.fail(field, "is " + value.dump() + ", expected a string");
        }
        return value.get<std::string>();
    } else {
        static_assert(std::is_same_v<T, nlohmann::json>, "unsupported JSON field type");
        return value;
    }
}

// Field `key` of the object `parent` (at path `parentPath`), required.
template <typename T>
T requireJsonField(const nlohmann::json& parent, const std::string& parentPath, const std::string& key,
                   const JsonContext& context)
{
    const std::string field = jsonFieldPath(parentPath, key);
    if (!parent.is_object()) {
        context.fail(parentPath.empty() ? "(top level)" : parentPath, "is " + parent.dump() + ", expected an object");
    }
    if (!parent.contains(key)) {
        context.fail(field, "is missing");
    }
    return jsonValueAs<T>(parent.at(key), context, field);
}

} // namespace rlq

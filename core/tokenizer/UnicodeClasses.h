#pragma once

#include <cstdint>

// Code point classes of the GPT-2 pre-tokenization pattern. The tables live in
// UnicodeClasses.cpp, which scripts/gen_unicode_classes.py generates; see that
// file's header for the Unicode version.
namespace rlq::unicode {

// Disjoint classes: Letter is \p{L} (general categories L*), Number is \p{N}
// (N*), Whitespace is the White_Space property, and Other is everything else,
// including unassigned and surrogate code points.
// NOTE: the tables follow Unicode 14.0. Letters and numbers assigned in later
// versions are Other here but may be L or N in the regex engine of a newer
// Hugging Face install. Rerun the generator with a newer Python to update.
enum class CharClass : std::uint8_t { Other, Letter, Number, Whitespace };

extern const CharClass kAsciiCharClasses[128];

// Looks the code point up by binary search over the generated ranges.
CharClass classifyNonAscii(char32_t codePoint);

inline CharClass classifyCodePoint(char32_t codePoint)
{
    return codePoint < 128 ? kAsciiCharClasses[codePoint] : classifyNonAscii(codePoint);
}

} // namespace rlq::unicode

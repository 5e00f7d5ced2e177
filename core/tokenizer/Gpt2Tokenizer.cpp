#include "tokenizer/Gpt2Tokenizer.h"

#include "tokenizer/UnicodeClasses.h"
#include "util/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace rlq {

namespace detail {

// Result of merging the pair (left id, right id).
struct MergeRule {
    int32_t rank;     // 0-based position in merges.txt, and lower ranks merge first
    int32_t mergedId; // vocabulary id of the concatenated token
};

// Immutable tables built by Gpt2Tokenizer::fromFiles.
struct Gpt2Tables {
    std::filesystem::path vocabPath;           // for error messages
    std::vector<std::string> tokenBytes;       // id -> raw bytes of the token
    std::array<int32_t, 256> byteTokenIds{};   // byte -> id of its one-byte token
    std::unordered_map<uint64_t, MergeRule> merges; // key: pairKey(left id, right id)
    int32_t endOfTextId = -1;
};

// Cache of pre-token bytes -> token ids, shared by all threads that use one
// tokenizer. It is split into shards with one mutex each, so concurrent
// encode() calls rarely wait on the same lock.
class Gpt2WordCache {
public:
    // Pre-tokens longer than this are merged on every call, so that a few
    // huge pre-tokens (long whitespace or symbol runs) cannot fill the memory.
    static constexpr std::size_t kMaxWordBytes = 256;

    // Appends the cached ids of word to ids and returns true, or returns false.
    bool appendCached(std::string_view word, std::size_t hash, std::vector<int32_t>& ids)
    {
        Shard& shard = shardFor(hash);
        std::lock_guard<std::mutex> lock(shard.mutex);

        const auto found = shard.entries.find(hash);
        if (found == shard.entries.end() || found->second.word != word) {
            return false;
        }
        ids.insert(ids.end(), found->second.ids.begin(), found->second.ids.end());
        return true;
    }

    // Stores the ids of word. A full shard is emptied first, which bounds the
    // memory at about kShardCount * kMaxEntriesPerShard entries.
    void store(std::string_view word, std::size_t hash, const int32_t* ids, std::size_t count)
    {
        Shard& shard = shardFor(hash);
        std::lock_guard<std::mutex> lock(shard.mutex);

        if (shard.entries.size() >= kMaxEntriesPerShard) {
            shard.entries.clear();
        }

        // Two words with the same hash share a slot, and the newer one wins.
        Entry& entry = shard.entries[hash];
        entry.word.assign(word);
        entry.ids.assign(ids, ids + count);
    }

private:
    static constexpr std::size_t kShardCount = 16;
    static constexpr std::size_t kMaxEntriesPerShard = 4096;

    struct Entry {
        std::string word;
        std::vector<int32_t> ids;
    };

    struct Shard {
        std::mutex mutex; // guards entries
        std::unordered_map<std::size_t, Entry> entries;
    };

    Shard& shardFor(std::size_t hash) { return shards_[(hash >> 32) % kShardCount]; }

    std::array<Shard, kShardCount> shards_;
};

} // namespace detail

namespace {

using detail::Gpt2Tables;
using detail::Gpt2WordCache;
using detail::MergeRule;
using unicode::CharClass;

constexpr std::string_view kEndOfText = "<|endoftext|>";
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

// ---------------------------------------------------------------------------
// UTF-8

struct Utf8Sequence {
    char32_t codePoint;  // meaningful only when valid
    std::size_t length;  // bytes consumed: the whole sequence, or the maximal invalid subpart
    bool valid;
};

// Reads the UTF-8 sequence at pos (pos < text.size()). Well-formed sequences
// follow RFC 3629, which excludes overlong forms, surrogates and code points
// above U+10FFFF. An ill-formed sequence reports its maximal subpart: the lead
// byte plus the continuation bytes that were still allowed, at least 1 byte.
Utf8Sequence readUtf8(std::string_view text, std::size_t pos)
{
    const auto lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) {
        return {lead, 1, true};
    }

    std::size_t length = 0;
    char32_t codePoint = 0;
    unsigned char secondMin = 0x80;
    unsigned char secondMax = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        codePoint = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        codePoint = lead & 0x0F;
        secondMin = lead == 0xE0 ? 0xA0 : 0x80; // no overlong forms
        secondMax = lead == 0xED ? 0x9F : 0xBF; // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        codePoint = lead & 0x07;
        secondMin = lead == 0xF0 ? 0x90 : 0x80; // no overlong forms
        secondMax = lead == 0xF4 ? 0x8F : 0xBF; // nothing above U+10FFFF
    } else {
        return {0, 1, false};
    }

    for (std::size_t i = 1; i < length; ++i) {
        if (pos + i >= text.size()) {
            return {0, i, false};
        }
        const auto byte = static_cast<unsigned char>(text[pos + i]);
        const unsigned char min = i == 1 ? secondMin : 0x80;
        const unsigned char max = i == 1 ? secondMax : 0xBF;
        if (byte < min || byte > max) {
            return {0, i, false};
        }
        codePoint = (codePoint << 6) | (byte & 0x3F);
    }
    return {codePoint, length, true};
}

void appendUtf8(std::string& out, char32_t codePoint)
{
    if (codePoint < 0x80) {
        out += static_cast<char>(codePoint);
    } else if (codePoint < 0x800) {
        out += static_cast<char>(0xC0 | (codePoint >> 6));
        out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else if (codePoint < 0x10000) {
        out += static_cast<char>(0xE0 | (codePoint >> 12));
        out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (codePoint >> 18));
        out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (codePoint & 0x3F));
    }
}

// Returns bytes with each maximal ill-formed subpart replaced by U+FFFD, the
// same output as Python's bytes.decode("utf-8", errors="replace").
std::string replaceInvalidUtf8(std::string bytes)
{
    std::size_t validPrefix = 0;
    while (validPrefix < bytes.size()) {
        const Utf8Sequence sequence = readUtf8(bytes, validPrefix);
        if (!sequence.valid) {
            break;
        }
        validPrefix += sequence.length;
    }
    if (validPrefix == bytes.size()) {
        return bytes;
    }

    std::string text = bytes.substr(0, validPrefix);
    std::size_t pos = validPrefix;
    while (pos < bytes.size()) {
        const Utf8Sequence sequence = readUtf8(bytes, pos);
        if (sequence.valid) {
            text.append(bytes, pos, sequence.length);
        } else {
            text += kReplacementCharacter;
        }
        pos += sequence.length;
    }
    return text;
}

// ---------------------------------------------------------------------------
// GPT-2 byte-level alphabet

// The byte-level alphabet maps each byte to a visible code point, so that
// vocab.json and merges.txt contain no whitespace or control characters.
// Bytes that are printable Latin-1 characters other than space and soft hyphen
// ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to the code point of the same
// value. The other 68 bytes map in byte order to U+0100..U+0143, so the space
// 0x20 is U+0120 'Ġ'.
struct ByteAlphabet {
    static constexpr char32_t kEnd = 0x144; // code points of the alphabet are below this

    std::array<char32_t, 256> codePointOfByte{};
    std::array<int16_t, kEnd> byteOfCodePoint{}; // -1 for code points outside the alphabet
};

bool mapsToSameValue(unsigned byte)
{
    return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

ByteAlphabet buildByteAlphabet()
{
    ByteAlphabet alphabet;
    alphabet.byteOfCodePoint.fill(-1);

    char32_t nextShifted = 0x100;
    for (unsigned byte = 0; byte < 256; ++byte) {
        const char32_t codePoint = mapsToSameValue(byte) ? byte : nextShifted++;
        alphabet.codePointOfByte[byte] = codePoint;
        alphabet.byteOfCodePoint[codePoint] = static_cast<int16_t>(byte);
    }
    return alphabet;
}

const ByteAlphabet& byteAlphabet()
{
    static const ByteAlphabet alphabet = buildByteAlphabet();
    return alphabet;
}

// Converts a vocabulary token to the bytes it encodes. A token with any
// character outside the byte-level alphabet (possible only in a custom
// vocabulary) decodes to its own UTF-8 text.
std::string tokenToBytes(const std::string& token)
{
    const ByteAlphabet& alphabet = byteAlphabet();
    std::string bytes;
    bytes.reserve(token.size());

    std::size_t pos = 0;
    while (pos < token.size()) {
        const Utf8Sequence sequence = readUtf8(token, pos);
        const bool inAlphabet = sequence.valid && sequence.codePoint < ByteAlphabet::kEnd
                                && alphabet.byteOfCodePoint[sequence.codePoint] >= 0;
        if (!inAlphabet) {
            return token;
        }
        bytes += static_cast<char>(alphabet.byteOfCodePoint[sequence.codePoint]);
        pos += sequence.length;
    }
    return bytes;
}

// ---------------------------------------------------------------------------
// Error messages

// Returns text as a JSON string literal, so that control characters and
// invalid UTF-8 cannot break the one-line error message. Long text is cut.
std::string quoteForMessage(std::string_view text)
{
    constexpr std::size_t kMaxBytes = 80;
    std::string shown(text.substr(0, kMaxBytes));
    if (text.size() > kMaxBytes) {
        shown += "...";
    }
    return nlohmann::json(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------
// Loading vocab.json and merges.txt

constexpr std::string_view kVocabFix =
    "pass the vocab.json of a GPT-2 tokenizer (a JSON object that maps each token to its id)";
constexpr std::string_view kMergesFix =
    "pass the merges.txt that belongs to the vocab.json (one merge \"left right\" per line)";

std::string readFile(const std::filesystem::path& file, std::string_view kind, std::string_view fix)
{
    std::error_code error;
    if (!std::filesystem::exists(file, error)) {
        throw Error(std::string(kind) + " file not found: " + file.string() + "; " + std::string(fix));
    }
    if (!std::filesystem::is_regular_file(file, error)) {
        throw Error(std::string(kind) + " file " + file.string() + " is not a regular file; " + std::string(fix));
    }

    const auto size = std::filesystem::file_size(file, error);
    std::ifstream stream(file, std::ios::binary);
    std::string contents(error ? 0 : size, '\0');
    stream.read(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (error || !stream) {
        throw Error("failed to read " + std::string(kind) + " file " + file.string() + "; check that it is readable");
    }
    return contents;
}

// Token strings of vocab.json (in the byte-level alphabet) and their ids.
struct Vocabulary {
    std::unordered_map<std::string, int32_t> idOfToken;
    std::vector<std::string> tokenOfId;
};

nlohmann::json parseVocabJson(const std::filesystem::path& file, const std::string& text)
{
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& error) {
        // Drop the "[json.exception.parse_error.101] " prefix of nlohmann_json.
        std::string reason = error.what();
        const std::size_t prefixEnd = reason.find("] ");
        if (prefixEnd != std::string::npos) {
            reason.erase(0, prefixEnd + 2);
        }
        throw Error("invalid JSON in vocab file " + file.string() + ": " + reason + "; "
                    + std::string(kVocabFix));
    }
}

Vocabulary loadVocabulary(const std::filesystem::path& file)
{
    const nlohmann::json json = parseVocabJson(file, readFile(file, "vocab", kVocabFix));
    if (!json.is_object()) {
        throw Error("invalid vocab file " + file.string() + ": not a JSON object; " + std::string(kVocabFix));
    }
    if (json.empty()) {
        throw Error("invalid vocab file " + file.string() + ": the JSON object is empty; " + std::string(kVocabFix));
    }

    // Ids must be exactly 0..size-1, so that vocabSize() is the entry count
    // and the decode table has no holes.
    const auto count = static_cast<int64_t>(json.size());
    Vocabulary vocabulary;
    vocabulary.tokenOfId.resize(json.size());
    std::vector<bool> idSeen(json.size(), false);
    vocabulary.idOfToken.reserve(json.size());

    for (const auto& [token, value] : json.items()) {
        if (!value.is_number_integer()) {
            throw Error("invalid vocab file " + file.string() + ": the value of key " + quoteForMessage(token)
                        + " is not an integer id; " + std::string(kVocabFix));
        }
        const auto id = value.get<int64_t>();
        if (id < 0 || id >= count) {
            throw Error("invalid vocab file " + file.string() + ": key " + quoteForMessage(token) + " has id "
                        + std::to_string(id) + ", but the ids of " + std::to_string(count) + " keys must be 0 to "
                        + std::to_string(count - 1) + "; " + std::string(kVocabFix));
        }
        if (idSeen[id]) {
            throw Error("invalid vocab file " + file.string() + ": keys " + quoteForMessage(vocabulary.tokenOfId[id])
                        + " and " + quoteForMessage(token) + " have the same id " + std::to_string(id) + "; "
                        + std::string(kVocabFix));
        }

        idSeen[id] = true;
        vocabulary.tokenOfId[id] = token;
        vocabulary.idOfToken.emplace(token, static_cast<int32_t>(id));
    }
    return vocabulary;
}

uint64_t pairKey(int32_t leftId, int32_t rightId)
{
    return (static_cast<uint64_t>(static_cast<uint32_t>(leftId)) << 32) | static_cast<uint32_t>(rightId);
}

// Parses merges.txt into pair -> rule. The first line is skipped when it is a
// "#version" header, and blank lines are ignored. When a pair appears twice,
// the later line sets its rank, as in the Python GPT2Tokenizer of Hugging
// Face transformers, which builds its rank table as a dict from the merge list.
std::unordered_map<uint64_t, MergeRule> loadMerges(const std::filesystem::path& file,
                                                   const std::filesystem::path& vocabFile,
                                                   const Vocabulary& vocabulary)
{
    const std::string text = readFile(file, "merges", kMergesFix);
    std::unordered_map<uint64_t, MergeRule> merges;
    merges.reserve(text.size() / 8);

    auto lookUp = [&](const std::string& token, std::size_t lineNumber) {
        const auto found = vocabulary.idOfToken.find(token);
        if (found == vocabulary.idOfToken.end()) {
            throw Error("invalid merges file " + file.string() + " line " + std::to_string(lineNumber) + ": token "
                        + quoteForMessage(token) + " is not in vocab file " + vocabFile.string() + "; "
                        + std::string(kMergesFix));
        }
        return found->second;
    };

    std::size_t lineStart = 0;
    std::size_t lineNumber = 0;
    int32_t rank = 0;
    while (lineStart < text.size()) {
        const std::size_t newline = std::min(text.find('\n', lineStart), text.size());
        std::string_view line(text.data() + lineStart, newline - lineStart);
        lineStart = newline + 1;
        ++lineNumber;

        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        const bool isHeader = lineNumber == 1 && line.substr(0, 8) == "#version";
        if (isHeader || line.empty()) {
            continue;
        }

        const std::size_t space = line.find(' ');
        const bool twoTokens = space != 0 && space != std::string_view::npos && space + 1 < line.size()
                               && line.find(' ', space + 1) == std::string_view::npos;
        if (!twoTokens) {
            throw Error("invalid merges file " + file.string() + " line " + std::to_string(lineNumber)
                        + ": expected two tokens separated by one space, found " + quoteForMessage(line) + "; "
                        + std::string(kMergesFix));
        }

        const std::string left(line.substr(0, space));
        const std::string right(line.substr(space + 1));
        const int32_t leftId = lookUp(left, lineNumber);
        const int32_t rightId = lookUp(right, lineNumber);
        const int32_t mergedId = lookUp(left + right, lineNumber);
        merges.insert_or_assign(pairKey(leftId, rightId), MergeRule{rank, mergedId});
        ++rank;
    }
    return merges;
}

std::shared_ptr<const Gpt2Tables> buildTables(const std::filesystem::path& vocabFile,
                                              const std::filesystem::path& mergesFile)
{
    const Vocabulary vocabulary = loadVocabulary(vocabFile);
    auto tables = std::make_shared<Gpt2Tables>();
    tables->vocabPath = vocabFile;
    tables->merges = loadMerges(mergesFile, vocabFile, vocabulary);

    tables->tokenBytes.reserve(vocabulary.tokenOfId.size());
    for (const std::string& token : vocabulary.tokenOfId) {
        tables->tokenBytes.push_back(tokenToBytes(token));
    }

    // Byte-level BPE starts every pre-token from one-byte tokens, so all 256 must exist.
    for (unsigned byte = 0; byte < 256; ++byte) {
        std::string token;
        appendUtf8(token, byteAlphabet().codePointOfByte[byte]);
        const auto found = vocabulary.idOfToken.find(token);
        if (found == vocabulary.idOfToken.end()) {
            throw Error("invalid vocab file " + vocabFile.string() + ": no token for byte " + std::to_string(byte)
                        + " (key " + quoteForMessage(token) + "); " + std::string(kVocabFix));
        }
        tables->byteTokenIds[byte] = found->second;
    }

    const auto endOfText = vocabulary.idOfToken.find(std::string(kEndOfText));
    if (endOfText == vocabulary.idOfToken.end()) {
        throw Error("invalid vocab file " + vocabFile.string() + ": the key \"<|endoftext|>\" is missing; "
                    + std::string(kVocabFix));
    }
    tables->endOfTextId = endOfText->second;
    return tables;
}

// ---------------------------------------------------------------------------
// Pre-tokenization with the GPT-2 pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The functions below take byte positions into the text and return the byte
// length of the next pre-token, trying the alternatives in the pattern's order.

struct CodePointInfo {
    CharClass charClass;
    std::size_t length; // bytes
};

// Classifies the code point at pos. An invalid UTF-8 byte is one code point of
// class Other, so pre-tokenization advances by at least one byte per step.
CodePointInfo inspectCodePoint(std::string_view text, std::size_t pos)
{
    const auto lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) {
        return {unicode::kAsciiCharClasses[lead], 1};
    }

    const Utf8Sequence sequence = readUtf8(text, pos);
    if (!sequence.valid) {
        return {CharClass::Other, 1};
    }
    return {unicode::classifyNonAscii(sequence.codePoint), sequence.length};
}

// Returns the byte length of the contraction at pos, or 0. Only lowercase
// suffixes match, as in the pattern: "'S" is punctuation followed by a letter.
std::size_t contractionLength(std::string_view text, std::size_t pos)
{
    if (text[pos] != '\'' || pos + 1 >= text.size()) {
        return 0;
    }

    const char first = text[pos + 1];
    if (first == 's' || first == 't' || first == 'm' || first == 'd') {
        return 2;
    }

    const char second = pos + 2 < text.size() ? text[pos + 2] : '\0';
    const bool twoLetters = (first == 'r' && second == 'e') || (first == 'v' && second == 'e')
                            || (first == 'l' && second == 'l');
    return twoLetters ? 3 : 0;
}

// Returns the position after the run of code points of charClass starting at pos.
std::size_t skipRun(std::string_view text, std::size_t pos, CharClass charClass)
{
    while (pos < text.size()) {
        const CodePointInfo info = inspectCodePoint(text, pos);
        if (info.charClass != charClass) {
            break;
        }
        pos += info.length;
    }
    return pos;
}

// Returns the length of the whitespace pre-token at pos. `\s+(?!\S)` makes a
// run of two or more whitespace code points that is followed by
// non-whitespace leave its last code point to the next pre-token, where a
// space joins the following word. Otherwise `\s+` takes the whole run.
std::size_t whitespaceTokenLength(std::string_view text, std::size_t pos)
{
    std::size_t end = pos;
    std::size_t lastStart = pos;
    while (end < text.size()) {
        const CodePointInfo info = inspectCodePoint(text, end);
        if (info.charClass != CharClass::Whitespace) {
            break;
        }
        lastStart = end;
        end += info.length;
    }

    const bool followedByNonSpace = end < text.size();
    const bool severalCodePoints = lastStart > pos;
    return followedByNonSpace && severalCodePoints ? lastStart - pos : end - pos;
}

std::size_t preTokenLength(std::string_view text, std::size_t pos)
{
    const std::size_t contraction = contractionLength(text, pos);
    if (contraction != 0) {
        return contraction;
    }

    const CodePointInfo first = inspectCodePoint(text, pos);
    if (first.charClass != CharClass::Whitespace) {
        return skipRun(text, pos + first.length, first.charClass) - pos;
    }

    // " ?\p{L}+", " ?\p{N}+" and " ?[^\s\p{L}\p{N}]+": one U+0020 joins the run after it.
    if (text[pos] == ' ' && pos + 1 < text.size()) {
        const CodePointInfo next = inspectCodePoint(text, pos + 1);
        if (next.charClass != CharClass::Whitespace) {
            return skipRun(text, pos + 1 + next.length, next.charClass) - pos;
        }
    }

    return whitespaceTokenLength(text, pos);
}

// ---------------------------------------------------------------------------
// BPE merging

// Scratch buffers for merging one pre-token, reused across the pre-tokens of
// one encode() call so that merging does not allocate per byte.
class BpeWorkspace {
public:
    // Appends the ids of one pre-token to ids. It repeatedly merges the
    // adjacent pair with the lowest merge rank, and the leftmost pair among
    // equal ranks, until no pair has a merge rule. A min-heap of candidate
    // pairs keeps this O(n log n) in the pre-token length n.
    void appendWordIds(std::string_view word, const Gpt2Tables& tables, std::vector<int32_t>& ids)
    {
        initializeSymbols(word, tables);
        for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols_.size()); ++i) {
            pushCandidate(i, i + 1, tables);
        }

        while (!heap_.empty()) {
            std::pop_heap(heap_.begin(), heap_.end(), laterCandidate);
            const Candidate candidate = heap_.back();
            heap_.pop_back();
            if (isCurrent(candidate)) {
                applyMerge(candidate, tables);
            }
        }

        for (int32_t i = 0; i != kNone; i = symbols_[i].next) {
            ids.push_back(symbols_[i].id);
        }
    }

private:
    static constexpr int32_t kNone = -1;

    // One token of the pre-token being merged. The symbols form a doubly linked
    // list in byte order.
    struct Symbol {
        int32_t id;   // kNone once merged into its left neighbour
        int32_t prev; // index into symbols_, or kNone
        int32_t next;
    };

    // A pair that had a merge rule when it was pushed. It is out of date when
    // either symbol has since changed.
    struct Candidate {
        int32_t rank;
        int32_t left;  // symbol indices
        int32_t right;
        int32_t leftId; // symbol ids at push time
        int32_t rightId;
        int32_t mergedId;
    };

    // Heap order for std::*_heap: the top is the lowest rank, then the leftmost pair.
    static bool laterCandidate(const Candidate& a, const Candidate& b)
    {
        return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }

    void initializeSymbols(std::string_view word, const Gpt2Tables& tables)
    {
        symbols_.clear();
        heap_.clear();
        const auto count = static_cast<int32_t>(word.size());
        for (int32_t i = 0; i < count; ++i) {
            const auto byte = static_cast<unsigned char>(word[i]);
            symbols_.push_back({tables.byteTokenIds[byte], i - 1, i + 1 < count ? i + 1 : kNone});
        }
    }

    void pushCandidate(int32_t left, int32_t right, const Gpt2Tables& tables)
    {
        const int32_t leftId = symbols_[left].id;
        const int32_t rightId = symbols_[right].id;
        const auto found = tables.merges.find(pairKey(leftId, rightId));
        if (found == tables.merges.end()) {
            return;
        }
        heap_.push_back({found->second.rank, left, right, leftId, rightId, found->second.mergedId});
        std::push_heap(heap_.begin(), heap_.end(), laterCandidate);
    }

    bool isCurrent(const Candidate& candidate) const
    {
        const Symbol& left = symbols_[candidate.left];
        return left.id == candidate.leftId && left.next == candidate.right
               && symbols_[candidate.right].id == candidate.rightId;
    }

    // The left symbol takes the merged id and the right symbol leaves the list.
    void applyMerge(const Candidate& candidate, const Gpt2Tables& tables)
    {
        Symbol& left = symbols_[candidate.left];
        Symbol& right = symbols_[candidate.right];
        left.id = candidate.mergedId;
        left.next = right.next;
        if (right.next != kNone) {
            symbols_[right.next].prev = candidate.left;
        }
        right.id = kNone;

        if (left.prev != kNone) {
            pushCandidate(left.prev, candidate.left, tables);
        }
        if (left.next != kNone) {
            pushCandidate(candidate.left, left.next, tables);
        }
    }

    std::vector<Symbol> symbols_;
    std::vector<Candidate> heap_;
};

// Appends the ids of one pre-token, through the cache when the pre-token is short enough.
void appendPreTokenIds(std::string_view word, const Gpt2Tables& tables, Gpt2WordCache& cache,
                       BpeWorkspace& workspace, std::vector<int32_t>& ids)
{
    if (word.size() == 1) {
        ids.push_back(tables.byteTokenIds[static_cast<unsigned char>(word[0])]);
        return;
    }
    if (word.size() > Gpt2WordCache::kMaxWordBytes) {
        workspace.appendWordIds(word, tables, ids);
        return;
    }

    const std::size_t hash = std::hash<std::string_view>{}(word);
    if (cache.appendCached(word, hash, ids)) {
        return;
    }

    const std::size_t firstNew = ids.size();
    workspace.appendWordIds(word, tables, ids);
    cache.store(word, hash, ids.data() + firstNew, ids.size() - firstNew);
}

// Encodes text that contains no special token.
void appendOrdinaryText(std::string_view text, const Gpt2Tables& tables, Gpt2WordCache& cache,
                        std::vector<int32_t>& ids)
{
    BpeWorkspace workspace;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t length = preTokenLength(text, pos);
        appendPreTokenIds(text.substr(pos, length), tables, cache, workspace, ids);
        pos += length;
    }
}

} // namespace

// ---------------------------------------------------------------------------
// Gpt2Tokenizer

Gpt2Tokenizer::Gpt2Tokenizer(std::shared_ptr<const detail::Gpt2Tables> tables,
                             std::shared_ptr<detail::Gpt2WordCache> cache)
    : tables_(std::move(tables)), cache_(std::move(cache))
{
}

Gpt2Tokenizer Gpt2Tokenizer::fromFiles(const std::filesystem::path& vocabJson,
                                       const std::filesystem::path& mergesTxt)
{
    return Gpt2Tokenizer(buildTables(vocabJson, mergesTxt), std::make_shared<detail::Gpt2WordCache>());
}

Gpt2Tokenizer Gpt2Tokenizer::fromDirectory(const std::filesystem::path& dir)
{
    std::error_code error;
    if (!std::filesystem::is_directory(dir, error)) {
        throw Error("tokenizer folder not found: " + dir.string()
                    + "; pass the folder that contains vocab.json and merges.txt");
    }
    return fromFiles(dir / "vocab.json", dir / "merges.txt");
}

std::vector<int32_t> Gpt2Tokenizer::encode(std::string_view utf8Text) const
{
    std::vector<int32_t> ids;
    // GPT-2 encodes English text at roughly 3 to 4.5 bytes per token.
    ids.reserve(utf8Text.size() / 3 + 1);

    // <|endoftext|> is split out before pre-tokenization, wherever it occurs.
    std::size_t pieceStart = 0;
    while (true) {
        const std::size_t special = utf8Text.find(kEndOfText, pieceStart);
        const std::size_t pieceEnd = special == std::string_view::npos ? utf8Text.size() : special;
        appendOrdinaryText(utf8Text.substr(pieceStart, pieceEnd - pieceStart), *tables_, *cache_, ids);
        if (special == std::string_view::npos) {
            break;
        }
        ids.push_back(tables_->endOfTextId);
        pieceStart = special + kEndOfText.size();
    }
    return ids;
}

std::string Gpt2Tokenizer::decode(const std::vector<int32_t>& ids) const
{
    const auto& tokenBytes = tables_->tokenBytes;
    std::string bytes;
    for (const int32_t id : ids) {
        if (id < 0 || id >= vocabSize()) {
            throw Error("cannot decode token id " + std::to_string(id) + ": outside the vocabulary of "
                        + tables_->vocabPath.string() + " (ids 0 to " + std::to_string(vocabSize() - 1)
                        + "); pass only ids that this tokenizer produced");
        }
        bytes += tokenBytes[id];
    }
    return replaceInvalidUtf8(std::move(bytes));
}

int32_t Gpt2Tokenizer::vocabSize() const
{
    return static_cast<int32_t>(tables_->tokenBytes.size());
}

int32_t Gpt2Tokenizer::endOfTextId() const
{
    return tables_->endOfTextId;
}

} // namespace rlq

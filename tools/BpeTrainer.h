#pragma once

// Byte-level BPE training that writes vocab.json and merges.txt in the
// format that rlq::Gpt2Tokenizer (and Hugging Face's GPT2Tokenizer) loads.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rlq {

struct BpeTrainingSettings {
    // Number of ids in the result, counting the 256 byte tokens and
    // <|endoftext|>. Training stops earlier when no pair is frequent enough.
    int32_t vocabSize = 2048;
    // Pairs seen fewer times than this in the corpus are never merged.
    int64_t minPairCount = 2;
};

// A trained vocabulary. Ids 0-255 are the single bytes in byte order, ids
// 256 to 256 + merges.size() - 1 are the merged tokens in merge order, and
// the last id is <|endoftext|>. Every merged token is produced by exactly
// one merge, so merges.size() == tokenBytes.size() - 257.
struct BpeVocabulary {
    std::vector<std::string> tokenBytes;                     // id -> raw bytes of the token
    std::vector<std::pair<std::string, std::string>> merges; // (left, right) raw bytes, rank order
    int64_t corpusTokenCount = 0;                            // tokens of the training corpus after all merges

    int32_t endOfTextId() const { return static_cast<int32_t>(tokenBytes.size()) - 1; }
};

// Splits text into the pre-tokens of the GPT-2 pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with the code point classes of rlq::unicode, as Gpt2Tokenizer does.
// Occurrences of <|endoftext|> are dropped, because the tokenizer encodes
// them as the special token and never merges across them. An invalid UTF-8
// byte is one code point of class Other. The views point into `text`.
std::vector<std::string_view> splitPreTokens(std::string_view text);

// Learns merges on `corpus`: each step merges every occurrence, left to
// right within each pre-token, of the most frequent adjacent pair of tokens.
// Ties go to the pair whose (left, right) raw bytes sort first. A pair whose
// concatenation is already a token is skipped, so each token has one merge.
// Throws rlq::Error when settings.vocabSize is below 257 or minPairCount is below 1.
BpeVocabulary trainByteLevelBpe(std::string_view corpus, const BpeTrainingSettings& settings);

// Returns bytes spelled in GPT-2's byte-level alphabet, the form of the keys
// of vocab.json and the tokens of merges.txt. Printable Latin-1 bytes other
// than space and soft hyphen map to the same code point. The other 68 bytes
// map in byte order to U+0100..U+0143, so the space is "Ġ" (U+0120).
std::string byteLevelText(std::string_view bytes);

// Returns the text of vocab.json: one JSON object from token (byte-level
// alphabet) to id, in id order.
std::string vocabJsonText(const BpeVocabulary& vocabulary);

// Returns the text of merges.txt: a "#version: 0.2" line, then "left right"
// per merge in rank order.
std::string mergesText(const BpeVocabulary& vocabulary);

// Writes folder/vocab.json and folder/merges.txt, each atomically. Throws
// rlq::Error when the folder is missing or a file cannot be written.
void writeBpeFiles(const BpeVocabulary& vocabulary, const std::filesystem::path& folder);

} // namespace rlq

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rlq {

namespace detail {
struct Gpt2Tables;
class Gpt2WordCache;
} // namespace detail

// GPT-2 byte-level BPE tokenizer. It produces the same ids as the Hugging Face
// GPT2Tokenizer and GPT2TokenizerFast for "gpt2" with default settings:
// <|endoftext|> in the text is split out as one special token, the pieces
// around it are pre-tokenized with the GPT-2 pattern, and each pre-token is
// merged by BPE, lowest merge rank first.
//
// Invalid UTF-8 in the input to encode() does not raise: each invalid byte is
// one code point of class Other (like punctuation) for pre-tokenization, and
// its byte is encoded as is. Hugging Face accepts only valid text, so such
// input has no reference ids.
//
// A value type: copies share the immutable vocabulary and merge tables and a
// thread-safe cache of encoded pre-tokens, so one tokenizer may be used from
// several threads at once.
class Gpt2Tokenizer {
public:
    // Loads vocab.json (token -> id) and merges.txt (one merge per line, the
    // first line may be a "#version" header). Throws rlq::Error naming the
    // file, the line of merges.txt or the key of vocab.json, and the fix.
    static Gpt2Tokenizer fromFiles(const std::filesystem::path& vocabJson,
                                   const std::filesystem::path& mergesTxt);

    // Loads dir/vocab.json and dir/merges.txt.
    static Gpt2Tokenizer fromDirectory(const std::filesystem::path& dir);

    // Encodes UTF-8 text into token ids. Safe to call concurrently.
    std::vector<int32_t> encode(std::string_view utf8Text) const;

    // Decodes ids into UTF-8 text. Byte sequences that are not valid UTF-8
    // become U+FFFD, one per maximal invalid subpart, as Python's
    // bytes.decode("utf-8", errors="replace") does. Throws rlq::Error on an id
    // outside [0, vocabSize()).
    std::string decode(const std::vector<int32_t>& ids) const;

    // Number of ids, 50257 for GPT-2.
    int32_t vocabSize() const;

    // Id of <|endoftext|>, 50256 for GPT-2.
    int32_t endOfTextId() const;

private:
    Gpt2Tokenizer(std::shared_ptr<const detail::Gpt2Tables> tables,
                  std::shared_ptr<detail::Gpt2WordCache> cache);

    std::shared_ptr<const detail::Gpt2Tables> tables_;
    std::shared_ptr<detail::Gpt2WordCache> cache_; // shared by copies, internally locked
};

} // namespace rlq

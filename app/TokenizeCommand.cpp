#include "CliArguments.h"
#include "Commands.h"

#include "model/ModelLocator.h"
#include "tokenizer/Gpt2Tokenizer.h"
#include "util/Error.h"

#include <iostream>
#include <iterator>
#include <sstream>

namespace rlq::cli {

const char* const kTokenizeUsage =
    "usage: rlq tokenize (--tokenizer DIR | --model PATH|NAME) [--decode]\n"
    "\n"
    "Reads UTF-8 text on standard input and prints its GPT-2 token ids separated\n"
    "by spaces. With --decode, reads ids and prints the text.\n"
    "\n"
    "  --tokenizer DIR     folder with vocab.json and merges.txt\n"
    "  --model PATH|NAME   take the tokenizer of this model (folder, cached name, demo)\n"
    "  --decode            ids to text instead of text to ids\n"
    "\n"
    "example: echo 'Hello world' | rlq tokenize --tokenizer ../shared/data/gpt2-tokenizer\n";

namespace {

std::vector<int32_t> parseIds(const std::string& input)
{
    std::vector<int32_t> ids;
    std::istringstream stream(input);
    std::string word;
    while (stream >> word) {
        try {
            size_t used = 0;
            const long value = std::stol(word, &used);
            if (used == word.size() && value >= 0 && value <= INT32_MAX) {
                ids.push_back(int32_t(value));
                continue;
            }
        } catch (const std::exception&) {
        }
        throw Error("standard input: '" + word + "' is not a token id; --decode expects non-negative integers");
    }
    return ids;
}

} // namespace

int runTokenize(const std::vector<std::string>& args)
{
    const Arguments arguments(args, {"--tokenizer", "--model"}, {"--decode"});
    std::filesystem::path folder;
    if (arguments.has("--tokenizer")) {
        folder = arguments.value("--tokenizer");
    } else if (arguments.has("--model")) {
        folder = resolveModel(arguments.value("--model")).folder;
    } else {
        throw Error("rlq tokenize needs --tokenizer DIR or --model PATH|NAME; see rlq tokenize --help");
    }
    const Gpt2Tokenizer tokenizer = Gpt2Tokenizer::fromDirectory(folder);

    const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (arguments.has("--decode")) {
        std::cout << tokenizer.decode(parseIds(input));
        return 0;
    }

    const auto ids = tokenizer.encode(input);
    for (size_t i = 0; i < ids.size(); ++i) {
        std::cout << (i ? " " : "") << ids[i];
    }
    std::cout << "\n";
    return 0;
}

} // namespace rlq::cli

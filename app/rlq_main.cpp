// rlq: the RLQ Studio engine on the command line.

#include "Commands.h"

#include "util/Error.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* const kUsage =
    "usage: rlq COMMAND [options]\n"
    "\n"
    "Mixed-precision quantization search for GPT-2 models.\n"
    "\n"
    "commands:\n"
    "  search     find a per-layer bit-width policy with PPO and compare it with\n"
    "             uniform quantization\n"
    "  apply      apply a saved policy to its model and export the quantized\n"
    "             checkpoint (packed and/or Hugging Face folder)\n"
    "  eval       perplexity and multiple-choice accuracy of a model on a dataset\n"
    "  tokenize   GPT-2 token ids of standard input (or text of ids with --decode)\n"
    "\n"
    "Run 'rlq COMMAND --help' for the options of a command.\n";

struct Command {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* usage;
};

const Command kCommands[] = {
    {"search", rlq::cli::runSearch, rlq::cli::kSearchUsage},
    {"apply", rlq::cli::runApply, rlq::cli::kApplyUsage},
    {"eval", rlq::cli::runEval, rlq::cli::kEvalUsage},
    {"tokenize", rlq::cli::runTokenize, rlq::cli::kTokenizeUsage},
};

// First line of a LibTorch error; the rest is a C++ stack trace.
std::string firstLine(const char* text)
{
    const std::string message(text);
    return message.substr(0, message.find('\n'));
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("rlq %s\n", RLQ_VERSION);
        return 0;
    }

    const std::vector<std::string> args(argv + 2, argv + argc);
    for (const Command& command : kCommands) {
        if (std::strcmp(argv[1], command.name) != 0) {
            continue;
        }
        if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
            std::fputs(command.usage, stdout);
            return 0;
        }
        try {
            return command.run(args);
        } catch (const rlq::Error& error) {
            std::fprintf(stderr, "rlq %s: error: %s\n", command.name, error.what());
        } catch (const c10::Error& error) {
            std::fprintf(stderr, "rlq %s: error: LibTorch: %s\n", command.name,
                         firstLine(error.what_without_backtrace()).c_str());
        } catch (const std::exception& error) {
            std::fprintf(stderr, "rlq %s: error: %s\n", command.name, error.what());
        }
        return 2;
    }
    std::fprintf(stderr, "rlq: unknown command '%s'\n\n%s", argv[1], kUsage);
    return 2;
}

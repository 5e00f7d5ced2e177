#pragma once

#include <string>
#include <vector>

namespace rlq::cli {

// Each subcommand takes the arguments after its name and returns the exit
// code. They throw rlq::Error for bad input; main prints it and exits 2.
int runEval(const std::vector<std::string>& args);
int runTokenize(const std::vector<std::string>& args);
int runSearch(const std::vector<std::string>& args);
int runApply(const std::vector<std::string>& args);

extern const char* const kEvalUsage;
extern const char* const kTokenizeUsage;
extern const char* const kSearchUsage;
extern const char* const kApplyUsage;

} // namespace rlq::cli

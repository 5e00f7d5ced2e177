#pragma once

#include "search/SearchControl.h"
#include "search/SearchTypes.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace rlq {

class SearchEngine;   // LibTorch state, defined in SearchSession.cpp

// Checks settings before any work starts: allowed bit-widths, granularity,
// budget reachable with the smallest width, non-negative fine-tuning steps,
// episode count, and that the model and dataset specs resolve. Throws
// rlq::Error naming the setting and what is allowed.
void validateRunSettings(const RunSettings& settings);

// RunSettings as JSON (the run folder's config.json) and back.
std::string runSettingsToJson(const RunSettings& settings);
RunSettings runSettingsFromJson(const std::string& json, const std::string& sourceName);

// One quantization-policy search: sensitivity probe, PPO episodes,
// baselines and the final report, with the run folder kept up to date.
// Everything runs on the thread that calls run(); observers are called on
// that thread.
class SearchSession {
public:
    explicit SearchSession(RunSettings settings);
    ~SearchSession();

    const RunSettings& settings() const { return settings_; }

    // Runs the whole search, or continues it from the run folder when
    // `resume` is true and the folder contains a checkpoint. Returns when done
    // or stopped (control.requestStop()); a stopped run still writes its
    // report for the episodes done. Throws rlq::Error on bad input.
    RunSummary run(SearchObserver& observer, SearchControl& control, bool resume = false);

    // Histograms and quantization error of unit `unitIndex` at `bits`
    // (a bit-width from bitWidthTable(), or 32). Call on the session's
    // thread only, e.g. through SearchControl::post while paused.
    LayerInspection inspect(int unitIndex, int bits, int bins = 101) const;

private:
    RunSettings settings_;
    std::unique_ptr<SearchEngine> engine_;
};

} // namespace rlq

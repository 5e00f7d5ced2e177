#pragma once

// Reading a finished run folder back into the views, and the atomic file
// writes behind File > Export. No widget code, so tests can call it directly.

#include "search/SearchTypes.h"

#include <QByteArray>
#include <QString>

#include <optional>
#include <vector>

class QCustomPlot;

namespace rlq::ui {

// The contents of a run folder, in the engine's value types.
struct LoadedRun {
    rlq::RunSettings settings;
    // Units come from best_policy.json (names and parameter counts) and
    // sensitivity.json (sensitivity), and kind and block are parsed from the
    // unit names. The budget comes from the settings, and baseValLoss stays 0
    // because no file records it.
    rlq::RunInfo info;
    std::vector<rlq::EpisodeResult> episodes;
    std::optional<rlq::RunSummary> summary;   // set when report.json exists
};

// Reads config.json, events.jsonl, sensitivity.json, best_policy.json and
// report.json of `folder`. Only config.json and events.jsonl are required.
// Throws rlq::Error naming the file and what is wrong.
LoadedRun readRunFolder(const QString& folder);

// Writes `bytes` to `path` through QSaveFile, so a failure leaves any
// previous file intact. Throws rlq::Error naming the path.
void writeFileAtomically(const QString& path, const QByteArray& bytes);

// Copies `source` to `destination` atomically. Throws rlq::Error.
void copyFileAtomically(const QString& source, const QString& destination);

// Saves a plot as PNG (at twice the screen resolution) or PDF, chosen by the
// suffix of `path`, at its size on screen or at 800 x 500 when it is hidden.
// Throws rlq::Error for another suffix or a failed write.
void savePlot(QCustomPlot& plot, const QString& path);

} // namespace rlq::ui

#pragma once

#include "search/SearchTypes.h"

#include <cstddef>
#include <optional>
#include <vector>

namespace rlq::ui {

// Everything the views show about one run, live or read from a run folder.
// It lives on the UI thread. The main window moves buffered episodes in on a
// timer and then calls refresh() on each view.
class RunData {
public:
    void clear();

    void setInfo(const rlq::RunInfo& info);
    void addEpisode(const rlq::EpisodeResult& episode);
    void addBaseline(const rlq::PolicyReport& baseline);
    void setSummary(const rlq::RunSummary& summary);

    bool hasInfo() const { return hasInfo_; }
    const rlq::RunInfo& info() const { return info_; }
    const std::vector<rlq::EpisodeResult>& episodes() const { return episodes_; }
    const std::vector<rlq::PolicyReport>& baselines() const { return baselines_; }
    const std::optional<rlq::RunSummary>& summary() const { return summary_; }

    int unitCount() const { return int(info_.units.size()); }
    // Episodes the run was configured for, or the episodes done once a
    // stopped run has ended. Never fewer than the last episode's number.
    int plannedEpisodes() const;

    // The policy of the episode with the highest reward (the earliest on a
    // tie, as the engine keeps it), or the summary's once the run has ended.
    // Empty before the first episode.
    std::vector<int> bestBits() const;
    const rlq::EpisodeResult* bestEpisode() const;
    const rlq::EpisodeResult* lastEpisode() const;

    // Bit-width of `unitIndex` in the best policy, or 0 when unknown.
    int bestBitsOf(int unitIndex) const;

private:
    bool hasInfo_ = false;
    rlq::RunInfo info_;
    std::vector<rlq::EpisodeResult> episodes_;
    std::vector<rlq::PolicyReport> baselines_;
    std::optional<rlq::RunSummary> summary_;
    std::optional<size_t> bestIndex_;
};

} // namespace rlq::ui

#include "RunData.h"

#include <algorithm>

namespace rlq::ui {

void RunData::clear()
{
    *this = RunData();
}

void RunData::setInfo(const rlq::RunInfo& info)
{
    info_ = info;
    hasInfo_ = true;
}

void RunData::addEpisode(const rlq::EpisodeResult& episode)
{
    episodes_.push_back(episode);
    if (!bestIndex_ || episode.reward > episodes_[*bestIndex_].reward) {
        bestIndex_ = episodes_.size() - 1;
    }
}

void RunData::addBaseline(const rlq::PolicyReport& baseline)
{
    baselines_.push_back(baseline);
}

void RunData::setSummary(const rlq::RunSummary& summary)
{
    summary_ = summary;
}

int RunData::plannedEpisodes() const
{
    const int lastNumber = episodes_.empty() ? 0 : episodes_.back().episode;
    if (summary_ && summary_->stoppedEarly) {
        return std::max(summary_->episodesDone, lastNumber);
    }
    return std::max(info_.episodes, lastNumber);
}

std::vector<int> RunData::bestBits() const
{
    if (summary_ && !summary_->bestBits.empty()) {
        return summary_->bestBits;
    }
    const rlq::EpisodeResult* best = bestEpisode();
    return best ? best->bits : std::vector<int>{};
}

const rlq::EpisodeResult* RunData::bestEpisode() const
{
    return bestIndex_ ? &episodes_[*bestIndex_] : nullptr;
}

const rlq::EpisodeResult* RunData::lastEpisode() const
{
    return episodes_.empty() ? nullptr : &episodes_.back();
}

int RunData::bestBitsOf(int unitIndex) const
{
    const std::vector<int> bits = bestBits();
    return unitIndex >= 0 && unitIndex < int(bits.size()) ? bits[size_t(unitIndex)] : 0;
}

} // namespace rlq::ui

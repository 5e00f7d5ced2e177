#include "RunStatusBar.h"

#include "Formatting.h"
#include "RunData.h"

#include <QLabel>

#include <algorithm>

namespace rlq::ui {

namespace {

// Recent episodes in the mean episode time behind the ETA and the rate. Only
// recent ones count, because cache hits make late episodes faster.
constexpr size_t kRateWindow = 20;

QLabel* addField(QStatusBar* bar, const QString& objectName)
{
    auto* label = new QLabel(bar);
    label->setObjectName(objectName);
    label->setContentsMargins(6, 0, 6, 0);
    bar->addPermanentWidget(label);
    return label;
}

} // namespace

RunStatusBar::RunStatusBar(QWidget* parent) : QStatusBar(parent)
{
    phase_ = new QLabel(tr("Ready"), this);
    phase_->setObjectName(QStringLiteral("phaseLabel"));
    addWidget(phase_, 1);
    episode_ = addField(this, QStringLiteral("episodeLabel"));
    elapsed_ = addField(this, QStringLiteral("elapsedLabel"));
    eta_ = addField(this, QStringLiteral("etaLabel"));
    rate_ = addField(this, QStringLiteral("rateLabel"));
}

void RunStatusBar::setPhase(const QString& phase)
{
    phase_->setText(phase);
}

QString RunStatusBar::episodeText() const
{
    return episode_->text();
}

void RunStatusBar::showProgress(const RunData& data, double elapsedSeconds, bool active)
{
    const auto& episodes = data.episodes();
    const int done = episodes.empty() ? 0 : episodes.back().episode;
    const int planned = data.plannedEpisodes();
    episode_->setText(tr("Episode %1/%2").arg(done).arg(planned));
    elapsed_->setText(tr("Elapsed %1").arg(formatDuration(elapsedSeconds)));

    const size_t window = std::min(kRateWindow, episodes.size());
    double seconds = 0;
    for (size_t i = episodes.size() - window; i < episodes.size(); ++i) {
        seconds += episodes[i].seconds;
    }
    if (window == 0 || seconds <= 0) {
        eta_->setText(tr("ETA unknown"));
        rate_->setText(tr("– episodes/min"));
        return;
    }

    const double perEpisode = seconds / double(window);
    const int remaining = std::max(0, planned - done);
    eta_->setText(active ? tr("ETA %1").arg(formatDuration(perEpisode * remaining)) : tr("ETA –"));
    rate_->setText(tr("%1 episodes/min").arg(QLocale().toString(60.0 / perEpisode, 'f', 1)));
    eta_->setToolTip(tr("Remaining episodes times the mean time of the last %n episode(s); "
                        "the final evaluation on the test split comes on top",
                        nullptr, int(window)));
}

} // namespace rlq::ui

#include "PpoPanel.h"

#include "RunData.h"

#include <qcustomplot.h>

#include <QGridLayout>

namespace rlq::ui {

PpoPanel::PpoPanel(const RunData& data, QWidget* parent) : QWidget(parent), data_(data)
{
    // File stems are the metric names of the events file.
    metrics_ = {
        {tr("Policy loss"), QString::fromLatin1(rlq::metric::kPolicyLoss), &rlq::PpoStats::policyLoss, nullptr},
        {tr("Value loss"), QString::fromLatin1(rlq::metric::kValueLoss), &rlq::PpoStats::valueLoss, nullptr},
        {tr("Entropy"), QString::fromLatin1(rlq::metric::kEntropy), &rlq::PpoStats::entropy, nullptr},
        {tr("Approximate KL divergence"), QString::fromLatin1(rlq::metric::kApproxKl), &rlq::PpoStats::approxKl, nullptr},
        {tr("Clip fraction"), QString::fromLatin1(rlq::metric::kClipFraction), &rlq::PpoStats::clipFraction, nullptr},
        {tr("Explained variance"), QString::fromLatin1(rlq::metric::kExplainedVariance),
         &rlq::PpoStats::explainedVariance, nullptr},
    };

    auto* layout = new QGridLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    const QColor color(0x94, 0x67, 0xbd);
    for (size_t i = 0; i < metrics_.size(); ++i) {
        Metric& metric = metrics_[i];
        metric.plot = new QCustomPlot(this);
        metric.plot->setObjectName(metric.fileStem + QStringLiteral("Plot"));
        setUpLinePlot(metric.plot, metric.title, tr("Episode"), metric.title, false);
        useEpisodeTicks(metric.plot->xAxis);
        addPointGraph(metric.plot, metric.title, color);
        layout->addWidget(metric.plot, int(i / 2), int(i % 2));
    }
}

int PpoPanel::updateCount() const
{
    return metrics_.front().plot->graph(0)->dataCount();
}

QList<ExportablePlot> PpoPanel::plots() const
{
    QList<ExportablePlot> result;
    for (const Metric& metric : metrics_) {
        result.append({tr("PPO: %1").arg(metric.title), QStringLiteral("ppo-") + metric.fileStem, metric.plot});
    }
    return result;
}

void PpoPanel::reset()
{
    for (Metric& metric : metrics_) {
        metric.plot->graph(0)->data()->clear();
    }
    drawnEpisodes_ = 0;
    refresh();
}

void PpoPanel::refresh()
{
    const auto& episodes = data_.episodes();
    if (drawnEpisodes_ == episodes.size()) {
        return;
    }
    for (size_t i = drawnEpisodes_; i < episodes.size(); ++i) {
        if (!episodes[i].ppo) {
            continue;
        }
        for (Metric& metric : metrics_) {
            metric.plot->graph(0)->addData(episodes[i].episode, (*episodes[i].ppo).*metric.field);
        }
    }
    drawnEpisodes_ = episodes.size();
    for (Metric& metric : metrics_) {
        rescaleAndReplot(metric.plot);
    }
}

} // namespace rlq::ui

#include "CurvesPanel.h"

#include "Formatting.h"
#include "RunData.h"

#include <qcustomplot.h>

#include <QVBoxLayout>

#include <cmath>
#include <map>

namespace rlq::ui {

namespace {

// Episodes in the trailing mean of the reward curve.
constexpr int kMovingAverageEpisodes = 10;

const QColor kRewardColor(0x1f, 0x77, 0xb4);
const QColor kAverageColor(0xd6, 0x27, 0x28);
const QColor kPerplexityColor(0x2c, 0xa0, 0x2c);
const QColor kBestColor(0x00, 0x00, 0x00);

} // namespace

CurvesPanel::CurvesPanel(const RunData& data, QWidget* parent) : QWidget(parent), data_(data)
{
    rewardPlot_ = new QCustomPlot(this);
    rewardPlot_->setObjectName(QStringLiteral("rewardPlot"));
    setUpLinePlot(rewardPlot_, tr("Reward"), tr("Episode"), tr("Reward"));
    useEpisodeTicks(rewardPlot_->xAxis);
    reward_ = addPointGraph(rewardPlot_, tr("Reward"), kRewardColor);
    rewardAverage_ = addLineGraph(rewardPlot_, tr("Moving average (%n episodes)", nullptr, kMovingAverageEpisodes),
                                  kAverageColor);

    perplexityPlot_ = new QCustomPlot(this);
    perplexityPlot_->setObjectName(QStringLiteral("perplexityPlot"));
    setUpLinePlot(perplexityPlot_, tr("Validation perplexity"), tr("Episode"), tr("Perplexity (log scale)"));
    useEpisodeTicks(perplexityPlot_->xAxis);
    perplexityPlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    perplexityPlot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    perplexity_ = addPointGraph(perplexityPlot_, tr("Episode policy"), kPerplexityColor);
    bestPerplexity_ = addLineGraph(perplexityPlot_, tr("Best so far"), kBestColor);
    bestPerplexity_->setLineStyle(QCPGraph::lsStepLeft);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(rewardPlot_);
    layout->addWidget(perplexityPlot_);
}

int CurvesPanel::rewardPointCount() const
{
    return reward_->dataCount();
}

int CurvesPanel::perplexityPointCount() const
{
    return perplexity_->dataCount();
}

QList<ExportablePlot> CurvesPanel::plots() const
{
    return {{tr("Reward"), QStringLiteral("reward"), rewardPlot_},
            {tr("Validation perplexity"), QStringLiteral("validation-perplexity"), perplexityPlot_}};
}

void CurvesPanel::reset()
{
    for (QCPGraph* graph : {reward_, rewardAverage_, perplexity_, bestPerplexity_}) {
        graph->data()->clear();
    }
    for (QCPGraph* graph : baselineGraphs_) {
        perplexityPlot_->removeGraph(graph);
    }
    baselineGraphs_.clear();
    baselineSpan_ = 0;
    drawnEpisodes_ = 0;
    drawnBaselines_ = 0;
    drewFloat32Line_ = false;
    refresh();
}

void CurvesPanel::refresh()
{
    addEpisodes();
    drawBaselines();
    stretchBaselines();
    rescaleAndReplot(rewardPlot_);
    rescaleAndReplot(perplexityPlot_);
}

void CurvesPanel::addEpisodes()
{
    const auto& episodes = data_.episodes();
    for (size_t i = drawnEpisodes_; i < episodes.size(); ++i) {
        const rlq::EpisodeResult& episode = episodes[i];
        reward_->addData(episode.episode, episode.reward);

        const size_t first = i + 1 >= size_t(kMovingAverageEpisodes) ? i + 1 - kMovingAverageEpisodes : 0;
        double sum = 0;
        for (size_t j = first; j <= i; ++j) {
            sum += episodes[j].reward;
        }
        rewardAverage_->addData(episode.episode, sum / double(i + 1 - first));

        // A log axis cannot show a non-positive value.
        if (episode.valPpl > 0 && std::isfinite(episode.valPpl)) {
            perplexity_->addData(episode.episode, episode.valPpl);
        }
        if (episode.bestValPpl > 0 && std::isfinite(episode.bestValPpl)) {
            bestPerplexity_->addData(episode.episode, episode.bestValPpl);
        }
    }
    drawnEpisodes_ = episodes.size();
}

double CurvesPanel::float32Perplexity() const
{
    if (data_.hasInfo() && data_.info().baseValLoss > 0) {
        return std::exp(data_.info().baseValLoss);
    }
    for (const auto& report : data_.baselines()) {
        if (report.name == "float32") {
            return report.valPpl;
        }
    }
    return 0;
}

void CurvesPanel::drawBaselines()
{
    const auto& baselines = data_.baselines();
    const double float32 = float32Perplexity();
    if (baselines.size() == drawnBaselines_ && (float32 > 0) == drewFloat32Line_) {
        return;
    }

    // Episode policies are fine-tuned, so a uniform baseline is drawn with
    // its fine-tuned perplexity when the run measured one.
    std::map<std::string, const rlq::PolicyReport*> uniform;
    for (const auto& report : baselines) {
        if (report.name.rfind("uniform", 0) != 0) {
            continue;
        }
        auto& slot = uniform[report.name];
        if (!slot || (report.finetuned && !slot->finetuned)) {
            slot = &report;
        }
    }

    // Redraw every line, because a fine-tuned row replaces its plain one.
    for (QCPGraph* graph : baselineGraphs_) {
        perplexityPlot_->removeGraph(graph);
    }
    baselineGraphs_.clear();
    baselineSpan_ = 0;
    if (float32 > 0) {
        addBaselineLine(float32, tr("float32"), Qt::darkGray);
    }
    for (const auto& [name, report] : uniform) {
        const int bits = report->bits.empty() ? 0 : report->bits.front();
        const QString label = report->finetuned ? tr("%1 (fine-tuned)").arg(QString::fromStdString(name))
                                                : QString::fromStdString(name);
        addBaselineLine(report->valPpl, label, bitWidthColor(bits).darker(130));
    }

    // Until the final report, the references measured at the start of the
    // run stand in for the baselines.
    if (uniform.empty() && data_.hasInfo()) {
        const auto& info = data_.info();
        for (size_t i = 0; i < info.uniformValPpl.size() && i < info.allowedBits.size(); ++i) {
            const int bits = info.allowedBits[i];
            addBaselineLine(info.uniformValPpl[i], tr("uniform %1-bit (fine-tuned)").arg(bits),
                            bitWidthColor(bits).darker(130));
        }
    }
    drawnBaselines_ = baselines.size();
    drewFloat32Line_ = float32 > 0;
}

void CurvesPanel::addBaselineLine(double perplexity, const QString& label, const QColor& color)
{
    if (!(perplexity > 0) || !std::isfinite(perplexity)) {
        return;
    }
    QCPGraph* graph = addLineGraph(perplexityPlot_, tr("%1: %2").arg(label, QLocale().toString(perplexity, 'f', 1)),
                                   color, Qt::DashLine);
    graph->setPen(QPen(color, 1.2, Qt::DashLine));
    graph->setProperty("perplexity", perplexity);
    baselineGraphs_.push_back(graph);
}

void CurvesPanel::stretchBaselines()
{
    // A reference line spans every planned episode, so it reads as a level
    // rather than a data point.
    const int span = std::max(data_.plannedEpisodes(), 2);
    if (span == baselineSpan_) {
        return;
    }
    for (QCPGraph* graph : baselineGraphs_) {
        const double perplexity = graph->property("perplexity").toDouble();
        graph->setData({1.0, double(span)}, {perplexity, perplexity}, true);
    }
    baselineSpan_ = span;
}

} // namespace rlq::ui

#pragma once

#include "PlotStyle.h"

#include <QWidget>

#include <cstddef>
#include <vector>

class QCustomPlot;
class QCPGraph;

namespace rlq::ui {

class RunData;

// Reward per episode with its moving average, and validation perplexity per
// episode with the best so far and the baselines' perplexities.
class CurvesPanel : public QWidget {
    Q_OBJECT

public:
    explicit CurvesPanel(const RunData& data, QWidget* parent = nullptr);

    // Clears the plots and redraws everything in the run.
    void reset();
    // Adds the episodes and baselines that arrived since the last call.
    void refresh();

    int rewardPointCount() const;
    int perplexityPointCount() const;
    // Horizontal reference lines drawn (float32 and uniform baselines).
    int baselineLineCount() const { return int(baselineGraphs_.size()); }

    QList<ExportablePlot> plots() const;

private:
    void addEpisodes();
    double float32Perplexity() const;
    void drawBaselines();
    void addBaselineLine(double perplexity, const QString& label, const QColor& color);
    void stretchBaselines();

    const RunData& data_;
    QCustomPlot* rewardPlot_ = nullptr;
    QCustomPlot* perplexityPlot_ = nullptr;
    QCPGraph* reward_ = nullptr;
    QCPGraph* rewardAverage_ = nullptr;
    QCPGraph* perplexity_ = nullptr;
    QCPGraph* bestPerplexity_ = nullptr;
    size_t drawnEpisodes_ = 0;
    size_t drawnBaselines_ = 0;
    bool drewFloat32Line_ = false;
    std::vector<QCPGraph*> baselineGraphs_;   // horizontal reference lines, in the legend
    int baselineSpan_ = 0;                     // last episode the reference lines reach
};

} // namespace rlq::ui

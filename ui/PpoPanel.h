#pragma once

#include "PlotStyle.h"

#include "search/SearchTypes.h"

#include <QWidget>

#include <cstddef>
#include <vector>

class QCustomPlot;

namespace rlq::ui {

class RunData;

// PPO diagnostics per update: policy loss, value loss, entropy, approximate
// KL divergence, clip fraction and explained variance, plotted at the
// episode after which the update ran.
class PpoPanel : public QWidget {
    Q_OBJECT

public:
    explicit PpoPanel(const RunData& data, QWidget* parent = nullptr);

    void reset();
    void refresh();

    // Updates drawn so far.
    int updateCount() const;

    QList<ExportablePlot> plots() const;

private:
    struct Metric {
        QString title;
        QString fileStem;
        double rlq::PpoStats::*field;
        QCustomPlot* plot;
    };

    const RunData& data_;
    std::vector<Metric> metrics_;
    size_t drawnEpisodes_ = 0;
};

} // namespace rlq::ui

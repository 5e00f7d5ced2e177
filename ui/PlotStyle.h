#pragma once

#include <QColor>
#include <QList>
#include <QString>

class QCustomPlot;
class QCPAxis;
class QCPGraph;

namespace rlq::ui {

// A plot that File > Export Plot offers, with the name used in file names.
struct ExportablePlot {
    QString title;      // menu text, e.g. "Reward"
    QString fileStem;   // e.g. "reward"
    QCustomPlot* plot;
};

// Title row, axis labels, a light grid and, when `withLegend` is true, a
// legend in a row below the axes, so it never covers data.
void setUpLinePlot(QCustomPlot* plot, const QString& title, const QString& xLabel, const QString& yLabel,
                   bool withLegend = true);

// Gives an episode axis whole-number ticks (1, 2, 5, 10, 20, ... apart).
void useEpisodeTicks(QCPAxis* axis);

// Adds a graph drawn as a thin line with small circles at the data points.
QCPGraph* addPointGraph(QCustomPlot* plot, const QString& name, const QColor& color);

// Adds a graph drawn as a thick line without markers.
QCPGraph* addLineGraph(QCustomPlot* plot, const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine);

// Fits both axes to the data with 5 % headroom (a factor of 1.1 on a log
// axis), and queues a replot.
void rescaleAndReplot(QCustomPlot* plot);

} // namespace rlq::ui

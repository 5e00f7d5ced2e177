#include "PlotStyle.h"

#include <qcustomplot.h>

namespace rlq::ui {

void setUpLinePlot(QCustomPlot* plot, const QString& title, const QString& xLabel, const QString& yLabel,
                   bool withLegend)
{
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, QFont(plot->font().family(), 10, QFont::Bold)));
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->yAxis->grid()->setPen(QPen(QColor(220, 220, 220), 0, Qt::DotLine));
    plot->xAxis->grid()->setPen(QPen(QColor(220, 220, 220), 0, Qt::DotLine));
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

    // QCustomPlot starts with the legend inside the axis rect.
    QCPLayoutInset* inset = plot->axisRect()->insetLayout();
    inset->take(plot->legend);
    inset->simplify();
    if (!withLegend) {
        delete plot->legend;
        plot->legend = nullptr;
        return;
    }
    plot->legend->setVisible(true);
    plot->legend->setFont(QFont(plot->font().family(), 8));
    plot->legend->setBorderPen(Qt::NoPen);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setWrap(2);
    plot->legend->setMargins(QMargins(4, 0, 4, 2));
    plot->plotLayout()->addElement(2, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(2, 0.001);
}

void useEpisodeTicks(QCPAxis* axis)
{
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
}

QCPGraph* addPointGraph(QCustomPlot* plot, const QString& name, const QColor& color)
{
    QCPGraph* graph = plot->addGraph();
    graph->setName(name);
    QColor line = color;
    line.setAlpha(90);
    graph->setPen(QPen(line, 1));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 4));
    return graph;
}

QCPGraph* addLineGraph(QCustomPlot* plot, const QString& name, const QColor& color, Qt::PenStyle style)
{
    QCPGraph* graph = plot->addGraph();
    graph->setName(name);
    graph->setPen(QPen(color, 2, style));
    return graph;
}

void rescaleAndReplot(QCustomPlot* plot)
{
    plot->rescaleAxes();
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
        const QCPRange range = axis->range();
        if (axis->scaleType() == QCPAxis::stLogarithmic) {
            if (range.lower > 0) {
                axis->setRange(range.lower / 1.1, range.upper * 1.1);
            }
        } else {
            const double pad = range.size() > 0 ? range.size() * 0.05 : std::max(1.0, std::abs(range.lower) * 0.1);
            axis->setRange(range.lower - pad, range.upper + pad);
        }
    }
    plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace rlq::ui

#include "PolicyHeatmap.h"

#include "Formatting.h"
#include "PlotStyle.h"
#include "RunData.h"

#include "quant/QuantTypes.h"

#include <QToolTip>

#include <cmath>

namespace rlq::ui {

namespace {

// The map stores log2(bits): 2, 4, 8 and 16 bits become 1, 2, 3 and 4, so
// each width gets an equal band of the colour scale.
double mapValue(int bits)
{
    return std::log2(double(bits));
}

const QCPRange kValueRange(0.5, 4.5);

// Map columns of a new run, and the most the map gets before two or more
// episodes share a column.
constexpr int kInitialColumns = 64;
constexpr int kMaxColumns = 2048;

// Vertical space in pixels that one row label needs. Rows closer than this
// get every n-th label only.
constexpr double kUnitLabelPixels = 11;

} // namespace

PolicyHeatmap::PolicyHeatmap(const RunData& data, QWidget* parent) : QCustomPlot(parent), data_(data)
{
    setObjectName(QStringLiteral("policyHeatmap"));
    setMouseTracking(true);
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, new QCPTextElement(this, tr("Bit-width per unit and episode"),
                                                      QFont(font().family(), 10, QFont::Bold)));

    xAxis->setLabel(tr("Episode"));
    useEpisodeTicks(xAxis);
    yAxis->setLabel(tr("Unit"));
    yAxis->setRangeReversed(true);   // the first unit (wte) on top, as in the model

    map_ = new QCPColorMap(xAxis, yAxis);
    map_->setInterpolate(false);
    map_->setTightBoundary(true);
    setUpColorScale();

    bestMarker_ = new QCPItemStraightLine(this);
    bestMarker_->setPen(QPen(Qt::black, 1.5, Qt::DashLine));
    bestMarker_->setVisible(false);

    reset();
}

void PolicyHeatmap::setUpColorScale()
{
    scale_ = new QCPColorScale(this);
    plotLayout()->addElement(1, 1, scale_);
    scale_->setType(QCPAxis::atRight);
    scale_->setLabel(tr("Bit-width"));
    scale_->setDataRange(kValueRange);

    // Near-coincident stops give hard edges, so each width is one flat colour.
    QCPColorGradient gradient;
    gradient.clearColorStops();
    gradient.setLevelCount(400);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    const int widths[] = {2, 4, 8, 16};
    for (int i = 0; i < 4; ++i) {
        gradient.setColorStopAt(i * 0.25, bitWidthColor(widths[i]));
        gradient.setColorStopAt(i * 0.25 + 0.2499, bitWidthColor(widths[i]));
    }
    scale_->setGradient(gradient);
    map_->setColorScale(scale_);
    map_->setGradient(gradient);
    map_->setDataRange(kValueRange);

    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (const auto& row : rlq::bitWidthTable()) {
        ticker->addTick(mapValue(row.bits), bitWidthLabel(row.bits));
    }
    scale_->axis()->setTicker(ticker);

    auto* margins = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    scale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
}

void PolicyHeatmap::setUpUnitAxis()
{
    const int units = data_.unitCount();
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    const double rowPixels = double(std::max(axisRect()->height(), 1)) / std::max(units, 1);
    const int step = std::max(1, int(std::ceil(kUnitLabelPixels / rowPixels)));
    for (int unit = 0; unit < units; unit += step) {
        ticker->addTick(unit, QString::fromStdString(data_.info().units[size_t(unit)].name));
    }
    yAxis->setTicker(ticker);
    yAxis->setTickLabelFont(QFont(font().family(), 7));
    yAxis->setRange(-0.5, std::max(units, 1) - 0.5);
}

void PolicyHeatmap::reset()
{
    setUpUnitAxis();
    drawnEpisodes_ = 0;
    episodesPerColumn_ = 1;
    resizeMap(kInitialColumns);
    refresh();
}

void PolicyHeatmap::resizeMap(int columns)
{
    columns_ = columns;
    const int rows = std::max(data_.unitCount(), 2);   // QCPColorMapData needs two rows to span a range
    map_->data()->setSize(columns_, rows);

    // setRange() takes the centres of the first and the last cell. Column c
    // covers episodes [c k + 1, (c + 1) k], with k episodes per column.
    const double firstCentre = (episodesPerColumn_ + 1) / 2.0;
    map_->data()->setRange(QCPRange(firstCentre, firstCentre + double(columns_ - 1) * episodesPerColumn_),
                           QCPRange(0, rows - 1));
    map_->data()->fill(qQNaN());

    // setSize() cleared the cells, so the episodes drawn so far are drawn again.
    for (size_t i = 0; i < drawnEpisodes_; ++i) {
        drawEpisode(i);
    }
}

void PolicyHeatmap::growMapFor(int episodeNumber)
{
    // Doubling keeps the redraws of a long run linear in its episodes, and
    // kMaxColumns bounds the image that QCPColorMap rebuilds on every change.
    int columns = columns_;
    while ((episodeNumber - 1) / episodesPerColumn_ >= columns) {
        columns *= 2;
        if (columns > kMaxColumns) {
            columns /= 2;
            episodesPerColumn_ *= 2;
        }
    }
    resizeMap(columns);
}

void PolicyHeatmap::refresh()
{
    const auto& episodes = data_.episodes();
    if (!episodes.empty() && (episodes.back().episode - 1) / episodesPerColumn_ >= columns_) {
        growMapFor(episodes.back().episode);
    }
    for (size_t i = drawnEpisodes_; i < episodes.size(); ++i) {
        drawEpisode(i);
    }
    drawnEpisodes_ = episodes.size();
    xAxis->setRange(0.5, std::max(data_.plannedEpisodes(), 1) + 0.5);
    moveBestMarker();
    replot(QCustomPlot::rpQueuedReplot);
}

void PolicyHeatmap::drawEpisode(size_t index)
{
    // With several episodes per column, the latest one drawn shows.
    const rlq::EpisodeResult& episode = data_.episodes()[index];
    const int column = (episode.episode - 1) / episodesPerColumn_;
    if (episode.episode < 1 || column >= columns_) {
        return;
    }
    const int units = std::min(int(episode.bits.size()), map_->data()->valueSize());
    for (int unit = 0; unit < units; ++unit) {
        map_->data()->setCell(column, unit, mapValue(episode.bits[size_t(unit)]));
    }
}

void PolicyHeatmap::moveBestMarker()
{
    const rlq::EpisodeResult* best = data_.bestEpisode();
    bestMarker_->setVisible(best != nullptr);
    if (best) {
        bestMarker_->point1->setCoords(best->episode, 0);
        bestMarker_->point2->setCoords(best->episode, 1);
    }
}

bool PolicyHeatmap::cellAt(const QPointF& position, Cell& cell) const
{
    if (!data_.hasInfo() || !axisRect()->rect().contains(position.toPoint())) {
        return false;
    }
    const int episodeNumber = int(std::lround(xAxis->pixelToCoord(position.x())));
    const int unit = int(std::lround(yAxis->pixelToCoord(position.y())));
    if (unit < 0 || unit >= data_.unitCount() || episodeNumber < 1) {
        return false;
    }

    cell.unitIndex = unit;
    cell.episodeIndex = -1;
    cell.bits = data_.bestBitsOf(unit);
    const auto& episodes = data_.episodes();
    for (size_t i = 0; i < episodes.size(); ++i) {
        if (episodes[i].episode == episodeNumber && unit < int(episodes[i].bits.size())) {
            cell.episodeIndex = int(i);
            cell.bits = episodes[i].bits[size_t(unit)];
            break;
        }
    }
    return true;
}

void PolicyHeatmap::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);

    Cell cell;
    if (!cellAt(event->position(), cell) || cell.episodeIndex < 0) {
        QToolTip::hideText();
        return;
    }
    const int episodeNumber = data_.episodes()[size_t(cell.episodeIndex)].episode;
    const QString text = tr("Episode %1").arg(episodeNumber) + QStringLiteral("<br>") +
                         unitToolTip(data_.info(), cell.unitIndex, cell.bits);
    QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

void PolicyHeatmap::mouseDoubleClickEvent(QMouseEvent* event)
{
    QCustomPlot::mouseDoubleClickEvent(event);

    Cell cell;
    if (cellAt(event->position(), cell)) {
        emit unitActivated(cell.unitIndex, cell.bits);
    }
}

void PolicyHeatmap::resizeEvent(QResizeEvent* event)
{
    QCustomPlot::resizeEvent(event);

    // The label spacing depends on the axis rect's new height, known after a layout pass.
    plotLayout()->update(QCPLayoutElement::upLayout);
    setUpUnitAxis();
    replot(QCustomPlot::rpQueuedReplot);
}

void PolicyHeatmap::leaveEvent(QEvent* event)
{
    QCustomPlot::leaveEvent(event);
    QToolTip::hideText();
}

} // namespace rlq::ui

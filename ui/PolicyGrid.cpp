#include "PolicyGrid.h"

#include "Formatting.h"
#include "RunData.h"

#include "quant/QuantTypes.h"

#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <algorithm>
#include <array>
#include <cmath>

namespace rlq::ui {

namespace {

// Matrix kinds of a transformer block in forward order, as UnitInfo::kind
// names them.
const std::array<const char*, 4> kBlockColumns = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
constexpr int kColumnCount = int(kBlockColumns.size());

constexpr double kTitleHeight = 22;
constexpr double kHeaderHeight = 30;
constexpr double kLegendHeight = 22;
constexpr double kMaxRowHeight = 30;
constexpr double kMinRowHeight = 6;
constexpr double kMargin = 6;

int columnOfKind(const std::string& kind)
{
    for (int column = 0; column < kColumnCount; ++column) {
        if (kind == kBlockColumns[size_t(column)]) {
            return column;
        }
    }
    return -1;
}

} // namespace

PolicyGrid::PolicyGrid(const RunData& data, QWidget* parent) : QWidget(parent), data_(data)
{
    setObjectName(QStringLiteral("policyGrid"));
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void PolicyGrid::refresh()
{
    placeUnits();
    update();
}

void PolicyGrid::placeUnits()
{
    placements_.clear();
    rowCount_ = 1;
    int embeddingColumn = 0;
    const auto& units = data_.info().units;
    for (int index = 0; index < int(units.size()); ++index) {
        const rlq::UnitInfo& unit = units[size_t(index)];
        if (unit.block < 0) {
            // wte, wpe and any other model-wide matrix share the first row.
            placements_.push_back({index, 0, embeddingColumn % kColumnCount, 1});
            ++embeddingColumn;
            continue;
        }
        const int row = unit.block + 1;
        rowCount_ = std::max(rowCount_, row + 1);
        const int column = columnOfKind(unit.kind);
        if (column < 0) {
            // A whole block as one decision ("block" kind).
            placements_.push_back({index, row, 0, kColumnCount});
        } else {
            placements_.push_back({index, row, column, 1});
        }
    }
}

PolicyGrid::Geometry PolicyGrid::geometry() const
{
    const double labelWidth = fontMetrics().horizontalAdvance(tr("Embeddings")) + 2 * kMargin;
    const double available = height() - kTitleHeight - kHeaderHeight - kLegendHeight - 2 * kMargin;
    Geometry g;
    g.left = labelWidth;
    g.top = kTitleHeight + kHeaderHeight + kMargin;
    g.rowHeight = std::clamp(available / std::max(rowCount_, 1), kMinRowHeight, kMaxRowHeight);
    g.columnWidth = std::max(20.0, (width() - labelWidth - kMargin) / kColumnCount);
    return g;
}

QRectF PolicyGrid::cellRect(const Placement& placement, const Geometry& g) const
{
    return QRectF(g.left + placement.column * g.columnWidth, g.top + placement.row * g.rowHeight,
                  placement.columnSpan * g.columnWidth, g.rowHeight)
        .adjusted(1, 1, -1, -1);
}

int PolicyGrid::unitAt(const QPointF& position) const
{
    const Geometry g = geometry();
    for (const Placement& placement : placements_) {
        if (cellRect(placement, g).contains(position)) {
            return placement.unitIndex;
        }
    }
    return -1;
}

QPointF PolicyGrid::cellCenter(int unitIndex) const
{
    const Geometry g = geometry();
    for (const Placement& placement : placements_) {
        if (placement.unitIndex == unitIndex) {
            return cellRect(placement, g).center();
        }
    }
    return QPointF(-1, -1);
}

QSize PolicyGrid::sizeHint() const
{
    return QSize(420, 320);
}

QSize PolicyGrid::minimumSizeHint() const
{
    return QSize(260, 160);
}

void PolicyGrid::paintEvent(QPaintEvent* /*event*/)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());

    QFont titleFont = font();
    titleFont.setBold(true);
    painter.setFont(titleFont);
    const rlq::EpisodeResult* best = data_.bestEpisode();
    const QString title = best ? tr("Best policy (episode %1, %2 average bits)")
                                     .arg(best->episode)
                                     .arg(QLocale().toString(best->avgBits, 'f', 2))
                               : tr("Best policy (no episode yet)");
    painter.drawText(QRectF(kMargin, 0, width() - 2 * kMargin, kTitleHeight), Qt::AlignCenter, title);
    painter.setFont(font());

    const Geometry g = geometry();
    paintHeader(painter, g);
    paintCells(painter, g);
    paintLegend(painter);
}

void PolicyGrid::paintHeader(QPainter& painter, const Geometry& g) const
{
    painter.setPen(palette().text().color());
    for (int column = 0; column < kColumnCount; ++column) {
        const QRectF header(g.left + column * g.columnWidth, kTitleHeight, g.columnWidth, kHeaderHeight);
        // "attn.c_attn" becomes "attn" over "c_attn", so narrow columns keep their names apart.
        QString name = QString::fromLatin1(kBlockColumns[size_t(column)]);
        name.replace(QLatin1Char('.'), QLatin1Char('\n'));
        painter.drawText(header, Qt::AlignCenter, name);
    }

    // Row labels thin out when rows get too low for text.
    const int labelEvery = std::max(1, int(std::ceil(fontMetrics().height() / g.rowHeight)));
    for (int row = 0; row < rowCount_; ++row) {
        if (row > 0 && (row - 1) % labelEvery != 0) {
            continue;
        }
        const QRectF label(0, g.top + row * g.rowHeight, g.left - kMargin, g.rowHeight);
        const QString text = row == 0 ? tr("Embeddings") : tr("Block %1").arg(row - 1);
        painter.drawText(label, Qt::AlignRight | Qt::AlignVCenter, text);
    }
}

void PolicyGrid::paintCells(QPainter& painter, const Geometry& g) const
{
    const bool showText = g.rowHeight >= fontMetrics().height();
    for (const Placement& placement : placements_) {
        const QRectF cell = cellRect(placement, g);
        const int bits = data_.bestBitsOf(placement.unitIndex);
        const QColor fill = bits > 0 ? bitWidthColor(bits) : palette().window().color();
        painter.setPen(QPen(palette().mid().color(), 0.5));
        painter.setBrush(fill);
        painter.drawRect(cell);
        if (!showText) {
            continue;
        }

        const rlq::UnitInfo& unit = data_.info().units[size_t(placement.unitIndex)];
        QString text = bits > 0 ? QString::number(bits) : QStringLiteral("–");
        if (placement.row == 0 || placement.columnSpan > 1) {
            text = QString::fromStdString(unit.kind == "block" ? unit.name : unit.kind) + QStringLiteral("  ") + text;
        }
        painter.setPen(textColorOn(fill));
        painter.drawText(cell, Qt::AlignCenter, text);
    }
}

void PolicyGrid::paintLegend(QPainter& painter) const
{
    const double y = height() - kLegendHeight;
    double x = kMargin;
    const double swatch = 12;
    painter.setPen(palette().text().color());
    for (const auto& row : rlq::bitWidthTable()) {
        painter.setBrush(bitWidthColor(row.bits));
        painter.drawRect(QRectF(x, y + (kLegendHeight - swatch) / 2, swatch, swatch));
        x += swatch + 4;
        const QString label = bitWidthLabel(row.bits);
        painter.drawText(QRectF(x, y, 80, kLegendHeight), Qt::AlignLeft | Qt::AlignVCenter, label);
        x += fontMetrics().horizontalAdvance(label) + 14;
    }
}

void PolicyGrid::mouseMoveEvent(QMouseEvent* event)
{
    const int unit = unitAt(event->position());
    if (unit < 0) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(), unitToolTip(data_.info(), unit, data_.bestBitsOf(unit)),
                       this);
}

void PolicyGrid::mouseDoubleClickEvent(QMouseEvent* event)
{
    const int unit = unitAt(event->position());
    if (unit >= 0) {
        emit unitActivated(unit, data_.bestBitsOf(unit));
    }
}

} // namespace rlq::ui

#include "FootprintGauge.h"

#include "Formatting.h"
#include "RunData.h"

#include <QPainter>

#include <algorithm>

namespace rlq::ui {

namespace {

constexpr double kMargin = 8;
constexpr double kTitleHeight = 22;
constexpr double kFooterHeight = 36;

} // namespace

FootprintGauge::FootprintGauge(const RunData& data, QWidget* parent) : QWidget(parent), data_(data)
{
    setObjectName(QStringLiteral("footprintGauge"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void FootprintGauge::refresh()
{
    update();
}

QSize FootprintGauge::sizeHint() const
{
    return QSize(420, 200);
}

QSize FootprintGauge::minimumSizeHint() const
{
    return QSize(260, 150);
}

void FootprintGauge::paintEvent(QPaintEvent* /*event*/)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(rect(), palette().base());

    QFont titleFont = font();
    titleFont.setBold(true);
    painter.setFont(titleFont);
    painter.setPen(palette().text().color());
    painter.drawText(QRectF(kMargin, 0, width() - 2 * kMargin, kTitleHeight), Qt::AlignCenter,
                     tr("Memory footprint"));
    painter.setFont(font());

    const rlq::RunInfo& info = data_.info();
    const rlq::EpisodeResult* best = data_.bestEpisode();
    const rlq::EpisodeResult* last = data_.lastEpisode();
    const QList<Bar> bars = {
        {tr("float32"), info.fp32Bytes, QColor(0x75, 0x75, 0x75)},
        {tr("float16"), info.fp16Bytes, QColor(0xa8, 0xa8, 0xa8)},
        {tr("Best policy"), best ? best->bytes : 0, QColor(0x2c, 0xa0, 0x2c)},
        {tr("Latest episode"), last ? last->bytes : 0, QColor(0x1f, 0x77, 0xb4)},
    };
    const Layout layout = layoutFor(bars);
    paintBars(painter, layout, bars);
    paintBudget(painter, layout);

    painter.setPen(palette().text().color());
    painter.drawText(QRectF(kMargin, height() - kFooterHeight, width() - 2 * kMargin, kFooterHeight),
                     Qt::AlignLeft | Qt::AlignVCenter | Qt::TextWordWrap, averageBitsText());
}

FootprintGauge::Layout FootprintGauge::layoutFor(const QList<Bar>& bars) const
{
    double labelWidth = 0;
    for (const Bar& bar : bars) {
        labelWidth = std::max<double>(labelWidth, fontMetrics().horizontalAdvance(bar.label));
    }

    Layout layout;
    layout.area = QRectF(kMargin, kTitleHeight, width() - 2 * kMargin, height() - kTitleHeight - kFooterHeight);
    layout.barLeft = layout.area.left() + labelWidth + kMargin;
    layout.barWidth = std::max(10.0, layout.area.right() - layout.barLeft);
    const rlq::RunInfo& info = data_.info();
    layout.scaleBytes = double(std::max<int64_t>({info.fp32Bytes, info.budgetBytes, 1}));
    return layout;
}

void FootprintGauge::paintBars(QPainter& painter, const Layout& layout, const QList<Bar>& bars) const
{
    const double rowHeight = layout.area.height() / double(bars.size());
    for (int i = 0; i < bars.size(); ++i) {
        const Bar& bar = bars[i];
        const double top = layout.area.top() + i * rowHeight;
        painter.setPen(palette().text().color());
        painter.drawText(QRectF(layout.area.left(), top, layout.barLeft - layout.area.left() - kMargin, rowHeight),
                         Qt::AlignRight | Qt::AlignVCenter, bar.label);

        const QRectF track(layout.barLeft, top + rowHeight * 0.2, layout.barWidth, rowHeight * 0.6);
        painter.setPen(Qt::NoPen);
        painter.setBrush(palette().alternateBase());
        painter.drawRect(track);
        if (bar.bytes <= 0) {
            painter.setPen(palette().placeholderText().color());
            painter.drawText(track.adjusted(4, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, tr("not known yet"));
            continue;
        }

        QRectF filled = track;
        filled.setWidth(track.width() * std::min(1.0, double(bar.bytes) / layout.scaleBytes));
        painter.setBrush(bar.color);
        painter.drawRect(filled);

        // The size goes inside a long bar and after a short one.
        const QString text = formatMegabytes(bar.bytes);
        const double textWidth = fontMetrics().horizontalAdvance(text) + 8;
        const bool inside = filled.width() > textWidth;
        painter.setPen(inside ? textColorOn(bar.color) : palette().text().color());
        const QRectF textArea = inside ? filled.adjusted(0, 0, -4, 0) : track.adjusted(filled.width() + 4, 0, 0, 0);
        painter.drawText(textArea, (inside ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter, text);
    }
}

void FootprintGauge::paintBudget(QPainter& painter, const Layout& layout) const
{
    // NOTE: only a budget in megabytes gets a line. The size of an average-bits
    // budget depends on the policy, so averageBitsText() states it instead.
    const int64_t budget = data_.info().budgetBytes;
    if (budget <= 0) {
        return;
    }
    const double x = layout.barLeft + layout.barWidth * std::min(1.0, double(budget) / layout.scaleBytes);
    painter.setPen(QPen(QColor(0xd6, 0x27, 0x28), 1.5, Qt::DashLine));
    painter.drawLine(QPointF(x, layout.area.top()), QPointF(x, layout.area.bottom()));
    painter.drawText(QRectF(x - 120, layout.area.bottom() - 2, 240, 16), Qt::AlignHCenter | Qt::AlignTop,
                     tr("Budget %1").arg(formatMegabytes(budget)));
}

QString FootprintGauge::averageBitsText() const
{
    const rlq::EpisodeResult* best = data_.bestEpisode();
    const rlq::EpisodeResult* last = data_.lastEpisode();
    QString text;
    if (best && last) {
        text = tr("Average bits: latest %1, best %2.")
                   .arg(QLocale().toString(last->avgBits, 'f', 2), QLocale().toString(best->avgBits, 'f', 2));
    } else {
        text = tr("Average bits: no episode yet.");
    }
    if (data_.info().budgetBits > 0) {
        text += QLatin1Char(' ') +
                tr("Budget: at most %1 average bits.").arg(QLocale().toString(data_.info().budgetBits, 'f', 2));
    }
    return text;
}

} // namespace rlq::ui

#include "Formatting.h"

#include "quant/QuantTypes.h"

#include <QCoreApplication>
#include <QLocale>

#include <algorithm>
#include <cmath>

namespace rlq::ui {

namespace {

// Gives these free functions a tr() that lupdate recognizes.
class Text {
    Q_DECLARE_TR_FUNCTIONS(Formatting)
};

} // namespace

QString formatMegabytes(int64_t bytes)
{
    return Text::tr("%1 MB").arg(QLocale().toString(double(bytes) / 1e6, 'f', 2));
}

QString formatDuration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0) {
        return Text::tr("unknown");
    }
    const auto total = int64_t(std::llround(seconds));
    if (total < 60) {
        return Text::tr("%1 s").arg(total);
    }
    if (total < 3600) {
        return Text::tr("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
    }
    return Text::tr("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString bitWidthLabel(int bits)
{
    if (bits == rlq::kUnquantizedBits) {
        return Text::tr("32-bit (float32)");
    }
    for (const auto& row : rlq::bitWidthTable()) {
        if (row.bits == bits) {
            return Text::tr("%1-bit").arg(row.bits);
        }
    }
    return Text::tr("%1 bits").arg(bits);
}

QColor bitWidthColor(int bits)
{
    // A diverging palette: warm colours for aggressive widths, cool ones for
    // conservative widths, darkest at the two ends.
    switch (bits) {
    case 2: return QColor(0xb2, 0x18, 0x2b);
    case 4: return QColor(0xf4, 0xa5, 0x82);
    case 8: return QColor(0x92, 0xc5, 0xde);
    case 16: return QColor(0x21, 0x66, 0xac);
    default: return QColor(0x9e, 0x9e, 0x9e);
    }
}

QColor textColorOn(const QColor& background)
{
    return background.lightnessF() > 0.6 ? QColor(Qt::black) : QColor(Qt::white);
}

QString unitToolTip(const rlq::RunInfo& info, int unitIndex, int bits)
{
    if (unitIndex < 0 || unitIndex >= int(info.units.size())) {
        return {};
    }
    const rlq::UnitInfo& unit = info.units[size_t(unitIndex)];
    QString text = QStringLiteral("<b>%1</b><br>").arg(QString::fromStdString(unit.name).toHtmlEscaped());
    text += Text::tr("Bit-width: %1").arg(bitWidthLabel(bits)) + QStringLiteral("<br>");
    text += Text::tr("Parameters: %1").arg(QLocale().toString(qlonglong(unit.parameterCount))) + QStringLiteral("<br>");

    const auto position = std::find(info.allowedBits.begin(), info.allowedBits.end(), bits);
    const auto index = size_t(position - info.allowedBits.begin());
    if (position != info.allowedBits.end() && index < unit.sensitivity.size()) {
        text += Text::tr("Sensitivity: %1 nats of validation loss at %2 with all other units in float32")
                    .arg(QLocale().toString(unit.sensitivity[index], 'g', 3), bitWidthLabel(bits));
    } else {
        text += Text::tr("Sensitivity: not measured at this width");
    }
    return text;
}

} // namespace rlq::ui

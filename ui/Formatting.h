#pragma once

// Text and colour conventions shared by every view, so that a bit-width or a
// size reads the same in the heatmap, the grid, the gauge and the inspector.

#include "search/SearchTypes.h"

#include <QColor>
#include <QString>

#include <cstdint>

namespace rlq::ui {

// Sizes use megabytes of 1e6 bytes, as the engine's budget does.
QString formatMegabytes(int64_t bytes);

// "42 s", "3 min 05 s" or "1 h 02 min".
QString formatDuration(double seconds);

// "4-bit" from bitWidthTable(), or "32-bit (float32)" for kUnquantizedBits.
QString bitWidthLabel(int bits);

// Fill colour of a cell that shows a policy bit-width, or grey for other values.
QColor bitWidthColor(int bits);

// Black or white, whichever reads better on `background`.
QColor textColorOn(const QColor& background);

// Rich-text tool tip of one unit: name, bit-width, parameter count and the
// sensitivity probe's validation-loss increase at that width.
QString unitToolTip(const rlq::RunInfo& info, int unitIndex, int bits);

} // namespace rlq::ui

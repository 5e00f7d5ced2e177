#pragma once

#include <QWidget>

#include <cstdint>

namespace rlq::ui {

class RunData;

// Horizontal bars of the model's storage size: float32, float16, the best
// policy and the latest episode's policy, with the run's size budget as a
// vertical line and the average bit-widths below.
class FootprintGauge : public QWidget {
    Q_OBJECT

public:
    explicit FootprintGauge(const RunData& data, QWidget* parent = nullptr);

    void refresh();

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    struct Bar {
        QString label;
        int64_t bytes;   // 0 when unknown
        QColor color;
    };

    // Bar geometry: the rows span `area`, each bar starts at barLeft, and
    // scaleBytes fills barWidth.
    struct Layout {
        QRectF area;
        double barLeft;
        double barWidth;
        double scaleBytes;
    };

    Layout layoutFor(const QList<Bar>& bars) const;
    void paintBars(QPainter& painter, const Layout& layout, const QList<Bar>& bars) const;
    void paintBudget(QPainter& painter, const Layout& layout) const;
    QString averageBitsText() const;

    const RunData& data_;
};

} // namespace rlq::ui

#pragma once

#include <QWidget>

#include <vector>

namespace rlq::ui {

class RunData;

// The best policy so far as a table: one row per transformer block, one
// column per weight matrix (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj),
// and a first row for the embeddings wte and wpe. A run with one decision
// per block gets one cell spanning the row. Hovering a cell shows the
// unit's tool tip, and double-clicking it emits unitActivated().
class PolicyGrid : public QWidget {
    Q_OBJECT

public:
    explicit PolicyGrid(const RunData& data, QWidget* parent = nullptr);

    // Re-reads the units and the best policy from the run.
    void refresh();

    // Index of the unit under `position`, or -1.
    int unitAt(const QPointF& position) const;
    // Centre of the cell of `unitIndex` in widget coordinates, or (-1, -1).
    QPointF cellCenter(int unitIndex) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void unitActivated(int unitIndex, int bits);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;

private:
    // Position of one unit in grid coordinates. Row 0 contains the embeddings.
    struct Placement {
        int unitIndex;
        int row;
        int column;
        int columnSpan;
    };

    // Pixel geometry of the grid for the current widget size.
    struct Geometry {
        double left;        // x of the first column
        double top;         // y of row 0
        double rowHeight;
        double columnWidth;
    };

    void placeUnits();
    Geometry geometry() const;
    QRectF cellRect(const Placement& placement, const Geometry& geometry) const;
    void paintHeader(QPainter& painter, const Geometry& geometry) const;
    void paintCells(QPainter& painter, const Geometry& geometry) const;
    void paintLegend(QPainter& painter) const;

    const RunData& data_;
    std::vector<Placement> placements_;
    int rowCount_ = 0;
};

} // namespace rlq::ui

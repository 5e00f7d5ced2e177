#pragma once

#include <qcustomplot.h>

#include <cstddef>

namespace rlq::ui {

class RunData;

// Bit-width of every unit (rows) in every episode (columns), with a colour
// scale legend and a marker on the best episode. Hovering a cell shows the
// unit's tool tip, and double-clicking it emits unitActivated().
class PolicyHeatmap : public QCustomPlot {
    Q_OBJECT

public:
    explicit PolicyHeatmap(const RunData& data, QWidget* parent = nullptr);

    // Rebuilds rows and columns from the run's units and episode count and
    // redraws every episode. Call after RunData::clear() or setInfo().
    void reset();
    // Draws the episodes added to the run since the last call.
    void refresh();

    // Episodes drawn so far.
    int episodeCount() const { return int(drawnEpisodes_); }

signals:
    void unitActivated(int unitIndex, int bits);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    struct Cell {
        int unitIndex = -1;
        int episodeIndex = -1;   // index into RunData::episodes(), -1 for an empty column
        int bits = 0;
    };

    void setUpColorScale();
    void setUpUnitAxis();
    void resizeMap(int columns);
    void growMapFor(int episodeNumber);
    void drawEpisode(size_t index);
    void moveBestMarker();
    bool cellAt(const QPointF& position, Cell& cell) const;

    const RunData& data_;
    QCPColorMap* map_ = nullptr;
    QCPColorScale* scale_ = nullptr;
    QCPItemStraightLine* bestMarker_ = nullptr;
    // The map covers episodes 1 .. columns_ * episodesPerColumn_.
    int columns_ = 0;
    int episodesPerColumn_ = 1;
    size_t drawnEpisodes_ = 0;
};

} // namespace rlq::ui

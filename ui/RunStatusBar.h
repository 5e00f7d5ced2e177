#pragma once

#include <QStatusBar>

class QLabel;

namespace rlq::ui {

class RunData;

// Status bar of the main window: the run's phase, episode i/N, elapsed
// time, estimated time to the last episode and episodes per minute.
class RunStatusBar : public QStatusBar {
    Q_OBJECT

public:
    explicit RunStatusBar(QWidget* parent = nullptr);

    void setPhase(const QString& phase);
    // Redraws the episode counters from `data`. `elapsedSeconds` is the wall
    // time since the run started, and `active` tells whether it still runs.
    void showProgress(const RunData& data, double elapsedSeconds, bool active);

    QString episodeText() const;

private:
    QLabel* phase_ = nullptr;
    QLabel* episode_ = nullptr;
    QLabel* elapsed_ = nullptr;
    QLabel* eta_ = nullptr;
    QLabel* rate_ = nullptr;
};

} // namespace rlq::ui

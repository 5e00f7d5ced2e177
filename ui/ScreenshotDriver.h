#pragma once

#include "MetaTypes.h"

#include <QObject>
#include <QPointer>
#include <QString>
#include <QTemporaryDir>
#include <QTimer>

namespace rlq::ui {

class InspectorDialog;
class MainWindow;

// rlq-studio --screenshot: runs a short search in the window, renders the
// window mid-run (after captureAtEpisode episodes, while the worker keeps
// going), pauses the run to render the inspector of one unit, then stops the
// run and reports the exit code through done(). A run that ends before the
// capture point is rendered after its final report instead.
class ScreenshotDriver : public QObject {
    Q_OBJECT

public:
    struct Options {
        QString file;                        // main window image, in a format QImageWriter supports (by suffix)
        int episodes = 8;
        int captureAtEpisode = 0;            // 0: three quarters of the episodes
        QString model = QStringLiteral("demo");
        QString dataset = QStringLiteral("demo");
        int timeoutSeconds = 1800;           // whole sequence, including the final evaluation
    };

    ScreenshotDriver(MainWindow& window, Options options, QObject* parent = nullptr);

    // Fills the set-up panel and starts the run once its checks pass.
    void start();

    // FILE with "-inspector" before the suffix, e.g. shot.png -> shot-inspector.png.
    static QString inspectorFileName(const QString& file);

signals:
    void done(int exitCode);

private:
    void startWhenValid();
    void onEpisode();
    void onStateChanged();
    void onRunFinished();
    void captureWindow();
    void openInspector();
    void captureInspector();
    void fail(const QString& message);
    void finish(int exitCode);

    MainWindow& window_;
    const Options options_;
    QTemporaryDir runsFolder_;
    QTimer timeout_;
    QPointer<InspectorDialog> inspector_;
    bool finished_ = false;
    int episodesSeen_ = 0;
    bool windowCaptured_ = false;
    bool waitingForPause_ = false;
    bool waitingForStop_ = false;
};

} // namespace rlq::ui

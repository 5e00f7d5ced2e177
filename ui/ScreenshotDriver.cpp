#include "ScreenshotDriver.h"

#include "InspectorDialog.h"
#include "MainWindow.h"
#include "RunFiles.h"
#include "SearchController.h"
#include "SetupPanel.h"

#include "util/Error.h"

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QPixmap>

#include <algorithm>
#include <cstdio>

namespace rlq::ui {

namespace {

// Time for queued replots and layouts before a widget is rendered.
constexpr int kSettleMilliseconds = 400;

void savePixmap(const QPixmap& pixmap, const QString& path)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    const QByteArray format = QFileInfo(path).suffix().toUpper().toLatin1();
    if (!pixmap.save(&buffer, format.isEmpty() ? "PNG" : format.constData())) {
        throw rlq::Error(ScreenshotDriver::tr("encoding %1 failed; use a .png or .jpg file name").arg(path).toStdString());
    }
    writeFileAtomically(path, bytes);
}

} // namespace

ScreenshotDriver::ScreenshotDriver(MainWindow& window, Options options, QObject* parent)
    : QObject(parent), window_(window), options_(std::move(options))
{
    timeout_.setSingleShot(true);
    timeout_.setInterval(options_.timeoutSeconds * 1000);
    connect(&timeout_, &QTimer::timeout, this, [this] {
        fail(tr("timed out after %1 s waiting for the run; try fewer --episodes").arg(options_.timeoutSeconds));
    });
}

QString ScreenshotDriver::inspectorFileName(const QString& file)
{
    const QFileInfo info(file);
    const QString suffix = info.suffix().isEmpty() ? QString() : QStringLiteral(".") + info.suffix();
    return info.dir().filePath(info.completeBaseName() + QStringLiteral("-inspector") + suffix);
}

void ScreenshotDriver::start()
{
    if (!runsFolder_.isValid()) {
        fail(tr("no temporary folder for the run could be created: %1").arg(runsFolder_.errorString()));
        return;
    }

    // A short run that still shows every view: one fine-tuning step per
    // episode, small validation and test samples.
    rlq::RunSettings settings;
    settings.model = options_.model.toStdString();
    settings.dataset = options_.dataset.toStdString();
    settings.episodes = options_.episodes;
    settings.finetune.steps = 1;
    settings.eval.validationTokens = 2048;
    settings.eval.testTokens = 4096;
    settings.eval.testQuestions = 50;
    settings.ppo.episodesPerUpdate = std::max(1, std::min(settings.ppo.episodesPerUpdate, options_.episodes / 4));
    settings.runFolder = QDir(runsFolder_.path()).filePath(QStringLiteral("screenshot-run")).toStdString();
    window_.setupPanel()->applySettings(settings);

    SearchController* controller = window_.controller();
    connect(controller, &SearchController::episodeFinished, this, &ScreenshotDriver::onEpisode);
    connect(controller, &SearchController::stateChanged, this, &ScreenshotDriver::onStateChanged);
    connect(controller, &SearchController::runFinished, this, &ScreenshotDriver::onRunFinished);
    connect(controller, &SearchController::runFailed, this,
            [this](const QString& message) { fail(tr("the run failed: %1").arg(message)); });

    timeout_.start();
    startWhenValid();
}

void ScreenshotDriver::startWhenValid()
{
    SetupPanel* setup = window_.setupPanel();
    if (setup->isChecking()) {
        QTimer::singleShot(100, this, &ScreenshotDriver::startWhenValid);
        return;
    }
    if (!setup->isValid()) {
        fail(tr("the settings are invalid: %1").arg(setup->problems()));
        return;
    }
    window_.startRun();
}

void ScreenshotDriver::onEpisode()
{
    ++episodesSeen_;
    const int target = options_.captureAtEpisode > 0 ? options_.captureAtEpisode : std::max(1, options_.episodes * 3 / 4);
    if (!windowCaptured_ && episodesSeen_ >= target) {
        windowCaptured_ = true;
        QTimer::singleShot(kSettleMilliseconds, this, &ScreenshotDriver::captureWindow);
    }
}

void ScreenshotDriver::onStateChanged()
{
    if (waitingForPause_ && window_.controller()->state() == SearchController::State::Paused) {
        waitingForPause_ = false;
        openInspector();
    }
}

void ScreenshotDriver::onRunFinished()
{
    if (waitingForStop_) {
        finish(0);
        return;
    }
    if (!windowCaptured_) {
        windowCaptured_ = true;
        QTimer::singleShot(kSettleMilliseconds, this, &ScreenshotDriver::captureWindow);
    }
}

void ScreenshotDriver::captureWindow()
{
    window_.flushPending();
    try {
        savePixmap(window_.grab(), options_.file);
    } catch (const rlq::Error& error) {
        fail(QString::fromStdString(error.what()));
        return;
    }
    std::printf("%s\n", qPrintable(tr("Main window written to %1 after episode %2 of %3%4")
                                        .arg(options_.file)
                                        .arg(episodesSeen_)
                                        .arg(options_.episodes)
                                        .arg(window_.controller()->isActive() ? tr(", while the run goes on") : QString())));
    std::fflush(stdout);

    // The inspector needs the session idle: pause a running search first.
    SearchController* controller = window_.controller();
    if (controller->state() == SearchController::State::Running) {
        waitingForPause_ = true;
        controller->pause();
        return;
    }
    openInspector();
}

void ScreenshotDriver::openInspector()
{
    // The first block's mlp.c_fc, a large matrix that policies rarely keep at 16 bits.
    const auto& units = window_.runData().info().units;
    int unit = 0;
    for (int i = 0; i < int(units.size()); ++i) {
        if (units[size_t(i)].kind == "mlp.c_fc") {
            unit = i;
            break;
        }
    }

    inspector_ = window_.openInspector(unit, 0);
    if (!inspector_) {
        fail(tr("the inspector could not be opened; see the status bar message"));
        return;
    }
    inspector_->resize(900, 480);
    connect(inspector_, &InspectorDialog::inspectionShown, this,
            [this] { QTimer::singleShot(kSettleMilliseconds, this, &ScreenshotDriver::captureInspector); });
    connect(inspector_, &InspectorDialog::inspectionFailed, this,
            [this](const QString& message) { fail(tr("the inspection failed: %1").arg(message)); });
}

void ScreenshotDriver::captureInspector()
{
    const QString file = inspectorFileName(options_.file);
    try {
        savePixmap(inspector_->grab(), file);
    } catch (const rlq::Error& error) {
        fail(QString::fromStdString(error.what()));
        return;
    }
    std::printf("%s\n", qPrintable(tr("Inspector written to %1").arg(file)));

    // A paused run is stopped; it still writes its run folder before exit.
    SearchController* controller = window_.controller();
    if (controller->isActive()) {
        inspector_->close();
        waitingForStop_ = true;
        controller->stop();
        return;
    }
    finish(0);
}

void ScreenshotDriver::fail(const QString& message)
{
    std::fprintf(stderr, "rlq-studio: %s\n", qPrintable(tr("screenshot failed: %1").arg(message)));
    finish(2);
}

void ScreenshotDriver::finish(int exitCode)
{
    if (finished_) {
        return;
    }
    finished_ = true;
    timeout_.stop();
    emit done(exitCode);
}

} // namespace rlq::ui

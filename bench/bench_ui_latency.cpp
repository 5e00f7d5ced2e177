// Measures how late RLQ Studio's UI event loop runs a 10 ms timer while the
// search worker runs the episodes of a real search in the same process.
// Timing starts at the run-started signal, after loading and the
// sensitivity probe, and ends at the stop. The program prints the
// median, the 99th percentile and the maximum lateness, and the 99th
// percentile divided by 100 ms (below 1: the window reacts within 100 ms in
// 99 % of the ticks).
//
// Usage: bench_ui_latency [seconds, default 60] [LibTorch threads, default cores - 1]
//
// The window runs under the offscreen platform unless QT_QPA_PLATFORM is
// set. It uses the demo bundle, else models/tiny-gpt2-ref and
// data/openbookqa under RLQ_SHARED_DIR. Other processes on the machine add
// lateness too, so the load average is printed before the run.

#include "MainWindow.h"
#include "MetaTypes.h"
#include "SearchController.h"
#include "SetupPanel.h"

#include "model/ModelLocator.h"
#include "util/Threads.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QSettings>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int kTickMilliseconds = 10;
constexpr double kResponsiveMilliseconds = 100.0;

struct Options {
    double seconds = 60;
    int torchThreads = 0;
};

Options parseOptions(int argc, char** argv)
{
    Options options;
    options.torchThreads = std::max(1, QThread::idealThreadCount() - 1);
    if (argc > 1) {
        options.seconds = std::atof(argv[1]);
    }
    if (argc > 2) {
        options.torchThreads = std::atoi(argv[2]);
    }
    if (!(options.seconds > 0) || options.torchThreads < 1) {
        std::fprintf(stderr, "usage: bench_ui_latency [seconds > 0] [LibTorch threads >= 1]\n");
        std::exit(2);
    }
    return options;
}

std::string loadAverage()
{
    std::ifstream file("/proc/loadavg");
    std::string first;
    file >> first;
    return file ? first : std::string("unknown");
}

// Returns the run's settings. The model is empty when neither the demo
// bundle nor the shared reference model exists.
rlq::RunSettings benchSettings(const QString& runsFolder)
{
    rlq::RunSettings settings;
    if (!rlq::demoBundleFolder().empty()) {
        settings.model = "demo";
        settings.dataset = "demo";
    } else {
        const std::filesystem::path shared(RLQ_SHARED_DIR);
        settings.model = (shared / "models/tiny-gpt2-ref").string();
        settings.dataset = (shared / "data/openbookqa").string();
        if (!std::filesystem::exists(shared / "models/tiny-gpt2-ref/config.json")) {
            settings.model.clear();
        }
    }
    // Enough episodes to outlast the measurement, which stops the run itself.
    settings.episodes = 100000;
    settings.finetune.steps = 1;
    settings.eval.validationTokens = 1024;
    settings.eval.sensitivityTokens = 256;
    settings.eval.testTokens = 1024;
    settings.eval.testQuestions = 10;
    settings.runFolder = QDir(runsFolder).filePath(QStringLiteral("latency-run")).toStdString();
    return settings;
}

double percentile(std::vector<double> values, double fraction)
{
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const auto index = size_t(fraction * double(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

} // namespace

int main(int argc, char** argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    const Options options = parseOptions(argc, argv);
    QTemporaryDir scratch;
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch.path());
    rlq::configureTorchThreads(options.torchThreads);
    rlq::ui::registerMetaTypes();

    const rlq::RunSettings settings = benchSettings(scratch.path());
    if (settings.model.empty()) {
        std::fprintf(stderr, "bench_ui_latency: neither resources/demo nor %s/models/tiny-gpt2-ref exists\n",
                     RLQ_SHARED_DIR);
        return 2;
    }
    std::printf("load average before the run: %s; LibTorch threads: %d of %d cores\n", loadAverage().c_str(),
                options.torchThreads, QThread::idealThreadCount());

    rlq::ui::MainWindow window;
    window.show();
    window.setupPanel()->applySettings(settings);

    std::vector<double> lateness;
    QElapsedTimer sinceTick;
    QElapsedTimer sinceStart;
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(kTickMilliseconds);
    QObject::connect(&tick, &QTimer::timeout, [&] {
        const double interval = double(sinceTick.nsecsElapsed()) / 1e6;
        sinceTick.start();
        lateness.push_back(std::max(0.0, interval - kTickMilliseconds));
        if (sinceStart.elapsed() >= qint64(options.seconds * 1000)) {
            tick.stop();
            window.controller()->stop();
        }
    });

    // Start once the set-up panel's file checks have passed.
    QTimer startPoll;
    startPoll.setInterval(50);
    QObject::connect(&startPoll, &QTimer::timeout, [&] {
        if (window.setupPanel()->isChecking()) {
            return;
        }
        startPoll.stop();
        if (!window.startRun()) {
            std::fprintf(stderr, "bench_ui_latency: invalid settings: %s\n",
                         qPrintable(window.setupPanel()->problems()));
            app.exit(2);
            return;
        }
    });
    startPoll.start();

    QObject::connect(window.controller(), &rlq::ui::SearchController::runStarted, &app, [&] {
        sinceStart.start();
        sinceTick.start();
        tick.start();
    });

    QObject::connect(window.controller(), &rlq::ui::SearchController::runFinished, &app, [&] { app.exit(0); });
    QObject::connect(window.controller(), &rlq::ui::SearchController::runFailed, &app, [&](const QString& message) {
        std::fprintf(stderr, "bench_ui_latency: the run failed: %s\n", qPrintable(message));
        app.exit(2);
    });
    const int exitCode = app.exec();
    if (exitCode != 0) {
        return exitCode;
    }

    const double p99 = percentile(lateness, 0.99);
    std::printf("%zu ticks of a %d ms timer over %.0f s of search, %zu episodes\n", lateness.size(),
                kTickMilliseconds, options.seconds, window.runData().episodes().size());
    std::printf("lateness: median %.2f ms, p99 %.2f ms, max %.2f ms\n", percentile(lateness, 0.5), p99,
                percentile(lateness, 1.0));
    std::printf("p99 / %.0f ms = %.3f\n", kResponsiveMilliseconds, p99 / kResponsiveMilliseconds);
    return 0;
}

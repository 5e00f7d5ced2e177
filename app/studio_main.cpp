// rlq-studio: the RLQ Studio desktop application.

#include "MainWindow.h"
#include "MetaTypes.h"
#include "ScreenshotDriver.h"

#include "util/Threads.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QLocale>
#include <QSettings>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>
#include <QTranslator>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

// Marks the strings of main() for lupdate under one context.
class Studio {
    Q_DECLARE_TR_FUNCTIONS(Studio)
};

struct CommandLine {
    QString screenshotFile;   // empty: normal interactive start
    rlq::ui::ScreenshotDriver::Options screenshot;
};

// Parses the options. On invalid input it prints the reason and exits with code 2.
CommandLine parseCommandLine(const QApplication& app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        Studio::tr("Searches per-layer weight bit-widths (2, 4, 8 or 16 bits) of GPT-2 models with a PPO agent."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption screenshot(
        QStringLiteral("screenshot"),
        Studio::tr("Run a short search, save the main window to FILE and the inspector of one unit to "
                   "FILE with -inspector before the suffix, then exit."),
        Studio::tr("FILE"));
    const QCommandLineOption episodes(QStringLiteral("episodes"),
                                      Studio::tr("Episodes of the --screenshot run (default 8)."), Studio::tr("N"),
                                      QStringLiteral("8"));
    const QCommandLineOption model(QStringLiteral("model"),
                                   Studio::tr("Model of the --screenshot run: demo, a Hugging Face cache name or a "
                                              "folder (default demo)."),
                                   Studio::tr("M"), QStringLiteral("demo"));
    const QCommandLineOption dataset(QStringLiteral("dataset"),
                                     Studio::tr("Dataset of the --screenshot run: demo, a dataset folder or file "
                                                "(default demo)."),
                                     Studio::tr("D"), QStringLiteral("demo"));
    const QCommandLineOption captureAt(QStringLiteral("capture-at"),
                                       Studio::tr("Episode after which the --screenshot run renders the main window "
                                                  "(default: three quarters of --episodes)."),
                                       Studio::tr("N"), QStringLiteral("0"));
    parser.addOptions({screenshot, episodes, model, dataset, captureAt});
    parser.process(app);

    CommandLine result;
    result.screenshotFile = parser.value(screenshot);
    bool ok = false;
    result.screenshot.file = result.screenshotFile;
    result.screenshot.episodes = parser.value(episodes).toInt(&ok);
    if (!ok || result.screenshot.episodes < 1) {
        std::fprintf(stderr, "rlq-studio: %s\n",
                     qPrintable(Studio::tr("--episodes '%1' is not valid; pass a whole number of at least 1")
                                    .arg(parser.value(episodes))));
        std::exit(2);
    }
    result.screenshot.captureAtEpisode = parser.value(captureAt).toInt(&ok);
    if (!ok || result.screenshot.captureAtEpisode < 0) {
        std::fprintf(stderr, "rlq-studio: %s\n",
                     qPrintable(Studio::tr("--capture-at '%1' is not valid; pass a whole number of at least 0")
                                    .arg(parser.value(captureAt))));
        std::exit(2);
    }
    result.screenshot.model = parser.value(model);
    result.screenshot.dataset = parser.value(dataset);
    return result;
}

void installTranslations(QApplication& app, QTranslator& translator)
{
    if (translator.load(QLocale(), QStringLiteral("rlq_studio"), QStringLiteral("_"), QStringLiteral(":/i18n"))) {
        app.installTranslator(&translator);
    }
}

} // namespace

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    // Settings go to ~/.config/rlq/rlq-studio.conf and runs, by default, to
    // ~/.local/share/rlq/rlq-studio/runs (Linux paths of QStandardPaths).
    QApplication::setOrganizationName(QStringLiteral("rlq"));
    QApplication::setApplicationName(QStringLiteral("rlq-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("RLQ Studio"));
    QApplication::setApplicationVersion(QStringLiteral(RLQ_VERSION));
    QTranslator translator;
    installTranslations(app, translator);

    const CommandLine commandLine = parseCommandLine(app);

    // LibTorch gets all cores but one, so the UI thread keeps a core to itself.
    rlq::configureTorchThreads(std::max(1, QThread::idealThreadCount() - 1));
    rlq::ui::registerMetaTypes();

    // A screenshot run keeps its settings away from the user's.
    std::unique_ptr<QTemporaryDir> settingsFolder;
    if (!commandLine.screenshotFile.isEmpty()) {
        settingsFolder = std::make_unique<QTemporaryDir>();
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsFolder->path());
    }

    rlq::ui::MainWindow window;
    window.show();

    std::unique_ptr<rlq::ui::ScreenshotDriver> driver;
    if (!commandLine.screenshotFile.isEmpty()) {
        driver = std::make_unique<rlq::ui::ScreenshotDriver>(window, commandLine.screenshot);
        QObject::connect(driver.get(), &rlq::ui::ScreenshotDriver::done, &app, &QCoreApplication::exit);
        QTimer::singleShot(0, driver.get(), &rlq::ui::ScreenshotDriver::start);
    }
    return app.exec();
}

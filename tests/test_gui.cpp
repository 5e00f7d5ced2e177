// RLQ Studio's main window driven as a user would: real widgets under the
// offscreen platform, the real search engine on a small model, real files.
// The slots share one window and one run and execute in declaration order.

#include "TestSupport.h"

#include "CurvesPanel.h"
#include "InspectorDialog.h"
#include "MainWindow.h"
#include "MetaTypes.h"
#include "PlotStyle.h"
#include "PolicyGrid.h"
#include "PolicyHeatmap.h"
#include "PpoPanel.h"
#include "RunFiles.h"
#include "SearchController.h"
#include "SetupPanel.h"

#include "model/ModelLocator.h"
#include "util/Threads.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QLabel>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QToolTip>

#include <nlohmann/json.hpp>

#include <memory>
#include <numeric>
#include <optional>

namespace {

using rlq::ui::MainWindow;
using rlq::ui::SearchController;

// The limits are generous because a parallel build may share the machine.
constexpr int kRunStartTimeoutMs = 300000;
constexpr int kEpisodeTimeoutMs = 120000;
constexpr int kFinishTimeoutMs = 600000;
// How long a paused run must not produce an episode.
constexpr int kPauseHoldMs = 3000;

struct RunSource {
    std::string model;
    std::string dataset;
};

// The built-in demo bundle, else the shared reference model and OpenBookQA.
std::optional<RunSource> findRunSource()
{
    if (!rlq::demoBundleFolder().empty()) {
        return RunSource{"demo", "demo"};
    }
    const auto model = sharedPath("models/tiny-gpt2-ref");
    const auto dataset = sharedPath("data/openbookqa");
    if (std::filesystem::exists(model / "config.json") && std::filesystem::exists(dataset / "train.jsonl")) {
        return RunSource{model.string(), dataset.string()};
    }
    return std::nullopt;
}

// A run that is long in episodes but short per episode, so that pause,
// resume and stop all happen mid-run.
rlq::RunSettings quickSettings(const RunSource& source, const QString& runsFolder, const QString& name)
{
    rlq::RunSettings settings;
    settings.model = source.model;
    settings.dataset = source.dataset;
    settings.episodes = 400;
    settings.maxFinetuneItems = 200;
    settings.maxValidationItems = 100;
    settings.finetune.steps = 1;
    settings.finetune.batchSize = 2;
    settings.eval.validationTokens = 256;
    settings.eval.sensitivityTokens = 128;
    settings.eval.testTokens = 1024;
    settings.eval.testQuestions = 10;
    settings.ppo.episodesPerUpdate = 2;
    settings.runFolder = QDir(runsFolder).filePath(name).toStdString();
    return settings;
}

int64_t sum(const std::vector<int64_t>& counts)
{
    return std::accumulate(counts.begin(), counts.end(), int64_t(0));
}

bool isPng(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) && file.read(8) == QByteArray("\x89PNG\r\n\x1a\n", 8);
}

// Clicks `button` of the next modal message box once it shows.
void answerNextMessageBox(QMessageBox::StandardButton button)
{
    auto* poll = new QTimer(qApp);
    poll->setInterval(50);
    QObject::connect(poll, &QTimer::timeout, poll, [poll, button] {
        auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
        if (box) {
            poll->stop();
            poll->deleteLater();
            box->button(button)->click();
        }
    });
    poll->start();
}

} // namespace

class GuiTest : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(settingsFolder_.isValid());
        QVERIFY(runsFolder_.isValid());
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, settingsFolder_.path());
        rlq::ui::registerMetaTypes();
        rlq::configureTorchThreads(1);

        source_ = findRunSource();
        if (source_) {
            window_ = std::make_unique<MainWindow>();
            window_->show();
        }
    }

    void cleanupTestCase()
    {
        window_.reset();
    }

    void uncheckedBitsDisableStart()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("unchecked-bits"));
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);

        for (QCheckBox* box : window_->setupPanel()->findChildren<QCheckBox*>(QRegularExpression("^bits\\d+Box$"))) {
            box->setChecked(false);
        }
        QVERIFY(!window_->startAction()->isEnabled());
        auto* message = window_->setupPanel()->findChild<QLabel*>(QStringLiteral("bitsMessage"));
        QVERIFY(message);
        QVERIFY(!message->isHidden());
        QVERIFY2(message->text().contains(QStringLiteral("at least one bit-width")), qPrintable(message->text()));
        QVERIFY(window_->setupPanel()->problems().contains(message->text()));
        QVERIFY(!window_->startRun());

        // Checking one width again makes the settings valid after the file checks.
        window_->setupPanel()->findChild<QCheckBox*>(QStringLiteral("bits4Box"))->setChecked(true);
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);
        QVERIFY(message->isHidden());
    }

    void budgetBelowWidthsExplained()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("low-budget"));
        rlq::RunSettings settings = window_->setupPanel()->settings();
        settings.quant.allowedBits = {4, 8};
        settings.reward.mode = rlq::RewardMode::Budget;
        settings.reward.targetBits = 3.0;
        window_->setupPanel()->applySettings(settings);

        QVERIFY(!window_->startAction()->isEnabled());
        auto* message = window_->setupPanel()->findChild<QLabel*>(QStringLiteral("rewardMessage"));
        QVERIFY(!message->isHidden());
        QVERIFY2(message->text().contains(QStringLiteral("below the smallest checked width")),
                 qPrintable(message->text()));
    }

    void missingDatasetExplained()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("missing-dataset"));
        rlq::RunSettings settings = window_->setupPanel()->settings();
        settings.dataset = QDir(runsFolder_.path()).filePath(QStringLiteral("no-such-data.txt")).toStdString();
        window_->setupPanel()->applySettings(settings);

        auto* message = window_->setupPanel()->findChild<QLabel*>(QStringLiteral("datasetMessage"));
        QTRY_VERIFY_WITH_TIMEOUT(!window_->setupPanel()->isChecking(), 30000);
        QVERIFY(!window_->startAction()->isEnabled());
        QVERIFY(!message->isHidden());
        QVERIFY2(message->text().contains(QStringLiteral("no-such-data.txt")), qPrintable(message->text()));
    }

    void datasetPreviewShowsSplits()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("preview"));
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);
        auto* message = window_->setupPanel()->findChild<QLabel*>(QStringLiteral("datasetMessage"));
        QVERIFY2(message->text().contains(QStringLiteral("Detected")), qPrintable(message->text()));
        QVERIFY2(message->text().contains(QStringLiteral("Fine-tuning")), qPrintable(message->text()));
        auto* preview = window_->setupPanel()->findChild<QPlainTextEdit*>(QStringLiteral("datasetPreview"));
        QVERIFY(!preview->toPlainText().isEmpty());
    }

    void startedRunFillsViews()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("main-run"));
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);
        window_->startAction()->trigger();
        QCOMPARE(window_->controller()->state(), SearchController::State::Running);
        QVERIFY(!window_->startAction()->isEnabled());
        QVERIFY(window_->stopAction()->isEnabled());

        QTRY_VERIFY_WITH_TIMEOUT(window_->runData().hasInfo(), kRunStartTimeoutMs);
        QVERIFY(window_->runData().unitCount() > 0);
        QTRY_VERIFY_WITH_TIMEOUT(window_->heatmap()->episodeCount() >= 3, kEpisodeTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(window_->curves()->rewardPointCount() >= 3, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(window_->curves()->perplexityPointCount() >= 3, 5000);
        QVERIFY(window_->curves()->baselineLineCount() >= 1);   // float32, known from the start
        QTRY_VERIFY_WITH_TIMEOUT(window_->ppoPanel()->updateCount() >= 1, kEpisodeTimeoutMs);
        QVERIFY(window_->logText().contains(QStringLiteral("Starting a run")));
    }

    void pausedRunHoldsEpisodes()
    {
        requireRun();
        window_->pauseAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(window_->controller()->state(), SearchController::State::Paused, kEpisodeTimeoutMs);
        QVERIFY(window_->resumeAction()->isEnabled());
        QVERIFY(!window_->pauseAction()->isEnabled());

        window_->flushPending();
        const int episodes = window_->heatmap()->episodeCount();
        QTest::qWait(kPauseHoldMs);
        window_->flushPending();
        QCOMPARE(window_->heatmap()->episodeCount(), episodes);
        QCOMPARE(int(window_->runData().episodes().size()), episodes);
    }

    void gridHoverShowsUnit()
    {
        requireRun();
        rlq::ui::PolicyGrid* grid = window_->policyGrid();
        const int unit = window_->runData().unitCount() - 1;
        const QPoint center = grid->cellCenter(unit).toPoint();
        QVERIFY(center.x() >= 0);
        QCOMPARE(grid->unitAt(center), unit);

        QTest::mouseMove(grid, center);
        const QString name = QString::fromStdString(window_->runData().info().units[size_t(unit)].name);
        QTRY_VERIFY_WITH_TIMEOUT(QToolTip::isVisible() && QToolTip::text().contains(name), 5000);
        QVERIFY(QToolTip::text().contains(QStringLiteral("Parameters")));
        QVERIFY(QToolTip::text().contains(QStringLiteral("Sensitivity")));
    }

    void inspectorCountsSumToParameters()
    {
        requireRun();
        const rlq::RunInfo& info = window_->runData().info();
        const int unit = window_->runData().unitCount() - 1;
        const int64_t parameters = info.units[size_t(unit)].parameterCount;

        // Double-clicking a grid cell opens the inspector for that unit.
        rlq::ui::PolicyGrid* grid = window_->policyGrid();
        QTest::mouseDClick(grid, Qt::LeftButton, Qt::NoModifier, grid->cellCenter(unit).toPoint());
        rlq::ui::InspectorDialog* dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = window_->findChild<rlq::ui::InspectorDialog*>()) != nullptr, 5000);
        QCOMPARE(dialog->unitIndex(), unit);

        QTRY_VERIFY_WITH_TIMEOUT(dialog->inspection().has_value(), 60000);
        QCOMPARE(dialog->inspection()->parameterCount, parameters);
        QCOMPARE(sum(dialog->inspection()->before.counts), parameters);
        QCOMPARE(sum(dialog->inspection()->after.counts), parameters);

        // Another width from the combo box gives the same counts, and 2-bit
        // codes take at most 4 distinct values.
        dialog->selectBits(2);
        QTRY_VERIFY_WITH_TIMEOUT(dialog->inspection()->bits == 2, 60000);
        QCOMPARE(sum(dialog->inspection()->before.counts), parameters);
        QCOMPARE(sum(dialog->inspection()->after.counts), parameters);
        QVERIFY(dialog->inspection()->error.mse > 0);
        QVERIFY(dialog->inspection()->error.distinctLevels <= 4);
        QVERIFY(dialog->inspection()->error.maxScale >= dialog->inspection()->error.minScale);

        dialog->selectBits(16);
        QTRY_VERIFY_WITH_TIMEOUT(dialog->inspection()->bits == 16, 60000);
        QVERIFY(dialog->inspection()->error.sqnrDb > 40);
        dialog->close();
    }

    void resumedRunAddsEpisodes()
    {
        requireRun();
        const int before = window_->heatmap()->episodeCount();
        window_->resumeAction()->trigger();
        QCOMPARE(window_->controller()->state(), SearchController::State::Running);
        QTRY_VERIFY_WITH_TIMEOUT(window_->heatmap()->episodeCount() >= before + 2, kEpisodeTimeoutMs);
    }

    void inspectorRejectedWhileRunning()
    {
        requireRun();
        QCOMPARE(window_->controller()->state(), SearchController::State::Running);
        QVERIFY(window_->openInspector(0, 4) == nullptr);
    }

    void closeDuringRunAsksFirst()
    {
        requireRun();
        answerNextMessageBox(QMessageBox::No);
        QVERIFY(!window_->close());
        QVERIFY(window_->isVisible());
        QVERIFY(window_->controller()->isActive());
    }

    void stoppedRunWritesFolder()
    {
        requireRun();
        window_->stopAction()->trigger();
        QCOMPARE(window_->controller()->state(), SearchController::State::Stopping);
        QTRY_COMPARE_WITH_TIMEOUT(window_->controller()->state(), SearchController::State::Finished, kFinishTimeoutMs);
        QVERIFY(window_->runData().summary().has_value());
        QVERIFY(window_->runData().summary()->stoppedEarly);

        const QDir folder(window_->runFolder());
        for (const char* name : {"config.json", "events.jsonl", "best_policy.json", "report.json", "report.md"}) {
            QVERIFY2(folder.exists(QString::fromLatin1(name)), name);
        }
        QCOMPARE(int(rlq::ui::readRunFolder(folder.path()).episodes.size()), window_->heatmap()->episodeCount());
        QVERIFY(window_->curves()->baselineLineCount() >= 5);   // float32 and four uniform widths
        QVERIFY(window_->startAction()->isEnabled() || window_->setupPanel()->isChecking());
    }

    void inspectorWorksAfterRun()
    {
        requireFinishedRun();
        rlq::ui::InspectorDialog* dialog = window_->openInspector(0, 8);
        QVERIFY(dialog);
        QTRY_VERIFY_WITH_TIMEOUT(dialog->inspection().has_value(), 60000);
        QCOMPARE(sum(dialog->inspection()->after.counts), window_->runData().info().units[0].parameterCount);
        dialog->close();
    }

    void exportedPolicyReadsBack()
    {
        requireFinishedRun();
        const QString path = QDir(runsFolder_.path()).filePath(QStringLiteral("exported/policy.json"));
        QVERIFY(QDir().mkpath(QFileInfo(path).path()));
        QCOMPARE(window_->exportBestPolicy(path), QString());

        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const auto policy = nlohmann::json::parse(file.readAll().toStdString());
        QCOMPARE(policy.at("schema_version").get<int>(), 1);
        const auto& units = policy.at("units");
        QCOMPARE(int(units.size()), window_->runData().unitCount());
        const std::vector<int> best = window_->runData().bestBits();
        for (size_t i = 0; i < units.size(); ++i) {
            QCOMPARE(units[i].at("name").get<std::string>(), window_->runData().info().units[i].name);
            QCOMPARE(units[i].at("bits").get<int>(), best[i]);
        }
    }

    void exportedCheckpointLoads()
    {
        requireFinishedRun();
        const QString destination = QDir(runsFolder_.path()).filePath(QStringLiteral("checkpoint-export"));
        QSignalSpy finished(window_.get(), &MainWindow::checkpointExportFinished);
        QCOMPARE(window_->exportCheckpoint(destination), QString());
        QVERIFY(window_->checkpointExportRunning());
        QVERIFY(!window_->exportCheckpoint(destination).isEmpty());   // one export at a time
        QVERIFY(finished.wait(kFinishTimeoutMs));
        QCOMPARE(finished.first().first().toString(), QString());
        QVERIFY(!window_->checkpointExportRunning());

        // Both folders load as models with the run's units quantized.
        const rlq::LoadedModel packed = rlq::loadModel(QDir(destination).filePath(QStringLiteral("packed")).toStdString());
        const rlq::LoadedModel hf = rlq::loadModel(QDir(destination).filePath(QStringLiteral("hf")).toStdString());
        QCOMPARE(packed.weights.parameterCount(), hf.weights.parameterCount());
        QVERIFY(window_->logText().contains(QStringLiteral("Quantized checkpoints written to")));
    }

    void exportsReportAndPlots()
    {
        requireFinishedRun();
        const QDir out(runsFolder_.path());
        QCOMPARE(window_->exportReport(out.filePath(QStringLiteral("report-copy.md"))), QString());
        QCOMPARE(window_->exportReport(out.filePath(QStringLiteral("report-copy.json"))), QString());
        QVERIFY(!window_->exportReport(out.filePath(QStringLiteral("report-copy.txt"))).isEmpty());
        QFile markdown(out.filePath(QStringLiteral("report-copy.md")));
        QVERIFY(markdown.open(QIODevice::ReadOnly));
        QVERIFY(markdown.readAll().contains("Quantization search report"));

        QCOMPARE(window_->exportPlot(QStringLiteral("policy-heatmap"), out.filePath(QStringLiteral("heatmap.png"))),
                 QString());
        QVERIFY(isPng(out.filePath(QStringLiteral("heatmap.png"))));
        QCOMPARE(window_->exportPlot(QStringLiteral("reward"), out.filePath(QStringLiteral("reward.pdf"))), QString());
        QFile pdf(out.filePath(QStringLiteral("reward.pdf")));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QVERIFY(!window_->exportPlot(QStringLiteral("reward"), out.filePath(QStringLiteral("reward.bmp"))).isEmpty());

        // Plots on the hidden PPO tab export at a readable size too.
        for (const rlq::ui::ExportablePlot& plot : window_->exportablePlots()) {
            const QString path = out.filePath(plot.fileStem + QStringLiteral(".png"));
            QCOMPARE(window_->exportPlot(plot.fileStem, path), QString());
            QVERIFY2(isPng(path), qPrintable(path));
            QVERIFY2(QImage(path).width() >= 600, qPrintable(path));
        }
    }

    void openedRunFolderFillsViews()
    {
        requireFinishedRun();
        const QString folder = window_->runFolder();
        const int episodes = window_->heatmap()->episodeCount();
        const std::vector<int> best = window_->runData().bestBits();

        MainWindow reader;
        QCOMPARE(reader.openRunFolder(folder), QString());
        QCOMPARE(reader.heatmap()->episodeCount(), episodes);
        QCOMPARE(reader.curves()->rewardPointCount(), episodes);
        QCOMPARE(reader.runData().unitCount(), window_->runData().unitCount());
        QCOMPARE(reader.runData().bestBits(), best);
        QVERIFY(reader.curves()->baselineLineCount() >= 5);
        QVERIFY(reader.openInspector(0, 4) == nullptr);   // no model loaded for an opened folder

        QVERIFY(!reader.openRunFolder(QDir(runsFolder_.path()).filePath(QStringLiteral("nothing-here"))).isEmpty());
    }

    void failedRunShowsMessage()
    {
        requireSource();
        // A folder that resolves as a model but contains no valid weights, so
        // the settings pass and the run fails while loading.
        const QDir broken(QDir(runsFolder_.path()).filePath(QStringLiteral("broken-model")));
        QVERIFY(QDir().mkpath(broken.path()));
        for (const char* name : {"config.json", "model.safetensors", "vocab.json", "merges.txt"}) {
            QFile file(broken.filePath(QString::fromLatin1(name)));
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("not a model file\n");
        }
        applyQuickSettings(QStringLiteral("broken-run"));
        rlq::RunSettings settings = window_->setupPanel()->settings();
        settings.model = broken.path().toStdString();
        window_->setupPanel()->applySettings(settings);
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);

        QVERIFY(window_->startRun());
        QTRY_COMPARE_WITH_TIMEOUT(window_->controller()->state(), SearchController::State::Failed, kRunStartTimeoutMs);
        QMessageBox* box = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((box = window_->findChild<QMessageBox*>(QStringLiteral("errorMessageBox"))), 5000);
        QVERIFY2(box->text().contains(broken.path()) || box->text().contains(QStringLiteral("config.json")),
                 qPrintable(box->text()));
        QVERIFY(window_->logText().contains(QStringLiteral("Run failed")));
        box->accept();

        // The window stays usable: a valid model makes Start available again.
        applyQuickSettings(QStringLiteral("after-failure"));
        QTRY_VERIFY_WITH_TIMEOUT(window_->startAction()->isEnabled(), 30000);
    }

    void screenshotRendersMidRun()
    {
        // The real program: it renders the window after episode 3 of 10
        // (a few more may finish while the plots settle) while the run goes
        // on, pauses for the inspector, then stops the run.
        const QString studio = qEnvironmentVariable("RLQ_BINARY_DIR") + QStringLiteral("/ui/rlq-studio");
        const QString shot = QDir(runsFolder_.path()).filePath(QStringLiteral("shot.png"));
        QProcess process;
        process.start(studio, {QStringLiteral("--screenshot"), shot, QStringLiteral("--episodes"), QStringLiteral("10"),
                               QStringLiteral("--capture-at"), QStringLiteral("3")});
        QVERIFY(process.waitForFinished(kFinishTimeoutMs));
        QVERIFY2(process.exitCode() == 0, process.readAllStandardError().constData());
        QVERIFY(isPng(shot));
        QVERIFY(isPng(QDir(runsFolder_.path()).filePath(QStringLiteral("shot-inspector.png"))));
        QVERIFY(QImage(shot).width() >= 1000);
        const QString output = QString::fromLocal8Bit(process.readAllStandardOutput());
        const QRegularExpression captured(QStringLiteral("after episode (\\d+) of 10, while the run goes on"));
        const auto match = captured.match(output);
        QVERIFY2(match.hasMatch(), qPrintable(output));
        QVERIFY(match.captured(1).toInt() >= 3);
        QVERIFY(match.captured(1).toInt() < 10);
    }

    void settingsPersistAcrossWindows()
    {
        requireSource();
        applyQuickSettings(QStringLiteral("persisted"));
        window_->setupPanel()->findChild<QSpinBox*>(QStringLiteral("episodesSpin"))->setValue(77);
        window_->setupPanel()->findChild<QCheckBox*>(QStringLiteral("bits2Box"))->setChecked(false);
        QVERIFY(window_->close());

        MainWindow restored;
        const rlq::RunSettings settings = restored.setupPanel()->settings();
        QCOMPARE(settings.episodes, 77);
        QCOMPARE(settings.quant.allowedBits, (std::vector<int>{4, 8, 16}));
        QCOMPARE(settings.model, source_->model);
        QCOMPARE(settings.eval.validationTokens, int64_t(256));
    }

private:
    void requireSource()
    {
        if (!source_) {
            QSKIP("neither the demo bundle (resources/demo) nor models/tiny-gpt2-ref and data/openbookqa under "
                  "RLQ_SHARED_DIR exist");
        }
    }

    void requireRun()
    {
        requireSource();
        if (!window_->runData().hasInfo() || !window_->controller()->isActive()) {
            QFAIL("the run of startedRunFillsViews is not active, so this step cannot run");
        }
    }

    void requireFinishedRun()
    {
        requireSource();
        if (window_->controller()->state() != SearchController::State::Finished) {
            QFAIL("the run of startedRunFillsViews did not finish, so this step cannot run");
        }
    }

    void applyQuickSettings(const QString& name)
    {
        window_->setupPanel()->applySettings(quickSettings(*source_, runsFolder_.path(), name));
    }

    QTemporaryDir settingsFolder_;
    QTemporaryDir runsFolder_;
    std::optional<RunSource> source_;
    std::unique_ptr<MainWindow> window_;
};

QTEST_MAIN(GuiTest)
#include "test_gui.moc"

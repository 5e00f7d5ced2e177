#pragma once

#include "SetupChecks.h"

#include "search/SearchTypes.h"

#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <map>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSettings;
class QSpinBox;

namespace rlq::ui {

// The run's settings as a form: model, dataset with a preview, allowed
// bit-widths, granularity, reward, episodes, fine-tuning, seed and run
// folder. Each problem shows in a label under its field. Cheap checks run at
// once, and checks that read files run on a thread pool 300 ms after the
// last edit. isValid() is true only when every check of the current form passed.
class SetupPanel : public QWidget {
    Q_OBJECT

public:
    explicit SetupPanel(QWidget* parent = nullptr);

    // The form's settings on top of the last applySettings() call, which
    // also supplies the fields the form does not show (PPO, evaluation
    // window, test tokens, ...).
    rlq::RunSettings settings() const;
    void applySettings(const rlq::RunSettings& settings);

    bool isValid() const { return valid_; }
    bool isChecking() const { return checking_; }
    // Every problem shown in the form, one per line, or empty when valid.
    QString problems() const;

    // Form values and recent models, under the group "setup".
    void restoreFrom(QSettings& store);
    void saveTo(QSettings& store) const;

    // Puts a model spec first in the recent-models list.
    void rememberModel(const QString& spec);
    // Replaces the run name with a new time stamp, so the next run gets a new folder.
    void suggestRunName();
    // Disables editing while a run is active.
    void setLocked(bool locked);

signals:
    void validityChanged(bool valid);

private:
    enum DatasetKind { DemoDataset, CommonsenseQaFolder, OpenBookQaFolder, TextFile };

    QGroupBox* buildModelGroup();
    QGroupBox* buildDatasetGroup();
    QGroupBox* buildQuantizationGroup();
    QGroupBox* buildRewardGroup();
    QGroupBox* buildRunGroup();
    void connectEdits();

    void fillModelBox(const QString& selectedSpec);
    void onModelActivated(int index);
    void browseDataset();
    void browseRunsFolder();
    void updateFieldStates();

    QString datasetSpec() const;
    QString datasetPreviewKey() const;
    QList<int> checkedBits() const;
    void setCheckedBits(const std::vector<int>& bits);
    void selectDatasetSpec(const QString& spec);

    void onEdited();
    bool runLocalChecks();
    void startBackgroundChecks();
    void applyCheckResults(const SetupCheckResults& results);
    void showDatasetPreview(const DatasetPreview& preview);
    void setValid(bool valid);

    rlq::RunSettings base_;
    QStringList recentModels_;
    QString selectedModel_;          // the model box's last real choice

    // Every edit increments generation_, and results of an older round of checks are dropped.
    QTimer debounce_;
    int generation_ = 0;
    bool checking_ = false;
    bool localOk_ = false;
    bool valid_ = false;
    QString previewKey_;             // dataset, seed and split share of the shown preview
    DatasetPreview preview_;

    QComboBox* modelBox_ = nullptr;
    QLabel* modelMessage_ = nullptr;
    QComboBox* datasetKindBox_ = nullptr;
    QLineEdit* datasetPathEdit_ = nullptr;
    QPushButton* datasetBrowseButton_ = nullptr;
    QLabel* datasetMessage_ = nullptr;
    QPlainTextEdit* datasetPreview_ = nullptr;
    std::map<int, QCheckBox*> bitBoxes_;   // bit-width -> check box
    QLabel* bitsMessage_ = nullptr;
    QComboBox* granularityBox_ = nullptr;
    QSpinBox* groupSizeSpin_ = nullptr;
    QCheckBox* perBlockBox_ = nullptr;
    QComboBox* rewardModeBox_ = nullptr;
    QDoubleSpinBox* lambdaSpin_ = nullptr;
    QComboBox* budgetKindBox_ = nullptr;
    QDoubleSpinBox* budgetSpin_ = nullptr;
    QLabel* rewardMessage_ = nullptr;
    QSpinBox* episodesSpin_ = nullptr;
    QSpinBox* finetuneStepsSpin_ = nullptr;
    QSpinBox* validationTokensSpin_ = nullptr;
    QSpinBox* seedSpin_ = nullptr;
    QLineEdit* runsFolderEdit_ = nullptr;
    QLineEdit* runNameEdit_ = nullptr;
    QLabel* runFolderMessage_ = nullptr;
    QLabel* settingsMessage_ = nullptr;
};

} // namespace rlq::ui

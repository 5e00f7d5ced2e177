#include "SetupPanel.h"

#include "ModelCatalog.h"

#include "quant/QuantTypes.h"
#include "search/SearchSession.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <climits>

namespace rlq::ui {

namespace {

constexpr int kDebounceMilliseconds = 300;
constexpr int kMaxRecentModels = 8;
constexpr int kBudgetBits = 0;        // budgetKindBox_ index
constexpr int kBudgetMegabytes = 1;   // budgetKindBox_ index

// Item data of the "Open folder…" entry of the model box.
const QString kOpenFolderItem = QStringLiteral("\x01open-folder");

enum class MessageKind { Error, Info };

QLabel* newMessageLabel(QWidget* parent, const QString& objectName)
{
    auto* label = new QLabel(parent);
    label->setObjectName(objectName);
    label->setWordWrap(true);
    label->setTextFormat(Qt::PlainText);
    label->setVisible(false);
    return label;
}

void showMessage(QLabel* label, const QString& text, MessageKind kind = MessageKind::Error)
{
    label->setText(text);
    label->setStyleSheet(kind == MessageKind::Error ? QStringLiteral("color: #b00020;")
                                                    : QStringLiteral("color: #555555;"));
    label->setProperty("isError", kind == MessageKind::Error);
    label->setVisible(!text.isEmpty());
}

bool showsError(const QLabel* label)
{
    return !label->isHidden() && label->property("isError").toBool();
}

QString defaultRunsFolder()
{
    return QDir(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)).filePath(QStringLiteral("runs"));
}

QString timestampedRunName()
{
    return QStringLiteral("run-") + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
}

// A field of the form with its inline message below it.
QWidget* withMessage(QWidget* field, QLabel* message)
{
    auto* box = new QWidget;
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(field);
    layout->addWidget(message);
    return box;
}

} // namespace

SetupPanel::SetupPanel(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("setupPanel"));

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(buildModelGroup());
    layout->addWidget(buildDatasetGroup());
    layout->addWidget(buildQuantizationGroup());
    layout->addWidget(buildRewardGroup());
    layout->addWidget(buildRunGroup());
    settingsMessage_ = newMessageLabel(this, QStringLiteral("settingsMessage"));
    layout->addWidget(settingsMessage_);
    layout->addStretch();

    debounce_.setSingleShot(true);
    debounce_.setInterval(kDebounceMilliseconds);
    connect(&debounce_, &QTimer::timeout, this, &SetupPanel::startBackgroundChecks);

    applySettings(rlq::RunSettings());
    connectEdits();
    onEdited();
}

QGroupBox* SetupPanel::buildModelGroup()
{
    auto* group = new QGroupBox(tr("Model"), this);
    modelBox_ = new QComboBox(group);
    modelBox_->setObjectName(QStringLiteral("modelBox"));
    modelBox_->setToolTip(tr("GPT-2 model to quantize: the built-in demo, a model in the Hugging Face cache, "
                             "or a folder with config.json, model.safetensors, vocab.json and merges.txt"));
    modelMessage_ = newMessageLabel(group, QStringLiteral("modelMessage"));

    auto* layout = new QVBoxLayout(group);
    layout->addWidget(withMessage(modelBox_, modelMessage_));
    connect(modelBox_, &QComboBox::activated, this, &SetupPanel::onModelActivated);
    return group;
}

QGroupBox* SetupPanel::buildDatasetGroup()
{
    auto* group = new QGroupBox(tr("Dataset"), this);
    datasetKindBox_ = new QComboBox(group);
    datasetKindBox_->setObjectName(QStringLiteral("datasetKindBox"));
    datasetKindBox_->addItem(tr("Built-in demo"), DemoDataset);
    datasetKindBox_->addItem(tr("CommonsenseQA folder"), CommonsenseQaFolder);
    datasetKindBox_->addItem(tr("OpenBookQA folder"), OpenBookQaFolder);
    datasetKindBox_->addItem(tr("Text file"), TextFile);

    datasetPathEdit_ = new QLineEdit(group);
    datasetPathEdit_->setObjectName(QStringLiteral("datasetPathEdit"));
    datasetPathEdit_->setPlaceholderText(tr("Folder or file"));
    datasetBrowseButton_ = new QPushButton(tr("Browse…"), group);
    auto* pathRow = new QWidget(group);
    auto* pathLayout = new QHBoxLayout(pathRow);
    pathLayout->setContentsMargins(0, 0, 0, 0);
    pathLayout->addWidget(datasetPathEdit_, 1);
    pathLayout->addWidget(datasetBrowseButton_);

    datasetMessage_ = newMessageLabel(group, QStringLiteral("datasetMessage"));
    datasetPreview_ = new QPlainTextEdit(group);
    datasetPreview_->setObjectName(QStringLiteral("datasetPreview"));
    datasetPreview_->setReadOnly(true);
    datasetPreview_->setMaximumHeight(110);
    datasetPreview_->setPlaceholderText(tr("The first rows of the fine-tuning split appear here."));
    datasetPreview_->setToolTip(tr("First rows of the fine-tuning split, as the model reads them"));

    auto* layout = new QVBoxLayout(group);
    layout->addWidget(datasetKindBox_);
    layout->addWidget(withMessage(pathRow, datasetMessage_));
    layout->addWidget(datasetPreview_);
    connect(datasetBrowseButton_, &QPushButton::clicked, this, &SetupPanel::browseDataset);
    return group;
}

QGroupBox* SetupPanel::buildQuantizationGroup()
{
    auto* group = new QGroupBox(tr("Quantization"), this);
    auto* bitsRow = new QWidget(group);
    auto* bitsLayout = new QHBoxLayout(bitsRow);
    bitsLayout->setContentsMargins(0, 0, 0, 0);
    for (const auto& row : rlq::bitWidthTable()) {
        auto* box = new QCheckBox(QString::fromUtf8(row.name), bitsRow);
        box->setObjectName(QStringLiteral("bits%1Box").arg(row.bits));
        box->setToolTip(QString::fromUtf8(row.description));
        bitsLayout->addWidget(box);
        bitBoxes_[row.bits] = box;
    }
    bitsLayout->addStretch();
    bitsMessage_ = newMessageLabel(group, QStringLiteral("bitsMessage"));

    granularityBox_ = new QComboBox(group);
    granularityBox_->setObjectName(QStringLiteral("granularityBox"));
    for (const auto& row : rlq::granularityTable()) {
        granularityBox_->addItem(QString::fromUtf8(row.name), int(row.granularity));
        granularityBox_->setItemData(granularityBox_->count() - 1, QString::fromUtf8(row.description),
                                     Qt::ToolTipRole);
    }
    groupSizeSpin_ = new QSpinBox(group);
    groupSizeSpin_->setObjectName(QStringLiteral("groupSizeSpin"));
    groupSizeSpin_->setRange(1, 1 << 16);
    groupSizeSpin_->setToolTip(tr("Consecutive weights of one row that share a scale and zero point"));
    perBlockBox_ = new QCheckBox(tr("One decision per block"), group);
    perBlockBox_->setToolTip(tr("Give all four matrices of a transformer block the same bit-width"));

    auto* form = new QFormLayout(group);
    form->addRow(tr("Allowed bit-widths"), withMessage(bitsRow, bitsMessage_));
    form->addRow(tr("Granularity"), granularityBox_);
    form->addRow(tr("Group size"), groupSizeSpin_);
    form->addRow(QString(), perBlockBox_);
    return group;
}

QGroupBox* SetupPanel::buildRewardGroup()
{
    auto* group = new QGroupBox(tr("Reward"), this);
    rewardModeBox_ = new QComboBox(group);
    rewardModeBox_->setObjectName(QStringLiteral("rewardModeBox"));
    rewardModeBox_->addItem(tr("Budget"), int(rlq::RewardMode::Budget));
    rewardModeBox_->setItemData(0, tr("Mask widths that would break the budget; reward = −relative validation-loss increase"),
                                Qt::ToolTipRole);
    rewardModeBox_->addItem(tr("Penalty"), int(rlq::RewardMode::Penalty));
    rewardModeBox_->setItemData(1, tr("Reward = −relative validation-loss increase − λ · average bits / 16"),
                                Qt::ToolTipRole);

    lambdaSpin_ = new QDoubleSpinBox(group);
    lambdaSpin_->setObjectName(QStringLiteral("lambdaSpin"));
    lambdaSpin_->setRange(0, 100);
    lambdaSpin_->setDecimals(3);
    lambdaSpin_->setSingleStep(0.05);
    lambdaSpin_->setToolTip(tr("Weight of the average bit-width (divided by 16) in the reward"));

    budgetKindBox_ = new QComboBox(group);
    budgetKindBox_->setObjectName(QStringLiteral("budgetKindBox"));
    budgetKindBox_->insertItem(kBudgetBits, tr("Average bits at most"));
    budgetKindBox_->insertItem(kBudgetMegabytes, tr("Size in MB at most"));
    budgetSpin_ = new QDoubleSpinBox(group);
    budgetSpin_->setObjectName(QStringLiteral("budgetSpin"));
    budgetSpin_->setDecimals(3);
    budgetSpin_->setToolTip(tr("Average bits are weighted by parameter count; 1 MB is 1,000,000 bytes"));
    auto* budgetRow = new QWidget(group);
    auto* budgetLayout = new QHBoxLayout(budgetRow);
    budgetLayout->setContentsMargins(0, 0, 0, 0);
    budgetLayout->addWidget(budgetKindBox_);
    budgetLayout->addWidget(budgetSpin_, 1);
    rewardMessage_ = newMessageLabel(group, QStringLiteral("rewardMessage"));

    auto* form = new QFormLayout(group);
    form->addRow(tr("Mode"), rewardModeBox_);
    form->addRow(tr("λ"), lambdaSpin_);
    form->addRow(tr("Budget"), withMessage(budgetRow, rewardMessage_));
    return group;
}

QGroupBox* SetupPanel::buildRunGroup()
{
    auto* group = new QGroupBox(tr("Run"), this);
    episodesSpin_ = new QSpinBox(group);
    episodesSpin_->setObjectName(QStringLiteral("episodesSpin"));
    episodesSpin_->setRange(1, 1000000);
    episodesSpin_->setToolTip(tr("Policies the agent tries; each is fine-tuned and scored on the validation split"));

    finetuneStepsSpin_ = new QSpinBox(group);
    finetuneStepsSpin_->setObjectName(QStringLiteral("finetuneStepsSpin"));
    finetuneStepsSpin_->setRange(0, 100000);
    finetuneStepsSpin_->setToolTip(tr("Quantization-aware fine-tuning steps per episode; 0 scores the policy as quantized"));

    validationTokensSpin_ = new QSpinBox(group);
    validationTokensSpin_->setObjectName(QStringLiteral("validationTokensSpin"));
    validationTokensSpin_->setRange(0, INT_MAX);
    validationTokensSpin_->setSingleStep(1024);
    validationTokensSpin_->setSpecialValueText(tr("Whole split"));
    validationTokensSpin_->setToolTip(tr("Validation tokens scored per episode for the reward; 0 scores the whole split"));

    seedSpin_ = new QSpinBox(group);
    seedSpin_->setObjectName(QStringLiteral("seedSpin"));
    seedSpin_->setRange(0, INT_MAX);
    seedSpin_->setToolTip(tr("Seed of the data split, the fine-tuning batches and the agent"));

    runsFolderEdit_ = new QLineEdit(group);
    runsFolderEdit_->setObjectName(QStringLiteral("runsFolderEdit"));
    auto* browse = new QPushButton(tr("Browse…"), group);
    auto* folderRow = new QWidget(group);
    auto* folderLayout = new QHBoxLayout(folderRow);
    folderLayout->setContentsMargins(0, 0, 0, 0);
    folderLayout->addWidget(runsFolderEdit_, 1);
    folderLayout->addWidget(browse);
    runNameEdit_ = new QLineEdit(group);
    runNameEdit_->setObjectName(QStringLiteral("runNameEdit"));
    runNameEdit_->setToolTip(tr("The run folder is the runs folder joined with this name"));
    runFolderMessage_ = newMessageLabel(group, QStringLiteral("runFolderMessage"));

    auto* form = new QFormLayout(group);
    form->addRow(tr("Episodes"), episodesSpin_);
    form->addRow(tr("Fine-tuning steps"), finetuneStepsSpin_);
    form->addRow(tr("Validation tokens"), validationTokensSpin_);
    form->addRow(tr("Seed"), seedSpin_);
    form->addRow(tr("Runs folder"), folderRow);
    form->addRow(tr("Run name"), withMessage(runNameEdit_, runFolderMessage_));
    connect(browse, &QPushButton::clicked, this, &SetupPanel::browseRunsFolder);
    return group;
}

void SetupPanel::connectEdits()
{
    const auto edited = [this] { onEdited(); };
    connect(modelBox_, &QComboBox::currentIndexChanged, this, edited);
    connect(datasetKindBox_, &QComboBox::currentIndexChanged, this, edited);
    connect(datasetPathEdit_, &QLineEdit::textChanged, this, edited);
    for (const auto& [bits, box] : bitBoxes_) {
        connect(box, &QCheckBox::toggled, this, edited);
    }
    connect(granularityBox_, &QComboBox::currentIndexChanged, this, edited);
    connect(groupSizeSpin_, &QSpinBox::valueChanged, this, edited);
    connect(perBlockBox_, &QCheckBox::toggled, this, edited);
    connect(rewardModeBox_, &QComboBox::currentIndexChanged, this, edited);
    connect(lambdaSpin_, &QDoubleSpinBox::valueChanged, this, edited);
    connect(budgetKindBox_, &QComboBox::currentIndexChanged, this, edited);
    connect(budgetSpin_, &QDoubleSpinBox::valueChanged, this, edited);
    connect(episodesSpin_, &QSpinBox::valueChanged, this, edited);
    connect(finetuneStepsSpin_, &QSpinBox::valueChanged, this, edited);
    connect(validationTokensSpin_, &QSpinBox::valueChanged, this, edited);
    connect(seedSpin_, &QSpinBox::valueChanged, this, edited);
    connect(runsFolderEdit_, &QLineEdit::textChanged, this, edited);
    connect(runNameEdit_, &QLineEdit::textChanged, this, edited);
}

// ---------------------------------------------------------------------------
// Model and dataset choosers

void SetupPanel::fillModelBox(const QString& selectedSpec)
{
    const QSignalBlocker blocker(modelBox_);
    modelBox_->clear();

    QStringList specs;
    for (const ModelChoice& choice : availableModels()) {
        const QString label = choice.origin == QLatin1String("demo")
                                  ? tr("Built-in demo")
                                  : tr("%1 (Hugging Face cache)").arg(choice.spec);
        modelBox_->addItem(label, choice.spec);
        modelBox_->setItemData(modelBox_->count() - 1, choice.folder, Qt::ToolTipRole);
        specs.append(choice.spec);
    }
    if (!specs.contains(QStringLiteral("demo"))) {
        // Listed even when missing, so that choosing it explains what is missing.
        modelBox_->insertItem(0, tr("Built-in demo"), QStringLiteral("demo"));
        specs.prepend(QStringLiteral("demo"));
    }
    for (const QString& recent : recentModels_) {
        if (!specs.contains(recent)) {
            modelBox_->addItem(recent, recent);
            specs.append(recent);
        }
    }
    if (!selectedSpec.isEmpty() && !specs.contains(selectedSpec)) {
        modelBox_->addItem(selectedSpec, selectedSpec);
    }
    modelBox_->addItem(tr("Open folder…"), kOpenFolderItem);

    const int index = modelBox_->findData(selectedSpec);
    modelBox_->setCurrentIndex(index >= 0 ? index : 0);
}

void SetupPanel::onModelActivated(int index)
{
    if (modelBox_->itemData(index).toString() != kOpenFolderItem) {
        return;
    }
    const QString folder = QFileDialog::getExistingDirectory(
        this, tr("Open a GPT-2 model folder (config.json, model.safetensors, vocab.json, merges.txt)"));
    if (folder.isEmpty()) {
        fillModelBox(selectedModel_);   // back to the previous choice
        onEdited();
        return;
    }
    rememberModel(folder);
    fillModelBox(folder);
    onEdited();
}

void SetupPanel::rememberModel(const QString& spec)
{
    if (spec.isEmpty() || spec == QLatin1String("demo")) {
        return;
    }
    recentModels_.removeAll(spec);
    recentModels_.prepend(spec);
    while (recentModels_.size() > kMaxRecentModels) {
        recentModels_.removeLast();
    }
}

void SetupPanel::browseDataset()
{
    QString chosen;
    const auto kind = DatasetKind(datasetKindBox_->currentData().toInt());
    if (kind == TextFile) {
        chosen = QFileDialog::getOpenFileName(this, tr("Open a text or JSONL dataset file"), datasetPathEdit_->text(),
                                              tr("Text and JSONL files (*.txt *.tokens *.jsonl);;All files (*)"));
    } else {
        const QString title = kind == CommonsenseQaFolder
                                  ? tr("Open a CommonsenseQA folder (train_rand_split.jsonl, dev_rand_split.jsonl)")
                                  : tr("Open an OpenBookQA folder (train.jsonl, test.jsonl)");
        chosen = QFileDialog::getExistingDirectory(this, title, datasetPathEdit_->text());
    }
    if (!chosen.isEmpty()) {
        if (kind == DemoDataset) {
            datasetKindBox_->setCurrentIndex(datasetKindBox_->findData(OpenBookQaFolder));
        }
        datasetPathEdit_->setText(chosen);
    }
}

void SetupPanel::browseRunsFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Choose the folder for run folders"),
                                                             runsFolderEdit_->text());
    if (!folder.isEmpty()) {
        runsFolderEdit_->setText(folder);
    }
}

QString SetupPanel::datasetSpec() const
{
    if (datasetKindBox_->currentData().toInt() == DemoDataset) {
        return QStringLiteral("demo");
    }
    return datasetPathEdit_->text().trimmed();
}

QString SetupPanel::datasetPreviewKey() const
{
    return datasetSpec() + QLatin1Char('\n') + QString::number(seedSpin_->value()) + QLatin1Char('\n') +
           QString::number(base_.validationFraction);
}

void SetupPanel::selectDatasetSpec(const QString& spec)
{
    if (spec == QLatin1String("demo")) {
        datasetKindBox_->setCurrentIndex(datasetKindBox_->findData(DemoDataset));
        datasetPathEdit_->clear();
        return;
    }

    // The kind only guides the browse dialog, because the engine detects the layout.
    int kind = TextFile;
    const QFileInfo info(spec);
    if (info.isDir()) {
        kind = QFileInfo::exists(QDir(spec).filePath(QStringLiteral("train_rand_split.jsonl"))) ? CommonsenseQaFolder
                                                                                                : OpenBookQaFolder;
    }
    datasetKindBox_->setCurrentIndex(datasetKindBox_->findData(kind));
    datasetPathEdit_->setText(spec);
}

// ---------------------------------------------------------------------------
// Settings in and out

QList<int> SetupPanel::checkedBits() const
{
    QList<int> bits;
    for (const auto& [width, box] : bitBoxes_) {
        if (box->isChecked()) {
            bits.append(width);
        }
    }
    return bits;
}

void SetupPanel::setCheckedBits(const std::vector<int>& bits)
{
    for (const auto& [width, box] : bitBoxes_) {
        box->setChecked(std::find(bits.begin(), bits.end(), width) != bits.end());
    }
}

rlq::RunSettings SetupPanel::settings() const
{
    rlq::RunSettings s = base_;
    const QString model = modelBox_->currentData().toString();
    s.model = (model == kOpenFolderItem ? selectedModel_ : model).toStdString();
    s.dataset = datasetSpec().toStdString();

    const QList<int> bits = checkedBits();
    s.quant.allowedBits.assign(bits.begin(), bits.end());
    s.quant.granularity = rlq::Granularity(granularityBox_->currentData().toInt());
    s.quant.groupSize = groupSizeSpin_->value();
    s.quant.groupUnitsPerBlock = perBlockBox_->isChecked();

    s.reward.mode = rlq::RewardMode(rewardModeBox_->currentData().toInt());
    s.reward.lambda = lambdaSpin_->value();
    if (s.reward.mode == rlq::RewardMode::Budget) {
        const bool bitsBudget = budgetKindBox_->currentIndex() == kBudgetBits;
        s.reward.targetBits = bitsBudget ? budgetSpin_->value() : 0.0;
        s.reward.targetMegabytes = bitsBudget ? 0.0 : budgetSpin_->value();
    }

    s.episodes = episodesSpin_->value();
    s.finetune.steps = finetuneStepsSpin_->value();
    s.eval.validationTokens = validationTokensSpin_->value();
    s.seed = uint64_t(seedSpin_->value());
    s.runFolder = QDir(runsFolderEdit_->text().trimmed()).filePath(runNameEdit_->text().trimmed()).toStdString();
    return s;
}

void SetupPanel::applySettings(const rlq::RunSettings& s)
{
    base_ = s;
    fillModelBox(QString::fromStdString(s.model));
    selectDatasetSpec(QString::fromStdString(s.dataset));

    setCheckedBits(s.quant.allowedBits);
    granularityBox_->setCurrentIndex(std::max(0, granularityBox_->findData(int(s.quant.granularity))));
    groupSizeSpin_->setValue(int(s.quant.groupSize));
    perBlockBox_->setChecked(s.quant.groupUnitsPerBlock);

    rewardModeBox_->setCurrentIndex(std::max(0, rewardModeBox_->findData(int(s.reward.mode))));
    lambdaSpin_->setValue(s.reward.lambda);
    const bool megabytes = s.reward.targetBits <= 0 && s.reward.targetMegabytes > 0;
    budgetKindBox_->setCurrentIndex(megabytes ? kBudgetMegabytes : kBudgetBits);
    updateFieldStates();
    budgetSpin_->setValue(megabytes ? s.reward.targetMegabytes : s.reward.targetBits);

    episodesSpin_->setValue(s.episodes);
    finetuneStepsSpin_->setValue(s.finetune.steps);
    validationTokensSpin_->setValue(int(std::min<int64_t>(s.eval.validationTokens, INT_MAX)));
    seedSpin_->setValue(int(std::min<uint64_t>(s.seed, INT_MAX)));

    if (s.runFolder.empty()) {
        runsFolderEdit_->setText(defaultRunsFolder());
        runNameEdit_->setText(timestampedRunName());
    } else {
        const QFileInfo folder(QString::fromStdString(s.runFolder.string()));
        runsFolderEdit_->setText(folder.path());
        runNameEdit_->setText(folder.fileName());
    }

    // fillModelBox() blocks signals, so a new model alone would not start the checks.
    onEdited();
}

void SetupPanel::restoreFrom(QSettings& store)
{
    store.beginGroup(QStringLiteral("setup"));
    recentModels_ = store.value(QStringLiteral("recentModels")).toStringList();
    const QString json = store.value(QStringLiteral("runSettings")).toString();
    const QString runsFolder = store.value(QStringLiteral("runsFolder")).toString();
    store.endGroup();

    rlq::RunSettings restored = base_;
    if (!json.isEmpty()) {
        try {
            restored = rlq::runSettingsFromJson(json.toStdString(), "the saved RLQ Studio settings");
        } catch (const std::exception&) {
            // Settings saved by another version may not parse, and then the defaults stay.
        }
    }
    restored.runFolder = QDir(runsFolder.isEmpty() ? defaultRunsFolder() : runsFolder)
                             .filePath(timestampedRunName())
                             .toStdString();
    applySettings(restored);
}

void SetupPanel::saveTo(QSettings& store) const
{
    store.beginGroup(QStringLiteral("setup"));
    store.setValue(QStringLiteral("recentModels"), recentModels_);
    store.setValue(QStringLiteral("runSettings"), QString::fromStdString(rlq::runSettingsToJson(settings())));
    store.setValue(QStringLiteral("runsFolder"), runsFolderEdit_->text());
    store.endGroup();
}

void SetupPanel::suggestRunName()
{
    QString name = timestampedRunName();
    // Two runs within one second get a counter.
    for (int counter = 2; QFileInfo::exists(QDir(runsFolderEdit_->text()).filePath(name)); ++counter) {
        name = timestampedRunName() + QStringLiteral("-%1").arg(counter);
    }
    runNameEdit_->setText(name);
}

void SetupPanel::setLocked(bool locked)
{
    for (QGroupBox* group : findChildren<QGroupBox*>(QString(), Qt::FindDirectChildrenOnly)) {
        group->setEnabled(!locked);
    }
}

void SetupPanel::updateFieldStates()
{
    const bool demo = datasetKindBox_->currentData().toInt() == DemoDataset;
    datasetPathEdit_->setEnabled(!demo);
    datasetBrowseButton_->setEnabled(!demo);
    groupSizeSpin_->setEnabled(granularityBox_->currentData().toInt() == int(rlq::Granularity::PerGroup));

    const bool budget = rewardModeBox_->currentData().toInt() == int(rlq::RewardMode::Budget);
    lambdaSpin_->setEnabled(!budget);
    budgetKindBox_->setEnabled(budget);
    budgetSpin_->setEnabled(budget);

    // The spin box keeps its value across kinds only where it fits the range.
    const QSignalBlocker blocker(budgetSpin_);
    if (budgetKindBox_->currentIndex() == kBudgetBits) {
        budgetSpin_->setRange(0, 16);
        budgetSpin_->setSingleStep(0.25);
        budgetSpin_->setSuffix(tr(" bits"));
    } else {
        budgetSpin_->setRange(0, 1e6);
        budgetSpin_->setSingleStep(1);
        budgetSpin_->setSuffix(tr(" MB"));
    }
}

// ---------------------------------------------------------------------------
// Checks

QString SetupPanel::problems() const
{
    QStringList lines;
    for (const QLabel* label : {modelMessage_, datasetMessage_, bitsMessage_, rewardMessage_, runFolderMessage_,
                                settingsMessage_}) {
        if (showsError(label)) {
            lines.append(label->text());
        }
    }
    return lines.join(QLatin1Char('\n'));
}

void SetupPanel::onEdited()
{
    // "Open folder…" is a command, not a model, and onModelActivated() replaces it.
    const QString model = modelBox_->currentData().toString();
    if (model == kOpenFolderItem) {
        return;
    }
    selectedModel_ = model;

    updateFieldStates();
    ++generation_;
    localOk_ = runLocalChecks();
    checking_ = true;
    setValid(false);
    debounce_.start();
}

bool SetupPanel::runLocalChecks()
{
    bool ok = true;
    const QList<int> bits = checkedBits();
    if (bits.isEmpty()) {
        showMessage(bitsMessage_, tr("Check at least one bit-width; the agent picks one of them for every unit."));
        ok = false;
    } else {
        showMessage(bitsMessage_, QString());
    }

    const bool budget = rewardModeBox_->currentData().toInt() == int(rlq::RewardMode::Budget);
    const bool bitsBudget = budgetKindBox_->currentIndex() == kBudgetBits;
    const int smallest = bits.isEmpty() ? 0 : *std::min_element(bits.begin(), bits.end());
    if (budget && budgetSpin_->value() <= 0) {
        showMessage(rewardMessage_, tr("Enter a budget above 0, or switch the mode to Penalty."));
        ok = false;
    } else if (budget && bitsBudget && smallest > 0 && budgetSpin_->value() < smallest) {
        showMessage(rewardMessage_, tr("A budget of %1 average bits is below the smallest checked width, %2 bits; "
                                       "raise the budget or check a smaller width.")
                                        .arg(budgetSpin_->value())
                                        .arg(smallest));
        ok = false;
    } else {
        showMessage(rewardMessage_, QString());
    }

    if (datasetKindBox_->currentData().toInt() != DemoDataset && datasetPathEdit_->text().trimmed().isEmpty()) {
        showMessage(datasetMessage_, tr("Choose the dataset with Browse…, or pick the built-in demo."));
        datasetPreview_->clear();
        previewKey_.clear();
        ok = false;
    }

    const QString runsFolder = runsFolderEdit_->text().trimmed();
    const QString runName = runNameEdit_->text().trimmed();
    const QString runFolder = QDir(runsFolder).filePath(runName);
    if (runsFolder.isEmpty()) {
        showMessage(runFolderMessage_, tr("Choose a runs folder; each run writes a folder inside it."));
        ok = false;
    } else if (runName.isEmpty() || runName.contains(QLatin1Char('/')) || runName.contains(QLatin1Char('\\'))) {
        showMessage(runFolderMessage_, tr("Enter a run name without slashes; it becomes the run folder's name."));
        ok = false;
    } else if (QFileInfo(QDir(runFolder).filePath(QStringLiteral("events.jsonl"))).size() > 0) {
        showMessage(runFolderMessage_, tr("%1 already holds a run; choose another run name.").arg(runFolder));
        ok = false;
    } else {
        showMessage(runFolderMessage_, tr("Run folder: %1").arg(runFolder), MessageKind::Info);
    }
    return ok;
}

void SetupPanel::startBackgroundChecks()
{
    const rlq::RunSettings current = settings();
    const QString key = datasetPreviewKey();
    const bool needPreview = key != previewKey_ && !datasetSpec().isEmpty();
    const int generation = generation_;

    auto* watcher = new QFutureWatcher<SetupCheckResults>(this);
    connect(watcher, &QFutureWatcher<SetupCheckResults>::finished, this, [this, watcher, key] {
        const SetupCheckResults results = watcher->result();
        watcher->deleteLater();
        if (results.generation != generation_) {
            return;   // the form changed while the checks ran
        }
        if (results.hasDatasetPreview) {
            previewKey_ = key;
            preview_ = results.dataset;
        }
        applyCheckResults(results);
    });
    watcher->setFuture(QtConcurrent::run(runSetupChecks, current, needPreview, generation));
}

void SetupPanel::applyCheckResults(const SetupCheckResults& results)
{
    checking_ = false;
    showMessage(modelMessage_, results.model.message, results.model.ok ? MessageKind::Info : MessageKind::Error);

    const bool datasetChosen = !datasetSpec().isEmpty();
    if (datasetChosen) {
        showDatasetPreview(preview_);
    }

    // The engine repeats model and dataset errors, so they show once, at their field.
    const bool fieldsOk = results.model.ok && datasetChosen && preview_.ok;
    showMessage(settingsMessage_, fieldsOk ? results.settingsMessage : QString());
    setValid(localOk_ && fieldsOk && results.settingsMessage.isEmpty());
}

void SetupPanel::showDatasetPreview(const DatasetPreview& preview)
{
    if (!preview.ok) {
        showMessage(datasetMessage_, preview.message);
        datasetPreview_->clear();
        return;
    }

    QString message = tr("Detected %1. %2.").arg(preview.layout, preview.sizes);
    const int kind = datasetKindBox_->currentData().toInt();
    const bool kindMismatch = (kind == CommonsenseQaFolder && !preview.layout.contains(QLatin1String("CommonsenseQA"))) ||
                              (kind == OpenBookQaFolder && !preview.layout.contains(QLatin1String("OpenBookQA")));
    if (kindMismatch) {
        message += QLatin1Char(' ') + tr("This is not the dataset kind chosen above; the run uses the detected layout.");
    }
    showMessage(datasetMessage_, message, MessageKind::Info);
    datasetPreview_->setPlainText(preview.firstRows);
}

void SetupPanel::setValid(bool valid)
{
    if (valid_ == valid) {
        return;
    }
    valid_ = valid;
    emit validityChanged(valid);
}

} // namespace rlq::ui

#include "InspectorDialog.h"

#include "Formatting.h"
#include "PlotStyle.h"
#include "SearchController.h"

#include "quant/QuantTypes.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include <cmath>

namespace rlq::ui {

namespace {

QString number(double value, int precision = 4)
{
    return QLocale().toString(value, 'g', precision);
}

} // namespace

InspectorDialog::InspectorDialog(SearchController& controller, const rlq::RunInfo& info, int unitIndex, int bits,
                                 QWidget* parent)
    : QDialog(parent), controller_(controller), unitIndex_(unitIndex)
{
    setObjectName(QStringLiteral("inspectorDialog"));
    const QString unitName = unitIndex >= 0 && unitIndex < int(info.units.size())
                                 ? QString::fromStdString(info.units[size_t(unitIndex)].name)
                                 : tr("unit %1").arg(unitIndex);
    setWindowTitle(tr("Inspector: %1").arg(unitName));

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Bit-width:"), this));
    buildBitsBox(bits);
    controls->addWidget(bitsBox_);
    logCounts_ = new QCheckBox(tr("Logarithmic counts"), this);
    logCounts_->setChecked(true);
    controls->addWidget(logCounts_);
    controls->addStretch();

    plot_ = new QCustomPlot(this);
    plot_->setObjectName(QStringLiteral("histogramPlot"));
    plot_->setMinimumSize(520, 300);
    setUpLinePlot(plot_, tr("Weights of %1").arg(unitName), tr("Weight value"), tr("Count"));

    status_ = new QLabel(this);
    status_->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    auto* body = new QHBoxLayout;
    body->addWidget(plot_, 1);
    body->addWidget(buildStatistics());
    layout->addLayout(body, 1);
    layout->addWidget(status_);
    layout->addWidget(buttons);

    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(bitsBox_, &QComboBox::currentIndexChanged, this, &InspectorDialog::requestSelected);
    connect(logCounts_, &QCheckBox::toggled, this, &InspectorDialog::drawHistograms);
    connect(&controller_, &SearchController::inspectionReady, this, &InspectorDialog::onReady);
    connect(&controller_, &SearchController::inspectionFailed, this, &InspectorDialog::onFailed);

    requestSelected();
}

void InspectorDialog::buildBitsBox(int bits)
{
    bitsBox_ = new QComboBox(this);
    bitsBox_->setObjectName(QStringLiteral("inspectorBits"));
    for (const auto& row : rlq::bitWidthTable()) {
        bitsBox_->addItem(bitWidthLabel(row.bits), row.bits);
        bitsBox_->setItemData(bitsBox_->count() - 1, QString::fromUtf8(row.description), Qt::ToolTipRole);
    }
    bitsBox_->addItem(bitWidthLabel(rlq::kUnquantizedBits), rlq::kUnquantizedBits);
    const int index = bitsBox_->findData(bits);
    bitsBox_->setCurrentIndex(index >= 0 ? index : 0);
}

QWidget* InspectorDialog::buildStatistics()
{
    auto* panel = new QWidget(this);
    auto* form = new QFormLayout(panel);
    const auto addRow = [&](const QString& label, const QString& toolTip) {
        auto* value = new QLabel(QStringLiteral("–"), panel);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setToolTip(toolTip);
        form->addRow(label, value);
        return value;
    };
    parameters_ = addRow(tr("Parameters"), tr("Weights in this unit"));
    mse_ = addRow(tr("MSE"), tr("Mean squared error of the quantized weights"));
    sqnr_ = addRow(tr("SQNR"), tr("Signal-to-quantization-noise ratio: 10 log10(sum w² / sum (w − q)²)"));
    maxError_ = addRow(tr("Max abs error"), tr("Largest absolute difference between a weight and its quantized value"));
    levels_ = addRow(tr("Distinct levels"), tr("Distinct codes used (2 to 8 bits) or distinct values (16 and 32 bits)"));
    scaleRange_ = addRow(tr("Scale range"), tr("Smallest and largest float16 scale"));
    zeroPointRange_ = addRow(tr("Zero-point range"), tr("Smallest and largest float16 zero point"));
    return panel;
}

void InspectorDialog::selectBits(int bits)
{
    const int index = bitsBox_->findData(bits);
    if (index >= 0 && index != bitsBox_->currentIndex()) {
        bitsBox_->setCurrentIndex(index);   // requests through currentIndexChanged
    } else if (index >= 0) {
        requestSelected();
    }
}

void InspectorDialog::requestSelected()
{
    const int bits = bitsBox_->currentData().toInt();
    pendingRequest_ = controller_.requestInspection(unitIndex_, bits);
    if (pendingRequest_ < 0) {
        const QString message = tr("No search session is loaded, so the weights cannot be read; start a run first.");
        status_->setText(message);
        emit inspectionFailed(message);
        return;
    }
    status_->setText(controller_.state() == SearchController::State::Paused ||
                             controller_.state() == SearchController::State::Finished
                         ? tr("Computing the histograms at %1…").arg(bitWidthLabel(bits))
                         : tr("Waiting for the search to reach its next checkpoint…"));
}

void InspectorDialog::onReady(int requestId, const rlq::LayerInspection& inspection)
{
    if (requestId != pendingRequest_) {
        return;
    }
    pendingRequest_ = -1;
    inspection_ = inspection;
    fillStatistics(inspection);
    drawHistograms();
    status_->setText(tr("%1 at %2.").arg(QString::fromStdString(inspection.unitName), bitWidthLabel(inspection.bits)));
    emit inspectionShown();
}

void InspectorDialog::onFailed(int requestId, const QString& message)
{
    if (requestId != pendingRequest_) {
        return;
    }
    pendingRequest_ = -1;
    status_->setText(message);
    emit inspectionFailed(message);
}

void InspectorDialog::fillStatistics(const rlq::LayerInspection& inspection)
{
    const rlq::QuantizationError& error = inspection.error;
    parameters_->setText(QLocale().toString(qlonglong(inspection.parameterCount)));
    mse_->setText(number(error.mse));
    sqnr_->setText(std::isfinite(error.sqnrDb) ? tr("%1 dB").arg(QLocale().toString(error.sqnrDb, 'f', 2))
                                               : tr("∞ (no error)"));
    maxError_->setText(number(error.maxAbsError));
    levels_->setText(QLocale().toString(qlonglong(error.distinctLevels)));

    // 16 and 32 bits store no scales, so the engine reports NaN for them.
    const bool hasScales = !std::isnan(error.minScale);
    scaleRange_->setText(hasScales ? tr("%1 to %2").arg(number(error.minScale), number(error.maxScale))
                                   : tr("none at this width"));
    zeroPointRange_->setText(hasScales ? tr("%1 to %2").arg(number(error.minZeroPoint), number(error.maxZeroPoint))
                                       : tr("none at this width"));
}

void InspectorDialog::drawHistograms()
{
    plot_->clearGraphs();
    if (!inspection_) {
        plot_->replot();
        return;
    }

    const bool logarithmic = logCounts_->isChecked();
    plot_->yAxis->setScaleType(logarithmic ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    plot_->yAxis->setTicker(logarithmic ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                        : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));

    // Both histograms share the bins of the engine: equal widths over [lower, upper].
    const auto toPoints = [logarithmic](const rlq::Histogram& histogram, QVector<double>& x, QVector<double>& y) {
        const int bins = int(histogram.counts.size());
        const double width = bins > 0 ? (histogram.upper - histogram.lower) / bins : 0;
        for (int i = 0; i < bins; ++i) {
            const double count = double(histogram.counts[size_t(i)]);
            x.append(histogram.lower + (i + 0.5) * width);
            // A log axis cannot show 0, so an empty bin becomes a gap.
            y.append(logarithmic && count <= 0 ? qQNaN() : count);
        }
    };

    QVector<double> x;
    QVector<double> before;
    toPoints(inspection_->before, x, before);
    QCPGraph* original = plot_->addGraph();
    original->setName(tr("float32 weights"));
    original->setLineStyle(QCPGraph::lsStepCenter);
    original->setPen(QPen(QColor(0x60, 0x60, 0x60), 1));
    original->setBrush(QColor(0x60, 0x60, 0x60, 50));
    original->setData(x, before, true);

    QVector<double> afterX;
    QVector<double> after;
    toPoints(inspection_->after, afterX, after);
    QCPGraph* quantized = plot_->addGraph();
    quantized->setName(tr("after %1 quantization").arg(bitWidthLabel(inspection_->bits)));
    quantized->setLineStyle(QCPGraph::lsImpulse);
    quantized->setPen(QPen(bitWidthColor(inspection_->bits).darker(120), 2));
    quantized->setData(afterX, after, true);

    rescaleAndReplot(plot_);
}

} // namespace rlq::ui

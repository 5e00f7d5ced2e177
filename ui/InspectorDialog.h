#pragma once

#include "MetaTypes.h"

#include <QDialog>

#include <optional>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;

namespace rlq::ui {

class SearchController;

// Weight histograms of one unit before and after quantization, with the
// quantization error, at a bit-width chosen in a combo box. Each choice is
// computed by the search worker (the session's thread owns the weights) and
// arrives through SearchController::inspectionReady().
class InspectorDialog : public QDialog {
    Q_OBJECT

public:
    InspectorDialog(SearchController& controller, const rlq::RunInfo& info, int unitIndex, int bits,
                    QWidget* parent = nullptr);

    int unitIndex() const { return unitIndex_; }
    // Selects `bits` in the combo box and requests its histograms.
    void selectBits(int bits);

    // The last inspection shown, if any.
    const std::optional<rlq::LayerInspection>& inspection() const { return inspection_; }
    QCustomPlot* histogramPlot() const { return plot_; }

signals:
    // Emitted after an inspection has been drawn, or a request failed.
    void inspectionShown();
    void inspectionFailed(const QString& message);

private:
    void buildBitsBox(int bits);
    QWidget* buildStatistics();
    void requestSelected();
    void onReady(int requestId, const rlq::LayerInspection& inspection);
    void onFailed(int requestId, const QString& message);
    void drawHistograms();
    void fillStatistics(const rlq::LayerInspection& inspection);

    SearchController& controller_;
    const int unitIndex_;
    int pendingRequest_ = -1;
    std::optional<rlq::LayerInspection> inspection_;

    QComboBox* bitsBox_ = nullptr;
    QCheckBox* logCounts_ = nullptr;
    QLabel* status_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QLabel* parameters_ = nullptr;
    QLabel* mse_ = nullptr;
    QLabel* sqnr_ = nullptr;
    QLabel* maxError_ = nullptr;
    QLabel* levels_ = nullptr;
    QLabel* scaleRange_ = nullptr;
    QLabel* zeroPointRange_ = nullptr;
};

} // namespace rlq::ui

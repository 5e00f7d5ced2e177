// Numeric tests of the quantizers: error bounds per group, the stored form
// and its packing, the footprint formula, the straight-through estimator,
// error metrics and histograms. All data is seeded LibTorch random data.

// LibTorch comes before Qt, whose `slots` macro breaks LibTorch headers.
#include "quant/Quantization.h"
#include "util/Error.h"

#include <torch/torch.h>

#include "TestSupport.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

using namespace rlq;

namespace {

// round(w / scale) may land on the wrong side of a .5 tie, because the
// float32 division errs by up to 2^-24 * 255, about 1.5e-5 of a level. The
// bound |w - dequantized| <= scale / 2 gets this slack, in units of the
// scale. No fp16 slack is needed because the scale is rounded up to fp16
// before the codes are computed.
constexpr double kRoundingSlackInScales = 1e-4;

// Rounding to IEEE half is within 2^-11 relative error for normal values.
// Subnormal results are within half the smallest subnormal, 2^-25.
constexpr double kHalfRelativeError = 1.0 / 2048.0;
constexpr double kHalfAbsoluteError = 1.0 / 33554432.0;

// A constant group decodes to its value within one fp16 step of the scale,
// 2^-10 relative, because the scale is rounded up.
constexpr double kConstantRelativeError = 1.0 / 1024.0;

// Standard deviation of the test weights. A few outliers at 10 standard
// deviations give some groups a much wider range than others.
constexpr double kWeightStd = 0.05;

// 8-bit quantization of Gaussian data gives 43-46 dB SQNR per channel or
// group of 64. One range per tensor spans about +-4.5 standard deviations of
// 131,072 samples, which costs a few dB (40.3 dB measured with kSeed).
constexpr double kMinSqnr8BitDb = 40.0;
constexpr double kMinSqnr8BitPerTensorDb = 37.0;

constexpr int64_t kSeed = 20240611;

torch::Tensor gaussianWeight(int64_t outChannels, int64_t inFeatures)
{
    torch::Tensor weight = torch::randn({outChannels, inFeatures}) * kWeightStd;
    const torch::Tensor outliers = torch::rand({outChannels, inFeatures}) < 0.002;
    weight.masked_fill_(outliers, 10.0 * kWeightStd);
    return weight;
}

QuantScheme makeScheme(int bits, Granularity granularity, int64_t groupSize = 64)
{
    QuantScheme scheme;
    scheme.bits = bits;
    scheme.granularity = granularity;
    scheme.groupSize = groupSize;
    return scheme;
}

// Rectangle of the [out, in] matrix that shares one scale and zero point.
struct GroupSlice {
    int64_t firstRow, rowCount, firstColumn, columnCount;
};

std::vector<GroupSlice> groupSlices(int64_t outChannels, int64_t inFeatures, const QuantScheme& scheme)
{
    if (scheme.granularity == Granularity::PerTensor) {
        return {{0, outChannels, 0, inFeatures}};
    }

    const int64_t width = scheme.granularity == Granularity::PerChannel ? inFeatures : scheme.groupSize;
    std::vector<GroupSlice> slices;
    for (int64_t row = 0; row < outChannels; ++row) {
        for (int64_t column = 0; column < inFeatures; column += width) {
            slices.push_back({row, 1, column, std::min(width, inFeatures - column)});
        }
    }
    return slices;
}

torch::Tensor sliceOf(const torch::Tensor& matrix, const GroupSlice& slice)
{
    return matrix.narrow(0, slice.firstRow, slice.rowCount).narrow(1, slice.firstColumn, slice.columnCount);
}

// Message of the rlq::Error that `action` throws, or "" when it throws none.
std::string errorMessage(const std::function<void()>& action)
{
    try {
        action();
    } catch (const Error& error) {
        return error.what();
    }
    return "";
}

// Qt Test prints QString values of a failed QCOMPARE, but not std::vector.
QString listText(const std::vector<int64_t>& values)
{
    return QString::fromStdString(shapeText(values));
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// True when both tensors hold the same float32 bit patterns, so that -0 and
// +0 differ, unlike torch::equal.
bool bitIdentical(const torch::Tensor& a, const torch::Tensor& b)
{
    return a.sizes() == b.sizes() && torch::equal(a.contiguous().view(torch::kInt), b.contiguous().view(torch::kInt));
}

// Rounds a positive float up to the nearest fp16 value at or above it.
float roundUpToHalf(float value)
{
    const c10::Half nearest(value);
    if (static_cast<float>(nearest) >= value) {
        return nearest;
    }
    return c10::Half(static_cast<uint16_t>(nearest.x + 1), c10::Half::from_bits());
}

// Fake quantization written out element by element from the formulas in
// quant/Quantization.h, with no chunks, blocks or layout handling, as an
// independent reference for the vectorized code.
torch::Tensor referenceFakeQuantize(const torch::Tensor& weight, const QuantScheme& scheme)
{
    const torch::Tensor values = weight.contiguous();
    torch::Tensor result = torch::empty_like(values);
    const auto input = values.accessor<float, 2>();
    auto output = result.accessor<float, 2>();
    const float levels = static_cast<float>((1 << scheme.bits) - 1);

    for (const GroupSlice& slice : groupSlices(values.size(0), values.size(1), scheme)) {
        const torch::Tensor group = sliceOf(values, slice);
        const float minimum = std::min(0.0f, group.min().item<float>());
        const float maximum = std::max(0.0f, group.max().item<float>());
        float scale = roundUpToHalf((maximum - minimum) / levels);
        if (scale == 0.0f) {
            scale = 1.0f;
        }
        const float zeroPoint = std::clamp(std::nearbyint(-minimum / scale), 0.0f, levels);

        for (int64_t row = slice.firstRow; row < slice.firstRow + slice.rowCount; ++row) {
            for (int64_t column = slice.firstColumn; column < slice.firstColumn + slice.columnCount; ++column) {
                const float code = std::clamp(std::nearbyint(input[row][column] / scale) + zeroPoint, 0.0f, levels);
                output[row][column] = (code - zeroPoint) * scale;
            }
        }
    }
    return result;
}

void addBitsGranularityRows()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("granularity");
    for (int bits : {2, 4, 8}) {
        for (const GranularityInfo& info : granularityTable()) {
            const std::string name = std::to_string(bits) + "-bit " + info.name;
            QTest::newRow(name.c_str()) << bits << static_cast<int>(info.granularity);
        }
    }
}

} // namespace

class QuantizationTest : public QObject {
    Q_OBJECT

private slots:
    void init() { torch::manual_seed(kSeed); }

    void errorWithinHalfScale_data() { addBitsGranularityRows(); }
    void errorWithinHalfScale();
    void codesAndParametersInRange_data() { addBitsGranularityRows(); }
    void codesAndParametersInRange();
    void distinctLevelsPerGroup_data() { addBitsGranularityRows(); }
    void distinctLevelsPerGroup();
    void matchesScalarReference_data() { addBitsGranularityRows(); }
    void matchesScalarReference();
    void dequantizeMatchesFakeQuantize_data();
    void dequantizeMatchesFakeQuantize();
    void transposedViewMatchesContiguous();
    void storedParameterShapes();
    void groupLargerThanRow();
    void oneSignGroupStaysBounded();
    void constantTensor_data();
    void constantTensor();
    void allZeroTensorIsExact();
    void halfPrecisionMatchesIeee();
    void unquantizedIsCopy();
    void steForwardMatchesFakeQuantize();
    void steGradientIsIdentity();
    void steGradientReachesConv1dWeight();
    void packRoundTrip_data();
    void packRoundTrip();
    void packBitOrder();
    void packRejectsInvalidInput();
    void footprintHandComputed();
    void footprintMatchesPackedSize();
    void footprintRejectsInvalidShape();
    void errorMetricsKnownCase();
    void sqnrFallsWithBits();
    void histogramSumsToNumel();
    void histogramKnownCounts();
    void histogramRejectsInvalidInput();
    void parseBitWidthValid();
    void parseBitWidthRejects_data();
    void parseBitWidthRejects();
    void parseGranularityValid();
    void parseGranularityRejects_data();
    void parseGranularityRejects();
    void invalidWeightRejected();
    void invalidSchemeRejected();
    void dequantizeRejectsBadFields();
};

void QuantizationTest::errorWithinHalfScale()
{
    QFETCH(int, bits);
    QFETCH(int, granularity);
    // 200 = 3 * 64 + 8, so every row ends with a partial group of 8.
    const QuantScheme scheme = makeScheme(bits, static_cast<Granularity>(granularity));
    const torch::Tensor weight = gaussianWeight(48, 200);

    const QuantizedTensor q = quantize(weight, scheme);
    const torch::Tensor error = (dequantize(q) - weight).abs();
    const torch::Tensor scale = elementScales(q);
    const torch::Tensor bound = scale * (0.5 + kRoundingSlackInScales);

    const double worstRatio = (error / scale).max().item<double>();
    qInfo("%s: max |w - q| = %.3g, max |w - q| / scale = %.6f", describeScheme(scheme).c_str(),
          error.max().item<double>(), worstRatio);
    QVERIFY(error.le(bound).all().item<bool>());

    // The partial last group of each row must obey the same bound.
    const torch::Tensor lastGroupError = error.narrow(1, 192, 8);
    QVERIFY(lastGroupError.le(bound.narrow(1, 192, 8)).all().item<bool>());
}

void QuantizationTest::codesAndParametersInRange()
{
    QFETCH(int, bits);
    QFETCH(int, granularity);
    const QuantScheme scheme = makeScheme(bits, static_cast<Granularity>(granularity));
    const QuantizedTensor q = quantize(gaussianWeight(32, 200), scheme);
    const double maxCode = std::pow(2.0, bits) - 1.0;

    QCOMPARE(q.codes.scalar_type(), torch::kByte);
    QVERIFY(q.codes.le(static_cast<int64_t>(maxCode)).all().item<bool>());

    const torch::Tensor scales = q.scales.to(torch::kFloat);
    QVERIFY(scales.gt(0).all().item<bool>());
    QVERIFY(torch::isfinite(scales).all().item<bool>());

    const torch::Tensor zeroPoints = q.zeroPoints.to(torch::kFloat);
    QVERIFY(zeroPoints.ge(0).all().item<bool>());
    QVERIFY(zeroPoints.le(maxCode).all().item<bool>());
    QVERIFY(torch::equal(zeroPoints, zeroPoints.round()));
}

void QuantizationTest::distinctLevelsPerGroup()
{
    QFETCH(int, bits);
    QFETCH(int, granularity);
    const QuantScheme scheme = makeScheme(bits, static_cast<Granularity>(granularity));
    const torch::Tensor weight = gaussianWeight(16, 200);
    const torch::Tensor dequantized = fakeQuantize(weight, scheme);
    const int64_t levels = int64_t{1} << bits;

    int64_t maxLevels = 0;
    for (const GroupSlice& slice : groupSlices(16, 200, scheme)) {
        const torch::Tensor groupValues = sliceOf(dequantized, slice).reshape({-1});
        const int64_t distinct = std::get<0>(at::_unique(groupValues)).numel();
        maxLevels = std::max(maxLevels, distinct);
        QVERIFY2(distinct <= levels, qPrintable(QStringLiteral("group at row %1, column %2 has %3 levels")
                                                    .arg(slice.firstRow)
                                                    .arg(slice.firstColumn)
                                                    .arg(distinct)));
    }
    qInfo("%s: at most %lld distinct values per group (limit %lld)", describeScheme(scheme).c_str(),
          static_cast<long long>(maxLevels), static_cast<long long>(levels));

    const QuantizationError metrics = measureQuantizationError(weight, scheme);
    QVERIFY(metrics.distinctLevels <= levels);
    QVERIFY(metrics.distinctLevels >= 2);
}

void QuantizationTest::dequantizeMatchesFakeQuantize_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("granularity");
    for (int bits : {2, 4, 8, 16}) {
        for (const GranularityInfo& info : granularityTable()) {
            const std::string name = std::to_string(bits) + "-bit " + info.name;
            QTest::newRow(name.c_str()) << bits << static_cast<int>(info.granularity);
        }
    }
}

void QuantizationTest::dequantizeMatchesFakeQuantize()
{
    QFETCH(int, bits);
    QFETCH(int, granularity);
    const QuantScheme scheme = makeScheme(bits, static_cast<Granularity>(granularity));

    // Exact zeros and tiny negative weights round to -0 before the zero point
    // is added, which must not leave a -0 in one path and +0 in the other.
    torch::Tensor weight = gaussianWeight(24, 150);
    weight.narrow(1, 0, 10).zero_();
    weight.narrow(1, 10, 10).fill_(-1e-6);

    const torch::Tensor fake = fakeQuantize(weight, scheme);
    const torch::Tensor decoded = dequantize(quantize(weight, scheme));
    QCOMPARE(fake.scalar_type(), torch::kFloat);
    QCOMPARE(decoded.scalar_type(), torch::kFloat);
    QVERIFY(bitIdentical(fake, decoded));

    // The same through a transposed view, as GPT-2's Conv1D weights arrive.
    const torch::Tensor conv1dStorage = weight.t().contiguous();
    const torch::Tensor canonicalView = conv1dStorage.t();
    QVERIFY(!canonicalView.is_contiguous());
    QVERIFY(bitIdentical(fakeQuantize(canonicalView, scheme), dequantize(quantize(canonicalView, scheme))));
}

void QuantizationTest::matchesScalarReference()
{
    QFETCH(int, bits);
    QFETCH(int, granularity);
    const QuantScheme scheme = makeScheme(bits, static_cast<Granularity>(granularity));

    // 1030 x 200 weights span several 64K-element chunks that do not divide
    // the rows evenly, and each row ends with a partial group of 8.
    const torch::Tensor weight = gaussianWeight(1030, 200);
    const torch::Tensor expected = referenceFakeQuantize(weight, scheme);
    QVERIFY(bitIdentical(fakeQuantize(weight, scheme), expected));

    // A Conv1D weight arrives as the transposed view of its [in, out] storage.
    const torch::Tensor conv1dView = weight.t().contiguous().t();
    QVERIFY(bitIdentical(fakeQuantize(conv1dView, scheme), expected));
    QVERIFY(bitIdentical(dequantize(quantize(conv1dView, scheme)), expected));
}

void QuantizationTest::transposedViewMatchesContiguous()
{
    const QuantScheme scheme = makeScheme(4, Granularity::PerGroup);
    const torch::Tensor conv1dStorage = gaussianWeight(200, 48);   // [in, out]
    const torch::Tensor canonicalView = conv1dStorage.t();         // [out, in], not contiguous
    const torch::Tensor original = conv1dStorage.clone();

    const torch::Tensor fromView = fakeQuantize(canonicalView, scheme);
    const torch::Tensor fromCopy = fakeQuantize(canonicalView.contiguous(), scheme);
    QCOMPARE(listText(fromView.sizes().vec()), listText(canonicalView.sizes().vec()));
    QVERIFY(bitIdentical(fromView, fromCopy));

    // The result keeps the weight's layout, so transposing back is free.
    QVERIFY(fromView.t().is_contiguous());
    QVERIFY(bitIdentical(conv1dStorage, original));

    // A strided view that is neither row- nor column-major is copied first.
    const torch::Tensor everyOtherColumn = conv1dStorage.slice(/*dim=*/1, 0, 48, /*step=*/2);
    QVERIFY(bitIdentical(fakeQuantize(everyOtherColumn, scheme), fakeQuantize(everyOtherColumn.contiguous(), scheme)));
}

void QuantizationTest::storedParameterShapes()
{
    const torch::Tensor weight = gaussianWeight(10, 130);   // 130 = 2 * 64 + 2

    const QuantizedTensor perTensor = quantize(weight, makeScheme(4, Granularity::PerTensor));
    QCOMPARE(listText(perTensor.scales.sizes().vec()), listText({1}));

    const QuantizedTensor perChannel = quantize(weight, makeScheme(4, Granularity::PerChannel));
    QCOMPARE(listText(perChannel.scales.sizes().vec()), listText({10}));

    const QuantizedTensor perGroup = quantize(weight, makeScheme(4, Granularity::PerGroup));
    QCOMPARE(listText(perGroup.scales.sizes().vec()), listText({10, 3}));
    QCOMPARE(listText(perGroup.zeroPoints.sizes().vec()), listText({10, 3}));
    QCOMPARE(perGroup.scales.scalar_type(), torch::kHalf);
    QCOMPARE(perGroup.zeroPoints.scalar_type(), torch::kHalf);
    QCOMPARE(listText(perGroup.codes.sizes().vec()), listText({10, 130}));
    QVERIFY(perGroup.codes.is_contiguous());
    QVERIFY(!perGroup.half.defined());
    QCOMPARE(listText(perGroup.shape), listText({10, 130}));

    // The partial group's scale comes from its 2 weights alone.
    const torch::Tensor lastGroup = weight.narrow(1, 128, 2);
    const double range = (lastGroup.amax(1).clamp_min(0) - lastGroup.amin(1).clamp_max(0))[0].item<double>();
    const double lastScale = perGroup.scales[0][2].item<double>();
    QVERIFY(lastScale >= range / 15.0 * (1.0 - 1e-6));
    QVERIFY(lastScale <= range / 15.0 * (1.0 + kConstantRelativeError));

    const QuantizedTensor half = quantize(weight, makeScheme(16, Granularity::PerGroup));
    QVERIFY(!half.codes.defined());
    QVERIFY(!half.scales.defined());
    QCOMPARE(half.half.scalar_type(), torch::kHalf);
}

void QuantizationTest::groupLargerThanRow()
{
    const torch::Tensor weight = gaussianWeight(6, 100);
    const QuantScheme wideGroups = makeScheme(4, Granularity::PerGroup, 1000);
    const QuantScheme perChannel = makeScheme(4, Granularity::PerChannel);

    QVERIFY(bitIdentical(fakeQuantize(weight, wideGroups), fakeQuantize(weight, perChannel)));
    QCOMPARE(listText(quantize(weight, wideGroups).scales.sizes().vec()), listText({6, 1}));
    QCOMPARE(qlonglong(footprintBytes({6, 100}, wideGroups)), qlonglong(footprintBytes({6, 100}, perChannel)));
}

void QuantizationTest::oneSignGroupStaysBounded()
{
    // Without 0 in the range, the zero point of an all-positive group would
    // clamp to 0 and its large weights to the top code.
    const torch::Tensor weight = torch::rand({8, 64}) + 10.0;
    const QuantScheme scheme = makeScheme(2, Granularity::PerChannel);

    const QuantizedTensor q = quantize(weight, scheme);
    const torch::Tensor error = (dequantize(q) - weight).abs();
    QVERIFY(error.le(elementScales(q) * (0.5 + kRoundingSlackInScales)).all().item<bool>());
    QVERIFY(q.zeroPoints.to(torch::kFloat).eq(0).all().item<bool>());

    const torch::Tensor negative = -weight;
    const QuantizedTensor qNegative = quantize(negative, scheme);
    const torch::Tensor negativeError = (dequantize(qNegative) - negative).abs();
    QVERIFY(negativeError.le(elementScales(qNegative) * (0.5 + kRoundingSlackInScales)).all().item<bool>());
    QVERIFY(qNegative.zeroPoints.to(torch::kFloat).eq(3).all().item<bool>());
}

void QuantizationTest::constantTensor_data()
{
    QTest::addColumn<double>("value");
    QTest::newRow("positive") << 0.37;
    QTest::newRow("negative") << -1.25;
    QTest::newRow("tiny") << 3e-9;
}

void QuantizationTest::constantTensor()
{
    QFETCH(double, value);
    const torch::Tensor weight = torch::full({5, 70}, value);

    for (int bits : {2, 4, 8}) {
        for (const GranularityInfo& info : granularityTable()) {
            const QuantScheme scheme = makeScheme(bits, info.granularity);
            const torch::Tensor dequantized = fakeQuantize(weight, scheme);
            QVERIFY(torch::isfinite(dequantized).all().item<bool>());

            // Tiny values fall below the fp16 subnormals, where the bound is
            // absolute instead of relative.
            const double error = (dequantized - weight).abs().max().item<double>();
            const double bound = std::abs(value) * kConstantRelativeError + kHalfAbsoluteError;
            QVERIFY2(error <= bound, qPrintable(QStringLiteral("%1: error %2 exceeds %3")
                                                    .arg(QString::fromStdString(describeScheme(scheme)))
                                                    .arg(error)
                                                    .arg(bound)));
        }
    }
}

void QuantizationTest::allZeroTensorIsExact()
{
    const torch::Tensor weight = torch::zeros({4, 100});
    for (int bits : {2, 4, 8}) {
        for (const GranularityInfo& info : granularityTable()) {
            const QuantScheme scheme = makeScheme(bits, info.granularity);
            const QuantizedTensor q = quantize(weight, scheme);
            QVERIFY(bitIdentical(fakeQuantize(weight, scheme), weight));
            QVERIFY(bitIdentical(dequantize(q), weight));
            QVERIFY(q.scales.to(torch::kFloat).eq(1).all().item<bool>());
            QVERIFY(q.zeroPoints.to(torch::kFloat).eq(0).all().item<bool>());
        }
    }
}

void QuantizationTest::halfPrecisionMatchesIeee()
{
    torch::Tensor weight = gaussianWeight(32, 96);
    weight[0][0] = 1e-7;   // fp16 subnormal
    const QuantScheme scheme = makeScheme(16, Granularity::PerGroup);

    const torch::Tensor expected = weight.to(torch::kHalf).to(torch::kFloat);
    QVERIFY(bitIdentical(fakeQuantize(weight, scheme), expected));
    QVERIFY(torch::equal(quantize(weight, scheme).half, weight.to(torch::kHalf)));

    const torch::Tensor error = (expected - weight).abs();
    const torch::Tensor bound = weight.abs() * kHalfRelativeError + kHalfAbsoluteError;
    QVERIFY(error.le(bound).all().item<bool>());
}

void QuantizationTest::unquantizedIsCopy()
{
    const torch::Tensor weight = gaussianWeight(8, 16);
    const torch::Tensor copy = fakeQuantize(weight, makeScheme(kUnquantizedBits, Granularity::PerGroup));
    QVERIFY(bitIdentical(copy, weight));
    QVERIFY(!copy.is_same(weight));
    QVERIFY(copy.data_ptr() != weight.data_ptr());
}

void QuantizationTest::steForwardMatchesFakeQuantize()
{
    const torch::Tensor weight = gaussianWeight(24, 130).requires_grad_();
    for (int bits : {2, 4, 8, 16, kUnquantizedBits}) {
        const QuantScheme scheme = makeScheme(bits, Granularity::PerGroup);
        const torch::Tensor output = fakeQuantizeSte(weight, scheme);
        QVERIFY(output.requires_grad());
        QVERIFY(bitIdentical(output.detach(), fakeQuantize(weight, scheme)));
    }
    QVERIFY(!fakeQuantize(weight, makeScheme(4, Granularity::PerGroup)).requires_grad());
}

void QuantizationTest::steGradientIsIdentity()
{
    for (int bits : {2, 4, 8, 16}) {
        const torch::Tensor weight = gaussianWeight(24, 130).requires_grad_();
        const torch::Tensor upstream = torch::randn({24, 130});

        const torch::Tensor output = fakeQuantizeSte(weight, makeScheme(bits, Granularity::PerGroup));
        (output * upstream).sum().backward();

        QVERIFY(weight.grad().defined());
        QVERIFY(bitIdentical(weight.grad(), upstream));
    }
}

void QuantizationTest::steGradientReachesConv1dWeight()
{
    // The model stores Conv1D weights as [in, out] and quantizes the
    // transposed view, so the gradient must flow back through the view.
    const torch::Tensor conv1dWeight = gaussianWeight(130, 24).requires_grad_();
    const torch::Tensor upstream = torch::randn({24, 130});

    const torch::Tensor output = fakeQuantizeSte(conv1dWeight.t(), makeScheme(4, Granularity::PerGroup));
    (output * upstream).sum().backward();

    QVERIFY(bitIdentical(conv1dWeight.grad(), upstream.t()));
}

void QuantizationTest::packRoundTrip_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<qlonglong>("rowCount");
    QTest::addColumn<qlonglong>("columnCount");
    for (int bits : {2, 4, 8}) {
        const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1}, {3, 5}, {7, 13}, {31, 33}};
        for (const auto& [rows, columns] : shapes) {
            const std::string name = std::to_string(bits) + "-bit " + std::to_string(rows) + "x" +
                                     std::to_string(columns);
            QTest::newRow(name.c_str()) << bits << qlonglong(rows) << qlonglong(columns);
        }
    }
}

void QuantizationTest::packRoundTrip()
{
    QFETCH(int, bits);
    QFETCH(qlonglong, rowCount);
    QFETCH(qlonglong, columnCount);
    const int64_t rows = rowCount;
    const int64_t columns = columnCount;
    const torch::Tensor codes = torch::randint(0, int64_t{1} << bits, {rows, columns}, torch::kByte);

    const torch::Tensor packed = packCodes(codes, bits);
    const int64_t expectedBytes = (rows * columns * bits + 7) / 8;
    QCOMPARE(packed.scalar_type(), torch::kByte);
    QCOMPARE(qlonglong(packed.dim()), qlonglong(1));
    QCOMPARE(qlonglong(packed.numel()), qlonglong(expectedBytes));
    QCOMPARE(qlonglong(packedByteCount(rows * columns, bits)), qlonglong(expectedBytes));

    const torch::Tensor unpacked = unpackCodes(packed, bits, {rows, columns});
    QCOMPARE(listText(unpacked.sizes().vec()), listText({rows, columns}));
    QVERIFY(torch::equal(unpacked, codes));

    // Row-major order also holds for a transposed code view.
    const torch::Tensor transposed = codes.t();
    QVERIFY(torch::equal(unpackCodes(packCodes(transposed, bits), bits, {columns, rows}), transposed));
}

void QuantizationTest::packBitOrder()
{
    // First code in the lowest bits: 1 | 2 << 2 | 3 << 4 | 0 << 6 = 57.
    const torch::Tensor twoBit = torch::tensor({1, 2, 3, 0, 2}, torch::kByte);
    const torch::Tensor twoBitPacked = packCodes(twoBit, 2);
    QCOMPARE(qlonglong(twoBitPacked.numel()), qlonglong(2));
    QCOMPARE(twoBitPacked[0].item<int>(), 57);
    QCOMPARE(twoBitPacked[1].item<int>(), 2);

    // 0xA | 0x5 << 4 = 0x5A, then 0x3 with zero padding in the high bits.
    const torch::Tensor fourBitPacked = packCodes(torch::tensor({10, 5, 3}, torch::kByte), 4);
    QCOMPARE(qlonglong(fourBitPacked.numel()), qlonglong(2));
    QCOMPARE(fourBitPacked[0].item<int>(), 0x5A);
    QCOMPARE(fourBitPacked[1].item<int>(), 0x03);
}

void QuantizationTest::packRejectsInvalidInput()
{
    const torch::Tensor codes = torch::tensor({1, 4, 2}, torch::kByte);

    const std::string tooLarge = errorMessage([&] { packCodes(codes, 2); });
    QVERIFY2(contains(tooLarge, "code 4") && contains(tooLarge, "[0, 3]"), tooLarge.c_str());

    const std::string badBits = errorMessage([&] { packCodes(codes, 3); });
    QVERIFY2(contains(badBits, "2, 4, 8"), badBits.c_str());

    const std::string badDtype = errorMessage([&] { packCodes(codes.to(torch::kInt), 4); });
    QVERIFY2(contains(badDtype, "uint8"), badDtype.c_str());

    const torch::Tensor packed = packCodes(codes, 4);
    const std::string badSize = errorMessage([&] { unpackCodes(packed, 4, {2, 3}); });
    QVERIFY2(contains(badSize, "2 bytes") && contains(badSize, "[2, 3]") && contains(badSize, "needs 3"),
             badSize.c_str());

    const std::string badShape = errorMessage([&] { unpackCodes(packed, 4, {-1, 3}); });
    QVERIFY2(contains(badShape, "[-1, 3]"), badShape.c_str());
}

void QuantizationTest::footprintHandComputed()
{
    const QuantScheme group4 = makeScheme(4, Granularity::PerGroup, 64);

    // GPT-2 small c_attn, canonical [2304, 768]: 1,769,472 weights at 4 bits
    // = 884,736 bytes, plus 2304 * 12 = 27,648 groups of two fp16 values.
    QCOMPARE(qlonglong(footprintBytes({2304, 768}, group4)), qlonglong(884736 + 2 * 2 * 27648));
    QCOMPARE(qlonglong(footprintBytes({768, 2304}, group4)), qlonglong(884736 + 2 * 2 * 27648));

    // 100 = 64 + 36, so each of the 10 rows has 2 groups: 500 + 20 * 4.
    QCOMPARE(qlonglong(footprintBytes({10, 100}, group4)), qlonglong(580));
    QCOMPARE(qlonglong(quantGroupCount({10, 100}, group4)), qlonglong(20));

    // 15 weights at 2 bits = 30 bits round up to 4 bytes, plus 1 scale and
    // 1 zero point.
    QCOMPARE(qlonglong(footprintBytes({3, 5}, makeScheme(2, Granularity::PerTensor))), qlonglong(8));

    QCOMPARE(qlonglong(footprintBytes({768, 768}, makeScheme(8, Granularity::PerChannel))),
             qlonglong(589824 + 768 * 4));
    QCOMPARE(qlonglong(footprintBytes({768, 3072}, makeScheme(16, Granularity::PerGroup))), qlonglong(768 * 3072 * 2));
    QCOMPARE(qlonglong(footprintBytes({768, 3072}, makeScheme(kUnquantizedBits, Granularity::PerGroup))),
             qlonglong(768 * 3072 * 4));
}

void QuantizationTest::footprintMatchesPackedSize()
{
    const torch::Tensor weight = gaussianWeight(9, 101);
    for (int bits : {2, 4, 8}) {
        for (const GranularityInfo& info : granularityTable()) {
            const QuantScheme scheme = makeScheme(bits, info.granularity, 32);
            const QuantizedTensor q = quantize(weight, scheme);
            const int64_t storedBytes = packCodes(q.codes, bits).numel() + q.scales.numel() * 2 +
                                        q.zeroPoints.numel() * 2;
            QCOMPARE(qlonglong(footprintBytes({9, 101}, scheme)), qlonglong(storedBytes));
        }
    }
}

void QuantizationTest::footprintRejectsInvalidShape()
{
    const QuantScheme scheme = makeScheme(4, Granularity::PerGroup);
    const std::string oneDimension = errorMessage([&] { footprintBytes({768}, scheme); });
    QVERIFY2(contains(oneDimension, "[768]"), oneDimension.c_str());

    const std::string negative = errorMessage([&] { footprintBytes({-2, 768}, scheme); });
    QVERIFY2(contains(negative, "[-2, 768]"), negative.c_str());
}

void QuantizationTest::errorMetricsKnownCase()
{
    // 2 bits per tensor over [-1, 2]: scale = 3 / 3 = 1, zero point 1.
    // 0.5 / 1 rounds half to even to 0, so only 0.5 has an error of 0.5:
    // MSE = 0.25 / 4 and SQNR = 10 log10(5.25 / 0.25) = 13.222 dB.
    const torch::Tensor weight = torch::tensor({{-1.0f, 0.0f, 0.5f, 2.0f}});
    const QuantizationError metrics = measureQuantizationError(weight, makeScheme(2, Granularity::PerTensor));
    qInfo("known case: mse %.6f, SQNR %.4f dB, max |w - q| %.3f, %lld levels", metrics.mse, metrics.sqnrDb,
          metrics.maxAbsError, static_cast<long long>(metrics.distinctLevels));

    QCOMPARE(metrics.mse, 0.0625);
    QVERIFY(std::abs(metrics.sqnrDb - 10.0 * std::log10(21.0)) < 1e-9);
    QCOMPARE(metrics.maxAbsError, 0.5);
    QCOMPARE(qlonglong(metrics.distinctLevels), qlonglong(3));
    QCOMPARE(metrics.minScale, 1.0);
    QCOMPARE(metrics.maxScale, 1.0);
    QCOMPARE(metrics.minZeroPoint, 1.0);
    QCOMPARE(metrics.maxZeroPoint, 1.0);

    // Codes 0..3 on scale 1 reproduce [0, 1, 2, 3] exactly.
    const QuantizationError exact =
        measureQuantizationError(torch::tensor({{0.0f, 1.0f, 2.0f, 3.0f}}), makeScheme(2, Granularity::PerTensor));
    QCOMPARE(exact.mse, 0.0);
    QVERIFY(std::isinf(exact.sqnrDb) && exact.sqnrDb > 0);
    QCOMPARE(qlonglong(exact.distinctLevels), qlonglong(4));

    const QuantizationError half = measureQuantizationError(weight, makeScheme(16, Granularity::PerGroup));
    QVERIFY(std::isnan(half.minScale));
    QCOMPARE(qlonglong(half.distinctLevels), qlonglong(4));

    // -0 and +0 are one value.
    const torch::Tensor zeros = torch::tensor({{-0.0f, 0.0f, 1.0f}});
    QCOMPARE(qlonglong(measureQuantizationError(zeros, makeScheme(16, Granularity::PerGroup)).distinctLevels),
             qlonglong(2));
    const QuantizationError unquantized =
        measureQuantizationError(zeros, makeScheme(kUnquantizedBits, Granularity::PerGroup));
    QCOMPARE(qlonglong(unquantized.distinctLevels), qlonglong(2));
    QCOMPARE(unquantized.mse, 0.0);
}

void QuantizationTest::sqnrFallsWithBits()
{
    const torch::Tensor weight = torch::randn({256, 512}) * kWeightStd;

    for (const GranularityInfo& info : granularityTable()) {
        double previousSqnr = std::numeric_limits<double>::infinity();
        for (int bits : {16, 8, 4, 2}) {
            const QuantScheme scheme = makeScheme(bits, info.granularity);
            const QuantizationError metrics = measureQuantizationError(weight, scheme);
            qInfo("%-18s SQNR %6.2f dB, mse %.3g, max |w - q| %.3g, %lld levels, scale [%.3g, %.3g], "
                  "zero point [%g, %g]",
                  describeScheme(scheme).c_str(), metrics.sqnrDb, metrics.mse, metrics.maxAbsError,
                  static_cast<long long>(metrics.distinctLevels), metrics.minScale, metrics.maxScale,
                  metrics.minZeroPoint, metrics.maxZeroPoint);

            QVERIFY(metrics.sqnrDb < previousSqnr);
            QVERIFY(metrics.mse > 0.0);
            if (bits == 8) {
                const bool perTensor = info.granularity == Granularity::PerTensor;
                QVERIFY(metrics.sqnrDb > (perTensor ? kMinSqnr8BitPerTensorDb : kMinSqnr8BitDb));
            }
            previousSqnr = metrics.sqnrDb;
        }
    }
}

void QuantizationTest::histogramSumsToNumel()
{
    const torch::Tensor values = gaussianWeight(64, 300);

    const Histogram ranged = histogram(values, 40, -0.1, 0.1);   // outliers at 0.5 clamp into the last bin
    QCOMPARE(qlonglong(static_cast<int64_t>(ranged.counts.size())), qlonglong(40));
    QCOMPARE(qlonglong(std::accumulate(ranged.counts.begin(), ranged.counts.end(), int64_t{0})),
             qlonglong(values.numel()));
    QCOMPARE(ranged.lower, -0.1);
    QCOMPARE(ranged.upper, 0.1);

    const Histogram automatic = histogram(values, 25);
    QCOMPARE(qlonglong(std::accumulate(automatic.counts.begin(), automatic.counts.end(), int64_t{0})),
             qlonglong(values.numel()));
    QCOMPARE(automatic.lower, values.min().item<double>());
    QCOMPARE(automatic.upper, values.max().item<double>());

    const Histogram constant = histogram(torch::full({7}, 2.0), 3);
    QCOMPARE(constant.lower, 1.5);
    QCOMPARE(constant.upper, 2.5);
    QCOMPARE(listText(constant.counts), listText({0, 7, 0}));
}

void QuantizationTest::histogramKnownCounts()
{
    // Bins of width 0.25 over [0, 1]. The upper edge 1.0 and the values
    // outside the range count in the end bins.
    const torch::Tensor values = torch::tensor({0.0f, 0.25f, 0.5f, 0.75f, 1.0f, -3.0f, 7.0f});
    const Histogram result = histogram(values, 4, 0.0, 1.0);
    QCOMPARE(listText(result.counts), listText({2, 1, 1, 3}));
}

void QuantizationTest::histogramRejectsInvalidInput()
{
    const torch::Tensor values = torch::randn({10});

    const std::string noBins = errorMessage([&] { histogram(values, 0, 0.0, 1.0); });
    QVERIFY2(contains(noBins, "bin count 0"), noBins.c_str());

    const std::string emptyRange = errorMessage([&] { histogram(values, 4, 1.0, 1.0); });
    QVERIFY2(contains(emptyRange, "range"), emptyRange.c_str());

    torch::Tensor withNan = values.clone();
    withNan[3] = std::numeric_limits<float>::quiet_NaN();
    const std::string nanValues = errorMessage([&] { histogram(withNan, 4, 0.0, 1.0); });
    QVERIFY2(contains(nanValues, "NaN"), nanValues.c_str());

    const std::string empty = errorMessage([&] { histogram(torch::empty({0}), 4); });
    QVERIFY2(contains(empty, "empty"), empty.c_str());
}

void QuantizationTest::parseBitWidthValid()
{
    std::vector<int64_t> tableBits;
    for (const BitWidthInfo& info : bitWidthTable()) {
        tableBits.push_back(info.bits);
        QCOMPARE(parseBitWidth(std::to_string(info.bits)), info.bits);
        QCOMPARE(bitWidthInfo(info.bits).name, info.name);
    }
    QCOMPARE(listText(tableBits), listText({2, 4, 8, 16}));
    QCOMPARE(QString::fromStdString(allowedBitWidthsText()), QStringLiteral("2, 4, 8, 16"));
}

void QuantizationTest::parseBitWidthRejects_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("three") << "3";
    QTest::newRow("int4") << "int4";
    QTest::newRow("empty") << "";
    QTest::newRow("unquantized") << "32";
    QTest::newRow("padded") << " 4";
}

void QuantizationTest::parseBitWidthRejects()
{
    QFETCH(QString, text);
    const std::string message = errorMessage([&] { parseBitWidth(text.toStdString()); });
    QVERIFY2(!message.empty(), "parseBitWidth accepted invalid text");
    QVERIFY2(contains(message, "'" + text.toStdString() + "'"), message.c_str());
    QVERIFY2(contains(message, "2, 4, 8, 16"), message.c_str());
}

void QuantizationTest::parseGranularityValid()
{
    QCOMPARE(parseGranularity("tensor"), Granularity::PerTensor);
    QCOMPARE(parseGranularity("channel"), Granularity::PerChannel);
    QCOMPARE(parseGranularity("group"), Granularity::PerGroup);
    for (const GranularityInfo& info : granularityTable()) {
        QCOMPARE(QString::fromStdString(granularityName(info.granularity)), QString::fromLatin1(info.name));
        QCOMPARE(parseGranularity(granularityName(info.granularity)), info.granularity);
    }
}

void QuantizationTest::parseGranularityRejects_data()
{
    QTest::addColumn<QString>("text");
    QTest::newRow("empty") << "";
    QTest::newRow("prefixed") << "per-group";
    QTest::newRow("capitalized") << "Group";
}

void QuantizationTest::parseGranularityRejects()
{
    QFETCH(QString, text);
    const std::string message = errorMessage([&] { parseGranularity(text.toStdString()); });
    QVERIFY2(!message.empty(), "parseGranularity accepted invalid text");
    QVERIFY2(contains(message, "tensor, channel, group"), message.c_str());
}

void QuantizationTest::invalidWeightRejected()
{
    const QuantScheme scheme = makeScheme(4, Granularity::PerGroup);

    const std::string oneDimension = errorMessage([&] { fakeQuantize(torch::randn({64}), scheme); });
    QVERIFY2(contains(oneDimension, "[64]"), oneDimension.c_str());

    const std::string integer = errorMessage([&] { fakeQuantize(torch::ones({4, 4}, torch::kInt), scheme); });
    QVERIFY2(contains(integer, "floating-point"), integer.c_str());

    const std::string empty = errorMessage([&] { quantize(torch::empty({0, 8}), scheme); });
    QVERIFY2(contains(empty, "empty"), empty.c_str());

    torch::Tensor withNan = gaussianWeight(4, 64);
    withNan[2][5] = std::numeric_limits<float>::quiet_NaN();
    const std::string nanWeight = errorMessage([&] { fakeQuantize(withNan, scheme); });
    QVERIFY2(contains(nanWeight, "NaN") && contains(nanWeight, "[4, 64]"), nanWeight.c_str());

    const torch::Tensor huge = torch::tensor({{-1e6f, 1e6f}});
    const std::string tooWide = errorMessage([&] { fakeQuantize(huge, makeScheme(2, Granularity::PerTensor)); });
    QVERIFY2(contains(tooWide, "fp16 scale"), tooWide.c_str());

    const std::string unquantized =
        errorMessage([&] { quantize(gaussianWeight(4, 4), makeScheme(kUnquantizedBits, Granularity::PerGroup)); });
    QVERIFY2(contains(unquantized, "32"), unquantized.c_str());
}

void QuantizationTest::invalidSchemeRejected()
{
    const torch::Tensor weight = gaussianWeight(4, 64);

    const std::string badBits = errorMessage([&] { fakeQuantize(weight, makeScheme(3, Granularity::PerGroup)); });
    QVERIFY2(contains(badBits, "bit-width 3") && contains(badBits, "2, 4, 8, 16"), badBits.c_str());

    const std::string badGroup =
        errorMessage([&] { fakeQuantize(weight, makeScheme(4, Granularity::PerGroup, 0)); });
    QVERIFY2(contains(badGroup, "group size 0"), badGroup.c_str());

    const std::string badGranularity =
        errorMessage([&] { fakeQuantize(weight, makeScheme(4, static_cast<Granularity>(7))); });
    QVERIFY2(contains(badGranularity, "tensor, channel, group"), badGranularity.c_str());

    // Group size 0 is irrelevant per channel.
    QVERIFY(errorMessage([&] { fakeQuantize(weight, makeScheme(4, Granularity::PerChannel, 0)); }).empty());
}

void QuantizationTest::dequantizeRejectsBadFields()
{
    const QuantizedTensor good = quantize(gaussianWeight(6, 100), makeScheme(4, Granularity::PerGroup));

    QuantizedTensor wrongCodes = good;
    wrongCodes.codes = good.codes.narrow(1, 0, 99);
    const std::string codesMessage = errorMessage([&] { dequantize(wrongCodes); });
    QVERIFY2(contains(codesMessage, "codes") && contains(codesMessage, "[6, 99]") &&
                 contains(codesMessage, "[6, 100]"),
             codesMessage.c_str());

    QuantizedTensor wrongScales = good;
    wrongScales.scales = good.scales.to(torch::kFloat);
    const std::string scalesMessage = errorMessage([&] { dequantize(wrongScales); });
    QVERIFY2(contains(scalesMessage, "scales") && contains(scalesMessage, "Half"), scalesMessage.c_str());

    QuantizedTensor missingZeroPoints = good;
    missingZeroPoints.zeroPoints = torch::Tensor();
    const std::string zeroPointMessage = errorMessage([&] { dequantize(missingZeroPoints); });
    QVERIFY2(contains(zeroPointMessage, "zeroPoints") && contains(zeroPointMessage, "undefined"),
             zeroPointMessage.c_str());
}

QTEST_GUILESS_MAIN(QuantizationTest)
#include "test_quantization.moc"

#include "model/LogSumExpKernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace rlq {

namespace {

// Coefficients of exp(r) = sum r^k / k! up to k = 6, used after the range
// reduction x = n ln 2 + r with |r| <= ln 2 / 2 (truncation error below 4e-7
// relative). Inputs are clamped at -87 so 2^n stays a normal float.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2High = 0.693359375f;     // ln 2 split in two parts so that
constexpr float kLn2Low = -2.12194440e-4f;   // n * kLn2High is exact
constexpr float kMinExponent = -87.0f;

float exponentialScalar(float x)
{
    x = std::max(x, kMinExponent);
    const float n = std::nearbyint(x * kLog2e);
    const float r = (x - n * kLn2High) - n * kLn2Low;
    float p = 1.0f / 720.0f;
    for (float coefficient : {1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f, 1.0f}) {
        p = p * r + coefficient;
    }
    return std::ldexp(p, int(n));
}

void accumulateRowsScalar(const float* logits, int64_t rows, int64_t columns, int64_t rowStride, float* runningMax,
                          double* runningSum)
{
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits + r * rowStride;
        float tileMax = -std::numeric_limits<float>::infinity();
        for (int64_t c = 0; c < columns; ++c) {
            tileMax = std::max(tileMax, row[c]);
        }
        const float newMax = std::max(runningMax[r], tileMax);

        double sum = 0.0;
        for (int64_t c = 0; c < columns; ++c) {
            sum += exponentialScalar(row[c] - newMax);
        }
        if (runningSum[r] > 0.0) {
            runningSum[r] *= std::exp(double(runningMax[r]) - double(newMax));
        }
        runningSum[r] += sum;
        runningMax[r] = newMax;
    }
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) __m256 exponentialAvx2(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(kMinExponent));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2High), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Low), r);

    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));

    const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

__attribute__((target("avx2,fma"))) float horizontalMax(__m256 v)
{
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    return *std::max_element(lanes, lanes + 8);
}

__attribute__((target("avx2,fma"))) double horizontalSum(__m256 v)
{
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    double sum = 0.0;
    for (float lane : lanes) {
        sum += lane;
    }
    return sum;
}

__attribute__((target("avx2,fma"))) void accumulateRowsAvx2(const float* logits, int64_t rows, int64_t columns,
                                                             int64_t rowStride, float* runningMax, double* runningSum)
{
    const int64_t vectorColumns = columns - columns % 8;
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = logits + r * rowStride;

        __m256 maxLanes = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
        for (int64_t c = 0; c < vectorColumns; c += 8) {
            maxLanes = _mm256_max_ps(maxLanes, _mm256_loadu_ps(row + c));
        }
        float tileMax = horizontalMax(maxLanes);
        for (int64_t c = vectorColumns; c < columns; ++c) {
            tileMax = std::max(tileMax, row[c]);
        }
        const float newMax = std::max(runningMax[r], tileMax);

        const __m256 shift = _mm256_set1_ps(newMax);
        __m256 sumLanes = _mm256_setzero_ps();
        for (int64_t c = 0; c < vectorColumns; c += 8) {
            sumLanes = _mm256_add_ps(sumLanes, exponentialAvx2(_mm256_sub_ps(_mm256_loadu_ps(row + c), shift)));
        }
        double sum = horizontalSum(sumLanes);
        for (int64_t c = vectorColumns; c < columns; ++c) {
            sum += exponentialScalar(row[c] - newMax);
        }

        if (runningSum[r] > 0.0) {
            runningSum[r] *= std::exp(double(runningMax[r]) - double(newMax));
        }
        runningSum[r] += sum;
        runningMax[r] = newMax;
    }
}

#endif

} // namespace

void accumulateLogSumExp(const float* logits, int64_t rows, int64_t columns, int64_t rowStride, float* runningMax,
                         double* runningSum)
{
#if defined(__x86_64__)
    static const bool hasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (hasAvx2) {
        accumulateRowsAvx2(logits, rows, columns, rowStride, runningMax, runningSum);
        return;
    }
#endif
    accumulateRowsScalar(logits, rows, columns, rowStride, runningMax, runningSum);
}

} // namespace rlq

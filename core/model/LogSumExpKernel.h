#pragma once

#include <cstdint>

namespace rlq {

// Folds one tile of logits into running per-row log-sum-exp state.
// `logits` contains `rows` rows of `columns` floats, `rowStride` floats apart.
// For each row r the invariant after the call is
//   runningSum[r] * exp(runningMax[r]) == sum of exp over every column seen,
// so log-sum-exp = runningMax + log(runningSum). Initialise runningMax to
// -infinity and runningSum to 0. The exponential is a polynomial
// approximation with relative error below 1e-6, which is far below the
// 0.1% perplexity tolerance of the evaluations.
void accumulateLogSumExp(const float* logits, int64_t rows, int64_t columns, int64_t rowStride, float* runningMax,
                         double* runningSum);

} // namespace rlq

//===- Perplexity.cpp - Scoring a text with a language model --------------===//

#include "runtime/Perplexity.h"
#include "runtime/Status.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <limits>

namespace nibble::runtime {

double logSoftmaxAt(const float *logits, int64_t vocabSize, int64_t target) {
  double max = logits[0];
  for (int64_t i = 1; i < vocabSize; ++i)
    max = std::max(max, double(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocabSize; ++i)
    sum += std::exp(double(logits[i]) - max);
  return double(logits[target]) - max - std::log(sum);
}

nibble_status tokenNegativeLogLikelihood(const float *logits, int64_t vocabSize,
                                         int64_t target, double &nll) {
  if (!logits || vocabSize <= 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "scoring needs a logits row, got %" PRId64 " logits at %p",
                vocabSize, static_cast<const void *>(logits));
  if (target < 0 || target >= vocabSize)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "target token %" PRId64 " is outside the vocabulary of %" PRId64
                " tokens",
                target, vocabSize);
  bool anyFinite = false;
  for (int64_t i = 0; i < vocabSize; ++i) {
    if (std::isnan(logits[i]) ||
        logits[i] == std::numeric_limits<float>::infinity())
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "the logit of token %" PRId64 " is %g; log-softmax needs "
                  "finite logits or -inf",
                  i, double(logits[i]));
    anyFinite |= std::isfinite(logits[i]);
  }
  if (!anyFinite)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "all %" PRId64 " logits are -inf", vocabSize);
  nll = -logSoftmaxAt(logits, vocabSize, target);
  return NIBBLE_OK;
}

double PerplexityAccumulator::perplexity() const { return std::exp(meanNll()); }

double PerplexityAccumulator::perplexityError() const {
  if (scored < 2)
    return 0.0;
  double variance = squaredDeviations / double(scored);
  return std::sqrt(variance / double(scored - 1)) * perplexity();
}

nibble_status planPerplexityWindows(int64_t numTokens, int64_t nCtx,
                                    int64_t maxWindows,
                                    std::vector<PerplexityWindow> &windows) {
  if (nCtx < 3)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "perplexity needs a context of at least 3 tokens (the second "
                "half of each window is scored), got %" PRId64,
                nCtx);
  if (maxWindows == 0 || maxWindows < -1)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "the number of perplexity windows must be positive or -1 "
                "(all), got %" PRId64,
                maxWindows);
  if (numTokens < nCtx)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "perplexity needs at least one full window of %" PRId64
                " tokens, the text has %" PRId64,
                nCtx, numTokens);
  int64_t count = numTokens / nCtx;
  if (maxWindows != -1)
    count = std::min(count, maxWindows);
  windows.clear();
  int64_t first = nCtx / 2;
  for (int64_t i = 0; i < count; ++i)
    windows.push_back({i * nCtx, first, nCtx - 1});
  return NIBBLE_OK;
}

std::vector<int32_t> perplexityWindowInput(const int32_t *tokens, int64_t nCtx,
                                           const PerplexityWindow &window,
                                           bool addBos, int32_t bos) {
  std::vector<int32_t> input(tokens + window.begin,
                             tokens + window.begin + nCtx);
  if (addBos)
    input[0] = bos;
  return input;
}

nibble_status scorePerplexityWindow(const int32_t *tokens,
                                    const PerplexityWindow &window,
                                    const float *rows, int64_t vocabSize,
                                    PerplexityAccumulator &accumulator) {
  for (int64_t row = window.firstRow; row < window.endRow; ++row) {
    int64_t target = window.begin + row + 1;
    double nll;
    if (nibble_status status = tokenNegativeLogLikelihood(
            rows + (row - window.firstRow) * vocabSize, vocabSize,
            tokens[target], nll))
      return addErrorContext(
          status, "perplexity window at token " + std::to_string(window.begin) +
                      ", position " + std::to_string(row) + ": ");
    accumulator.add(nll);
  }
  return NIBBLE_OK;
}

} // namespace nibble::runtime

//===- Perplexity.h - Scoring a text with a language model ------*- C++ -*-===//
//
// Perplexity = exp(mean negative log-likelihood of the scored tokens), with
// the windows llama.cpp's perplexity tool uses
// (tools/perplexity/perplexity.cpp, function perplexity(), the default
// without --ppl-stride), so numbers are comparable with llama-perplexity:
//
//  - the text is tokenized once, with BOS in front when the model adds BOS;
//  - the token stream is cut into floor(numTokens / nCtx) windows of nCtx
//    tokens that do not overlap; the tokens after the last full window are
//    not used. Each window is evaluated from an empty cache;
//  - when the model adds BOS, the window's first token is replaced by BOS
//    (the stream's own first token is already BOS, so window 0 is as is);
//  - with first = nCtx / 2 (integer division), the logits rows at window
//    positions first, first+1, ..., nCtx-2 are scored, row j against the
//    window's token j+1. So nCtx - 1 - first tokens per window, the targets
//    at positions first+1 ... nCtx-1 (each predicted from the previous
//    position, with at least first tokens of context); position first
//    itself is not a target. (llama.cpp asks the model for logits at
//    positions >= first only, and passes them to process_logits with the
//    tokens from position first on, which scores logits[i] against
//    tokens[i+1].)
//
// What differs: llama.cpp refuses texts shorter than 2 * nCtx tokens; here
// one full window is enough. llama.cpp computes log-softmax as
// logit - max - log(sum of expf(logit - max)) with float exponentials and a
// double sum; here everything is double, which can move the result in the
// 7th significant digit. The uncertainty is llama.cpp's,
// sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)) * perplexity, with the
// variance computed without cancellation.
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_PERPLEXITY_H
#define NIBBLE_RUNTIME_PERPLEXITY_H

#include "runtime/nibble_runtime.h"

#include <cstdint>
#include <vector>

namespace nibble::runtime {

/// log softmax(logits)[target] in double: logits[target] - max -
/// log(sum(exp(logits - max))), which stays finite for any finite logits.
/// The caller guarantees a non-empty row and 0 <= target < vocabSize.
double logSoftmaxAt(const float *logits, int64_t vocabSize, int64_t target);

/// The negative log-likelihood -log p(target) of one logits row. Fails on a
/// null or empty row, a target outside the vocabulary, or a NaN or +inf
/// logit; a target logit of -inf gives +inf.
nibble_status tokenNegativeLogLikelihood(const float *logits, int64_t vocabSize,
                                         int64_t target, double &nll);

/// Sums the negative log-likelihoods of scored tokens: their mean and
/// spread, updated as Welford's algorithm does (llama.cpp's sum of squares
/// minus the squared mean gives the same quantity but cancels badly when the
/// NLLs are close).
class PerplexityAccumulator {
public:
  /// Adds one scored token's negative log-likelihood.
  void add(double nll) {
    ++scored;
    double delta = nll - mean;
    mean += delta / double(scored);
    squaredDeviations += delta * (nll - mean);
  }
  /// The number of tokens added.
  int64_t count() const { return scored; }
  /// The mean negative log-likelihood (nats per token); 0 with no tokens.
  double meanNll() const { return mean; }
  /// exp(meanNll()).
  double perplexity() const;
  /// llama.cpp's "+/-": the standard error of the mean NLL,
  /// sqrt(variance / (count - 1)) with the variance over count, times the
  /// perplexity; 0 with fewer than two tokens.
  double perplexityError() const;

private:
  double mean = 0;
  /// The sum of squared deviations from the mean.
  double squaredDeviations = 0;
  int64_t scored = 0;
};

/// One window of the token stream.
struct PerplexityWindow {
  /// The stream index of the window's first token; the window is
  /// tokens[begin, begin + nCtx).
  int64_t begin;
  /// The window positions whose logits rows are scored: [firstRow, endRow),
  /// row j predicting the token at window position j + 1.
  int64_t firstRow;
  int64_t endRow;
};

/// Plans llama.cpp's windows (see the file comment) over `numTokens` tokens:
/// floor(numTokens / nCtx) of them, at most `maxWindows` unless it is -1.
/// Fails if nCtx < 3 (no token would be scored), if there is not one full
/// window, or if maxWindows is 0 or below -1.
nibble_status planPerplexityWindows(int64_t numTokens, int64_t nCtx,
                                    int64_t maxWindows,
                                    std::vector<PerplexityWindow> &windows);

/// The model input for `window`: its nCtx tokens, the first replaced by
/// `bos` if `addBos`.
std::vector<int32_t> perplexityWindowInput(const int32_t *tokens, int64_t nCtx,
                                           const PerplexityWindow &window,
                                           bool addBos, int32_t bos);

/// Scores `window`: `rows` holds the logits rows of window positions
/// [firstRow, endRow) one after another (vocabSize floats each); row j is
/// scored against tokens[window.begin + j + 1] (the stream's token, never
/// the BOS substitute). Adds each NLL to `accumulator`; fails as
/// tokenNegativeLogLikelihood does, naming the position.
nibble_status scorePerplexityWindow(const int32_t *tokens,
                                    const PerplexityWindow &window,
                                    const float *rows, int64_t vocabSize,
                                    PerplexityAccumulator &accumulator);

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_PERPLEXITY_H

//===- LanguageModelBench.h - Timing prefill and decode ---------*- C++ -*-===//
//
// What `nibble-run bench` measures on any LanguageModel session, the way
// llama.cpp's llama-bench does: prefill of N prompt tokens into an empty
// cache as one call, and decode of single tokens after C tokens of context.
// Token ids are pseudo-random (fixed seed) and valid; the cost does not
// depend on their values. LLVM-free (part of the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_LANGUAGEMODELBENCH_H
#define NIBBLE_RUNTIME_LANGUAGEMODELBENCH_H

#include "runtime/LanguageModel.h"

#include <cstdint>

namespace nibble {
namespace runtime {

/// One measurement: the median over its repetitions (each measurement first
/// runs one untimed repetition to warm up).
struct BenchTiming {
  /// Seconds of the timed calls of the median repetition.
  double seconds = 0;
  /// Tokens the timed calls processed, divided by `seconds`.
  double tokensPerSecond = 0;
};

/// Times `tokens` prompt tokens run as one call from position 0 (the cache
/// holds nothing the call reads), `repetitions` times.
nibble_status benchPrefill(LanguageModel &model, int64_t tokens,
                           int repetitions, BenchTiming &timing);

/// Fills the cache with `context` tokens (not timed), then times `tokens`
/// single-token decode calls at positions context, context + 1, ...;
/// `repetitions` times.
nibble_status benchDecode(LanguageModel &model, int64_t context, int64_t tokens,
                          int repetitions, BenchTiming &timing);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_LANGUAGEMODELBENCH_H

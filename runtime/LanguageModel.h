//===- LanguageModel.h - What generation needs from a compiled LLM -*- C++
//-*-===//
//
// The interface between the generation loops (Generation.h: generate,
// perplexity) and a compiled decoder-only model, whichever way it was
// compiled: JIT in-process (compiler/Driver/JitLanguageModel.h) or ahead of
// time into a library the runtime opens. One object is one session: it owns its
// KV cache, so two objects over one model generate independently.
//
// LLVM-free (part of the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_LANGUAGEMODEL_H
#define NIBBLE_RUNTIME_LANGUAGEMODEL_H

#include "runtime/nibble_runtime.h"

#include <cstdint>

namespace nibble {
namespace runtime {

/// A decoder-only language model with a KV cache.
class LanguageModel {
public:
  virtual ~LanguageModel() = default;

  /// Vocabulary size V (the width of a logits row).
  virtual int64_t vocabSize() const = 0;
  /// Cache capacity in tokens: positions must stay below it.
  virtual int64_t capacity() const = 0;

  /// Runs `count` tokens at positions [start, start + count), writing their
  /// keys and values into the cache, and stores the logits of every token
  /// (`allLogits`: count × V floats) or of the last one only (V floats) in
  /// `logits`. Cache entries at or above start + count are not read. Fails
  /// (NIBBLE_ERROR_INVALID_ARGUMENT) if count < 1, start < 0, the tokens do
  /// not fit below capacity(), or a token id is outside [0, V).
  virtual nibble_status run(const int32_t *tokens, int64_t count, int64_t start,
                            bool allLogits, float *logits) = 0;

protected:
  /// Checks run()'s arguments against the model, with the messages run()
  /// documents.
  nibble_status checkRun(const int32_t *tokens, int64_t count,
                         int64_t start) const;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_LANGUAGEMODEL_H

//===- JitLanguageModel.h - An LLM module run through the JIT ---*- C++ -*-===//
//
// Compiles a module of the transformer builder's shape (entry points
// forward / prefill / decode over the KV cache states; see
// frontends/llm/TransformerBuilder.h) once with the JIT and serves it as a
// runtime::LanguageModel session: the KV cache lives in buffers this object
// owns, weights are bound by pointer into the mapped archive.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_DRIVER_JITLANGUAGEMODEL_H
#define NIBBLE_COMPILER_DRIVER_JITLANGUAGEMODEL_H

#include "compiler/Driver/JitRunner.h"
#include "runtime/LanguageModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace nibble {

/// A JIT-compiled LLM session.
class JitLanguageModel : public runtime::LanguageModel {
public:
  /// Reads the interface (vocabulary, cache states) from `module`, lowers
  /// and compiles it (in place). Fails naming what the module lacks.
  static llvm::Expected<std::unique_ptr<JitLanguageModel>>
  create(mlir::ModuleOp module, const JitOptions &options);

  int64_t vocabSize() const override { return vocab; }
  int64_t capacity() const override { return cacheCapacity; }
  nibble_status run(const int32_t *tokens, int64_t count, int64_t start,
                    bool allLogits, float *logits) override;

private:
  JitLanguageModel() = default;

  std::unique_ptr<JitSession> session;
  int64_t vocab = 0;
  int64_t cacheCapacity = 0;
  /// The KV cache states, zero-initialized, and their shapes.
  std::vector<float> keys, values;
  std::vector<int64_t> keysShape, valuesShape;
};

} // namespace nibble

#endif // NIBBLE_COMPILER_DRIVER_JITLANGUAGEMODEL_H

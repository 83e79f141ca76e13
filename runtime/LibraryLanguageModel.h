//===- LibraryLanguageModel.h - A compiled LLM library as a session -*- C++
//-*-===//
//
// Serves a language model compiled ahead of time by nibblec (a GGUF file or
// Hugging Face directory compiled to model.so) as a LanguageModel session:
// opens the library through the C API (nibble_runtime.h), checks that it
// has the transformer builder's entry points (forward, prefill, decode) and
// KV cache states, and runs them on caller buffers. The KV cache is the
// model's runtime-owned state, so each object is one session.
//
// LLVM-free (part of the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_LIBRARYLANGUAGEMODEL_H
#define NIBBLE_RUNTIME_LIBRARYLANGUAGEMODEL_H

#include "runtime/LanguageModel.h"

#include <memory>
#include <string>

namespace nibble {
namespace runtime {

/// A session over a compiled LLM library.
class LibraryLanguageModel : public LanguageModel {
public:
  ~LibraryLanguageModel() override;
  LibraryLanguageModel(const LibraryLanguageModel &) = delete;
  LibraryLanguageModel &operator=(const LibraryLanguageModel &) = delete;

  /// Opens the library at `path`; fails naming the file and what its
  /// interface lacks (NIBBLE_ERROR_ABI) or why it does not open.
  static nibble_status open(const std::string &path,
                            std::unique_ptr<LibraryLanguageModel> &out);

  int64_t vocabSize() const override { return vocab; }
  int64_t capacity() const override { return cacheCapacity; }
  nibble_status run(const int32_t *tokens, int64_t count, int64_t start,
                    bool allLogits, float *logits) override;

  /// The tokenizer file the model names (its `tokenizer` property, resolved
  /// next to the library), or "" if it names none.
  const std::string &tokenizerPath() const { return tokenizer; }

private:
  LibraryLanguageModel() = default;
  /// Checks the interface and reads vocabulary size and capacity.
  nibble_status inspect(const std::string &path);

  nibble_model *model = nullptr;
  int64_t vocab = 0;
  int64_t cacheCapacity = 0;
  std::string tokenizer;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_LIBRARYLANGUAGEMODEL_H

//===- LanguageModel.cpp - Argument checks shared by model sessions -------===//

#include "runtime/LanguageModel.h"
#include "runtime/Status.h"

namespace nibble {
namespace runtime {

nibble_status LanguageModel::checkRun(const int32_t *tokens, int64_t count,
                                      int64_t start) const {
  if (!tokens || count < 1)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "a model call needs at least one token, got %lld",
                static_cast<long long>(count));
  if (start < 0 || start > capacity() || count > capacity() - start)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "tokens at positions [%lld, %lld) do not fit the KV cache "
                "capacity of %lld tokens",
                static_cast<long long>(start),
                static_cast<long long>(start + count),
                static_cast<long long>(capacity()));
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocabSize())
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "token %lld has id %d, outside the vocabulary [0, %lld)",
                  static_cast<long long>(i), tokens[i],
                  static_cast<long long>(vocabSize()));
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

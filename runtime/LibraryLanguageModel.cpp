//===- LibraryLanguageModel.cpp - A compiled LLM library as a session -----===//

#include "runtime/LibraryLanguageModel.h"
#include "runtime/Status.h"

#include <cstring>

namespace nibble {
namespace runtime {
namespace {

/// Fails with a message naming `path` and what its entry `entry` lacks.
nibble_status lacks(const std::string &path, const char *entry,
                    const char *what) {
  return fail(NIBBLE_ERROR_ABI,
              "%s: entry point '%s' %s (is it an LLM compiled by nibblec from "
              "a GGUF file or Hugging Face directory?)",
              path.c_str(), entry, what);
}

/// Checks that tensor `desc` has `dtype` and `rank`.
bool hasForm(const nibble_tensor_desc &desc, nibble_dtype dtype, int32_t rank) {
  return desc.dtype == dtype && desc.rank == rank;
}

} // namespace

LibraryLanguageModel::~LibraryLanguageModel() { nibble_model_close(model); }

nibble_status
LibraryLanguageModel::open(const std::string &path,
                           std::unique_ptr<LibraryLanguageModel> &out) {
  std::unique_ptr<LibraryLanguageModel> session(new LibraryLanguageModel());
  if (nibble_status status = nibble_model_open(path.c_str(), &session->model))
    return status;
  if (nibble_status status = session->inspect(path))
    return status;
  out = std::move(session);
  return NIBBLE_OK;
}

nibble_status LibraryLanguageModel::inspect(const std::string &path) {
  // Each entry takes (tokens I32 [T], start I64 []) and writes logits F32
  // [T or 1, V].
  for (const char *entry : {"forward", "prefill", "decode"}) {
    if (nibble_model_select_entry(model, entry) != NIBBLE_OK)
      return fail(NIBBLE_ERROR_ABI,
                  "%s: the model has no entry point '%s' (is it an LLM "
                  "compiled by nibblec from a GGUF file or Hugging Face "
                  "directory?)",
                  path.c_str(), entry);
    nibble_tensor_desc tokens, start, logits;
    if (nibble_model_num_inputs(model) != 2 ||
        nibble_model_num_outputs(model) != 1)
      return lacks(path, entry, "does not take 2 inputs and give 1 output");
    nibble_model_input_info(model, 0, &tokens);
    nibble_model_input_info(model, 1, &start);
    nibble_model_output_info(model, 0, &logits);
    if (!hasForm(tokens, NIBBLE_DTYPE_I32, 1) ||
        !hasForm(start, NIBBLE_DTYPE_I64, 0) ||
        !hasForm(logits, NIBBLE_DTYPE_F32, 2) || logits.shape[1] < 1)
      return lacks(path, entry,
                   "does not take tokens I32 [T] and a start position I64 [] "
                   "to logits F32 [T, V]");
    if (vocab != 0 && logits.shape[1] != vocab)
      return lacks(path, entry, "has another vocabulary size");
    vocab = logits.shape[1];
  }
  for (int32_t i = 0; i < nibble_model_num_states(model); ++i) {
    nibble_tensor_desc state;
    nibble_model_state(model, i, &state, nullptr);
    if (std::strcmp(state.name, "kv_cache.keys") == 0 && state.rank == 4)
      cacheCapacity = state.shape[1];
  }
  if (cacheCapacity == 0)
    return fail(NIBBLE_ERROR_ABI,
                "%s: the model has no KV cache state 'kv_cache.keys' of shape "
                "[layers, capacity, heads, head size]",
                path.c_str());
  if (const char *file = nibble_model_property(model, "tokenizer")) {
    size_t slash = path.rfind('/');
    tokenizer = file[0] == '/' || slash == std::string::npos
                    ? std::string(file)
                    : path.substr(0, slash + 1) + file;
  }
  return NIBBLE_OK;
}

nibble_status LibraryLanguageModel::run(const int32_t *tokens, int64_t count,
                                        int64_t start, bool allLogits,
                                        float *logits) {
  if (nibble_status status = checkRun(tokens, count, start))
    return status;
  const char *entry = allLogits ? "forward" : count == 1 ? "decode" : "prefill";
  int64_t rows = allLogits ? count : 1;
  int64_t logitsShape[] = {rows, vocab};
  size_t bytes = static_cast<size_t>(rows * vocab) * sizeof(float);
  if (nibble_status status = nibble_model_select_entry(model, entry))
    return status;
  if (nibble_status status =
          nibble_model_bind_input(model, 0, tokens, &count, 1))
    return status;
  if (nibble_status status =
          nibble_model_bind_input(model, 1, &start, nullptr, 0))
    return status;
  if (nibble_status status = nibble_model_bind_output_shaped(
          model, 0, logits, bytes, logitsShape, 2))
    return status;
  return nibble_model_run(model);
}

} // namespace runtime
} // namespace nibble

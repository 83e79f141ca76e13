//===- JitLanguageModel.cpp - An LLM module run through the JIT -----------===//

#include "compiler/Driver/JitLanguageModel.h"
#include "dialects/NibbleOps.h"
#include "runtime/Status.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace nibble {
namespace {

/// The words of a memref descriptor over `data` with row-major `shape`.
std::vector<int64_t> descriptor(const void *data, ArrayRef<int64_t> shape) {
  auto base = reinterpret_cast<int64_t>(data);
  std::vector<int64_t> words = {base, base, 0};
  words.insert(words.end(), shape.begin(), shape.end());
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

} // namespace

llvm::Expected<std::unique_ptr<JitLanguageModel>>
JitLanguageModel::create(ModuleOp module, const JitOptions &options) {
  std::unique_ptr<JitLanguageModel> model(new JitLanguageModel());
  for (StringRef entry : {"forward", "prefill", "decode"})
    if (!module.lookupSymbol<func::FuncOp>(entry))
      return error("the module has no entry point '" + entry +
                   "' (is it an LLM built by nibble's frontends?)");
  auto keys = module.lookupSymbol<StateOp>("kv_cache.keys");
  auto values = module.lookupSymbol<StateOp>("kv_cache.values");
  if (!keys || !values)
    return error("the module has no nibble.state @kv_cache.keys / "
                 "@kv_cache.values");
  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  auto logitsType =
      dyn_cast<RankedTensorType>(prefill.getFunctionType().getResult(0));
  if (!logitsType || logitsType.getRank() != 2)
    return error("prefill must return logits of shape [1, V]");
  model->vocab = logitsType.getDimSize(1);
  model->keysShape.assign(keys.getTensorType().getShape().begin(),
                          keys.getTensorType().getShape().end());
  model->valuesShape.assign(values.getTensorType().getShape().begin(),
                            values.getTensorType().getShape().end());
  model->cacheCapacity = model->keysShape[1];
  model->keys.assign(keys.getTensorType().getNumElements(), 0.0f);
  model->values.assign(values.getTensorType().getNumElements(), 0.0f);

  llvm::Expected<std::unique_ptr<JitSession>> session =
      JitSession::create(module, options);
  if (!session)
    return session.takeError();
  model->session = std::move(*session);
  return std::move(model);
}

nibble_status JitLanguageModel::run(const int32_t *tokens, int64_t count,
                                    int64_t start, bool allLogits,
                                    float *logits) {
  if (nibble_status status = checkRun(tokens, count, start))
    return status;
  int64_t start64 = start;
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.push_back(descriptor(tokens, {count}));
  descriptors.push_back(descriptor(&start64, {}));
  const char *entry;
  if (allLogits) {
    entry = "forward";
    descriptors.push_back(descriptor(logits, {count, vocab}));
  } else {
    entry = count == 1 ? "decode" : "prefill";
  }
  descriptors.push_back(descriptor(keys.data(), keysShape));
  descriptors.push_back(descriptor(values.data(), valuesShape));
  if (!allLogits)
    descriptors.push_back(descriptor(logits, {1, vocab}));
  std::vector<void *> pointers;
  for (std::vector<int64_t> &words : descriptors)
    pointers.push_back(words.data());
  if (llvm::Error failure = session->invoke(entry, pointers))
    return runtime::fail(NIBBLE_ERROR_INVALID_ARGUMENT, "%s: %s", entry,
                         llvm::toString(std::move(failure)).c_str());
  return NIBBLE_OK;
}

} // namespace nibble

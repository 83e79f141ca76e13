//===- JitRunner.cpp - Compile and run a function in-process --------------===//

#include "compiler/Driver/JitRunner.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Transforms/ModelAbi.h"
#include "passes/WeightStore.h"
#include "runtime/nibble_runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <cstring>
#include <functional>

using namespace mlir;

namespace nibble {

/// The array dtype that carries tensors of element type `type`: the archive
/// dtype, except that FP8 travels as raw bytes and bf16 (which .npy lacks)
/// is not supported.
static std::optional<DType> arrayDType(Type type, bool isUnsigned) {
  if (isa<Float8E4M3FNType>(type) || (isUnsigned && type.isInteger(8)))
    return DType::U8;
  if (type.isBF16())
    return std::nullopt;
  return dtypeForElementType(type);
}

/// Formats `shape` as [2, 3].
static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + (ShapedType::isDynamic(shape[i])
                                   ? std::string("?")
                                   : std::to_string(shape[i]));
  return text + "]";
}

/// A ranked memref descriptor {allocated, aligned, offset, sizes, strides}
/// for `array` (identity layout), as the words the C interface expects.
static std::vector<int64_t> makeDescriptor(NpyArray &array) {
  std::vector<int64_t> words;
  auto base = reinterpret_cast<int64_t>(array.data.data());
  words.push_back(base);
  words.push_back(base);
  words.push_back(0);
  for (int64_t size : array.shape)
    words.push_back(size);
  std::vector<int64_t> strides(array.shape.size(), 1);
  for (int64_t i = int64_t(array.shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * array.shape[i + 1];
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

/// Frees memory from std::aligned_alloc.
void JitSession::FreeDeleter::operator()(void *pointer) const {
  std::free(pointer);
}

JitSession::JitSession() = default;
JitSession::~JitSession() = default;

llvm::Error JitSession::bindGlobals(ModuleOp module) {
  SmallVector<GlobalOp> globals(module.getOps<GlobalOp>());
  if (globals.empty())
    return llvm::Error::success();
  store = std::make_unique<WeightStore>();
  for (GlobalOp global : globals) {
    FailureOr<const TensorView *> tensor = store->resolve(global);
    if (failed(tensor))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "cannot bind global '" +
                                         global.getSymName() + "'");
    const uint8_t *data = (*tensor)->bytes.data();
    size_t elementSize = dtypeByteSize((*tensor)->dtype);
    if (reinterpret_cast<uintptr_t>(data) % elementSize != 0) {
      // The archive stores it unaligned: read an aligned copy instead.
      size_t bytes = (*tensor)->bytes.size();
      void *copy = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
      if (!copy)
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "out of memory copying global '" +
                                           global.getSymName() + "'");
      std::memcpy(copy, data, bytes);
      alignedCopies.emplace_back(copy);
      data = static_cast<const uint8_t *>(copy);
    }
    globalPointers.push_back(const_cast<uint8_t *>(data));
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<JitSession>>
JitSession::create(ModuleOp module, const JitOptions &options) {
  auto makeError = [](const Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  std::unique_ptr<JitSession> session(new JitSession());
  if (!options.weights.empty())
    module->setAttr(kWeightsAttrName,
                    StringAttr::get(module.getContext(), options.weights));
  // The weights of nibble.global are mapped, checked and bound by pointer:
  // they never enter the IR or the JIT's memory.
  if (llvm::Error error = session->bindGlobals(module))
    return std::move(error);

  // Lower to the LLVM dialect.
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  LowerToLLVMOptions lowerOptions;
  lowerOptions.weights = options.weights;
  lowerOptions.kernels = options.kernels;
  buildLowerToLLVMPipeline(pm, lowerOptions);
  if (failed(pm.run(module)))
    return makeError("lowering the module to LLVM failed");

  // JIT-compile.
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  // ExecutionEngineOptions::transformer is a function_ref: the function it
  // refers to must outlive ExecutionEngine::create.
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(options.optLevel, 0, nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return engine.takeError();
  session->engine = std::move(*engine);

  // Parallel loops run on the runtime's thread pool, as in compiled models.
  if (options.numThreads > 0 && nibble_set_num_threads(static_cast<int32_t>(
                                    options.numThreads)) != NIBBLE_OK)
    return makeError(nibble_last_error());
  llvm::Expected<void *> setRunner =
      session->engine->lookup("__nibble_set_parallel_runner");
  if (!setRunner)
    return setRunner.takeError();
  using SetRunnerFn = void (*)(nibble_parallel_runner);
  reinterpret_cast<SetRunnerFn> (*setRunner)(nibble_parallel_for);

  if (!session->globalPointers.empty()) {
    llvm::Expected<void *> bind =
        session->engine->lookup("__nibble_bind_globals");
    if (!bind)
      return bind.takeError();
    using BindFn = void (*)(void **);
    reinterpret_cast<BindFn> (*bind)(session->globalPointers.data());
  }
  return std::move(session);
}

llvm::Error JitSession::invoke(StringRef entry, ArrayRef<void *> descriptors) {
  SmallVector<void *> pointers(descriptors.begin(), descriptors.end());
  SmallVector<void *> packedArgs;
  for (void *&pointer : pointers)
    packedArgs.push_back(&pointer);
  return engine->invokePacked(("_mlir_ciface_" + entry).str(), packedArgs);
}

llvm::Expected<std::vector<NpyArray>> runFunction(ModuleOp module,
                                                  StringRef entry,
                                                  ArrayRef<NpyArray> inputs,
                                                  const JitOptions &options) {
  auto makeError = [](const Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  auto func = module.lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return makeError("no function '" + entry + "' in the module");
  FunctionType type = func.getFunctionType();
  if (type.getNumInputs() != inputs.size())
    return makeError("function '" + entry + "' takes " +
                     Twine(type.getNumInputs()) + " arguments but " +
                     Twine(inputs.size()) + " inputs were given");

  // Check the inputs against the signature.
  std::vector<NpyArray> arguments(inputs.begin(), inputs.end());
  for (auto [index, argType] : llvm::enumerate(type.getInputs())) {
    auto tensorType = dyn_cast<RankedTensorType>(argType);
    std::optional<DType> dtype =
        tensorType
            ? arrayDType(tensorType.getElementType(),
                         func.getArgAttr(index, kUnsignedAttrName) != nullptr)
            : std::nullopt;
    if (!dtype)
      return makeError("argument " + Twine(index) + " has unsupported type " +
                       llvm::formatv("{0}", argType).str());
    const NpyArray &input = inputs[index];
    bool shapeOk = int64_t(input.shape.size()) == tensorType.getRank();
    for (int64_t i = 0; shapeOk && i < tensorType.getRank(); ++i)
      shapeOk = tensorType.isDynamicDim(i) ||
                tensorType.getDimSize(i) == input.shape[i];
    if (!shapeOk || input.dtype != *dtype)
      return makeError(
          "input " + Twine(index) + ": expected " + safetensorsName(*dtype) +
          " " + shapeString(tensorType.getShape()) + ", found " +
          safetensorsName(input.dtype) + " " + shapeString(input.shape));
  }
  // State and output arguments are updated in place; their results vanish
  // in lowering (nibble-drop-in-place-results).
  unsigned inPlace = 0;
  for (unsigned i = 0, e = type.getNumInputs(); i < e; ++i)
    if (func.getArgAttr(i, kStateArgAttrName) ||
        func.getArgAttr(i, kOutputArgAttrName))
      ++inPlace;
  std::vector<NpyArray> results;
  for (auto [index, resultType] :
       llvm::enumerate(type.getResults().drop_back(inPlace))) {
    auto tensorType = dyn_cast<RankedTensorType>(resultType);
    std::optional<DType> dtype =
        tensorType ? arrayDType(tensorType.getElementType(),
                                func.getResultAttr(index, kUnsignedAttrName) !=
                                    nullptr)
                   : std::nullopt;
    if (!dtype || !tensorType.hasStaticShape())
      return makeError("result " + Twine(index) +
                       " must be a statically shaped tensor of a supported "
                       "element type, found " +
                       llvm::formatv("{0}", resultType).str());
    NpyArray result;
    result.dtype = *dtype;
    result.shape.assign(tensorType.getShape().begin(),
                        tensorType.getShape().end());
    result.data.resize(tensorType.getNumElements() * dtypeByteSize(*dtype));
    results.push_back(std::move(result));
  }

  // The interface is checked; LLVM has no use for the unsigned markers.
  for (unsigned i = 0, e = type.getNumInputs(); i < e; ++i)
    func.removeArgAttr(i, kUnsignedAttrName);
  for (unsigned i = 0, e = type.getNumResults() - inPlace; i < e; ++i)
    func.removeResultAttr(
        i, StringAttr::get(module.getContext(), kUnsignedAttrName));

  llvm::Expected<std::unique_ptr<JitSession>> session =
      JitSession::create(module, options);
  if (!session)
    return session.takeError();

  std::vector<std::vector<int64_t>> descriptors;
  for (NpyArray &argument : arguments)
    descriptors.push_back(makeDescriptor(argument));
  for (NpyArray &result : results)
    descriptors.push_back(makeDescriptor(result));
  std::vector<void *> descriptorPointers;
  for (std::vector<int64_t> &descriptor : descriptors)
    descriptorPointers.push_back(descriptor.data());
  if (llvm::Error error = (*session)->invoke(entry, descriptorPointers))
    return std::move(error);
  return results;
}

} // namespace nibble

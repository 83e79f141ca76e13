//===- ModelAbi.cpp - The interface a compiled model exports --------------===//

#include "compiler/ModelAbi.h"
#include "compiler/Passes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nibble {

/// The nibble_dtype enumerator of MLIR element type `type`, or "".
static std::string abiDType(Type type) {
  if (type.isF32())
    return "NIBBLE_DTYPE_F32";
  if (type.isF16())
    return "NIBBLE_DTYPE_F16";
  if (type.isBF16())
    return "NIBBLE_DTYPE_BF16";
  if (type.isF64())
    return "NIBBLE_DTYPE_F64";
  if (isa<Float8E4M3FNType>(type))
    return "NIBBLE_DTYPE_U8";
  if (type.isInteger(1))
    return "NIBBLE_DTYPE_BOOL";
  if (type.isInteger(8))
    return "NIBBLE_DTYPE_I8";
  if (type.isInteger(16))
    return "NIBBLE_DTYPE_I16";
  if (type.isInteger(32))
    return "NIBBLE_DTYPE_I32";
  if (type.isInteger(64))
    return "NIBBLE_DTYPE_I64";
  return "";
}

/// Describes one tensor of the interface, or emits an error at `func`.
static FailureOr<AbiTensor> describeTensor(func::FuncOp func, Type type,
                                           std::string name, StringRef what,
                                           bool isUnsigned) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  std::string dtype =
      tensorType ? abiDType(tensorType.getElementType()) : std::string();
  if (isUnsigned && dtype == "NIBBLE_DTYPE_I8")
    dtype = "NIBBLE_DTYPE_U8";
  if (dtype.empty())
    return func.emitError() << what << " '" << name
                            << "' must be a ranked tensor of a supported "
                               "element type, found "
                            << type;
  AbiTensor tensor{std::move(name), std::move(dtype), {}};
  for (int64_t size : tensorType.getShape())
    tensor.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return tensor;
}

FailureOr<ModelInterface> describeModel(func::FuncOp func) {
  ModelInterface model;
  model.entry = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    auto param = func.getArgAttrOfType<StringAttr>(i, kParamArgAttrName);
    auto name = func.getArgAttrOfType<StringAttr>(i, kInputNameAttrName);
    std::string argName = param ? param.str()
                          : name
                              ? name.str()
                              : "input" + std::to_string(model.inputs.size());
    FailureOr<AbiTensor> tensor = describeTensor(
        func, type.getInput(i), argName, param ? "param" : "input",
        func.getArgAttr(i, kUnsignedAttrName) != nullptr);
    if (failed(tensor))
      return failure();
    if (!param && !model.params.empty())
      return func.emitError("input '")
             << argName << "' follows a param; params must come last";
    (param ? model.params : model.inputs).push_back(std::move(*tensor));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    FailureOr<AbiTensor> tensor = describeTensor(
        func, type.getResult(i), "output" + std::to_string(i), "output",
        func.getResultAttr(i, kUnsignedAttrName) != nullptr);
    if (failed(tensor))
      return failure();
    if (llvm::is_contained(tensor->shape, -1))
      return func.emitError("output ")
             << i << " must have a static shape, found " << type.getResult(i);
    model.outputs.push_back(std::move(*tensor));
  }
  return model;
}

void prefixModelSymbols(ModuleOp module) {
  SymbolTable symbols(module);
  for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
    if (func.isExternal())
      continue;
    auto name = StringAttr::get(module.getContext(),
                                kModelSymbolPrefix + func.getSymName());
    if (failed(symbols.rename(func, name)))
      llvm_unreachable("renaming a function of the module failed");
  }
}

/// `text` as a C string literal.
static std::string cString(StringRef text) {
  std::string result = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      result += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      result += llvm::formatv("\\{0:o3}", static_cast<unsigned>(c)).str();
      continue;
    }
    result += c;
  }
  return result + "\"";
}

/// Emits the shapes and the descriptor array of one tensor list.
static void emitTensorList(llvm::raw_ostream &os, StringRef list,
                           const std::vector<AbiTensor> &tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    os << "static const int64_t " << list << "_shape" << i << "[] = {";
    llvm::interleaveComma(tensors[i].shape, os);
    if (tensors[i].shape.empty())
      os << "0"; // C forbids empty arrays; rank 0 never reads it.
    os << "};\n";
  }
  os << "static const nibble_tensor_desc " << list << "[] = {\n";
  for (size_t i = 0; i < tensors.size(); ++i)
    os << "  {" << cString(tensors[i].name) << ", " << tensors[i].dtype << ", "
       << tensors[i].shape.size() << ", " << list << "_shape" << i << "},\n";
  if (tensors.empty())
    os << "  {0, NIBBLE_DTYPE_F32, 0, 0},\n";
  os << "};\n";
}

std::string generateAbiSource(const ModelInterface &model) {
  std::string source;
  llvm::raw_string_ostream os(source);
  size_t numArgs =
      model.inputs.size() + model.params.size() + model.outputs.size();
  os << "/* Generated by nibblec: the interface of the compiled model. */\n"
     << "#include \"nibble_model_abi.h\"\n\n";
  std::string ciface =
      ("_mlir_ciface_" + kModelSymbolPrefix + model.entry).str();
  os << "extern void " << ciface << "(";
  for (size_t i = 0; i < numArgs; ++i)
    os << (i ? ", " : "") << "void *";
  if (numArgs == 0)
    os << "void";
  os << ");\n"
     << "/* Defined by nibble-parallel-calls-to-runtime in the model's code. "
        "*/\n"
     << "__attribute__((visibility(\"hidden\"))) extern void\n"
     << "__nibble_set_parallel_runner(nibble_parallel_runner runner);\n\n";
  emitTensorList(os, "inputs", model.inputs);
  emitTensorList(os, "params", model.params);
  emitTensorList(os, "outputs", model.outputs);
  os << "\nstatic void invoke(void **args) {\n  " << ciface << "(";
  for (size_t i = 0; i < numArgs; ++i)
    os << (i ? ", " : "") << "args[" << i << "]";
  os << ");\n}\n\n";
  os << "static const nibble_model_abi abi = {\n"
     << "  NIBBLE_MODEL_ABI_VERSION, " << cString(model.entry) << ",\n"
     << "  " << model.inputs.size() << ", " << model.outputs.size() << ", "
     << model.params.size() << ",\n"
     << "  inputs, outputs, params,\n"
     << "  "
     << (model.weightsFile.empty() ? std::string("0")
                                   : cString(model.weightsFile))
     << ",\n"
     << "  invoke,\n"
     << "  __nibble_set_parallel_runner,\n};\n\n"
     << "const nibble_model_abi *nibble_model_get_abi(void) { return &abi; "
        "}\n";
  return source;
}

} // namespace nibble

//===- ModelAbi.cpp - The interface a compiled model exports --------------===//

#include "compiler/Transforms/ModelAbi.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nibble {
namespace {

/// The nibble_dtype (without prefix) of MLIR element type `type`, or "".
std::string abiDType(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  if (type.isF64())
    return "F64";
  if (isa<Float8E4M3FNType>(type))
    return "U8";
  if (type.isInteger(1))
    return "BOOL";
  if (type.isInteger(8))
    return "I8";
  if (type.isInteger(16))
    return "I16";
  if (type.isInteger(32))
    return "I32";
  if (type.isInteger(64))
    return "I64";
  return "";
}

/// Describes one tensor of the interface, or emits an error at `op`.
FailureOr<AbiTensor> describeTensor(Operation *op, Type type, std::string name,
                                    StringRef what, bool isUnsigned) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  std::string dtype =
      tensorType ? abiDType(tensorType.getElementType()) : std::string();
  if (isUnsigned && dtype == "I8")
    dtype = "U8";
  if (dtype.empty())
    return op->emitError() << what << " '" << name
                           << "' must be a ranked tensor of a supported "
                              "element type, found "
                           << type;
  AbiTensor tensor{std::move(name), std::move(dtype), {}};
  for (int64_t size : tensorType.getShape())
    tensor.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return tensor;
}

/// Builds the model's weight and state tables while entries are described.
struct InterfaceBuilder {
  ModelInterface model;
  llvm::StringMap<int32_t> weightIndex, stateIndex;

  /// The weight named `name` of `type`, added if new.
  FailureOr<int32_t> weight(Operation *op, StringRef name, Type type) {
    FailureOr<AbiTensor> tensor =
        describeTensor(op, type, name.str(), "weight", false);
    if (failed(tensor))
      return failure();
    auto [it, inserted] = weightIndex.try_emplace(
        name, static_cast<int32_t>(model.weights.size()));
    if (inserted) {
      model.weights.push_back(std::move(*tensor));
    } else {
      const AbiTensor &known = model.weights[it->second];
      if (known.dtype != tensor->dtype || known.shape != tensor->shape)
        return op->emitError("weight '")
               << name << "' is used with two types; found " << type;
    }
    return it->second;
  }

  LogicalResult describeEntry(func::FuncOp func);
};

LogicalResult InterfaceBuilder::describeEntry(func::FuncOp func) {
  AbiEntry entry;
  entry.name = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    Type argType = type.getInput(i);
    if (auto param = func.getArgAttrOfType<StringAttr>(i, kParamArgAttrName)) {
      FailureOr<int32_t> index = weight(func, param.getValue(), argType);
      if (failed(index))
        return failure();
      entry.args.push_back({AbiRole::Weight, *index});
      continue;
    }
    if (auto state =
            func.getArgAttrOfType<FlatSymbolRefAttr>(i, kStateArgAttrName)) {
      auto it = stateIndex.find(state.getValue());
      if (it == stateIndex.end())
        return func.emitError("argument ")
               << i << " names no nibble.state: " << state;
      entry.args.push_back({AbiRole::State, it->second});
      continue;
    }
    bool isOutput = func.getArgAttr(i, kOutputArgAttrName) != nullptr;
    auto nameAttr = func.getArgAttrOfType<StringAttr>(i, kInputNameAttrName);
    std::vector<AbiTensor> &list = isOutput ? entry.outputs : entry.inputs;
    std::string name = nameAttr ? nameAttr.str()
                                : (isOutput ? "output" : "input") +
                                      std::to_string(list.size());
    FailureOr<AbiTensor> tensor =
        describeTensor(func, argType, name, isOutput ? "output" : "input",
                       func.getArgAttr(i, kUnsignedAttrName) != nullptr);
    if (failed(tensor))
      return failure();
    entry.args.push_back({isOutput ? AbiRole::Output : AbiRole::Input,
                          static_cast<int32_t>(list.size())});
    list.push_back(std::move(*tensor));
  }
  // The trailing results are the updated state and output arguments, which
  // bufferize in place (nibble-drop-in-place-results): not outputs.
  unsigned numInPlace = llvm::count_if(entry.args, [](const AbiArgument &arg) {
    return arg.role == AbiRole::State || arg.role == AbiRole::Output;
  });
  if (type.getNumResults() < numInPlace)
    return func.emitError("has ")
           << numInPlace << " state and output arguments but only "
           << type.getNumResults()
           << " results (each must be returned updated)";
  for (unsigned i = 0; i < type.getNumResults() - numInPlace; ++i) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, kInputNameAttrName);
    std::string name = nameAttr
                           ? nameAttr.str()
                           : "output" + std::to_string(entry.outputs.size());
    FailureOr<AbiTensor> tensor =
        describeTensor(func, type.getResult(i), name, "output",
                       func.getResultAttr(i, kUnsignedAttrName) != nullptr);
    if (failed(tensor))
      return failure();
    if (llvm::is_contained(tensor->shape, -1))
      return func.emitError("result ")
             << i << " must have a static shape, found " << type.getResult(i)
             << " (a dynamically shaped output must be a nibble.output "
                "argument)";
    entry.args.push_back(
        {AbiRole::Output, static_cast<int32_t>(entry.outputs.size())});
    entry.outputs.push_back(std::move(*tensor));
  }
  model.entries.push_back(std::move(entry));
  return success();
}

} // namespace

FailureOr<ModelInterface> describeModel(ModuleOp module,
                                        ArrayRef<std::string> entryNames) {
  InterfaceBuilder builder;
  for (GlobalOp global : module.getOps<GlobalOp>())
    if (failed(builder.weight(global, global.getName(), global.getType())))
      return failure();
  builder.model.numGlobalWeights =
      static_cast<int64_t>(builder.model.weights.size());
  for (StateOp state : module.getOps<StateOp>()) {
    FailureOr<AbiTensor> tensor = describeTensor(
        state, state.getType(), state.getSymName().str(), "state", false);
    if (failed(tensor))
      return failure();
    builder.stateIndex[state.getSymName()] =
        static_cast<int32_t>(builder.model.states.size());
    builder.model.states.push_back(std::move(*tensor));
  }

  SmallVector<func::FuncOp> entries;
  if (entryNames.empty()) {
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        entries.push_back(func);
    if (entries.empty())
      return module.emitError("the module has no public function to compile");
  }
  for (const std::string &name : entryNames) {
    auto func = module.lookupSymbol<func::FuncOp>(name);
    if (!func || func.isExternal())
      return module.emitError("no function '") << name << "' to compile";
    entries.push_back(func);
  }
  for (func::FuncOp func : entries)
    if (failed(builder.describeEntry(func)))
      return failure();
  return std::move(builder.model);
}

//===----------------------------------------------------------------------===//
// The nibble.abi attribute
//===----------------------------------------------------------------------===//

namespace {

/// A tensor as [name, dtype, shape].
Attribute encodeTensor(Builder &b, const AbiTensor &tensor) {
  return b.getArrayAttr({b.getStringAttr(tensor.name),
                         b.getStringAttr(tensor.dtype),
                         b.getDenseI64ArrayAttr(tensor.shape)});
}

ArrayAttr encodeTensors(Builder &b, const std::vector<AbiTensor> &tensors) {
  SmallVector<Attribute> list;
  for (const AbiTensor &tensor : tensors)
    list.push_back(encodeTensor(b, tensor));
  return b.getArrayAttr(list);
}

/// Reads what encodeTensors wrote; false if `attr` is not of that form.
bool decodeTensors(Attribute attr, std::vector<AbiTensor> &out) {
  auto list = dyn_cast_or_null<ArrayAttr>(attr);
  if (!list)
    return false;
  for (Attribute element : list) {
    auto fields = dyn_cast<ArrayAttr>(element);
    if (!fields || fields.size() != 3)
      return false;
    auto name = dyn_cast<StringAttr>(fields[0]);
    auto dtype = dyn_cast<StringAttr>(fields[1]);
    auto shape = dyn_cast<DenseI64ArrayAttr>(fields[2]);
    if (!name || !dtype || !shape)
      return false;
    out.push_back(
        {name.str(), dtype.str(), SmallVector<int64_t, 4>(shape.asArrayRef())});
  }
  return true;
}

} // namespace

DictionaryAttr encodeModelInterface(MLIRContext *context,
                                    const ModelInterface &model) {
  Builder b(context);
  SmallVector<Attribute> entries;
  for (const AbiEntry &entry : model.entries) {
    SmallVector<int32_t> args;
    for (const AbiArgument &arg : entry.args) {
      args.push_back(static_cast<int32_t>(arg.role));
      args.push_back(arg.index);
    }
    entries.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("name", b.getStringAttr(entry.name)),
         b.getNamedAttr("inputs", encodeTensors(b, entry.inputs)),
         b.getNamedAttr("outputs", encodeTensors(b, entry.outputs)),
         b.getNamedAttr("args", b.getDenseI32ArrayAttr(args))}));
  }
  SmallVector<Attribute> properties;
  for (const auto &[key, value] : model.properties)
    properties.push_back(
        b.getArrayAttr({b.getStringAttr(key), b.getStringAttr(value)}));
  return b.getDictionaryAttr(
      {b.getNamedAttr("name", b.getStringAttr(model.name)),
       b.getNamedAttr("entries", b.getArrayAttr(entries)),
       b.getNamedAttr("weights", encodeTensors(b, model.weights)),
       b.getNamedAttr("global_weights",
                      b.getI64IntegerAttr(model.numGlobalWeights)),
       b.getNamedAttr("states", encodeTensors(b, model.states)),
       b.getNamedAttr("weights_file", b.getStringAttr(model.weightsFile)),
       b.getNamedAttr("properties", b.getArrayAttr(properties))});
}

FailureOr<ModelInterface> decodeModelInterface(ModuleOp module) {
  auto dict = module->getAttrOfType<DictionaryAttr>(kModelAbiAttrName);
  if (!dict)
    return module.emitError("the module has no '")
           << kModelAbiAttrName
           << "' attribute (run nibble-export-model-abi before lowering)";
  auto malformed = [&](StringRef field) {
    return module.emitError("malformed '")
           << kModelAbiAttrName << "' attribute: bad '" << field << "'";
  };
  ModelInterface model;
  auto name = dict.getAs<StringAttr>("name");
  auto weightsFile = dict.getAs<StringAttr>("weights_file");
  auto globals = dict.getAs<IntegerAttr>("global_weights");
  if (!name)
    return malformed("name");
  if (!weightsFile)
    return malformed("weights_file");
  if (!globals)
    return malformed("global_weights");
  model.name = name.str();
  model.weightsFile = weightsFile.str();
  model.numGlobalWeights = globals.getInt();
  if (!decodeTensors(dict.get("weights"), model.weights) ||
      model.numGlobalWeights < 0 ||
      model.numGlobalWeights > static_cast<int64_t>(model.weights.size()))
    return malformed("weights");
  if (!decodeTensors(dict.get("states"), model.states))
    return malformed("states");
  auto properties = dict.getAs<ArrayAttr>("properties");
  if (!properties)
    return malformed("properties");
  for (Attribute property : properties) {
    auto pair = dyn_cast<ArrayAttr>(property);
    if (!pair || pair.size() != 2 || !isa<StringAttr>(pair[0]) ||
        !isa<StringAttr>(pair[1]))
      return malformed("properties");
    model.properties.emplace_back(cast<StringAttr>(pair[0]).str(),
                                  cast<StringAttr>(pair[1]).str());
  }
  auto entries = dict.getAs<ArrayAttr>("entries");
  if (!entries || entries.empty())
    return malformed("entries");
  for (Attribute attr : entries) {
    auto entryDict = dyn_cast<DictionaryAttr>(attr);
    if (!entryDict)
      return malformed("entries");
    AbiEntry entry;
    auto entryName = entryDict.getAs<StringAttr>("name");
    auto args = entryDict.getAs<DenseI32ArrayAttr>("args");
    if (!entryName || !args || args.size() % 2 != 0 ||
        !decodeTensors(entryDict.get("inputs"), entry.inputs) ||
        !decodeTensors(entryDict.get("outputs"), entry.outputs))
      return malformed("entries");
    entry.name = entryName.str();
    for (int64_t i = 0; i < args.size(); i += 2) {
      int32_t role = args[i], index = args[i + 1];
      size_t limit = role == 0   ? entry.inputs.size()
                     : role == 1 ? entry.outputs.size()
                     : role == 2 ? model.weights.size()
                     : role == 3 ? model.states.size()
                                 : 0;
      if (index < 0 || static_cast<size_t>(index) >= limit)
        return malformed("args");
      entry.args.push_back({static_cast<AbiRole>(role), index});
    }
    model.entries.push_back(std::move(entry));
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

//===----------------------------------------------------------------------===//
// C source
//===----------------------------------------------------------------------===//

namespace {

/// `text` as a C string literal.
std::string cString(StringRef text) {
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

/// Writes C definitions, numbering the shapes it emits.
struct AbiSourceWriter {
  llvm::raw_ostream &os;
  int shapes = 0;

  /// Emits a shape array, returning its name.
  std::string shape(ArrayRef<int64_t> dims) {
    std::string name = "shape" + std::to_string(shapes++);
    os << "static const int64_t " << name << "[] = {";
    llvm::interleaveComma(dims, os);
    if (dims.empty())
      os << "0"; // C forbids empty arrays; rank 0 never reads it.
    os << "};\n";
    return name;
  }

  /// Emits `list` as an array named `name` ("0" for an empty list),
  /// returning what to refer to it by; `shapeNames` receives each tensor's
  /// shape array.
  std::string tensors(StringRef name, const std::vector<AbiTensor> &list,
                      std::vector<std::string> *shapeNames = nullptr) {
    if (list.empty())
      return "0";
    std::vector<std::string> names;
    for (const AbiTensor &tensor : list)
      names.push_back(shape(tensor.shape));
    os << "static const nibble_tensor_desc " << name << "[] = {\n";
    for (size_t i = 0; i < list.size(); ++i)
      os << "  {" << cString(list[i].name) << ", NIBBLE_DTYPE_" << list[i].dtype
         << ", " << list[i].shape.size() << ", " << names[i] << "},\n";
    os << "};\n";
    if (shapeNames)
      *shapeNames = std::move(names);
    return name.str();
  }
};

} // namespace

std::string generateAbiSource(const ModelInterface &model) {
  std::string source;
  llvm::raw_string_ostream os(source);
  os << "/* Generated by nibblec: the interface of the compiled model. */\n"
     << "#include \"nibble_model_abi.h\"\n\n"
     << "/* Defined in the model's code (nibble-parallel-calls-to-runtime, "
        "nibble-globals-to-llvm). */\n"
     << "__attribute__((visibility(\"hidden\"))) extern void\n"
     << "__nibble_set_parallel_runner(nibble_parallel_runner runner);\n"
     << "__attribute__((visibility(\"hidden\"))) extern void\n"
     << "__nibble_bind_globals(void *const *weights);\n\n"
     << "/* 0 if `arg` is a descriptor of rank `rank` whose static sizes "
        "match `shape`. */\n"
     << "static int32_t check(const void *arg, int rank, const int64_t "
        "*shape) {\n"
     << "  if (!arg)\n    return 1;\n"
     << "  const int64_t *sizes = (const int64_t *)arg + 3;\n"
     << "  for (int i = 0; i < rank; ++i)\n"
     << "    if (shape[i] >= 0 && sizes[i] != shape[i])\n      return 1;\n"
     << "  return 0;\n}\n\n";
  AbiSourceWriter writer{os};
  std::vector<std::string> weightShapes, stateShapes;
  std::string weights = writer.tensors("weights", model.weights, &weightShapes);
  std::string states = writer.tensors("states", model.states, &stateShapes);

  std::vector<std::string> entryLines;
  for (auto [e, entry] : llvm::enumerate(model.entries)) {
    std::string prefix = "entry" + std::to_string(e);
    std::vector<std::string> inputShapes, outputShapes;
    std::string inputs =
        writer.tensors(prefix + "_inputs", entry.inputs, &inputShapes);
    std::string outputs =
        writer.tensors(prefix + "_outputs", entry.outputs, &outputShapes);
    std::string args = "0";
    if (!entry.args.empty()) {
      args = prefix + "_args";
      os << "static const nibble_arg_desc " << args << "[] = {";
      for (const AbiArgument &arg : entry.args)
        os << "{" << static_cast<int32_t>(arg.role) << ", " << arg.index
           << "}, ";
      os << "};\n";
    }
    std::string ciface =
        ("_mlir_ciface_" + kModelSymbolPrefix + entry.name).str();
    os << "extern void " << ciface << "(";
    for (size_t i = 0; i < entry.args.size(); ++i)
      os << (i ? ", " : "") << "void *";
    if (entry.args.empty())
      os << "void";
    os << ");\n";
    os << "static int32_t " << prefix << "_invoke(void **args) {\n";
    for (auto [i, arg] : llvm::enumerate(entry.args)) {
      const AbiTensor *tensor = nullptr;
      const std::string *shapeName = nullptr;
      switch (arg.role) {
      case AbiRole::Input:
        tensor = &entry.inputs[arg.index];
        shapeName = &inputShapes[arg.index];
        break;
      case AbiRole::Output:
        tensor = &entry.outputs[arg.index];
        shapeName = &outputShapes[arg.index];
        break;
      case AbiRole::Weight:
        tensor = &model.weights[arg.index];
        shapeName = &weightShapes[arg.index];
        break;
      case AbiRole::State:
        tensor = &model.states[arg.index];
        shapeName = &stateShapes[arg.index];
        break;
      }
      os << "  if (check(args[" << i << "], " << tensor->shape.size() << ", "
         << *shapeName << "))\n    return 1;\n";
    }
    os << "  " << ciface << "(";
    for (size_t i = 0; i < entry.args.size(); ++i)
      os << (i ? ", " : "") << "args[" << i << "]";
    os << ");\n  return 0;\n}\n\n";
    entryLines.push_back(llvm::formatv("  {{{0}, {1}, {2}, {3}, {4}, {5}, "
                                       "{6}, {7}_invoke},\n",
                                       cString(entry.name), entry.inputs.size(),
                                       entry.outputs.size(), entry.args.size(),
                                       inputs, outputs, args, prefix)
                             .str());
  }
  os << "static const nibble_entry_desc entries[] = {\n";
  for (const std::string &line : entryLines)
    os << line;
  os << "};\n";
  std::string properties = "0";
  if (!model.properties.empty()) {
    properties = "properties";
    os << "static const char *const properties[] = {\n";
    for (const auto &[key, value] : model.properties)
      os << "  " << cString(key) << ", " << cString(value) << ",\n";
    os << "};\n";
  }
  os << "\nstatic const nibble_model_abi abi = {\n"
     << "  NIBBLE_MODEL_ABI_VERSION, " << cString(model.name) << ",\n"
     << "  " << model.entries.size() << ", " << model.weights.size() << ", "
     << model.states.size() << ", " << model.properties.size() << ",\n"
     << "  entries, " << weights << ", " << states << ",\n"
     << "  "
     << (model.weightsFile.empty() ? std::string("0")
                                   : cString(model.weightsFile))
     << ",\n"
     << "  " << (model.numGlobalWeights > 0 ? "__nibble_bind_globals" : "0")
     << ",\n"
     << "  __nibble_set_parallel_runner,\n"
     << "  " << properties << ",\n};\n\n"
     << "const nibble_model_abi *nibble_model_get_abi(void) { return &abi; "
        "}\n";
  return source;
}

} // namespace nibble

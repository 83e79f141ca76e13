//===- ImportContext.cpp - State shared by the ONNX op converters ---------===//
//
// Reading tensors (inline, typed fields, external data), the value and
// constant maps, params and the weight archive, and node attributes.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/NibbleOps.h"
#include "dialects/ParamDType.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace nibble {
namespace onnx_import {

std::string onnxTypeName(int32_t type) {
  if (onnx::TensorProto_DataType_IsValid(type))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(type));
  return "data type " + std::to_string(type);
}

static int64_t elementByteSize(Type type) {
  if (type.isInteger(1))
    return 1;
  return type.getIntOrFloatBitWidth() / 8;
}

ImportContext::ImportContext(MLIRContext &ctx, const OnnxImportOptions &options,
                             llvm::StringRef modelPath)
    : context(ctx), builder(&ctx), options(options),
      currentLoc(FileLineColLoc::get(&ctx, modelPath, 0, 0)) {
  modelDir = llvm::sys::path::parent_path(modelPath).str();
}

//===----------------------------------------------------------------------===//
// Errors and the current node
//===----------------------------------------------------------------------===//

InFlightDiagnostic ImportContext::emitErrorAt(Location loc) {
  return mlir::emitError(loc);
}

FailureOr<RankedTensorType>
ImportContext::checkedTensorType(llvm::ArrayRef<int64_t> shape,
                                 Type elementType) {
  if (!checkedNumElements(shape))
    return emitError() << "the output shape " << formatShape(shape)
                       << " has a negative dimension or more elements than "
                          "int64 can count";
  return RankedTensorType::get(shape, elementType);
}

InFlightDiagnostic ImportContext::emitUnsupported() {
  unsupported = true;
  return emitError();
}

InFlightDiagnostic ImportContext::emitUnsupportedAt(Location loc) {
  unsupported = true;
  return mlir::emitError(loc);
}

InFlightDiagnostic ImportContext::emitError() {
  InFlightDiagnostic diag = mlir::emitError(currentLoc);
  // Unnamed nodes are named "<op>_<index>" in their location.
  llvm::StringRef name = currentNode->name();
  if (auto nameLoc = dyn_cast<NameLoc>(currentLoc); name.empty() && nameLoc)
    name = nameLoc.getName().getValue();
  diag << currentNode->op_type() << " node '" << name << "': ";
  return diag;
}

bool ImportContext::hasInput(unsigned i) const {
  return i < (unsigned)currentNode->input_size() &&
         !currentNode->input(i).empty();
}

bool ImportContext::hasOutput(unsigned i) const {
  return i < (unsigned)currentNode->output_size() &&
         !currentNode->output(i).empty();
}

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

Type ImportContext::elementType(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return builder.getF32Type();
  case onnx::TensorProto::DOUBLE:
    return builder.getF64Type();
  case onnx::TensorProto::FLOAT16:
    return builder.getF16Type();
  case onnx::TensorProto::BFLOAT16:
    return builder.getBF16Type();
  case onnx::TensorProto::INT8:
    return builder.getI8Type();
  case onnx::TensorProto::INT16:
    return builder.getI16Type();
  case onnx::TensorProto::INT32:
    return builder.getI32Type();
  case onnx::TensorProto::INT64:
    return builder.getI64Type();
  case onnx::TensorProto::BOOL:
    return builder.getI1Type();
  default:
    return nullptr;
  }
}

FailureOr<Initializer>
ImportContext::readTensor(const onnx::TensorProto &tensor,
                          llvm::StringRef what) {
  Location loc = currentLoc;
  // INT4 / UINT4 (onnx >= 1.16, so not in this protobuf's enum) are packed
  // two per byte, low nibble first (raw_data, external data or one byte per
  // int32_data element); they are unpacked to one i8 per element,
  // sign-extended for INT4.
  if (tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUInt4) {
    bool isSigned = tensor.data_type() == kOnnxInt4;
    llvm::SmallVector<int64_t> shape(tensor.dims().begin(),
                                     tensor.dims().end());
    std::optional<int64_t> count = checkedNumElements(shape);
    if (!count || *count > (int64_t(1) << 40))
      return emitErrorAt(loc)
             << what << " has invalid shape " << formatShape(shape);
    onnx::TensorProto packedProto(tensor);
    packedProto.clear_dims();
    packedProto.add_dims((*count + 1) / 2);
    packedProto.set_data_type(onnx::TensorProto::UINT8);
    FailureOr<Initializer> packed = readTensor(packedProto, what);
    if (failed(packed))
      return failure();
    Initializer result;
    result.name = tensor.name();
    result.type = RankedTensorType::get(shape, builder.getI8Type());
    result.onnxType = tensor.data_type();
    result.owned.resize(*count);
    for (int64_t i = 0; i < *count; ++i) {
      uint8_t nibble = (packed->bytes[i / 2] >> (i % 2 ? 4 : 0)) & 0xF;
      result.owned[i] = isSigned && nibble >= 8 ? uint8_t(nibble - 16) : nibble;
    }
    result.bytes = result.owned;
    return result;
  }
  // UINT8 (quantized weights, zero points) is held as i8 bytes.
  Type elementTy = tensor.data_type() == onnx::TensorProto::UINT8
                       ? builder.getI8Type()
                       : elementType(tensor.data_type());
  if (!elementTy)
    return emitUnsupportedAt(loc)
           << what << " has element type " << onnxTypeName(tensor.data_type())
           << ", which nibble does not import (supported: "
              "FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT8, "
              "INT16, INT32, INT64, BOOL)";
  llvm::SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  std::optional<int64_t> count = checkedNumElements(shape);
  if (!count)
    return emitErrorAt(loc)
           << what << " has invalid shape " << formatShape(shape);
  int64_t elemSize = elementByteSize(elementTy);
  if (*count > (int64_t(1) << 40) / elemSize)
    return emitErrorAt(loc)
           << what << " of shape " << formatShape(shape) << " is too large";
  int64_t expected = *count * elemSize;

  Initializer result;
  result.name = tensor.name();
  result.type = RankedTensorType::get(shape, elementTy);
  result.onnxType = tensor.data_type();

  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
      if (entry.key() == "location") {
        location = entry.value();
      } else if (entry.key() == "offset" || entry.key() == "length") {
        int64_t parsed;
        if (llvm::StringRef(entry.value()).getAsInteger(10, parsed) ||
            parsed < 0)
          return emitErrorAt(loc)
                 << what << " has external data " << entry.key() << " '"
                 << entry.value() << "', expected a non-negative integer";
        (entry.key() == "offset" ? offset : length) = parsed;
      }
    }
    if (location.empty())
      return emitErrorAt(loc)
             << what << " has external data without a location";
    if (llvm::sys::path::is_absolute(location) ||
        llvm::is_contained(llvm::make_range(llvm::sys::path::begin(location),
                                            llvm::sys::path::end(location)),
                           ".."))
      return emitErrorAt(loc)
             << what << " has external data location '" << location
             << "' outside the model's directory (absolute or with '..')";
    llvm::SmallString<256> path(modelDir);
    llvm::sys::path::append(path, location);
    auto it = externalFiles.find(path);
    if (it == externalFiles.end()) {
      llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
          llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                      /*RequiresNullTerminator=*/false);
      if (!file)
        return emitErrorAt(loc)
               << "cannot open external data file '" << path << "' of " << what
               << ": " << file.getError().message();
      it = externalFiles.try_emplace(path, std::move(*file)).first;
    }
    llvm::MemoryBuffer &file = *it->second;
    if (length >= 0 && length != expected)
      return emitErrorAt(loc)
             << what << " of type " << result.type << " needs " << expected
             << " bytes but its external data length is " << length;
    if (offset > (int64_t)file.getBufferSize() ||
        expected > (int64_t)file.getBufferSize() - offset)
      return emitErrorAt(loc)
             << what << " needs bytes [" << offset << ", " << offset + expected
             << ") of external data file '" << path << "', which has only "
             << file.getBufferSize() << " bytes";
    result.bytes = llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(file.getBufferStart()) + offset,
        expected);
    return result;
  }

  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if ((int64_t)raw.size() != expected)
      return emitErrorAt(loc)
             << what << " of type " << result.type << " needs " << expected
             << " bytes but its raw_data has " << raw.size();
    result.bytes = llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(raw.data()), raw.size());
    return result;
  }

  // Typed fields: float_data, int32_data (also 8/16-bit ints, bool and the
  // bits of 16-bit floats: each element in the low bits, copied as the
  // first elemSize bytes little-endian), int64_data, double_data. The
  // element count is checked before anything is allocated, so a tiny file
  // cannot claim a huge tensor.
  auto copyElements = [&](const auto &field) -> LogicalResult {
    if (field.size() != *count)
      return emitErrorAt(loc)
             << what << " of type " << result.type << " has " << field.size()
             << " data elements, expected " << *count;
    result.owned.resize(expected);
    for (int64_t i = 0; i < *count; ++i) {
      auto value = field.Get(i);
      std::memcpy(result.owned.data() + i * elemSize, &value, elemSize);
    }
    return success();
  };
  LogicalResult copied = failure();
  switch (tensor.data_type()) {
  case onnx::TensorProto::FLOAT:
    copied = copyElements(tensor.float_data());
    break;
  case onnx::TensorProto::DOUBLE:
    copied = copyElements(tensor.double_data());
    break;
  case onnx::TensorProto::INT64:
    copied = copyElements(tensor.int64_data());
    break;
  default:
    copied = copyElements(tensor.int32_data());
    break;
  }
  if (failed(copied))
    return failure();
  result.bytes = result.owned;
  return result;
}

DenseElementsAttr ImportContext::attrFromBytes(RankedTensorType type,
                                               llvm::ArrayRef<uint8_t> bytes) {
  if (type.getElementType().isInteger(1)) {
    llvm::SmallVector<bool> bools(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i)
      bools[i] = bytes[i] != 0;
    return DenseElementsAttr::get(type, llvm::ArrayRef<bool>(bools));
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, llvm::ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                                 bytes.size()));
}

FailureOr<DenseElementsAttr>
ImportContext::tensorToAttr(const onnx::TensorProto &tensor,
                            llvm::StringRef what) {
  FailureOr<Initializer> data = readTensor(tensor, what);
  if (failed(data))
    return failure();
  return attrFromBytes(data->type, data->bytes);
}

LogicalResult ImportContext::loadInitializer(const onnx::TensorProto &tensor) {
  if (tensor.name().empty())
    return emitErrorAt(currentLoc) << "an initializer has no name";
  FailureOr<Initializer> data =
      readTensor(tensor, "initializer '" + tensor.name() + "'");
  if (failed(data))
    return failure();
  // Owned bytes must move with the struct; re-point afterwards.
  Initializer &stored = initializers[tensor.name()];
  bool owned = !data->owned.empty();
  stored = std::move(*data);
  if (owned)
    stored.bytes = stored.owned;
  if (stored.onnxType == onnx::TensorProto::UINT8 ||
      stored.onnxType == kOnnxUInt4)
    unsignedTensors.insert(tensor.name());
  return success();
}

void ImportContext::addInitializer(Initializer init) {
  std::string name = init.name;
  bool owned = !init.owned.empty();
  Initializer &stored = initializers[name];
  stored = std::move(init);
  if (owned)
    stored.bytes = stored.owned;
  if (stored.onnxType == onnx::TensorProto::UINT8)
    unsignedTensors.insert(name);
  else
    unsignedTensors.erase(name);
}

void ImportContext::setTransposedInitializerOutput(unsigned i,
                                                   const Initializer &source) {
  if (!hasOutput(i))
    return;
  Initializer &view = initializers[currentNode->output(i)];
  view.name = currentNode->output(i);
  view.type = RankedTensorType::get(
      {source.type.getDimSize(1), source.type.getDimSize(0)},
      source.type.getElementType());
  view.transposeOf = &source;
}

void ImportContext::indexGraph(const onnx::GraphProto &graph) {
  for (const onnx::ValueInfoProto &info : graph.value_info())
    declaredTypes[info.name()] = &info.type();
  for (const onnx::ValueInfoProto &info : graph.output()) {
    declaredTypes[info.name()] = &info.type();
    graphOutputs.insert(info.name());
  }
  for (const onnx::NodeProto &node : graph.node()) {
    for (const std::string &input : node.input())
      if (!input.empty())
        consumerMap[input].push_back(&node);
    for (const std::string &output : node.output())
      if (!output.empty())
        producerMap[output] = &node;
  }
}

llvm::ArrayRef<const onnx::NodeProto *>
ImportContext::consumers(llvm::StringRef name) {
  auto it = consumerMap.find(name);
  if (it == consumerMap.end())
    return {};
  return it->second;
}

bool ImportContext::isGraphOutput(llvm::StringRef name) const {
  return graphOutputs.contains(name);
}

bool ImportContext::isNeeded(llvm::StringRef name) {
  if (isGraphOutput(name))
    return true;
  return llvm::any_of(consumers(name), [&](const onnx::NodeProto *node) {
    return !absorbed.contains(node);
  });
}

void ImportContext::absorb(const onnx::NodeProto *node,
                           llvm::StringRef outputName, Value value) {
  absorbed.insert(node);
  values[outputName] = value;
}

//===----------------------------------------------------------------------===//
// Values, constants and params
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> ImportContext::typeOf(llvm::StringRef name,
                                                  Location loc) {
  if (auto it = values.find(name); it != values.end())
    return cast<RankedTensorType>(it->second.getType());
  if (auto it = initializers.find(name); it != initializers.end())
    return it->second.type;
  if (auto it = constants.find(name); it != constants.end())
    return cast<RankedTensorType>(it->second.getType());
  if (auto it = quantizedWeights.find(name); it != quantizedWeights.end())
    return RankedTensorType::get({it->second.k, it->second.n},
                                 it->second.scaleType);
  return emitErrorAt(loc) << "tensor '" << name
                          << "' is not defined: no graph input, initializer "
                             "or earlier node produces it";
}

FailureOr<Value> ImportContext::valueOf(llvm::StringRef name, Location loc) {
  if (auto it = values.find(name); it != values.end())
    return it->second;
  if (auto it = initializers.find(name); it != initializers.end()) {
    const Initializer &init = it->second;
    Value value;
    if (!init.transposeOf &&
        ((int64_t)init.bytes.size() <= options.inlineConstantMaxBytes ||
         !dtypeForElementType(init.type.getElementType()))) {
      value = arith::ConstantOp::create(builder, loc,
                                        attrFromBytes(init.type, init.bytes));
    } else {
      FailureOr<Value> param = paramFor(init, /*transpose=*/false);
      if (failed(param))
        return failure();
      value = *param;
    }
    values[name] = value;
    return value;
  }
  if (auto it = constants.find(name); it != constants.end()) {
    Value value = arith::ConstantOp::create(builder, loc, it->second);
    values[name] = value;
    return value;
  }
  if (quantizedWeights.count(name))
    return emitErrorAt(loc)
           << "quantized weight '" << name << "' can only be read by MatMul";
  return emitErrorAt(loc) << "tensor '" << name
                          << "' is not defined: no graph input, initializer "
                             "or earlier node produces it";
}

FailureOr<RankedTensorType> ImportContext::inputType(unsigned i) {
  if (!hasInput(i))
    return emitError() << "input " << i << " is missing";
  return typeOf(currentNode->input(i), currentLoc);
}

FailureOr<Value> ImportContext::input(unsigned i) {
  if (!hasInput(i))
    return emitError() << "input " << i << " is missing";
  return valueOf(currentNode->input(i), currentLoc);
}

DenseElementsAttr ImportContext::constantInput(unsigned i) {
  if (!hasInput(i))
    return nullptr;
  const std::string &name = currentNode->input(i);
  if (auto it = constants.find(name); it != constants.end())
    return it->second;
  if (auto it = initializers.find(name); it != initializers.end()) {
    const Initializer &init = it->second;
    if (init.transposeOf || init.type.getNumElements() > kMaxFoldElements)
      return nullptr;
    DenseElementsAttr attr = attrFromBytes(init.type, init.bytes);
    constants[name] = attr;
    return attr;
  }
  return nullptr;
}

FailureOr<llvm::SmallVector<int64_t>> ImportContext::constantInts(unsigned i) {
  DenseElementsAttr attr = constantInput(i);
  if (!attr || !isa<IntegerType>(attr.getElementType())) {
    return emitUnsupported()
           << "input " << i << " ('"
           << (hasInput(i) ? currentNode->input(i) : "")
           << "') must be an integer tensor known at import time "
              "(an initializer, a Constant or a foldable shape "
              "computation); nibble imports static shapes only"
           << bindInputHint(i);
  }
  return attrToInts(attr);
}

const Initializer *ImportContext::initializerInput(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  auto it = initializers.find(currentNode->input(i));
  return it == initializers.end() ? nullptr : &it->second;
}

/// The graph inputs among `arguments` whose values tensor `name` is
/// computed from, in the order found, walking back through `producers`
/// (not through Shape and Size, which read only static shapes).
static llvm::SmallVector<std::string>
argumentsUpstreamOf(llvm::StringRef name, const llvm::StringSet<> &arguments,
                    const llvm::StringMap<const onnx::NodeProto *> &producers) {
  llvm::SmallVector<std::string> found;
  llvm::StringSet<> visited;
  llvm::SmallVector<std::string> worklist = {name.str()};
  while (!worklist.empty()) {
    std::string tensor = worklist.pop_back_val();
    if (!visited.insert(tensor).second)
      continue;
    if (arguments.contains(tensor)) {
      found.push_back(tensor);
      continue;
    }
    auto it = producers.find(tensor);
    if (it == producers.end() || it->second->op_type() == "Shape" ||
        it->second->op_type() == "Size")
      continue;
    for (const std::string &input : llvm::reverse(it->second->input()))
      if (!input.empty())
        worklist.push_back(input);
  }
  return found;
}

std::string ImportContext::bindInputHint(unsigned i) const {
  if (!hasInput(i))
    return "";
  const std::string &name = currentNode->input(i);
  llvm::SmallVector<std::string> inputs =
      argumentsUpstreamOf(name, argumentInputs, producerMap);
  if (inputs.empty())
    return "";
  if (inputs.size() == 1 && inputs[0] == name)
    return "; '" + name +
           "' is a graph input: bind its value at compile time with "
           "--bind-input=" +
           name + "=<file.npy>";
  std::string hint = "; '" + name + "' is computed from graph input";
  hint += inputs.size() > 1 ? "s" : "";
  for (const std::string &input : inputs)
    hint += (input == inputs.front() ? " '" : ", '") + input + "'";
  hint += inputs.size() > 1 ? ": bind their values" : ": bind its value";
  hint += " at compile time with";
  for (const std::string &input : inputs)
    hint += " --bind-input=" + input + "=<file.npy>";
  return hint;
}

const QuantizedWeight *ImportContext::quantizedWeightInput(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  auto it = quantizedWeights.find(currentNode->input(i));
  return it == quantizedWeights.end() ? nullptr : &it->second;
}

FailureOr<Value> ImportContext::paramFromBytes(llvm::StringRef baseName,
                                               RankedTensorType type,
                                               DType dtype,
                                               llvm::ArrayRef<uint8_t> bytes) {
  std::string name = baseName.str();
  for (int suffix = 1; archiveNames.contains(name); ++suffix)
    name = (baseName + "." + std::to_string(suffix)).str();
  if (llvm::Error error =
          archive.addTensor(name, dtype, type.getShape(), bytes))
    return emitError() << "cannot add '" << name << "' to the weight archive: "
                       << llvm::toString(std::move(error));
  archiveNames.insert(name);
  OpBuilder::InsertionGuard guard(builder);
  if (lastParam)
    builder.setInsertionPointAfter(lastParam);
  else
    builder.setInsertionPointToStart(builder.getInsertionBlock());
  auto param =
      ParamOp::create(builder, NameLoc::get(builder.getStringAttr(name)), type,
                      builder.getStringAttr(name));
  lastParam = param;
  return Value(param);
}

FailureOr<Value> ImportContext::paramFor(const Initializer &init,
                                         bool transpose) {
  if (init.transposeOf)
    return paramFor(*init.transposeOf, !transpose);
  auto key = std::make_pair(init.name, transpose);
  if (auto it = params.find(key); it != params.end())
    return it->second;
  std::optional<DType> dtype = dtypeForElementType(init.type.getElementType());
  if (!dtype)
    return emitError() << "initializer '" << init.name << "' of type "
                       << init.type << " cannot be stored in the archive";
  RankedTensorType type = init.type;
  std::vector<uint8_t> transposed;
  llvm::ArrayRef<uint8_t> bytes = init.bytes;
  if (transpose) {
    if (type.getRank() != 2)
      return emitError() << "cannot transpose initializer '" << init.name
                         << "' of rank " << type.getRank();
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    size_t size = elementByteSize(type.getElementType());
    transposed.resize(bytes.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(&transposed[(c * rows + r) * size],
                    &bytes[(r * cols + c) * size], size);
    bytes = transposed;
    type = RankedTensorType::get({cols, rows}, type.getElementType());
  }
  // The plain initializer keeps its name; a second layout of the same
  // initializer gets a suffix.
  std::string name = init.name;
  if (archiveNames.contains(name))
    name += transpose ? ".transposed" : ".original";
  // An initializer's own bytes (the parsed model, a mapped external file or
  // the initializer's buffer) outlive writeArchive(): the archive borrows
  // them; a transposed copy is local, so the archive copies it.
  llvm::Error error =
      transpose
          ? archive.addTensor(name, *dtype, type.getShape(), bytes)
          : archive.addBorrowedTensor(name, *dtype, type.getShape(), bytes);
  if (error)
    return emitError() << "cannot add '" << name << "' to the weight archive: "
                       << llvm::toString(std::move(error));
  archiveNames.insert(name);
  // Params are created at the top of the function, in order of first use,
  // so that every later use is dominated.
  OpBuilder::InsertionGuard guard(builder);
  if (lastParam)
    builder.setInsertionPointAfter(lastParam);
  else
    builder.setInsertionPointToStart(builder.getInsertionBlock());
  auto param =
      ParamOp::create(builder, NameLoc::get(builder.getStringAttr(name)), type,
                      builder.getStringAttr(name));
  lastParam = param;
  Value value = param;
  params[key] = value;
  return value;
}

llvm::Error ImportContext::writeArchive(llvm::StringRef path) const {
  return archive.write(path);
}

//===----------------------------------------------------------------------===//
// Outputs
//===----------------------------------------------------------------------===//

LogicalResult ImportContext::checkAgainstValueInfo(llvm::StringRef name,
                                                   RankedTensorType type) {
  auto it = declaredTypes.find(name);
  if (it == declaredTypes.end() || !it->second->has_tensor_type())
    return success();
  const onnx::TypeProto_Tensor &declared = it->second->tensor_type();
  if (declared.elem_type() != 0) {
    Type elementTy = elementType(declared.elem_type());
    if (elementTy && elementTy != type.getElementType())
      return emitError() << "dtype mismatch: output '" << name
                         << "' is declared "
                         << onnxTypeName(declared.elem_type())
                         << " in the model but computes " << type;
  }
  if (!declared.has_shape())
    return success();
  const onnx::TensorShapeProto &shape = declared.shape();
  if (shape.dim_size() != type.getRank())
    return emitError() << "shape mismatch: output '" << name
                       << "' is declared with rank " << shape.dim_size()
                       << " in the model but computes " << type;
  for (int d = 0; d < shape.dim_size(); ++d) {
    const onnx::TensorShapeProto_Dimension &dim = shape.dim(d);
    if (dim.has_dim_value() && dim.dim_value() != type.getDimSize(d))
      return emitError() << "shape mismatch: output '" << name
                         << "' has dimension " << d << " = " << dim.dim_value()
                         << " in the model but computes " << type;
  }
  return success();
}

LogicalResult ImportContext::setOutput(unsigned i, Value value) {
  if (!hasOutput(i))
    return success();
  const std::string &name = currentNode->output(i);
  if (failed(
          checkAgainstValueInfo(name, cast<RankedTensorType>(value.getType()))))
    return failure();
  values[name] = value;
  return success();
}

LogicalResult ImportContext::setConstantOutput(unsigned i,
                                               DenseElementsAttr value) {
  if (!hasOutput(i))
    return success();
  const std::string &name = currentNode->output(i);
  if (failed(
          checkAgainstValueInfo(name, cast<RankedTensorType>(value.getType()))))
    return failure();
  constants[name] = value;
  return success();
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *ImportContext::attr(llvm::StringRef name) const {
  for (const onnx::AttributeProto &attribute : currentNode->attribute())
    if (attribute.name() == name)
      return &attribute;
  return nullptr;
}

int64_t ImportContext::intAttr(llvm::StringRef name,
                               int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float ImportContext::floatAttr(llvm::StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::optional<llvm::SmallVector<int64_t>>
ImportContext::intsAttr(llvm::StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return llvm::SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

std::string ImportContext::stringAttr(llvm::StringRef name,
                                      llvm::StringRef defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : defaultValue.str();
}

//===----------------------------------------------------------------------===//
// Converter table
//===----------------------------------------------------------------------===//

const OpConverter *ConverterTable::lookup(llvm::StringRef opType,
                                          int64_t opset) const {
  auto it = table.find(opType);
  if (it == table.end())
    return nullptr;
  for (const OpConverter &converter : it->second)
    if (converter.minOpset <= opset && opset <= converter.maxOpset)
      return &converter;
  return nullptr;
}

} // namespace onnx_import
} // namespace nibble

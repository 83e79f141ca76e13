//===- BoundInputs.cpp - Graph inputs bound to values at compile time ----===//
//
// Values fixed at compile time: --onnx-dim=<name>=<size> binds a symbolic
// dimension; --bind-input=<name>=<file.npy> imports a graph input whose value
// is known when compiling (a shape, axes, a range limit) as a constant read
// from a .npy file, checked against the input's declared type.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/BoundInputs.h"
#include "frontends/onnx/ImportContext.h"
#include "frontends/onnx/OnnxImporter.h"

#include "support/Npy.h"

using namespace mlir;

namespace nibble {

llvm::Error addDimBinding(OnnxImportOptions &options, llvm::StringRef spec) {
  auto [name, text] = spec.split('=');
  int64_t size;
  if (name.empty() || text.getAsInteger(10, size) || size < 0)
    return llvm::createStringError(
        "--onnx-dim expects name=size with a non-negative size, found '" +
        spec + "'");
  auto [it, inserted] = options.dimParams.emplace(name.str(), size);
  if (!inserted && it->second != size)
    return llvm::createStringError(
        "--onnx-dim: dimension '" + name + "' is bound to both " +
        llvm::Twine(it->second) + " and " + llvm::Twine(size));
  return llvm::Error::success();
}

llvm::Error addInputBinding(OnnxImportOptions &options, llvm::StringRef spec) {
  auto [name, path] = spec.split('=');
  if (name.empty() || path.empty())
    return llvm::createStringError(
        "--bind-input expects <name>=<file.npy>, found '" + spec + "'");
  if (!options.boundInputs.emplace(name.str(), path.str()).second)
    return llvm::createStringError("--bind-input: input '" + name +
                                   "' is bound twice");
  return llvm::Error::success();
}

namespace onnx_import {

/// The .npy dtype that holds an ONNX element type, or none.
static std::optional<DType> npyDTypeOf(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::FLOAT:
    return DType::F32;
  case onnx::TensorProto::DOUBLE:
    return DType::F64;
  case onnx::TensorProto::FLOAT16:
    return DType::F16;
  case onnx::TensorProto::INT8:
    return DType::I8;
  case onnx::TensorProto::INT16:
    return DType::I16;
  case onnx::TensorProto::INT32:
    return DType::I32;
  case onnx::TensorProto::INT64:
    return DType::I64;
  case onnx::TensorProto::UINT8:
    return DType::U8;
  case onnx::TensorProto::BOOL:
    return DType::Bool;
  default:
    return std::nullopt;
  }
}

/// The declared shape of a graph input for messages: sizes, symbolic names
/// and '?' for unknown dimensions, e.g. "[batch, 3]".
static std::string formatDeclaredShape(const onnx::TensorShapeProto &shape) {
  std::string result = "[";
  for (int d = 0; d < shape.dim_size(); ++d) {
    if (d)
      result += ", ";
    const onnx::TensorShapeProto_Dimension &dim = shape.dim(d);
    if (dim.has_dim_value())
      result += std::to_string(dim.dim_value());
    else if (dim.has_dim_param())
      result += dim.dim_param();
    else
      result += "?";
  }
  return result + "]";
}

/// Whether `shape` fits the declared shape of a graph input: equal rank,
/// equal static sizes, symbolic sizes equal to their --onnx-dim binding
/// (unbound ones and unknown ones take any size).
static bool matchesDeclaredShape(const onnx::TypeProto_Tensor &declared,
                                 llvm::ArrayRef<int64_t> shape,
                                 const OnnxImportOptions &options) {
  if (!declared.has_shape())
    return true;
  const onnx::TensorShapeProto &declaredShape = declared.shape();
  if (declaredShape.dim_size() != (int)shape.size())
    return false;
  for (auto [dim, size] : llvm::zip(declaredShape.dim(), shape)) {
    if (dim.has_dim_value() && dim.dim_value() != size)
      return false;
    if (dim.has_dim_param()) {
      auto it = options.dimParams.find(dim.dim_param());
      if (it != options.dimParams.end() && it->second != size)
        return false;
    }
  }
  return true;
}

/// The value of graph input `info` read from the .npy file at `path` as an
/// initializer, checked against the input's declared type.
static FailureOr<Initializer> readBoundInput(ImportContext &ctx,
                                             const onnx::ValueInfoProto &info,
                                             llvm::StringRef path,
                                             const OnnxImportOptions &options,
                                             Location loc) {
  const std::string &name = info.name();
  if (!info.type().has_tensor_type())
    return emitError(loc) << "--bind-input: graph input '" << name
                          << "' is not a tensor";
  const onnx::TypeProto_Tensor &declared = info.type().tensor_type();
  std::optional<DType> dtype = npyDTypeOf(declared.elem_type());
  if (!dtype)
    return emitError(loc) << "--bind-input: graph input '" << name
                          << "' has element type "
                          << onnxTypeName(declared.elem_type())
                          << ", which cannot be bound from a .npy file";
  llvm::Expected<NpyArray> array = readNpy(path);
  if (!array)
    return emitError(loc) << "--bind-input: cannot read the value of graph "
                          << "input '" << name
                          << "': " << llvm::toString(array.takeError());
  std::string declaredShape = declared.has_shape()
                                  ? formatDeclaredShape(declared.shape())
                                  : std::string("(any shape)");
  if (array->dtype != *dtype)
    return emitError(loc) << "--bind-input: dtype mismatch: graph input '"
                          << name << "' is declared "
                          << onnxTypeName(declared.elem_type()) << " "
                          << declaredShape << " (.npy "
                          << safetensorsName(*dtype) << ") but '" << path
                          << "' holds " << safetensorsName(array->dtype) << " "
                          << formatShape(array->shape);
  if (!matchesDeclaredShape(declared, array->shape, options))
    return emitError(loc) << "--bind-input: shape mismatch: graph input '"
                          << name << "' is declared "
                          << onnxTypeName(declared.elem_type()) << " "
                          << declaredShape << " but '" << path << "' holds "
                          << formatShape(array->shape);
  Type elementTy = *dtype == DType::U8 ? IntegerType::get(ctx.getContext(), 8)
                                       : ctx.elementType(declared.elem_type());
  Initializer init;
  init.name = name;
  init.type = RankedTensorType::get(array->shape, elementTy);
  init.onnxType = declared.elem_type();
  init.owned = std::move(array->data);
  init.bytes = init.owned;
  return init;
}

LogicalResult bindGraphInputs(ImportContext &ctx, const onnx::GraphProto &graph,
                              const OnnxImportOptions &options, Location loc) {
  for (const auto &[name, path] : options.boundInputs) {
    const onnx::ValueInfoProto *info = nullptr;
    for (const onnx::ValueInfoProto &input : graph.input())
      if (input.name() == name)
        info = &input;
    if (!info) {
      std::string inputs;
      for (const onnx::ValueInfoProto &input : graph.input())
        inputs += (inputs.empty() ? "'" : ", '") + input.name() + "'";
      return emitError(loc) << "--bind-input: the model has no graph input "
                               "named '"
                            << name << "'; its inputs are "
                            << (inputs.empty() ? "none" : inputs);
    }
    FailureOr<Initializer> value =
        readBoundInput(ctx, *info, path, options, loc);
    if (failed(value))
      return failure();
    ctx.addInitializer(std::move(*value));
  }
  return success();
}

} // namespace onnx_import
} // namespace nibble

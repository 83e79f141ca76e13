//===- WeightStore.cpp - Resolving nibble.param against archives ----------===//

#include "passes/WeightStore.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace nibble {

FailureOr<std::string> WeightStore::getArchivePath(ModuleOp module) {
  auto path = module->getAttrOfType<StringAttr>(kWeightsAttrName);
  if (!path)
    return module.emitError("module has nibble.param ops but no '")
           << kWeightsAttrName << "' attribute naming their weight archive";
  return path.str();
}

FailureOr<const SafeTensorsFile *> WeightStore::open(StringRef path,
                                                     Location loc) {
  auto it = archives.find(path);
  if (it != archives.end())
    return it->second.get();
  llvm::Expected<std::unique_ptr<SafeTensorsFile>> file =
      SafeTensorsFile::open(path);
  if (!file)
    return emitError(loc) << llvm::toString(file.takeError());
  const SafeTensorsFile *result = file->get();
  archives.try_emplace(path, std::move(*file));
  return result;
}

FailureOr<const TensorView *> WeightStore::resolve(ParamOp param) {
  auto module = param->getParentOfType<ModuleOp>();
  if (!module)
    return param.emitOpError("is not inside a module");
  FailureOr<std::string> path = getArchivePath(module);
  if (failed(path))
    return failure();
  FailureOr<const SafeTensorsFile *> archive = open(*path, param.getLoc());
  if (failed(archive))
    return failure();
  llvm::Expected<const TensorView *> tensor = (*archive)->get(param.getName());
  if (!tensor)
    return param.emitOpError() << llvm::toString(tensor.takeError());
  RankedTensorType type = param.getResult().getType();
  std::optional<DType> dtype = dtypeForElementType(type.getElementType());
  if (!dtype || *dtype != (*tensor)->dtype)
    return param.emitOpError()
           << *path << ": tensor '" << param.getName() << "' has dtype "
           << safetensorsName((*tensor)->dtype) << " but the IR expects "
           << type.getElementType();
  if (!llvm::equal((*tensor)->shape, type.getShape())) {
    InFlightDiagnostic diag = param.emitOpError()
                              << *path << ": tensor '" << param.getName()
                              << "' has shape [";
    llvm::interleaveComma((*tensor)->shape, diag);
    diag << "] but the IR expects " << type;
    return diag;
  }
  return *tensor;
}

DenseElementsAttr WeightStore::toAttribute(const TensorView &tensor,
                                           RankedTensorType type) {
  ArrayRef<char> raw(reinterpret_cast<const char *>(tensor.bytes.data()),
                     tensor.bytes.size());
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

} // namespace nibble

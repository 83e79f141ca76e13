//===- WeightStore.cpp - Resolving nibble.param against archives ----------===//

#include "passes/WeightStore.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace nibble {

FailureOr<std::string> WeightStore::getArchivePath(ModuleOp module) {
  auto path = module->getAttrOfType<StringAttr>(kWeightsAttrName);
  if (!path)
    return module.emitError(
               "module has weights (nibble.param or nibble.global) but no '")
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
  return resolve(param, param.getName(), param.getResult().getType());
}

FailureOr<const TensorView *> WeightStore::resolve(GlobalOp global) {
  return resolve(global, global.getName(), global.getTensorType());
}

FailureOr<const TensorView *>
WeightStore::resolve(Operation *param, StringRef name, RankedTensorType type) {
  auto module = param->getParentOfType<ModuleOp>();
  if (!module)
    return param->emitOpError("is not inside a module");
  FailureOr<std::string> path = getArchivePath(module);
  if (failed(path))
    return failure();
  FailureOr<const SafeTensorsFile *> archive = open(*path, param->getLoc());
  if (failed(archive))
    return failure();
  llvm::Expected<const TensorView *> tensor = (*archive)->get(name);
  if (!tensor)
    return param->emitOpError() << llvm::toString(tensor.takeError());
  std::optional<DType> dtype = dtypeForElementType(type.getElementType());
  if (!dtype || *dtype != (*tensor)->dtype)
    return param->emitOpError()
           << *path << ": tensor '" << name << "' has dtype "
           << safetensorsName((*tensor)->dtype) << " but the IR expects "
           << type.getElementType();
  if (!llvm::equal((*tensor)->shape, type.getShape())) {
    InFlightDiagnostic diag = param->emitOpError() << *path << ": tensor '"
                                                   << name << "' has shape [";
    llvm::interleaveComma((*tensor)->shape, diag);
    diag << "] but the IR expects " << type;
    return diag;
  }
  return *tensor;
}

LogicalResult WeightStore::writeArchive(
    ModuleOp module, ArrayRef<NewTensor> added,
    ArrayRef<std::pair<std::string, std::string>> metadata, StringRef path) {
  // Borrowed: `added` and the mapped archive outlive write().
  SafeTensorsWriter writer;
  llvm::StringSet<> written;
  for (const NewTensor &tensor : added) {
    if (llvm::Error error = writer.addBorrowedTensor(
            tensor.name, tensor.dtype, tensor.shape, tensor.bytes))
      return module.emitError()
             << path << ": " << llvm::toString(std::move(error));
    written.insert(tensor.name);
  }
  // Copies a tensor `op` names from the module's archive, once.
  auto copy = [&](Operation *op, StringRef name,
                  FailureOr<const TensorView *> tensor) -> LogicalResult {
    if (written.contains(name))
      return success();
    if (failed(tensor))
      return failure();
    if (llvm::Error error = writer.addBorrowedTensor(
            name, (*tensor)->dtype, (*tensor)->shape, (*tensor)->bytes))
      return op->emitOpError() << llvm::toString(std::move(error));
    written.insert(name);
    return success();
  };
  for (GlobalOp global : module.getOps<GlobalOp>())
    if (!written.contains(global.getName()) &&
        failed(copy(global, global.getName(), resolve(global))))
      return failure();
  WalkResult copied = module.walk([&](ParamOp param) {
    if (written.contains(param.getName()))
      return WalkResult::advance();
    return failed(copy(param, param.getName(), resolve(param)))
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  if (copied.wasInterrupted())
    return failure();
  for (const auto &[key, value] : metadata)
    writer.setMetadata(key, value);
  if (llvm::Error error = writer.write(path))
    return module.emitError() << llvm::toString(std::move(error));
  module->setAttr(kWeightsAttrName, StringAttr::get(module.getContext(), path));
  return success();
}

DenseElementsAttr WeightStore::toAttribute(const TensorView &tensor,
                                           RankedTensorType type) {
  ArrayRef<char> raw(reinterpret_cast<const char *>(tensor.bytes.data()),
                     tensor.bytes.size());
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

} // namespace nibble

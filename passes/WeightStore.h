//===- WeightStore.h - Resolving nibble.param against archives --*- C++ -*-===//
//
// nibble.param ops name tensors of the safetensors archive given by the
// module's `nibble.weights` attribute. The store opens (mmaps) each archive
// once and checks every tensor against the type the IR expects.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_WEIGHTSTORE_H
#define NIBBLE_PASSES_WEIGHTSTORE_H

#include "dialects/NibbleOps.h"
#include "dialects/ParamDType.h"
#include "support/SafeTensors.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <memory>
#include <optional>

namespace nibble {

/// Name of the module attribute holding the weight archive's path.
inline constexpr llvm::StringLiteral kWeightsAttrName = "nibble.weights";

/// Opens safetensors archives on demand and resolves params against them.
class WeightStore {
public:
  /// The archive path of `module` (its `nibble.weights` attribute), or an
  /// error emitted at the module when the attribute is missing.
  static mlir::FailureOr<std::string> getArchivePath(mlir::ModuleOp module);

  /// Opens (once) the archive at `path`; errors are emitted at `loc`.
  mlir::FailureOr<const SafeTensorsFile *> open(llvm::StringRef path,
                                                mlir::Location loc);

  /// The tensor `param` names, checked to have the dtype and shape of its
  /// result type. Errors (missing attribute, file, tensor, mismatch) are
  /// emitted at `param` and name the file and the tensor.
  mlir::FailureOr<const TensorView *> resolve(ParamOp param);

  /// The tensor `global` names, checked like a param's.
  mlir::FailureOr<const TensorView *> resolve(GlobalOp global);

  /// The tensor `name` of the archive of `op`'s module, checked to have the
  /// dtype and shape of `type`; errors are emitted at `op`.
  mlir::FailureOr<const TensorView *> resolve(mlir::Operation *op,
                                              llvm::StringRef name,
                                              mlir::RankedTensorType type);

  /// The tensor's contents as an attribute of `type` (copied).
  static mlir::DenseElementsAttr toAttribute(const TensorView &tensor,
                                             mlir::RankedTensorType type);

  /// A tensor to write into a new archive; `bytes` must outlive the write.
  struct NewTensor {
    std::string name;
    DType dtype;
    llvm::SmallVector<int64_t> shape;
    llvm::ArrayRef<uint8_t> bytes;
  };
  /// Writes the safetensors archive `path` for `module`: `added` and every
  /// tensor that its nibble.global and nibble.param ops name in its current
  /// archive (copied from the mapping), with `metadata` (key, value); then
  /// points the module's `nibble.weights` at it. Errors are emitted at the
  /// module or the op that names a tensor.
  mlir::LogicalResult
  writeArchive(mlir::ModuleOp module, llvm::ArrayRef<NewTensor> added,
               llvm::ArrayRef<std::pair<std::string, std::string>> metadata,
               llvm::StringRef path);

  /// Closes every archive.
  void clear() { archives.clear(); }

private:
  llvm::StringMap<std::unique_ptr<SafeTensorsFile>> archives;
};

} // namespace nibble

#endif // NIBBLE_PASSES_WEIGHTSTORE_H

//===- ModelAbi.h - The interface a compiled model exports ------*- C++ -*-===//
//
// Describes the entry function of a model as the runtime sees it
// (runtime/nibble_model_abi.h) and generates the C source that exports that
// description from a compiled library or executable.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_MODELABI_H
#define NIBBLE_COMPILER_MODELABI_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace nibble {

/// Argument attribute giving an input's name (otherwise "input<i>").
inline constexpr llvm::StringLiteral kInputNameAttrName = "nibble.name";
/// Argument and result attribute (unit) marking an i8 tensor that holds
/// unsigned bytes (ONNX uint8): its interface dtype is U8, not I8.
inline constexpr llvm::StringLiteral kUnsignedAttrName = "nibble.unsigned";

/// One tensor of a compiled model's interface.
struct AbiTensor {
  std::string name;
  /// The nibble_dtype enumerator, e.g. "NIBBLE_DTYPE_F32".
  std::string dtype;
  /// Sizes; -1 for dynamic dimensions.
  llvm::SmallVector<int64_t, 4> shape;
};

/// Prefix given to the symbols of compiled model functions, so that a model
/// function named `main`, `exp` or `malloc` cannot clash with C symbols.
inline constexpr llvm::StringLiteral kModelSymbolPrefix = "nibble_model_";

/// The interface of a compiled model's entry function.
struct ModelInterface {
  /// The entry function's name in the source model.
  std::string entry;
  std::vector<AbiTensor> inputs, params, outputs;
  /// File name of the weights sidecar, next to the compiled model ("" when
  /// the weights are embedded).
  std::string weightsFile;
};

/// The interface of `func` before lowering: arguments carrying a
/// `nibble.param` attribute are params (they must follow the inputs), the
/// others inputs; results are outputs and must be statically shaped.
/// Errors are emitted at `func`.
mlir::FailureOr<ModelInterface> describeModel(mlir::func::FuncOp func);

/// Renames every function defined in `module` to kModelSymbolPrefix + name
/// (declarations of external functions keep their names).
void prefixModelSymbols(mlir::ModuleOp module);

/// C source that defines `nibble_model_get_abi()` for `model`, calling the
/// compiled `_mlir_ciface_<kModelSymbolPrefix><entry>`.
std::string generateAbiSource(const ModelInterface &model);

} // namespace nibble

#endif // NIBBLE_COMPILER_MODELABI_H

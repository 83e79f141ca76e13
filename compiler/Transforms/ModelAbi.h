//===- ModelAbi.h - The interface a compiled model exports ------*- C++ -*-===//
//
// Describes a module as the runtime sees it once compiled
// (runtime/nibble_model_abi.h, version 3): entry points with their inputs,
// outputs and argument order, the weight table (nibble.globals, bound by
// pointer, then the params that became arguments), the states, properties.
// nibble-export-model-abi records the description in the module as the
// `nibble.abi` attribute before lowering (types are still tensors then);
// after lowering, nibblec reads it back and generates the C source that
// exports it.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_TRANSFORMS_MODELABI_H
#define NIBBLE_COMPILER_TRANSFORMS_MODELABI_H

#include "dialects/NibbleDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <utility>
#include <vector>

namespace nibble {

/// Argument and result attribute (unit) marking an i8 tensor that holds
/// unsigned bytes (ONNX uint8): its interface dtype is U8, not I8.
inline constexpr llvm::StringLiteral kUnsignedAttrName = "nibble.unsigned";
/// Module attribute holding the recorded interface.
inline constexpr llvm::StringLiteral kModelAbiAttrName = "nibble.abi";
/// Attribute of a nibble.global: its index in the weight table, which is
/// where `__nibble_bind_globals` finds its pointer.
inline constexpr llvm::StringLiteral kWeightIndexAttrName =
    "nibble.weight_index";

/// Prefix given to the symbols of compiled model functions, so that a model
/// function named `main`, `exp` or `malloc` cannot clash with C symbols.
inline constexpr llvm::StringLiteral kModelSymbolPrefix = "nibble_model_";

/// One tensor of a compiled model's interface.
struct AbiTensor {
  std::string name;
  /// The nibble_dtype without its prefix: "F32", "I8", "U8", ...
  std::string dtype;
  /// Sizes; -1 for dynamic dimensions.
  llvm::SmallVector<int64_t, 4> shape;
};

/// What one argument of an entry point is (nibble_arg_role).
enum class AbiRole : int32_t { Input = 0, Output = 1, Weight = 2, State = 3 };

/// One argument of an entry point: which tensor of which list.
struct AbiArgument {
  AbiRole role;
  int32_t index;
};

/// One entry point.
struct AbiEntry {
  /// The function's name in the source model.
  std::string name;
  std::vector<AbiTensor> inputs, outputs;
  /// The compiled function's arguments, in order (results last, as
  /// out-params).
  std::vector<AbiArgument> args;
};

/// The interface of a compiled model.
struct ModelInterface {
  std::string name;
  std::vector<AbiEntry> entries;
  /// The weight table: the module's nibble.globals in module order (bound
  /// through `__nibble_bind_globals`), then params passed as arguments.
  std::vector<AbiTensor> weights;
  /// How many leading weights are globals.
  int64_t numGlobalWeights = 0;
  std::vector<AbiTensor> states;
  /// File name of the weights sidecar, next to the compiled model ("" when
  /// the model has no weights outside its code).
  std::string weightsFile;
  std::vector<std::pair<std::string, std::string>> properties;
};

/// The interface of `module` before lowering, for the entry points
/// `entryNames` (empty: every public function, in module order). In an
/// entry, arguments marked `nibble.param` are weights, `nibble.state`
/// states, `nibble.output` outputs (which may have dynamic dimensions), the
/// others inputs; results are outputs with static shapes. Errors are
/// emitted at the function or module.
mlir::FailureOr<ModelInterface>
describeModel(mlir::ModuleOp module, llvm::ArrayRef<std::string> entryNames);

/// `model` as the `nibble.abi` attribute's value.
mlir::DictionaryAttr encodeModelInterface(mlir::MLIRContext *context,
                                          const ModelInterface &model);

/// The interface recorded in `module`'s `nibble.abi` attribute; an error at
/// the module if there is none or it is malformed.
mlir::FailureOr<ModelInterface> decodeModelInterface(mlir::ModuleOp module);

/// Renames every function defined in `module` to kModelSymbolPrefix + name
/// (declarations of external functions keep their names).
void prefixModelSymbols(mlir::ModuleOp module);

/// C source that defines `nibble_model_get_abi()` for `model`, whose entry
/// points call the compiled `_mlir_ciface_<kModelSymbolPrefix><entry>`.
std::string generateAbiSource(const ModelInterface &model);

} // namespace nibble

#endif // NIBBLE_COMPILER_TRANSFORMS_MODELABI_H

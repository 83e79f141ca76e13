//===- OnnxImporter.h - Importing ONNX models into MLIR ---------*- C++ -*-===//
//
// Imports an ONNX ModelProto (opset 13 to 21, IR version >= 7, external data
// files next to the model) into one func.func over upstream tensor-level
// dialects (linalg, tensor, arith, math) with static shapes. Every MatMul or
// Gemm whose weight is an initializer becomes nibble.linear over nibble.param;
// initializers live in a safetensors archive written beside the output, and
// the module's `nibble.weights` attribute names it.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_ONNX_ONNXIMPORTER_H
#define NIBBLE_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace nibble {

/// Options of the ONNX importer.
struct OnnxImportOptions {
  /// Path of the safetensors archive the importer writes the initializers
  /// that become nibble.param to. Required. The module's `nibble.weights`
  /// attribute holds its absolute path.
  std::string weightsPath;
  /// Initializers of at most this many bytes that are not linear weights
  /// stay inline as arith.constant; larger ones become nibble.param. Linear
  /// weights and biases are always params.
  int64_t inlineConstantMaxBytes = 1024;
  /// Name of the imported function ("" = the graph's name, sanitized, or
  /// "main" when the graph has none).
  std::string functionName = "main";
  /// Values of symbolic dimensions (dim_param) of the graph's inputs, e.g.
  /// {"batch": 1, "sequence": 128}; nibble imports static shapes, so every
  /// symbolic dimension of an input must be bound here.
  std::map<std::string, int64_t> dimParams;
  /// Graph inputs bound at compile time: input name -> path of a .npy file
  /// holding its value. A bound input is imported as a constant (like an
  /// initializer) and is not an argument of the function; its dtype and
  /// shape must match the input's declaration (a symbolic dimension not in
  /// `dimParams` takes the file's size).
  std::map<std::string, std::string> boundInputs;
};

/// Parses a `--onnx-dim` value, `<name>=<size>` with a non-negative size,
/// into `options.dimParams`. Errors on anything else, or when `name` is
/// already bound to another size.
llvm::Error addDimBinding(OnnxImportOptions &options, llvm::StringRef spec);

/// Parses a `--bind-input` value, `<name>=<file.npy>` (split at the first
/// '='), into `options.boundInputs`. Errors when either side is empty or the
/// input is already bound.
llvm::Error addInputBinding(OnnxImportOptions &options, llvm::StringRef spec);

/// Why an import failed.
enum class OnnxImportFailure {
  /// It did not fail.
  None,
  /// The file is not a valid model, or is inconsistent (a bad shape, a
  /// missing input, data past the end of a file).
  Invalid,
  /// The model is valid but uses something nibble does not import (yet): an
  /// operator, opset or IR version, data type, attribute value or dynamic
  /// shape. Tools exit with a distinct status for these.
  Unsupported,
};

/// Registers the dialects an imported module uses.
void registerOnnxImporterDialects(mlir::DialectRegistry &registry);

/// Imports the ONNX model at `modelPath`. External data files are resolved
/// against the model's directory. Errors are emitted as diagnostics in `ctx`
/// (at a location naming the node where there is one) and return failure;
/// `failureKind`, when given, says why.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxModel(llvm::StringRef modelPath, mlir::MLIRContext &ctx,
                const OnnxImportOptions &options,
                OnnxImportFailure *failureKind = nullptr);

/// Imports a model whose serialized ModelProto is `bytes`; `modelPath` names
/// it in messages and locates its external data files.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> importOnnxModelFromBytes(
    llvm::StringRef bytes, llvm::StringRef modelPath, mlir::MLIRContext &ctx,
    const OnnxImportOptions &options, OnnxImportFailure *failureKind = nullptr);

} // namespace nibble

#endif // NIBBLE_FRONTENDS_ONNX_ONNXIMPORTER_H

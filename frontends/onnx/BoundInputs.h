//===- BoundInputs.h - Graph inputs bound at compile time -------*- C++ -*-===//

#ifndef NIBBLE_FRONTENDS_ONNX_BOUNDINPUTS_H
#define NIBBLE_FRONTENDS_ONNX_BOUNDINPUTS_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

namespace onnx {
class GraphProto;
} // namespace onnx

namespace nibble {
struct OnnxImportOptions;

namespace onnx_import {
class ImportContext;

/// Replaces the graph inputs named in `options.boundInputs` with constants
/// read from their .npy files (as initializers of `ctx`). Errors at `loc`
/// name the input, the file and the expected and found dtype or shape.
mlir::LogicalResult bindGraphInputs(ImportContext &ctx,
                                    const onnx::GraphProto &graph,
                                    const OnnxImportOptions &options,
                                    mlir::Location loc);

} // namespace onnx_import
} // namespace nibble

#endif // NIBBLE_FRONTENDS_ONNX_BOUNDINPUTS_H

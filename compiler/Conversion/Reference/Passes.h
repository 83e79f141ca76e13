//===- Passes.h - The reference lowering of nibble to linalg ----*- C++ -*-===//
//
// nibble ops to linalg/tensor/arith/math: packed weights unpacked and
// dequantized into float tensors, then multiplied. The simple, obviously
// right oracle that faster lowerings are tested against.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_H
#define NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace nibble {

#define GEN_PASS_DECL
#include "compiler/Conversion/Reference/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Conversion/Reference/Passes.h.inc"

/// Adds the patterns that lower nibble ops (all but nibble.param) to
/// linalg/tensor/arith/math.
void populateNibbleToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// Adds the patterns that lower the transformer ops (nibble.rms_norm,
/// nibble.rope, nibble.embedding, nibble.attention) to linalg/tensor/arith/
/// math; populateNibbleToLinalgPatterns includes them.
void populateTransformerToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace nibble

#endif // NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_H

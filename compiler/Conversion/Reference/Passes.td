//===- Passes.td - the reference lowering ------------------*- tablegen -*-===//

#ifndef NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_TD
#define NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleLowerToLinalg : Pass<"nibble-lower-to-linalg"> {
  let summary = "Reference lowering of nibble ops to linalg/tensor/arith";
  let description = [{
    Lowers `nibble.linear`, `nibble.qlinear`, `nibble.quantize`,
    `nibble.dequantize`, `nibble.observe` and the transformer ops
    (`nibble.rms_norm`, `nibble.rope`, `nibble.embedding`,
    `nibble.attention`) to `linalg.generic` over tensors:
    packed weights are unpacked and dequantized into a float tensor, then
    multiplied. It is the simple, obviously right oracle that faster lowerings
    are tested against. `nibble.param` is left alone; `linalg.unpack` (weights
    interleaved by `nibble-cpu-interleave-weights`) becomes a transpose.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif // NIBBLE_COMPILER_CONVERSION_REFERENCE_PASSES_TD

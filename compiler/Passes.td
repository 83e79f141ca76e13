//===- Passes.td - nibble lowering passes ------------------*- tablegen -*-===//

#ifndef NIBBLE_COMPILER_PASSES_TD
#define NIBBLE_COMPILER_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleMaterializeParams : Pass<"nibble-materialize-params",
                                   "mlir::ModuleOp"> {
  let summary = "Replace nibble.param by constants read from the archive";
  let description = [{
    Reads every tensor that a `nibble.param` names from the module's weight
    archive (`nibble.weights`, or the `weights` option) and replaces the op by
    an `arith.constant` holding the data. Used before JIT execution and for
    small models; the archive is checked exactly as every pass checks it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"weights", "weights", "std::string", "\"\"",
           "Weight archive to use instead of the module's nibble.weights">,
  ];
}

def NibbleLowerToLinalg : Pass<"nibble-lower-to-linalg"> {
  let summary = "Reference lowering of nibble ops to linalg/tensor/arith";
  let description = [{
    Lowers `nibble.linear`, `nibble.qlinear`, `nibble.quantize`,
    `nibble.dequantize` and `nibble.observe` to `linalg.generic` over tensors:
    packed weights are unpacked and dequantized into a float tensor, then
    multiplied. It is the simple, obviously right oracle that faster lowerings
    are tested against. `nibble.param` is left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def NibbleParamsToArguments : Pass<"nibble-params-to-arguments",
                                   "mlir::ModuleOp"> {
  let summary = "Turn the params of the entry function into arguments";
  let description = [{
    Replaces every `nibble.param` of the function `entry` by a new argument,
    appended after the existing ones in order of first use, with the argument
    attribute `nibble.param = "<name>"`. A param read twice becomes one
    argument. Ahead-of-time compiled models receive their weights this way:
    the runtime maps the archive and passes the tensors in. Params in other
    functions are an error.
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"",
           "The function whose params become arguments">,
  ];
}

#endif // NIBBLE_COMPILER_PASSES_TD

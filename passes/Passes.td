//===- Passes.td - nibble quantization passes --------------*- tablegen -*-===//

#ifndef NIBBLE_PASSES_TD
#define NIBBLE_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleRTN : Pass<"nibble-rtn", "mlir::ModuleOp"> {
  let summary = "Round-to-nearest weight quantization of every nibble.linear";
  let description = [{
    Rewrites every `nibble.linear` whose weight is a `nibble.param` or a
    constant into a `nibble.qlinear` with packed codes and scales, using the
    linear's own `scheme` attribute when it has one and the pass options
    otherwise. Packed tensors of params are written to a new safetensors
    archive (`output-weights`, by default `<archive>.rtn.safetensors`) that
    also holds every float tensor still referenced, and the module's
    `nibble.weights` attribute is pointed at it. Constant weights become
    constants.

    ```
    nibble-opt --nibble-rtn="bits=4 group=32 sym=false" model.mlir
    ```
  }];
  let dependentDialects = ["::nibble::NibbleDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"format", "format", "::nibble::WeightFormat",
           "::nibble::WeightFormat::Int", "Weight element format",
           [{::llvm::cl::values(
             clEnumValN(::nibble::WeightFormat::Int, "int", "integers"),
             clEnumValN(::nibble::WeightFormat::NF4, "nf4", "4-bit NormalFloat"),
             clEnumValN(::nibble::WeightFormat::FP4E2M1, "fp4", "FP4 E2M1"),
             clEnumValN(::nibble::WeightFormat::FP8E4M3, "fp8", "FP8 E4M3"))}]>,
    Option<"bits", "bits", "unsigned", "4",
           "Bits per integer weight (2..8); nf4/fp4 imply 4, fp8 implies 8">,
    Option<"group", "group", "int64_t", "128",
           "Weights per scale along K; 0 = per output channel, "
           "-1 = per tensor">,
    Option<"symmetric", "sym", "bool", "true",
           "Symmetric (no zero points); false needs format=int">,
    Option<"scaleType", "scale-type", "std::string", "\"f32\"",
           "Storage type of scales: f32, f16 or bf16">,
    Option<"doubleQuant", "double-quant", "int64_t", "0",
           "Store scales as 8-bit codes with one f32 scale per this many "
           "scales (0 = off)">,
    Option<"activation", "act", "::nibble::ActivationScheme",
           "::nibble::ActivationScheme::None", "Activation scheme",
           [{::llvm::cl::values(
             clEnumValN(::nibble::ActivationScheme::None, "none", "float"),
             clEnumValN(::nibble::ActivationScheme::Int8Dynamic,
                        "int8_dynamic", "int8 per token"),
             clEnumValN(::nibble::ActivationScheme::FP8Dynamic,
                        "fp8_dynamic", "fp8 e4m3 per token"))}]>,
    Option<"activationGroup", "act-group", "int64_t", "0",
           "Activation values along K that share a scale (0 = one per "
           "token; needs a dynamic act)">,
    Option<"scaleSearch", "search", "std::string", "\"absmax\"",
           "Scale search: absmax (cover the range) or mse (search the "
           "clipping ratio with the least squared error)">,
    Option<"outputWeights", "output-weights", "std::string", "\"\"",
           "Safetensors file for the packed weights (default: the input "
           "archive's name with .rtn.safetensors)">,
    Option<"schemeText", "scheme", "std::string", "\"\"",
           "A #nibble.scheme body, e.g. \"w4, group = 32\", for the linears "
           "without a scheme of their own (instead of format, bits, group, "
           "sym, scale-type, double-quant, act and act-group)">,
  ];
}

#endif // NIBBLE_PASSES_TD

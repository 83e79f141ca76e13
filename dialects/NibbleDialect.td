//===- NibbleDialect.td - The nibble dialect ---------------*- tablegen -*-===//
//
// The `nibble` dialect: float linears, quantization schemes, and the packed
// quantized linears that codegen turns into fused dequantize-matmul kernels.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_DIALECT_TD
#define NIBBLE_DIALECT_TD

include "mlir/IR/OpBase.td"

def Nibble_Dialect : Dialect {
  let name = "nibble";
  let cppNamespace = "::nibble";
  let summary = "Weight quantization of neural networks";
  let description = [{
    The `nibble` dialect models linear layers before and after weight
    quantization. `nibble.linear` is a float `y = x·Wᵀ + b`; quantization
    passes rewrite it into `nibble.qlinear`, whose weight is a tensor of packed
    integer codes with scales (and zero points) laid out as described by a
    `#nibble.scheme`. Weights of real models live outside the IR in a
    safetensors archive and enter it through `nibble.param`.

    ```mlir
    module attributes {nibble.weights = "mlp.safetensors"} {
      func.func @mlp(%x: tensor<4x64xf32>) -> tensor<4x32xf32> {
        %w = nibble.param "fc1.weight" : tensor<32x64xf32>
        %y = nibble.linear %x, %w : (tensor<4x64xf32>, tensor<32x64xf32>)
            -> tensor<4x32xf32>
        return %y : tensor<4x32xf32>
      }
    }
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  // `nibble.state = @sym` on a function argument: checked against the
  // module's nibble.state (NibbleDialect.cpp).
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes (defined in NibbleAttrs.cpp, which holds
    /// their storage classes).
    void registerAttributes();
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

/// Base class of every nibble op.
class Nibble_Op<string mnemonic, list<Trait> traits = []>
    : Op<Nibble_Dialect, mnemonic, traits>;

#endif // NIBBLE_DIALECT_TD

//===- NibbleOps.td - nibble operations --------------------*- tablegen -*-===//
//
// Operations of the nibble dialect: weights (param), float and quantized
// linears, calibration observers, and activation (de)quantization.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_OPS_TD
#define NIBBLE_OPS_TD

include "dialects/NibbleAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"

//===----------------------------------------------------------------------===//
// nibble.param
//===----------------------------------------------------------------------===//

def Nibble_ParamOp : Nibble_Op<"param", [Pure]> {
  let summary = "A named weight stored outside the IR";
  let description = [{
    Produces the tensor named `name` in the module's weight archive, the
    safetensors file given by the `nibble.weights` attribute of the enclosing
    module (a path, relative paths resolved against the working directory).
    The tensor's dtype and shape must match the result type.

    ```mlir
    %w = nibble.param "layers.0.mlp.up_proj.weight" : tensor<256x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.global / nibble.global_load
//===----------------------------------------------------------------------===//

def Nibble_GlobalOp : Nibble_Op<"global", [Symbol]> {
  let summary = "A module-level weight stored outside the IR";
  let description = [{
    Declares a read-only weight of the module: the symbol `sym_name`, the
    tensor `name` of the module's weight archive (the safetensors file given
    by the module's `nibble.weights` attribute) and its type, whose dtype and
    shape the archive's tensor must have. Any function of the module reads it
    with `nibble.global_load`, so entry points such as `prefill` and `decode`
    share one copy of the weights: the runtime maps the archive once and
    binds every global to its bytes.

    ```mlir
    nibble.global @model.layers.0.mlp.up_proj.weight "blk.0.ffn_up.weight"
        : tensor<1536x576xf32>
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    StrAttr:$name,
    TypeAttrOf<AnyStaticShapeTensor>:$type);
  let assemblyFormat = "$sym_name $name attr-dict `:` $type";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The declared tensor type.
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

def Nibble_GlobalLoadOp : Nibble_Op<"global_load",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads a module-level weight";
  let description = [{
    The value of the `nibble.global` named `global`; the result type must be
    the global's type.

    ```mlir
    %w = nibble.global_load @model.layers.0.mlp.up_proj.weight
        : tensor<1536x576xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$global);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$global attr-dict `:` type($result)";
}

def Nibble_GlobalBufferOp : Nibble_Op<"global_buffer",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "The buffer of a module-level weight (after bufferization)";
  let description = [{
    The memory of the `nibble.global` named `global`, as a read-only memref of
    the global's shape and element type. `nibble-globals-to-buffers` replaces
    `nibble.global_load` by it (wrapped in `bufferization.to_tensor`) before
    bufferization; `nibble-globals-to-llvm` lowers it to a load of the
    pointer the runtime (or the JIT) bound to the global.

    ```mlir
    %m = nibble.global_buffer @model.norm.weight : memref<576xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$global);
  let results = (outs AnyStaticShapeMemRef:$result);
  let assemblyFormat = "$global attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// nibble.state
//===----------------------------------------------------------------------===//

def Nibble_StateOp : Nibble_Op<"state", [Symbol]> {
  let summary = "Mutable state owned by the runtime (a KV cache)";
  let description = [{
    Declares a buffer of mutable state that outlives one call: the runtime
    allocates one per session and hands the same buffer to every entry point
    that uses it. A function uses the state through an argument marked
    `{nibble.state = @sym}` (of the state's type) and returns the updated
    value; bufferization makes the update in place. Entry points thus stay
    functions of (inputs, state), and one loaded model can serve several
    sessions.

    ```mlir
    nibble.state @kv_cache.keys : tensor<30x3x2048x64xf32>
    func.func @decode(%k: tensor<30x3x2048x64xf32> {nibble.state = @kv_cache.keys}, ...)
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    TypeAttrOf<AnyStaticShapeTensor>:$type);
  let assemblyFormat = "$sym_name attr-dict `:` $type";
  let extraClassDeclaration = [{
    /// The declared tensor type.
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// nibble.linear
//===----------------------------------------------------------------------===//

def Nibble_LinearOp : Nibble_Op<"linear", [Pure]> {
  let summary = "Float linear layer y = x·Wᵀ + b";
  let description = [{
    `input` has shape `[..., K]`, `weight` `[N, K]` (PyTorch's layout),
    the optional `bias` `[N]`; the result has shape `[..., N]`. All element
    types are the same float type. The optional `scheme` requests how the
    weight is to be quantized (set by a recipe or by precision assignment);
    quantization passes honour it over their own options. The optional
    `name` is the layer's stable module path (e.g.
    `model.layers.3.self_attn.q_proj`) that recipes, calibration statistics
    and reports key on; quantization carries it over to `nibble.qlinear`.

    ```mlir
    %y = nibble.linear %x, %w bias %b scheme <w4, group = 32, sym>
        : (tensor<4x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<4x32xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    RankedTensorOf<[AnyFloat]>:$weight,
    Optional<RankedTensorOf<[AnyFloat]>>:$bias,
    OptionalAttr<Nibble_SchemeAttr>:$scheme,
    OptionalAttr<StrAttr>:$name);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`scheme` $scheme^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.qlinear
//===----------------------------------------------------------------------===//

def Nibble_QLinearOp : Nibble_Op<"qlinear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Linear layer over packed quantized weights";
  let description = [{
    `y = x·Ŵᵀ + b` where Ŵ is the dequantized weight described by `scheme`:

    - `weight`: `[N, K * c / 8] x i8`, codes packed along K, low bits first,
      with container width c = 2, 4 or 8 bits (3-bit codes use 4).
    - `scales`: `[N, K / group]` (group), `[N, 1]` (channel) or `[1, 1]`
      (tensor), of the scheme's scale type; with double quantization `i8`
      (unsigned codes) and `scale_scales` `[ceil(#scales / D)] x f32` holds
      one f32 scale per D consecutive scales in row-major order.
    - `zero_points`: `asym` schemes only, `i8` (unsigned) with the shape of
      `scales`.
    - `mins`: `min` schemes only, float minimums of the scheme's scale type
      with the shape of `scales`.
    - `input_scale`: `[1] x f32`, required by `act = int8_static`.

    Integer codes u dequantize to `float(u - zero) * scale` with zero =
    2^(bits-1) for symmetric schemes, to `float(u) * scale + min` (rounded
    after the product and after the sum, never fused) for `min` schemes;
    code-book formats (nf4, fp4, fp8) to `scale * level[u]`. Activations are quantized as the scheme's `act` says
    before the product (int8: round(x / s) clamped to [-127, 127]).

    ```mlir
    %y = nibble.qlinear %x, %qw, %s scheme <w4, group = 32, sym>
        : (tensor<4x64xf32>, tensor<32x32xi8>, tensor<32x2xf32>) -> tensor<4x32xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    RankedTensorOf<[I8]>:$weight,
    RankedTensorOf<[F32, F16, BF16, I8]>:$scales,
    Optional<RankedTensorOf<[I8]>>:$zero_points,
    Optional<RankedTensorOf<[F32, F16, BF16]>>:$mins,
    Optional<RankedTensorOf<[F32]>>:$scale_scales,
    Optional<RankedTensorOf<[AnyFloat]>>:$bias,
    Optional<RankedTensorOf<[F32]>>:$input_scale,
    Nibble_SchemeAttr:$scheme,
    OptionalAttr<StrAttr>:$name);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales
    (`zero_points` $zero_points^)?
    (`mins` $mins^)?
    (`scale_scales` $scale_scales^)?
    (`bias` $bias^)?
    (`input_scale` $input_scale^)?
    `scheme` $scheme attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Reduction size K (the last dimension of the input).
    int64_t getReductionSize() { return getInput().getType().getShape().back(); }
    /// Number of output features N.
    int64_t getOutputSize() { return getWeight().getType().getShape().front(); }
  }];
}

//===----------------------------------------------------------------------===//
// nibble.observe
//===----------------------------------------------------------------------===//

def Nibble_ObserveOp : Nibble_Op<"observe", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Identity that marks a tensor for calibration statistics";
  let description = [{
    Returns its input unchanged. Calibration collects statistics of the
    tensor under the key `name` (by convention the name of the linear whose
    input it observes).

    ```mlir
    %0 = nibble.observe %x, "fc1" : tensor<4x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, StrAttr:$name);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $name attr-dict `:` type($input)";
  let hasFolder = 0;
}

//===----------------------------------------------------------------------===//
// nibble.quantize / nibble.dequantize
//===----------------------------------------------------------------------===//

def Nibble_QuantizeOp : Nibble_Op<"quantize", [Pure]> {
  let summary = "Quantize an activation tensor";
  let description = [{
    Quantizes `input` (`[..., K]`, float) as `mode` says and returns the codes
    and the scale they are relative to:
    - `int8_dynamic`: per token (per row), scale `[..., 1]` = absmax / 127,
      codes `i8` = clamp(round(x / scale), -127, 127);
    - `fp8_dynamic`: per token, scale = absmax / 448, codes `f8E4M3FN`;
    - `int8_static`: per tensor with the given `scale` (`[1] x f32`), which is
      also returned.

    Rounding is to nearest, ties to even. An all-zero token gets scale 0 and
    codes 0; fp8 codes keep the sign of the input (-0 and tiny negatives give
    0x80).

    ```mlir
    %q, %s = nibble.quantize %x mode <int8_dynamic>
        : (tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>)
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    Optional<RankedTensorOf<[F32]>>:$scale,
    Nibble_ActivationSchemeAttr:$mode);
  let results = (outs
    RankedTensorOf<[I8, F8E4M3FN]>:$result,
    RankedTensorOf<[F32]>:$result_scale);
  let assemblyFormat = [{
    $input (`scale` $scale^)? `mode` $mode attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Nibble_DequantizeOp : Nibble_Op<"dequantize", [Pure]> {
  let summary = "Dequantize an activation tensor";
  let description = [{
    `result = input * scale`, with `scale` broadcast: either `[1]` (per
    tensor) or of the input's rank with every dimension equal to the input's
    or 1 (e.g. `[M, 1]` per token).

    ```mlir
    %x = nibble.dequantize %q, %s
        : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[I8, F8E4M3FN]>:$input,
    RankedTensorOf<[F32]>:$scale);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `,` $scale attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.kernel_call
//===----------------------------------------------------------------------===//

def Nibble_KernelCallOp : Nibble_Op<"kernel_call", [
    Pure, AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Call of a compiler-generated kernel in destination style";
  let description = [{
    Runs the kernel function `kernel` on `inputs` and writes `outputs`, whose
    new values are the results. The kernel is a `func.func` of the module
    over buffers (generated by a kernel provider such as
    `nibble-cpu-select-kernels`); its arguments are the buffers of `inputs`
    (scalars as they are) then of `outputs`, in order. Bufferization turns the op into a
    `func.call` on those buffers, writing the outputs in place.

    ```mlir
    %y = nibble.kernel_call @__nibble_kernel_linear_f32_32x64(%x, %w)
        outs(%init) : (tensor<?x64xf32>, tensor<32x64xf32>,
                       tensor<?x32xf32>) -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins
    FlatSymbolRefAttr:$kernel,
    Variadic<AnyType>:$inputs,
    Variadic<AnyRankedTensor>:$outputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` `outs` `(` $outputs `)` attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The outputs, as DestinationStyleOpInterface needs them.
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

include "dialects/NibbleTransformerOps.td"

#endif // NIBBLE_OPS_TD

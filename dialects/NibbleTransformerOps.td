//===- NibbleTransformerOps.td - Transformer building blocks -*- tablegen -*-===//
//
// The ops of a decoder-only transformer besides its linears: RMS
// normalization, rotary position embedding, embedding look-up and causal
// grouped-query attention over a KV cache. They keep the structure later
// passes need (a norm's weight is an operand SmoothQuant/AWQ can follow; the
// attention's bounds come from the position) and each has a reference
// lowering to linalg (compiler/Conversion/Reference/TransformerToLinalg.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TRANSFORMER_OPS_TD
#define NIBBLE_TRANSFORMER_OPS_TD

//===----------------------------------------------------------------------===//
// nibble.rms_norm
//===----------------------------------------------------------------------===//

def Nibble_RmsNormOp : Nibble_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalization over the last dimension";
  let description = [{
    `y[..., i] = x[..., i] / sqrt(mean_j(x[..., j]^2) + epsilon) *
    (offset + weight[i])`, computed in f32. `weight` has the size of the
    last dimension. `offset` is 0 for Llama-style norms and 1 for Gemma's,
    whose stored weight is the deviation from 1.

    ```mlir
    %y = nibble.rms_norm %x, %w epsilon = 1.0e-05
        : (tensor<?x576xf32>, tensor<576xf32>) -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[F32]>:$weight,
    F32Attr:$epsilon,
    DefaultValuedAttr<F32Attr, "0.0f">:$offset);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $weight `epsilon` `=` $epsilon (`offset` `=` $offset^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.rope
//===----------------------------------------------------------------------===//

def Nibble_RopeOp : Nibble_Op<"rope",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates pairs of features of `input` (`[T, H, D]`: tokens, heads, head
    size) by the angle `positions[t] * inv_freq[i]` (computed in f32). With
    R = 2 × size(inv_freq) ≤ D, pair i is (i, i + R/2) (the "rotate half"
    form of Hugging Face and GPT-NeoX) or, with `interleaved`, (2i, 2i + 1)
    (GPT-J, llama.cpp's default mode); features from R on pass through:

        y_a = x_a cos(θ) − x_b sin(θ),   y_b = x_b cos(θ) + x_a sin(θ)

    `inv_freq` carries the frequency schedule, so every RoPE scaling type
    (linear, NTK, Llama 3, ...) is a property of the attribute, computed by
    the frontend.

    ```mlir
    %y = nibble.rope %x, %pos inv_freq = [1.0, 0.01]
        : (tensor<?x9x4xf32>, tensor<?xi64>) -> tensor<?x9x4xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[F32]>:$input,
    RankedTensorOf<[I64]>:$positions,
    DenseF32ArrayAttr:$inv_freq,
    UnitAttr:$interleaved);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $positions `inv_freq` `=` $inv_freq (`interleaved` $interleaved^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.embedding
//===----------------------------------------------------------------------===//

def Nibble_EmbeddingOp : Nibble_Op<"embedding", [Pure]> {
  let summary = "Rows of an embedding table";
  let description = [{
    `result[t, :] = table[ids[t], :]` for a table `[V, D]` and ids `[T]`
    (i32). An id outside [0, V) reads row 0 in the reference lowering; the
    runtime checks ids against the vocabulary before a call.

    ```mlir
    %h = nibble.embedding %table, %ids
        : (tensor<49152x576xf32>, tensor<?xi32>) -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$table,
    RankedTensorOf<[I32]>:$ids);
  let results = (outs RankedTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// nibble.attention
//===----------------------------------------------------------------------===//

def Nibble_AttentionOp : Nibble_Op<"attention", [Pure]> {
  let summary = "Causal grouped-query attention over a KV cache";
  let description = [{
    `query` is `[T, Hq, D]` for the T tokens at positions `start`,
    `start + 1`, ...; `keys` `[C, Hkv, D]` and `values` `[C, Hkv, Dv]` are
    one layer's cache (token-major, capacity C), already holding the keys
    and values of positions 0 .. start + T − 1. Query head h uses KV head
    h / (Hq / Hkv). The query at position p attends to the cache positions
    j with max(0, p − window + 1) ≤ j ≤ p (`window` 0: no sliding window):

        result[t, h] = Σ_j softmax_j(scale · q[t, h] · k[j, h']) · v[j, h']

    Only the cache entries below start + T are read, so the cost of a decode
    step follows the current context, not the capacity. Computed in f32.

    ```mlir
    %o = nibble.attention %q, %k, %v start %pos scale = 0.125
        : (tensor<?x9x64xf32>, tensor<2048x3x64xf32>, tensor<2048x3x64xf32>,
           index) -> tensor<?x9x64xf32>
    ```
  }];
  let arguments = (ins
    RankedTensorOf<[F32]>:$query,
    RankedTensorOf<[F32]>:$keys,
    RankedTensorOf<[F32]>:$values,
    Index:$start,
    F32Attr:$scale,
    DefaultValuedAttr<I64Attr, "0">:$window);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values `start` $start `scale` `=` $scale
    (`window` `=` $window^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // NIBBLE_TRANSFORMER_OPS_TD

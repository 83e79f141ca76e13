//===- NibbleAttrs.td - nibble attributes and enums --------*- tablegen -*-===//
//
// The quantization scheme attribute and the enums it is made of.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_ATTRS_TD
#define NIBBLE_ATTRS_TD

include "dialects/NibbleDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Nibble_WeightFormat : I32EnumAttr<"WeightFormat",
    "element format of quantized weights", [
      I32EnumAttrCase<"Int", 0, "int">,
      I32EnumAttrCase<"NF4", 1, "nf4">,
      I32EnumAttrCase<"FP4E2M1", 2, "fp4">,
      I32EnumAttrCase<"FP8E4M3", 3, "fp8">,
    ]> {
  let cppNamespace = "::nibble";
  let genSpecializedAttr = 0;
}

def Nibble_Granularity : I32EnumAttr<"Granularity",
    "how many weights share one scale", [
      I32EnumAttrCase<"Tensor", 0, "tensor">,
      I32EnumAttrCase<"Channel", 1, "channel">,
      I32EnumAttrCase<"Group", 2, "group">,
    ]> {
  let cppNamespace = "::nibble";
  let genSpecializedAttr = 0;
}

def Nibble_CodeOffset : I32EnumAttr<"CodeOffset",
    "how an integer code is offset before or after scaling", [
      I32EnumAttrCase<"Symmetric", 0, "sym">,
      I32EnumAttrCase<"ZeroPoint", 1, "asym">,
      I32EnumAttrCase<"Min", 2, "min">,
    ]> {
  let cppNamespace = "::nibble";
  let genSpecializedAttr = 0;
}

def Nibble_ActivationScheme : I32EnumAttr<"ActivationScheme",
    "how activations are quantized", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Int8Dynamic", 1, "int8_dynamic">,
      I32EnumAttrCase<"Int8Static", 2, "int8_static">,
      I32EnumAttrCase<"FP8Dynamic", 3, "fp8_dynamic">,
    ]> {
  let cppNamespace = "::nibble";
  let genSpecializedAttr = 0;
}

def Nibble_ActivationSchemeAttr : EnumAttr<Nibble_Dialect,
    Nibble_ActivationScheme, "act"> {
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// #nibble.scheme
//===----------------------------------------------------------------------===//

def Nibble_SchemeAttr : AttrDef<Nibble_Dialect, "Scheme"> {
  let mnemonic = "scheme";
  let summary = "How a weight (and the activation feeding it) is quantized";
  let description = [{
    A weight scheme: element format and bit width, granularity of the scales,
    how codes are offset (symmetric, integer zero points, or float minimums),
    the storage type of scales, optional double quantization of the scales,
    and the activation scheme.

    Syntax: the format first (`w2`..`w8` integers, `nf4`, `fp4` for E2M1,
    `fp8` for E4M3), then in any order:
    - `tensor`, `channel` (default) or `group = N` (N weights along K share a
      scale);
    - `sym` (default: value = scale * (u - 2^(bits-1))), `asym` (integers
      only: value = scale * (u - zero) with an unsigned integer zero point
      per scale) or `min` (integers only: value = scale * u + min with a
      float minimum per scale, stored in the scale type; ggml's Q4_1, Q5_1
      and the K-quants with mins; no double quantization);
    - `scale = f32|f16|bf16` (default f32);
    - `double_quant = D`: scales stored as 8-bit codes with one f32 scale per
      D consecutive scales (QLoRA-style);
    - `act = none|int8_dynamic|int8_static|fp8_dynamic` (default none);
    - `act_group = G` (dynamic activation schemes only): one activation
      scale per G consecutive values of a token along K instead of one per
      token, as ggml's Q8_0 blocks (G = 32) quantize a matmul's input;
      K must be a multiple of G;
    - `bits = B` and `format = int|nf4|fp4|fp8` (mostly to override a
      preset; `nf4` and `fp4` set 4 bits, `fp8` sets 8).

    Instead of a format, a preset names a whole scheme; later parameters
    override any of its fields, the last one wins, and a granularity resets
    the group size (`w4a16, channel` is per-channel 4-bit): `w4a16` = `w4, group = 128`; `w8a16` = `w8, channel`;
    `w8a8` = `w8, channel, act = int8_dynamic`; `fp8_dynamic` =
    `fp8, channel, act = fp8_dynamic`; `qlora` =
    `nf4, group = 64, double_quant = 256`. Schemes print in full.

    ```mlir
    #nibble.scheme<w4, group = 128, sym>
    #nibble.scheme<w8, channel, sym, act = int8_dynamic>
    #nibble.scheme<nf4, group = 64, sym, double_quant = 256>
    #nibble.scheme<w4, group = 32, asym, scale = f16>
    #nibble.scheme<w4, group = 32, min, scale = f16>
    #nibble.scheme<w4, group = 32, sym, act = int8_dynamic, act_group = 32>
    ```
  }];
  let parameters = (ins
    "::nibble::WeightFormat":$format,
    "unsigned":$bits,
    "::nibble::Granularity":$granularity,
    "int64_t":$groupSize,
    "::nibble::CodeOffset":$offset,
    "::mlir::Type":$scaleType,
    "int64_t":$doubleQuantGroup,
    "::nibble::ActivationScheme":$activation,
    "int64_t":$activationGroup
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bits of storage per packed code (3-bit codes use 4-bit containers).
    unsigned getContainerBits() const;
    /// Number of scale groups per output row for a reduction size `k`.
    int64_t getGroupsPerRow(int64_t k) const;
    /// Whether codes are offset by 2^(bits-1) (no zero points, no mins).
    bool getSymmetric() const { return getOffset() == CodeOffset::Symmetric; }
    /// Whether each scale has an integer zero point (`asym`).
    bool hasZeroPoints() const { return getOffset() == CodeOffset::ZeroPoint; }
    /// Whether each scale has a float minimum added after scaling (`min`).
    bool hasMins() const { return getOffset() == CodeOffset::Min; }
    /// Whether scales are double-quantized.
    bool hasDoubleQuant() const { return getDoubleQuantGroup() > 0; }
    /// Activation values along K that share a scale, for a reduction size
    /// `k`: act_group, or k (one scale per token).
    int64_t getActivationGroupSize(int64_t k) const {
      return getActivationGroup() > 0 ? getActivationGroup() : k;
    }
  }];
}

#endif // NIBBLE_ATTRS_TD

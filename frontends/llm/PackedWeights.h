//===- PackedWeights.h - Linear weights kept quantized in the archive -*- C++
//-*-===//
//
// A weight archive may hold some linear weights in nibble's packed integer
// form instead of float32 (docs/Formats.md): for the weight
// "<module>.weight" of shape [N, K], the tensors
//
//   <module>.qweight  I8       [N, K * container / 8]  codes along K
//   <module>.scales   F16/F32  [N, K / group]
//   <module>.mins     F16/F32  [N, K / group]           "min" layouts only
//
// which the transformer builder turns into a nibble.qlinear with
// #nibble.scheme<w<bits>, group = <group>, sym|min, scale = f16|f32>. The
// archive says which weights are packed, and how, in its safetensors
// metadata ("nibble.packed:<weight name>" -> "bits=4 group=32 offset=min
// scale=f16 source=Q4_1"), so a cached archive describes itself.
//
// GGUF import with LoadOptions::keepQuantization writes such archives
// (GgufPacking.h); plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_PACKEDWEIGHTS_H
#define NIBBLE_FRONTENDS_LLM_PACKEDWEIGHTS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nibble {
namespace llm {

/// How one linear weight is stored packed.
struct PackedWeightLayout {
  /// Bits per code, 2..8.
  unsigned bits = 0;
  /// Consecutive weights of a row (along K) sharing a scale (and min).
  int64_t groupSize = 0;
  /// value = float(u) * scale + min (ggml's Q4_1, Q5_1, Q2_K, Q4_K, Q5_K);
  /// otherwise float(u - 2^(bits-1)) * scale.
  bool hasMins = false;
  /// Scales (and mins) stored as f16; otherwise f32.
  bool f16Scales = false;
  /// Where the codes come from, for reports ("Q4_1"); not needed to decode.
  std::string source;

  /// Bits of storage per code: 2, 4 (3- and 4-bit codes) or 8 (5..8).
  unsigned containerBits() const;
  /// The metadata value describing this layout.
  std::string encode() const;
  bool operator==(const PackedWeightLayout &other) const;
};

/// Rows of a weight in its packed form, row-major, little-endian.
struct PackedRows {
  /// rows x (K * container / 8) bytes of codes packed along K.
  std::vector<uint8_t> codes;
  /// rows x (K / group) scales of 2 (f16) or 4 (f32) bytes.
  std::vector<uint8_t> scales;
  /// Like `scales`; empty unless the layout has mins.
  std::vector<uint8_t> mins;
};

/// Packed weights by the name of the float weight they replace
/// ("model.layers.0.mlp.up_proj.weight").
using PackedWeights = std::map<std::string, PackedWeightLayout>;

/// The metadata key prefix of a packed weight's layout.
inline constexpr llvm::StringLiteral kPackedMetadataPrefix = "nibble.packed:";

/// The name of packed tensor `suffix` ("qweight", "scales", "mins") of the
/// weight `weightName`: "<module>.<suffix>" for "<module>.weight".
std::string packedTensorName(llvm::StringRef weightName,
                             llvm::StringRef suffix);

/// Parses a layout written by PackedWeightLayout::encode. Errors name
/// `weightName` and what is wrong (an unknown key, bits outside 2..8, a
/// group that is not positive).
llvm::Expected<PackedWeightLayout>
decodePackedWeightLayout(llvm::StringRef weightName, llvm::StringRef text);

/// The packed weights the archive at `archivePath` declares in its
/// metadata (none for a float archive). Errors name the archive.
llvm::Expected<PackedWeights> readPackedWeights(llvm::StringRef archivePath);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_PACKEDWEIGHTS_H

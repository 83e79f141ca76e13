//===- GgufPacking.h - ggml quantized rows in nibble's packed form -*- C++
//-*-===//
//
// Which ggml tensor types nibble's #nibble.scheme represents exactly, and
// the conversion of their rows into nibble's packed layout (PackedWeights.h,
// docs/Formats.md) without a float round trip. Every type below decodes,
// with nibble's formula, to the floats ggml's dequantize_row_* gives, bit
// for bit:
//
//   type   scheme                          scale, min (per group)
//   Q4_0   w4 group 32 sym  scale f16      d
//   Q4_1   w4 group 32 min  scale f16      d, m
//   Q5_0   w5 group 32 sym  scale f16      d
//   Q5_1   w5 group 32 min  scale f16      d, m
//   Q8_0   w8 group 32 sym  scale f16      d (code = qs + 128)
//   Q2_K   w2 group 16 min  scale f32      d*sc, -(dmin*m)
//   Q3_K   w3 group 16 sym  scale f32      d*(sc-32)
//   Q4_K   w4 group 32 min  scale f32      d*sc, -(dmin*m)
//   Q5_K   w5 group 32 min  scale f32      d*sc, -(dmin*m)
//   Q6_K   w6 group 16 sym  scale f32      d*sc
//
// The f32 products are the ones ggml rounds (d * sc, dmin * m), and
// float(u) * scale + (-(dmin * m)) equals ggml's (d * sc) * q - dmin * m
// exactly (IEEE subtraction is addition of the negation). F32, F16, BF16
// (float already), Q8_1 and Q8_K (activation types) are not packed.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_GGUFPACKING_H
#define NIBBLE_FRONTENDS_LLM_GGUFPACKING_H

#include "frontends/llm/PackedWeights.h"
#include "runtime/Gguf.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace nibble {
namespace llm {

/// The packed layout of ggml `type`, or nullopt for a type kept as float.
std::optional<PackedWeightLayout>
packedLayoutForGgmlType(runtime::GgmlType type);

/// Converts `rows` rows of `cols` elements of ggml `type` stored at
/// `blocks` (whole blocks per row) into `out`. Returns false, leaving `out`
/// unspecified, if `type` has no packed layout or `cols` is not a multiple
/// of its block size.
bool packGgmlRows(runtime::GgmlType type, const uint8_t *blocks, int64_t rows,
                  int64_t cols, PackedRows &out);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_GGUFPACKING_H

//===- GgmlDequantize.h - ggml block formats and dequantizers ---*- C++ -*-===//
//
// The block layouts of ggml's tensor types (ggml/src/ggml-common.h) and
// dequantizers that reproduce ggml's reference `dequantize_row_*`
// (ggml/src/ggml-quants.c) bit for bit: every float is computed from the
// same operands, in the same order, with the same single roundings (this
// library is compiled with -ffp-contract=off, so no multiply-add is fused).
// f16 and bf16 are widened exactly by integer arithmetic.
//
// Besides floats, the "structure" helpers expose what a block holds -- its
// scales, mins and integer codes -- for importing pre-quantized weights
// without a float round trip; reconstructBlock32/reconstructSuperBlock turn
// a structure back into exactly the floats dequantizeRow gives.
//
// Plain C++ (no LLVM); GgmlType comes from the runtime's GGUF reader.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_GGUF_GGMLDEQUANTIZE_H
#define NIBBLE_FRONTENDS_GGUF_GGMLDEQUANTIZE_H

#include "runtime/Gguf.h"

#include <cstddef>
#include <cstdint>

namespace nibble {
namespace gguf {

using runtime::GgmlType;

/// Elements per block of the 32-element formats (QK4_0 ... QK8_1).
constexpr uint32_t kBlock32 = 32;
/// Elements per super-block of the k-quants (QK_K).
constexpr uint32_t kSuperBlock = 256;
/// Bytes of the packed 6-bit scales and mins of Q4_K/Q5_K
/// (K_SCALE_SIZE).
constexpr uint32_t kKScaleBytes = 12;

//===----------------------------------------------------------------------===//
// Block layouts, byte for byte as in ggml-common.h. f16 fields are raw IEEE
// binary16 bits; all fields are little-endian.
//===----------------------------------------------------------------------===//

/// Q4_0: value = (q - 8) * d, q the 4-bit code; element j in the low nibble
/// of qs[j], element j + 16 in the high nibble.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kBlock32 / 2];
};
/// Q4_1: value = q * d + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kBlock32 / 2];
};
/// Q5_0: value = (q - 16) * d; bit 4 of element j is bit j of qh.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kBlock32 / 2];
};
/// Q5_1: value = q * d + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kBlock32 / 2];
};
/// Q8_0: value = qs[j] * d, qs signed.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kBlock32];
};
/// Q8_1: like Q8_0 plus s = d * sum(qs) (an f16, unused here).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kBlock32];
};
/// Q2_K: 16 sub-blocks of 16; scales[i] holds the 4-bit scale (low nibble)
/// and 4-bit min (high nibble) of sub-block i; value = d * sc * q - dmin * m
/// with 2-bit q.
struct BlockQ2_K {
  uint8_t scales[kSuperBlock / 16];
  uint8_t qs[kSuperBlock / 4];
  uint16_t d;
  uint16_t dmin;
};
/// Q3_K: 16 sub-blocks of 16 with 6-bit scales (offset 32); 3-bit codes,
/// low 2 bits in qs, high bit in hmask; value = d * (sc - 32) * (q - 4).
struct BlockQ3_K {
  uint8_t hmask[kSuperBlock / 8];
  uint8_t qs[kSuperBlock / 4];
  uint8_t scales[12];
  uint16_t d;
};
/// Q4_K: 8 sub-blocks of 32 with 6-bit scales and mins (packed in 12
/// bytes); value = d * sc * q - dmin * m with 4-bit q.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kSuperBlock / 2];
};
/// Q5_K: Q4_K with a fifth code bit in qh.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kSuperBlock / 8];
  uint8_t qs[kSuperBlock / 2];
};
/// Q6_K: 16 sub-blocks of 16 with int8 scales; 6-bit codes (low 4 bits in
/// ql, high 2 in qh); value = d * sc * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kSuperBlock / 2];
  uint8_t qh[kSuperBlock / 4];
  int8_t scales[kSuperBlock / 16];
  uint16_t d;
};
/// Q8_K: an f32 scale, int8 codes and the sums of groups of 16 codes
/// (unused here); value = d * qs[j].
struct BlockQ8_K {
  float d;
  int8_t qs[kSuperBlock];
  int16_t bsums[kSuperBlock / 16];
};

static_assert(sizeof(BlockQ4_0) == 18, "ggml block_q4_0");
static_assert(sizeof(BlockQ4_1) == 20, "ggml block_q4_1");
static_assert(sizeof(BlockQ5_0) == 22, "ggml block_q5_0");
static_assert(sizeof(BlockQ5_1) == 24, "ggml block_q5_1");
static_assert(sizeof(BlockQ8_0) == 34, "ggml block_q8_0");
static_assert(sizeof(BlockQ8_1) == 36, "ggml block_q8_1");
static_assert(sizeof(BlockQ2_K) == 84, "ggml block_q2_K");
static_assert(sizeof(BlockQ3_K) == 110, "ggml block_q3_K");
static_assert(sizeof(BlockQ4_K) == 144, "ggml block_q4_K");
static_assert(sizeof(BlockQ5_K) == 176, "ggml block_q5_K");
static_assert(sizeof(BlockQ6_K) == 210, "ggml block_q6_K");
static_assert(sizeof(BlockQ8_K) == 292, "ggml block_q8_K");

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

/// IEEE binary16 bits to float, exactly (subnormals, infinities; a NaN keeps
/// its sign and payload, shifted into the float's mantissa, as numpy does).
float halfToFloat(uint16_t bits);

/// bfloat16 bits to float: the bits shifted into the top half, exactly.
inline float bfloat16ToFloat(uint16_t bits);

//===----------------------------------------------------------------------===//
// Dequantization
//===----------------------------------------------------------------------===//

/// Dequantizes `elements` consecutive elements of `type` stored at `blocks`
/// (elements / blockElements blocks, read unaligned) into `out`, bit-exact
/// with ggml's dequantize_row_<type> (F32 copied, F16/BF16 widened). Q8_1,
/// which ggml only uses for activations and has no dequantizer for, gives
/// qs[j] * d like Q8_0. Returns false, writing nothing, if `elements` is not
/// a multiple of the type's block size or `type` is not one of GgmlType's
/// enumerators.
bool dequantizeRow(GgmlType type, const uint8_t *blocks, float *out,
                   uint64_t elements);

//===----------------------------------------------------------------------===//
// Quantized structure
//===----------------------------------------------------------------------===//

/// One block of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 or Q8_1 unpacked. `codes` are
/// unsigned, one per element, as nibble's offset-binary codes:
///   Q4_0, Q5_0, Q8_0, Q8_1: value = float(code - zero) * scale with zero =
///     8, 16, 128, 128 (for Q8_*, code = qs + 128), `min` = 0;
///   Q4_1, Q5_1:             value = float(code) * scale + min, zero = 0.
/// Codes have 4, 5 or 8 significant bits.
struct GgmlBlock32 {
  float scale = 0; ///< d, widened from f16.
  float min = 0;   ///< m (Q4_1, Q5_1), widened from f16; else 0.
  uint8_t codes[kBlock32] = {};
};

/// The code bits (4, 5, 8) and zero (8, 16, 128, or 0 for the types with a
/// float min) of a 32-element type; false for other types.
bool block32Geometry(GgmlType type, unsigned &bits, int &zero);

/// Unpacks `blockCount` blocks of a 32-element type (Q4_0 ... Q8_1) from
/// `blocks` into `out`; false if `type` is not one of them.
bool unpackBlocks32(GgmlType type, const uint8_t *blocks, uint64_t blockCount,
                    GgmlBlock32 *out);

/// The 32 floats of `block` (of `type`), bit-exact with dequantizeRow.
void reconstructBlock32(GgmlType type, const GgmlBlock32 &block, float *out);

/// One k-quant super-block (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) of 256 elements
/// unpacked into `subBlocks` sub-blocks of `subBlockElements` elements.
/// Element i of sub-block s (code c = codes[s * subBlockElements + i]) is
///   Q2_K, Q4_K, Q5_K: (d * scales[s]) * float(c) - dmin * mins[s]
///   Q3_K, Q6_K:       (d * scales[s]) * float(c - zero)
/// each product rounded to float as written, with zero = 4 (Q3_K) or 32
/// (Q6_K). Scales and mins are decoded: Q2_K 4-bit, Q3_K the 6-bit scale
/// minus 32 (so -32..31), Q4_K/Q5_K the 6-bit values of get_scale_min_k4,
/// Q6_K the int8 scale. Codes have 2, 3, 4, 5 or 6 bits.
struct GgmlSuperBlock {
  float d = 0;            ///< The super-block scale, widened from f16.
  float dmin = 0;         ///< The scale of the mins (Q2_K, Q4_K, Q5_K); else 0.
  uint32_t subBlocks = 0; ///< 16 (Q2_K, Q3_K, Q6_K) or 8.
  uint32_t subBlockElements = 0; ///< 16 or 32.
  int8_t scales[16] = {};
  uint8_t mins[16] = {}; ///< Q2_K, Q4_K, Q5_K only.
  uint8_t codes[kSuperBlock] = {};
};

/// The code bits and zero of a k-quant type (Q2_K 2/0, Q3_K 3/4, Q4_K 4/0,
/// Q5_K 5/0, Q6_K 6/32) and whether it has mins; false for other types.
bool superBlockGeometry(GgmlType type, unsigned &bits, int &zero,
                        bool &hasMins);

/// Unpacks `blockCount` super-blocks of Q2_K ... Q6_K from `blocks` into
/// `out`; false if `type` is not one of them.
bool unpackSuperBlocks(GgmlType type, const uint8_t *blocks,
                       uint64_t blockCount, GgmlSuperBlock *out);

/// The 256 floats of `block` (of `type`), bit-exact with dequantizeRow.
void reconstructSuperBlock(GgmlType type, const GgmlSuperBlock &block,
                           float *out);

//===----------------------------------------------------------------------===//
// Inline definitions
//===----------------------------------------------------------------------===//

inline float bfloat16ToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  __builtin_memcpy(&value, &wide, sizeof value);
  return value;
}

} // namespace gguf
} // namespace nibble

#endif // NIBBLE_FRONTENDS_GGUF_GGMLDEQUANTIZE_H

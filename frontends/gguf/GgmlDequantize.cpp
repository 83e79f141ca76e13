//===- GgmlDequantize.cpp - ggml block formats and dequantizers -----------===//
//
// One loop per type, written after ggml's dequantize_row_* so each float is
// the same expression: an int code converted to float, multiplied by a float
// scale (itself a float product where ggml has one), then a float min added
// or subtracted. Blocks are copied out of the (possibly unaligned) input with
// memcpy. The structure helpers decode the same bits into GgmlBlock32 /
// GgmlSuperBlock; their reconstruct functions use the documented formulas,
// which are the same expressions.
//
//===----------------------------------------------------------------------===//

#include "frontends/gguf/GgmlDequantize.h"

#include <cstring>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ggml block layouts are read in place: little-endian hosts only"
#endif

namespace nibble {
namespace gguf {

float halfToFloat(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1F;
  uint32_t mantissa = bits & 0x3FF;
  uint32_t result;
  if (exponent == 0x1F) {
    // Infinity or NaN: all-ones exponent, the payload shifted up.
    result = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    // Normal: rebias 15 -> 127.
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    result = sign;
  } else {
    // Subnormal: mantissa * 2^-24; normalize so the leading 1 is bit 10.
    uint32_t shift = 0;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    // The value is 1.m * 2^(-14 - shift).
    result = sign | ((127 - 14 - shift) << 23) | ((mantissa & 0x3FF) << 13);
  }
  float value;
  std::memcpy(&value, &result, sizeof value);
  return value;
}

namespace {

/// Copies block `index` of type T out of `blocks`.
template <typename T> T loadBlock(const uint8_t *blocks, uint64_t index) {
  T block;
  std::memcpy(&block, blocks + index * sizeof(T), sizeof(T));
  return block;
}

/// The 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block
/// (ggml's get_scale_min_k4).
void scaleMinK4(int j, const uint8_t *q, uint8_t &scale, uint8_t &min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/// The 16 6-bit scales of a Q3_K super-block, minus 32.
void scalesQ3K(const uint8_t *packed, int8_t *scales) {
  for (int i = 0; i < 16; ++i) {
    // Low 4 bits: bytes 0..7, low nibbles for 0..7, high for 8..15; high 2
    // bits: bytes 8..11, bits 2*(i / 4) of byte 8 + i % 4.
    int low = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
    int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

void dequantizeQ4_0(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i, y += kBlock32) {
    const BlockQ4_0 b = loadBlock<BlockQ4_0>(blocks, i);
    const float d = halfToFloat(b.d);
    for (uint32_t j = 0; j < kBlock32 / 2; ++j) {
      const int x0 = (b.qs[j] & 0x0F) - 8;
      const int x1 = (b.qs[j] >> 4) - 8;
      y[j] = static_cast<float>(x0) * d;
      y[j + kBlock32 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantizeQ4_1(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i, y += kBlock32) {
    const BlockQ4_1 b = loadBlock<BlockQ4_1>(blocks, i);
    const float d = halfToFloat(b.d);
    const float m = halfToFloat(b.m);
    for (uint32_t j = 0; j < kBlock32 / 2; ++j) {
      const int x0 = b.qs[j] & 0x0F;
      const int x1 = b.qs[j] >> 4;
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kBlock32 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

void dequantizeQ5_0(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i, y += kBlock32) {
    const BlockQ5_0 b = loadBlock<BlockQ5_0>(blocks, i);
    const float d = halfToFloat(b.d);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (uint32_t j = 0; j < kBlock32 / 2; ++j) {
      const int high0 = ((qh >> j) << 4) & 0x10;
      const int high1 = (qh >> (j + 12)) & 0x10;
      const int x0 = ((b.qs[j] & 0x0F) | high0) - 16;
      const int x1 = ((b.qs[j] >> 4) | high1) - 16;
      y[j] = static_cast<float>(x0) * d;
      y[j + kBlock32 / 2] = static_cast<float>(x1) * d;
    }
  }
}

void dequantizeQ5_1(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i, y += kBlock32) {
    const BlockQ5_1 b = loadBlock<BlockQ5_1>(blocks, i);
    const float d = halfToFloat(b.d);
    const float m = halfToFloat(b.m);
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof qh);
    for (uint32_t j = 0; j < kBlock32 / 2; ++j) {
      const int high0 = ((qh >> j) << 4) & 0x10;
      const int high1 = (qh >> (j + 12)) & 0x10;
      const int x0 = (b.qs[j] & 0x0F) | high0;
      const int x1 = (b.qs[j] >> 4) | high1;
      y[j] = static_cast<float>(x0) * d + m;
      y[j + kBlock32 / 2] = static_cast<float>(x1) * d + m;
    }
  }
}

template <typename Block>
void dequantizeQ8(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i, y += kBlock32) {
    const Block b = loadBlock<Block>(blocks, i);
    const float d = halfToFloat(b.d);
    for (uint32_t j = 0; j < kBlock32; ++j)
      y[j] = static_cast<float>(b.qs[j]) * d;
  }
}

void dequantizeQ2_K(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const BlockQ2_K b = loadBlock<BlockQ2_K>(blocks, i);
    const float d = halfToFloat(b.d);
    const float min = halfToFloat(b.dmin);
    const uint8_t *q = b.qs;
    int is = 0;
    for (uint32_t n = 0; n < kSuperBlock; n += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b.scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = min * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ =
                dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
        }
      }
      q += 32;
    }
  }
}

void dequantizeQ3_K(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const BlockQ3_K b = loadBlock<BlockQ3_K>(blocks, i);
    const float dAll = halfToFloat(b.d);
    int8_t scales[16];
    scalesQ3K(b.scales, scales);
    const uint8_t *q = b.qs;
    uint8_t mask = 1;
    int is = 0;
    for (uint32_t n = 0; n < kSuperBlock; n += 128) {
      for (int shift = 0; shift < 8; shift += 2, mask <<= 1) {
        for (int half = 0; half < 2; ++half) {
          const float dl = dAll * static_cast<float>(scales[is++]);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int code =
                ((q[l] >> shift) & 3) - ((b.hmask[l] & mask) ? 0 : 4);
            *y++ = dl * static_cast<float>(code);
          }
        }
      }
      q += 32;
    }
  }
}

/// Q4_K (bits = 4) and Q5_K (bits = 5, high bits in `qh`).
template <typename Block, bool HasHighBits>
void dequantizeQ45_K(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const Block b = loadBlock<Block>(blocks, i);
    const float d = halfToFloat(b.d);
    const float min = halfToFloat(b.dmin);
    const uint8_t *q = b.qs;
    for (int is = 0; is < 8; is += 2, q += 32) {
      uint8_t sc, m;
      scaleMinK4(is, b.scales, sc, m);
      const float d1 = d * static_cast<float>(sc);
      const float m1 = min * static_cast<float>(m);
      scaleMinK4(is + 1, b.scales, sc, m);
      const float d2 = d * static_cast<float>(sc);
      const float m2 = min * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) {
        int code = q[l] & 0xF;
        if constexpr (HasHighBits)
          code += ((b.qh[l] >> is) & 1) ? 16 : 0;
        *y++ = d1 * static_cast<float>(code) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        int code = q[l] >> 4;
        if constexpr (HasHighBits)
          code += ((b.qh[l] >> (is + 1)) & 1) ? 16 : 0;
        *y++ = d2 * static_cast<float>(code) - m2;
      }
    }
  }
}

void dequantizeQ6_K(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const BlockQ6_K b = loadBlock<BlockQ6_K>(blocks, i);
    const float d = halfToFloat(b.d);
    const uint8_t *ql = b.ql;
    const uint8_t *qh = b.qh;
    const int8_t *sc = b.scales;
    for (uint32_t n = 0; n < kSuperBlock; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

void dequantizeQ8_K(const uint8_t *blocks, float *y, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    const BlockQ8_K b = loadBlock<BlockQ8_K>(blocks, i);
    for (uint32_t j = 0; j < kSuperBlock; ++j)
      *y++ = b.d * static_cast<float>(b.qs[j]);
  }
}

} // namespace

bool dequantizeRow(GgmlType type, const uint8_t *blocks, float *out,
                   uint64_t elements) {
  const runtime::GgmlTypeTraits *traits =
      runtime::findGgmlType(static_cast<uint32_t>(type));
  if (!traits || elements % traits->blockElements != 0)
    return false;
  const uint64_t count = elements / traits->blockElements;
  switch (type) {
  case GgmlType::F32:
    if (elements)
      std::memcpy(out, blocks, elements * sizeof(float));
    return true;
  case GgmlType::F16:
  case GgmlType::BF16:
    for (uint64_t i = 0; i < elements; ++i) {
      uint16_t bits;
      std::memcpy(&bits, blocks + 2 * i, sizeof bits);
      out[i] =
          type == GgmlType::F16 ? halfToFloat(bits) : bfloat16ToFloat(bits);
    }
    return true;
  case GgmlType::Q4_0:
    dequantizeQ4_0(blocks, out, count);
    return true;
  case GgmlType::Q4_1:
    dequantizeQ4_1(blocks, out, count);
    return true;
  case GgmlType::Q5_0:
    dequantizeQ5_0(blocks, out, count);
    return true;
  case GgmlType::Q5_1:
    dequantizeQ5_1(blocks, out, count);
    return true;
  case GgmlType::Q8_0:
    dequantizeQ8<BlockQ8_0>(blocks, out, count);
    return true;
  case GgmlType::Q8_1:
    dequantizeQ8<BlockQ8_1>(blocks, out, count);
    return true;
  case GgmlType::Q2_K:
    dequantizeQ2_K(blocks, out, count);
    return true;
  case GgmlType::Q3_K:
    dequantizeQ3_K(blocks, out, count);
    return true;
  case GgmlType::Q4_K:
    dequantizeQ45_K<BlockQ4_K, false>(blocks, out, count);
    return true;
  case GgmlType::Q5_K:
    dequantizeQ45_K<BlockQ5_K, true>(blocks, out, count);
    return true;
  case GgmlType::Q6_K:
    dequantizeQ6_K(blocks, out, count);
    return true;
  case GgmlType::Q8_K:
    dequantizeQ8_K(blocks, out, count);
    return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

bool block32Geometry(GgmlType type, unsigned &bits, int &zero) {
  switch (type) {
  case GgmlType::Q4_0:
    bits = 4, zero = 8;
    return true;
  case GgmlType::Q4_1:
    bits = 4, zero = 0;
    return true;
  case GgmlType::Q5_0:
    bits = 5, zero = 16;
    return true;
  case GgmlType::Q5_1:
    bits = 5, zero = 0;
    return true;
  case GgmlType::Q8_0:
  case GgmlType::Q8_1:
    bits = 8, zero = 128;
    return true;
  default:
    return false;
  }
}

namespace {

/// The 32 codes of a 4-bit block (qs) plus, for 5-bit types, bit 4 from qh.
void unpackNibbles(const uint8_t *qs, const uint8_t *qhBytes, uint8_t *codes) {
  uint32_t qh = 0;
  if (qhBytes)
    std::memcpy(&qh, qhBytes, sizeof qh);
  for (uint32_t j = 0; j < kBlock32 / 2; ++j) {
    codes[j] = static_cast<uint8_t>((qs[j] & 0x0F) | (((qh >> j) & 1) << 4));
    codes[j + 16] =
        static_cast<uint8_t>((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
  }
}

} // namespace

bool unpackBlocks32(GgmlType type, const uint8_t *blocks, uint64_t blockCount,
                    GgmlBlock32 *out) {
  unsigned bits;
  int zero;
  if (!block32Geometry(type, bits, zero))
    return false;
  for (uint64_t i = 0; i < blockCount; ++i) {
    GgmlBlock32 &o = out[i];
    o.min = 0;
    switch (type) {
    case GgmlType::Q4_0: {
      const BlockQ4_0 b = loadBlock<BlockQ4_0>(blocks, i);
      o.scale = halfToFloat(b.d);
      unpackNibbles(b.qs, nullptr, o.codes);
      break;
    }
    case GgmlType::Q4_1: {
      const BlockQ4_1 b = loadBlock<BlockQ4_1>(blocks, i);
      o.scale = halfToFloat(b.d);
      o.min = halfToFloat(b.m);
      unpackNibbles(b.qs, nullptr, o.codes);
      break;
    }
    case GgmlType::Q5_0: {
      const BlockQ5_0 b = loadBlock<BlockQ5_0>(blocks, i);
      o.scale = halfToFloat(b.d);
      unpackNibbles(b.qs, b.qh, o.codes);
      break;
    }
    case GgmlType::Q5_1: {
      const BlockQ5_1 b = loadBlock<BlockQ5_1>(blocks, i);
      o.scale = halfToFloat(b.d);
      o.min = halfToFloat(b.m);
      unpackNibbles(b.qs, b.qh, o.codes);
      break;
    }
    case GgmlType::Q8_0: {
      const BlockQ8_0 b = loadBlock<BlockQ8_0>(blocks, i);
      o.scale = halfToFloat(b.d);
      for (uint32_t j = 0; j < kBlock32; ++j)
        o.codes[j] = static_cast<uint8_t>(b.qs[j] + 128);
      break;
    }
    default: { // Q8_1
      const BlockQ8_1 b = loadBlock<BlockQ8_1>(blocks, i);
      o.scale = halfToFloat(b.d);
      for (uint32_t j = 0; j < kBlock32; ++j)
        o.codes[j] = static_cast<uint8_t>(b.qs[j] + 128);
      break;
    }
    }
  }
  return true;
}

void reconstructBlock32(GgmlType type, const GgmlBlock32 &block, float *out) {
  unsigned bits;
  int zero;
  if (!block32Geometry(type, bits, zero))
    return;
  const bool hasMin = type == GgmlType::Q4_1 || type == GgmlType::Q5_1;
  for (uint32_t j = 0; j < kBlock32; ++j) {
    if (hasMin)
      out[j] = static_cast<float>(block.codes[j]) * block.scale + block.min;
    else
      out[j] = static_cast<float>(block.codes[j] - zero) * block.scale;
  }
}

bool superBlockGeometry(GgmlType type, unsigned &bits, int &zero,
                        bool &hasMins) {
  switch (type) {
  case GgmlType::Q2_K:
    bits = 2, zero = 0, hasMins = true;
    return true;
  case GgmlType::Q3_K:
    bits = 3, zero = 4, hasMins = false;
    return true;
  case GgmlType::Q4_K:
    bits = 4, zero = 0, hasMins = true;
    return true;
  case GgmlType::Q5_K:
    bits = 5, zero = 0, hasMins = true;
    return true;
  case GgmlType::Q6_K:
    bits = 6, zero = 32, hasMins = false;
    return true;
  default:
    return false;
  }
}

bool unpackSuperBlocks(GgmlType type, const uint8_t *blocks,
                       uint64_t blockCount, GgmlSuperBlock *out) {
  unsigned bits;
  int zero;
  bool hasMins;
  if (!superBlockGeometry(type, bits, zero, hasMins))
    return false;
  for (uint64_t i = 0; i < blockCount; ++i) {
    GgmlSuperBlock &o = out[i];
    o = GgmlSuperBlock();
    switch (type) {
    case GgmlType::Q2_K: {
      const BlockQ2_K b = loadBlock<BlockQ2_K>(blocks, i);
      o.d = halfToFloat(b.d);
      o.dmin = halfToFloat(b.dmin);
      o.subBlocks = 16, o.subBlockElements = 16;
      for (int s = 0; s < 16; ++s) {
        o.scales[s] = static_cast<int8_t>(b.scales[s] & 0xF);
        o.mins[s] = b.scales[s] >> 4;
      }
      // Element e = 128 h + 32 j + l: bits 2j of qs[32 h + l].
      for (uint32_t e = 0; e < kSuperBlock; ++e)
        o.codes[e] = (b.qs[32 * (e / 128) + e % 32] >> (2 * (e / 32 % 4))) & 3;
      break;
    }
    case GgmlType::Q3_K: {
      const BlockQ3_K b = loadBlock<BlockQ3_K>(blocks, i);
      o.d = halfToFloat(b.d);
      o.subBlocks = 16, o.subBlockElements = 16;
      scalesQ3K(b.scales, o.scales);
      // Low bits as Q2_K; the high bit is bit 4 h + j of hmask[l].
      for (uint32_t e = 0; e < kSuperBlock; ++e) {
        uint32_t h = e / 128, j = e / 32 % 4, l = e % 32;
        uint8_t low = (b.qs[32 * h + l] >> (2 * j)) & 3;
        uint8_t high = (b.hmask[l] >> (4 * h + j)) & 1;
        o.codes[e] = static_cast<uint8_t>(low | (high << 2));
      }
      break;
    }
    case GgmlType::Q4_K:
    case GgmlType::Q5_K: {
      const bool five = type == GgmlType::Q5_K;
      const uint8_t *qs, *qh = nullptr, *scales;
      BlockQ4_K b4;
      BlockQ5_K b5;
      if (five) {
        b5 = loadBlock<BlockQ5_K>(blocks, i);
        o.d = halfToFloat(b5.d);
        o.dmin = halfToFloat(b5.dmin);
        qs = b5.qs, qh = b5.qh, scales = b5.scales;
      } else {
        b4 = loadBlock<BlockQ4_K>(blocks, i);
        o.d = halfToFloat(b4.d);
        o.dmin = halfToFloat(b4.dmin);
        qs = b4.qs, scales = b4.scales;
      }
      o.subBlocks = 8, o.subBlockElements = 32;
      for (int s = 0; s < 8; ++s) {
        uint8_t sc, m;
        scaleMinK4(s, scales, sc, m);
        o.scales[s] = static_cast<int8_t>(sc);
        o.mins[s] = m;
      }
      // Sub-block s: nibble s % 2 of qs[32 (s / 2) + l]; bit s of qh[l].
      for (uint32_t e = 0; e < kSuperBlock; ++e) {
        uint32_t s = e / 32, l = e % 32;
        uint8_t code = (qs[32 * (s / 2) + l] >> (4 * (s % 2))) & 0xF;
        if (qh)
          code |= ((qh[l] >> s) & 1) << 4;
        o.codes[e] = code;
      }
      break;
    }
    default: { // Q6_K
      const BlockQ6_K b = loadBlock<BlockQ6_K>(blocks, i);
      o.d = halfToFloat(b.d);
      o.subBlocks = 16, o.subBlockElements = 16;
      for (int s = 0; s < 16; ++s)
        o.scales[s] = b.scales[s];
      // Element e = 128 h + 32 g + l: low nibble (g < 2) or high nibble of
      // ql[64 h + 32 (g % 2) + l], bits 2g of qh[32 h + l].
      for (uint32_t e = 0; e < kSuperBlock; ++e) {
        uint32_t h = e / 128, g = e / 32 % 4, l = e % 32;
        uint8_t low = (b.ql[64 * h + 32 * (g % 2) + l] >> (4 * (g / 2))) & 0xF;
        uint8_t high = (b.qh[32 * h + l] >> (2 * g)) & 3;
        o.codes[e] = static_cast<uint8_t>(low | (high << 4));
      }
      break;
    }
    }
  }
  return true;
}

void reconstructSuperBlock(GgmlType type, const GgmlSuperBlock &block,
                           float *out) {
  unsigned bits;
  int zero;
  bool hasMins;
  if (!superBlockGeometry(type, bits, zero, hasMins))
    return;
  // Sub-block sizes by type, not from `block`, so a default-constructed
  // block cannot divide by zero.
  const uint32_t subBlockElements =
      type == GgmlType::Q4_K || type == GgmlType::Q5_K ? 32 : 16;
  for (uint32_t e = 0; e < kSuperBlock; ++e) {
    const uint32_t s = e / subBlockElements;
    const float scale = block.d * static_cast<float>(block.scales[s]);
    const float code = static_cast<float>(block.codes[e] - zero);
    if (hasMins)
      out[e] = scale * code - block.dmin * static_cast<float>(block.mins[s]);
    else
      out[e] = scale * code;
  }
}

} // namespace gguf
} // namespace nibble

//===- GgufPacking.cpp - ggml quantized rows in nibble's packed form ------===//
//
// Built on the block structure of frontends/gguf/GgmlDequantize.h; scale
// products are computed exactly as reconstructSuperBlock (and ggml) round
// them. Compiled with -ffp-contract=off like the rest of the library.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufPacking.h"

#include "frontends/gguf/GgmlDequantize.h"
#include "passes/numerics/Packing.h"

#include <cstring>

using nibble::runtime::GgmlType;

namespace nibble {
namespace llm {

std::optional<PackedWeightLayout> packedLayoutForGgmlType(GgmlType type) {
  auto layout = [&](unsigned bits, int64_t group, bool hasMins,
                    bool f16Scales) {
    PackedWeightLayout result;
    result.bits = bits;
    result.groupSize = group;
    result.hasMins = hasMins;
    result.f16Scales = f16Scales;
    const runtime::GgmlTypeTraits *traits =
        runtime::findGgmlType(static_cast<uint32_t>(type));
    result.source = traits ? traits->name : "";
    return result;
  };
  switch (type) {
  case GgmlType::Q4_0:
    return layout(4, 32, false, true);
  case GgmlType::Q4_1:
    return layout(4, 32, true, true);
  case GgmlType::Q5_0:
    return layout(5, 32, false, true);
  case GgmlType::Q5_1:
    return layout(5, 32, true, true);
  case GgmlType::Q8_0:
    return layout(8, 32, false, true);
  case GgmlType::Q2_K:
    return layout(2, 16, true, false);
  case GgmlType::Q3_K:
    return layout(3, 16, false, false);
  case GgmlType::Q4_K:
    return layout(4, 32, true, false);
  case GgmlType::Q5_K:
    return layout(5, 32, true, false);
  case GgmlType::Q6_K:
    return layout(6, 16, false, false);
  default:
    return std::nullopt;
  }
}

namespace {

/// Appends the little-endian bytes of `value`.
template <typename T> void appendBytes(std::vector<uint8_t> &out, T value) {
  uint8_t bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

/// Reads the little-endian u16 at `bytes`.
uint16_t loadU16(const uint8_t *bytes) {
  uint16_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

/// Q4_0 ... Q8_0: the f16 scale (and min) bits as stored (d at byte 0, m at
/// byte 2 of every block), codes from unpackBlocks32.
void packBlocks32(GgmlType type, const uint8_t *blocks, uint64_t blockCount,
                  bool hasMins, std::vector<uint8_t> &codes, PackedRows &out) {
  const runtime::GgmlTypeTraits *traits =
      runtime::findGgmlType(static_cast<uint32_t>(type));
  std::vector<gguf::GgmlBlock32> unpacked(blockCount);
  gguf::unpackBlocks32(type, blocks, blockCount, unpacked.data());
  for (uint64_t i = 0; i < blockCount; ++i) {
    const uint8_t *block = blocks + i * traits->blockBytes;
    appendBytes(out.scales, loadU16(block));
    if (hasMins)
      appendBytes(out.mins, loadU16(block + 2));
    codes.insert(codes.end(), unpacked[i].codes,
                 unpacked[i].codes + gguf::kBlock32);
  }
}

/// Q2_K ... Q6_K: per sub-block the f32 scale d * sc and, with mins, the
/// f32 min -(dmin * m).
void packSuperBlocks(GgmlType type, const uint8_t *blocks, uint64_t blockCount,
                     bool hasMins, std::vector<uint8_t> &codes,
                     PackedRows &out) {
  std::vector<gguf::GgmlSuperBlock> unpacked(blockCount);
  gguf::unpackSuperBlocks(type, blocks, blockCount, unpacked.data());
  for (const gguf::GgmlSuperBlock &block : unpacked) {
    for (uint32_t s = 0; s < block.subBlocks; ++s) {
      const float scale = block.d * static_cast<float>(block.scales[s]);
      appendBytes(out.scales, scale);
      if (hasMins) {
        const float min = block.dmin * static_cast<float>(block.mins[s]);
        appendBytes(out.mins, -min);
      }
    }
    codes.insert(codes.end(), block.codes, block.codes + gguf::kSuperBlock);
  }
}

} // namespace

bool packGgmlRows(GgmlType type, const uint8_t *blocks, int64_t rows,
                  int64_t cols, PackedRows &out) {
  std::optional<PackedWeightLayout> layout = packedLayoutForGgmlType(type);
  const runtime::GgmlTypeTraits *traits =
      runtime::findGgmlType(static_cast<uint32_t>(type));
  if (!layout || !traits || rows < 0 || cols < 0 ||
      cols % traits->blockElements != 0)
    return false;
  const uint64_t blockCount =
      static_cast<uint64_t>(rows) * cols / traits->blockElements;
  std::vector<uint8_t> codes;
  codes.reserve(static_cast<size_t>(rows * cols));
  out.scales.clear();
  out.mins.clear();
  if (traits->blockElements == gguf::kBlock32)
    packBlocks32(type, blocks, blockCount, layout->hasMins, codes, out);
  else
    packSuperBlocks(type, blocks, blockCount, layout->hasMins, codes, out);
  out.codes =
      numerics::packCodes(codes.data(), rows, cols, layout->containerBits());
  return true;
}

} // namespace llm
} // namespace nibble

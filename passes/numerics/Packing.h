//===- Packing.h - Dense bit packing of quantized codes ---------*- C++ -*-===//
//
// Codes are packed along each row (along K) into bytes, low bits first:
// element k of a row lives in byte k * bits / 8 at bit offset
// (k % (8 / bits)) * bits. Container widths are 2, 4 and 8 bits; 3-bit codes
// use 4-bit containers. A packed row of K codes has K * container / 8 bytes.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_NUMERICS_PACKING_H
#define NIBBLE_PASSES_NUMERICS_PACKING_H

#include <cstdint>
#include <vector>

namespace nibble::numerics {

/// Storage width of a code of `bits` bits: 2 -> 2, 3 and 4 -> 4, 5..8 -> 8.
unsigned containerBits(unsigned bits);

/// Packs a row-major rows x cols matrix of codes (each < 2^containerBits)
/// into rows x (cols * containerBits / 8) bytes. cols * containerBits must be
/// a multiple of 8.
std::vector<uint8_t> packCodes(const uint8_t *codes, int64_t rows, int64_t cols,
                               unsigned containerBits);

/// Inverse of packCodes.
std::vector<uint8_t> unpackCodes(const uint8_t *packed, int64_t rows,
                                 int64_t cols, unsigned containerBits);

} // namespace nibble::numerics

#endif // NIBBLE_PASSES_NUMERICS_PACKING_H

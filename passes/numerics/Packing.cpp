//===- Packing.cpp - Dense bit packing of quantized codes -----------------===//
//
// Packs codes along each row into bytes, low bits first, in 2-, 4- or 8-bit
// containers; see Packing.h for the layout.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Packing.h"

#include <cassert>
#include <cstddef>

namespace nibble::numerics {

unsigned containerBits(unsigned bits) {
  assert(bits >= 1 && bits <= 8 && "codes have 1 to 8 bits");
  if (bits <= 2)
    return 2;
  if (bits <= 4)
    return 4;
  return 8;
}

std::vector<uint8_t> packCodes(const uint8_t *codes, int64_t rows, int64_t cols,
                               unsigned containerBits) {
  assert((containerBits == 2 || containerBits == 4 || containerBits == 8) &&
         "containers are 2, 4 or 8 bits wide");
  assert(cols * containerBits % 8 == 0 && "a packed row must fill its bytes");
  int64_t rowBytes = cols * containerBits / 8;
  int64_t perByte = 8 / containerBits;
  std::vector<uint8_t> packed(static_cast<size_t>(rows * rowBytes), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t *rowCodes = codes + r * cols;
    uint8_t *rowBytesPtr = packed.data() + r * rowBytes;
    for (int64_t k = 0; k < cols; ++k) {
      assert(rowCodes[k] < (1u << containerBits) && "code too wide");
      unsigned shift = static_cast<unsigned>(k % perByte) * containerBits;
      rowBytesPtr[k / perByte] |= static_cast<uint8_t>(rowCodes[k] << shift);
    }
  }
  return packed;
}

std::vector<uint8_t> unpackCodes(const uint8_t *packed, int64_t rows,
                                 int64_t cols, unsigned containerBits) {
  assert((containerBits == 2 || containerBits == 4 || containerBits == 8) &&
         "containers are 2, 4 or 8 bits wide");
  assert(cols * containerBits % 8 == 0 && "a packed row must fill its bytes");
  int64_t rowBytes = cols * containerBits / 8;
  int64_t perByte = 8 / containerBits;
  unsigned mask = (1u << containerBits) - 1;
  std::vector<uint8_t> codes(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t *rowBytesPtr = packed + r * rowBytes;
    for (int64_t k = 0; k < cols; ++k) {
      unsigned shift = static_cast<unsigned>(k % perByte) * containerBits;
      codes[r * cols + k] =
          static_cast<uint8_t>((rowBytesPtr[k / perByte] >> shift) & mask);
    }
  }
  return codes;
}

} // namespace nibble::numerics

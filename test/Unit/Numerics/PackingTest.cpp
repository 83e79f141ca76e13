//===- PackingTest.cpp - Tests of code bit packing ------------------------===//
//
// Checks the documented layout (element k of a row in byte k * bits / 8 at
// bit offset (k % (8 / bits)) * bits, rows starting on fresh bytes) on known
// bytes and on random codes, and that unpacking inverts packing.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Packing.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace nibble::numerics;

namespace {

TEST(PackingTest, ContainerBits) {
  EXPECT_EQ(containerBits(2), 2u);
  EXPECT_EQ(containerBits(3), 4u);
  EXPECT_EQ(containerBits(4), 4u);
  for (unsigned bits = 5; bits <= 8; ++bits)
    EXPECT_EQ(containerBits(bits), 8u) << bits;
}

TEST(PackingTest, KnownByteLayout) {
  const uint8_t four[] = {1, 2, 3, 4};
  EXPECT_EQ(packCodes(four, 1, 4, 4), (std::vector<uint8_t>{0x21, 0x43}));
  const uint8_t two[] = {1, 2, 3, 0};
  EXPECT_EQ(packCodes(two, 1, 4, 2), (std::vector<uint8_t>{0x39}));
  const uint8_t eight[] = {0x00, 0x7f, 0x80, 0xff};
  EXPECT_EQ(packCodes(eight, 2, 2, 8),
            (std::vector<uint8_t>{0x00, 0x7f, 0x80, 0xff}));
  // Rows start on fresh bytes: [[0xa, 0xb], [0xc, 0xd]].
  const uint8_t rows[] = {0xa, 0xb, 0xc, 0xd};
  EXPECT_EQ(packCodes(rows, 2, 2, 4), (std::vector<uint8_t>{0xba, 0xdc}));
  // 3 rows of 4 two-bit codes: one byte per row.
  const uint8_t twoRows[] = {3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 3};
  EXPECT_EQ(packCodes(twoRows, 3, 4, 2),
            (std::vector<uint8_t>{0x03, 0x0c, 0xc0}));
  EXPECT_EQ(unpackCodes(std::vector<uint8_t>{0x21, 0x43}.data(), 1, 4, 4),
            (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(unpackCodes(std::vector<uint8_t>{0x39}.data(), 1, 4, 2),
            (std::vector<uint8_t>{1, 2, 3, 0}));
}

/// Random codes of `bits` bits from a fixed seed.
std::vector<uint8_t> randomCodes(size_t count, unsigned bits, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> code(0, (1 << bits) - 1);
  std::vector<uint8_t> codes(count);
  for (uint8_t &c : codes)
    c = static_cast<uint8_t>(code(rng));
  return codes;
}

TEST(PackingTest, RandomCodesFollowTheLayoutAndRoundTrip) {
  for (unsigned bits : {2u, 3u, 4u, 5u, 8u}) {
    unsigned container = containerBits(bits);
    for (int64_t rows : {1, 3, 7}) {
      for (int64_t cols : {8, 12, 40}) {
        SCOPED_TRACE("bits " + std::to_string(bits) + ", " +
                     std::to_string(rows) + " x " + std::to_string(cols));
        std::vector<uint8_t> codes =
            randomCodes(rows * cols, bits, unsigned(rows * 100 + cols));
        std::vector<uint8_t> packed =
            packCodes(codes.data(), rows, cols, container);
        int64_t rowBytes = cols * container / 8;
        ASSERT_EQ(int64_t(packed.size()), rows * rowBytes);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t k = 0; k < cols; ++k) {
            uint8_t byte = packed[r * rowBytes + k * container / 8];
            unsigned offset = unsigned(k % (8 / container)) * container;
            ASSERT_EQ((byte >> offset) & ((1u << container) - 1),
                      codes[r * cols + k])
                << "row " << r << ", element " << k;
          }
        EXPECT_EQ(unpackCodes(packed.data(), rows, cols, container), codes);
      }
    }
  }
}

} // namespace

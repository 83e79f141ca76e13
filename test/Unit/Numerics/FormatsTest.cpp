//===- FormatsTest.cpp - Tests of the element and scale formats -----------===//
//
// Every decoder is checked against its format's defining formula on every
// code, and every encoder against a brute-force nearest-value search, so the
// reference never shares code with the implementation.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Formats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace nibble::numerics;

namespace {

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// The bitsandbytes / QLoRA NF4 table, as published.
const float kNF4Table[16] = {-1.0f,
                             -0.6961928009986877f,
                             -0.5250730514526367f,
                             -0.39491748809814453f,
                             -0.28444138169288635f,
                             -0.18477343022823334f,
                             -0.09105003625154495f,
                             0.0f,
                             0.07958029955625534f,
                             0.16093020141124725f,
                             0.24611230194568634f,
                             0.33791524171829224f,
                             0.44070982933044434f,
                             0.5626170039176941f,
                             0.7229568362236023f,
                             1.0f};

/// Index of the value in `values` nearest to `x` (exact, in double); on a tie
/// `*tie` is set and the first index is returned.
size_t bruteForceNearest(const std::vector<double> &values, double x,
                         bool *tie) {
  size_t best = 0;
  double bestDistance = std::fabs(values[0] - x);
  *tie = false;
  for (size_t i = 1; i < values.size(); ++i) {
    double distance = std::fabs(values[i] - x);
    if (distance < bestDistance) {
      best = i;
      bestDistance = distance;
      *tie = false;
    } else if (distance == bestDistance) {
      *tie = true;
    }
  }
  return best;
}

//===----------------------------------------------------------------------===//
// NF4
//===----------------------------------------------------------------------===//

TEST(NF4Test, LevelsAreTheQLoRATableBitExactly) {
  const std::array<float, 16> &levels = nf4Levels();
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(bitsOf(levels[i]), bitsOf(kNF4Table[i])) << "code " << i;
  EXPECT_EQ(formatMaxMagnitude(ElementFormat::NF4), 1.0f);
}

TEST(NF4Test, EncodesEachLevelToItsCode) {
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(encodeNF4(kNF4Table[i]), i);
    EXPECT_EQ(encodeCodebook(ElementFormat::NF4, kNF4Table[i]), i);
    EXPECT_EQ(bitsOf(decodeCodebook(ElementFormat::NF4, i)),
              bitsOf(kNF4Table[i]));
  }
}

TEST(NF4Test, EncodesToTheNearestLevelOnADenseSweep) {
  std::vector<double> levels(kNF4Table, kNF4Table + 16);
  // 200001 points over [-1.2, 1.2]: spacing 1.2e-5, far below the smallest
  // gap between levels (0.0796).
  for (int i = -100000; i <= 100000; ++i) {
    float x = static_cast<float>(i) * 1.2e-5f;
    bool tie;
    size_t nearest = bruteForceNearest(levels, x, &tie);
    uint8_t code = encodeNF4(x);
    ASSERT_LT(code, 16);
    ASSERT_EQ(std::fabs(levels[code] - x), std::fabs(levels[nearest] - x))
        << "x = " << x;
  }
  EXPECT_EQ(encodeNF4(5.0f), 15);
  EXPECT_EQ(encodeNF4(-5.0f), 0);
  EXPECT_EQ(encodeNF4(0.0f), 7);
  EXPECT_EQ(encodeNF4(-0.0f), 7);
}

//===----------------------------------------------------------------------===//
// FP4 E2M1
//===----------------------------------------------------------------------===//

TEST(FP4Test, DecodesAllCodes) {
  const float expected[16] = {0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,
                              4.0f,  6.0f,  -0.0f, -0.5f, -1.0f, -1.5f,
                              -2.0f, -3.0f, -4.0f, -6.0f};
  for (int c = 0; c < 16; ++c) {
    EXPECT_EQ(bitsOf(decodeFP4E2M1(c)), bitsOf(expected[c])) << "code " << c;
    EXPECT_EQ(decodeCodebook(ElementFormat::FP4E2M1, c), expected[c]);
  }
  // Only the low 4 bits are used.
  EXPECT_EQ(decodeFP4E2M1(0xf5), 3.0f);
  EXPECT_EQ(decodeFP4E2M1(0xfd), -3.0f);
  EXPECT_EQ(formatMaxMagnitude(ElementFormat::FP4E2M1), 6.0f);
}

TEST(FP4Test, DecodeMatchesTheE2M1Formula) {
  // bit 3 sign, bits 2-1 exponent with bias 1, bit 0 mantissa; exponent 0 is
  // subnormal: 0.m * 2^0.
  for (int c = 0; c < 16; ++c) {
    int sign = (c >> 3) & 1, exponent = (c >> 1) & 3, mantissa = c & 1;
    double magnitude = exponent == 0
                           ? mantissa * 0.5
                           : std::ldexp(1.0 + mantissa * 0.5, exponent - 1);
    EXPECT_EQ(decodeFP4E2M1(c), sign ? -magnitude : magnitude) << c;
  }
}

TEST(FP4Test, EncodeOfDecodeRoundTrips) {
  // Including code 8 (-0): the encoder keeps the sign of zero.
  for (int c = 0; c < 16; ++c)
    EXPECT_EQ(encodeFP4E2M1(decodeFP4E2M1(c)), c) << "code " << c;
}

TEST(FP4Test, EncodesToTheNearestValueWithTiesToEven) {
  std::vector<double> values;
  for (int c = 0; c < 16; ++c)
    values.push_back(decodeFP4E2M1(c));
  for (int i = -70000; i <= 70000; ++i) {
    float x = static_cast<float>(i) * 1e-4f; // [-7, 7]
    bool tie;
    size_t nearest = bruteForceNearest(values, x, &tie);
    uint8_t code = encodeFP4E2M1(x);
    ASSERT_LT(code, 16);
    ASSERT_EQ(std::fabs(values[code] - x), std::fabs(values[nearest] - x))
        << "x = " << x;
  }
  // Midpoints go to the even code (even mantissa).
  EXPECT_EQ(encodeFP4E2M1(0.25f), 0);  // 0 vs 0.5
  EXPECT_EQ(encodeFP4E2M1(0.75f), 2);  // 0.5 vs 1
  EXPECT_EQ(encodeFP4E2M1(1.25f), 2);  // 1 vs 1.5
  EXPECT_EQ(encodeFP4E2M1(1.75f), 4);  // 1.5 vs 2
  EXPECT_EQ(encodeFP4E2M1(2.5f), 4);   // 2 vs 3
  EXPECT_EQ(encodeFP4E2M1(3.5f), 6);   // 3 vs 4
  EXPECT_EQ(encodeFP4E2M1(5.0f), 6);   // 4 vs 6
  EXPECT_EQ(encodeFP4E2M1(-5.0f), 14); // -4 vs -6
  // Saturation.
  EXPECT_EQ(encodeFP4E2M1(100.0f), 7);
  EXPECT_EQ(encodeFP4E2M1(-100.0f), 15);
  EXPECT_EQ(encodeFP4E2M1(std::numeric_limits<float>::infinity()), 7);
}

//===----------------------------------------------------------------------===//
// FP8 E4M3FN
//===----------------------------------------------------------------------===//

/// E4M3FN by its definition: bias 7, exponent 0 subnormal (m/8 * 2^-6),
/// S.1111.111 NaN, everything else finite.
double fp8Reference(int code) {
  int sign = code >> 7, exponent = (code >> 3) & 0xf, mantissa = code & 7;
  if (exponent == 15 && mantissa == 7)
    return std::numeric_limits<double>::quiet_NaN();
  double magnitude =
      exponent == 0 ? mantissa / 8.0 * std::ldexp(1.0, -6)
                    : (1.0 + mantissa / 8.0) * std::ldexp(1.0, exponent - 7);
  return sign ? -magnitude : magnitude;
}

bool isFP8NaN(int code) { return (code & 0x7f) == 0x7f; }

TEST(FP8Test, DecodesAllCodesByTheDefinition) {
  for (int c = 0; c < 256; ++c) {
    float value = decodeFP8E4M3(c);
    if (isFP8NaN(c)) {
      EXPECT_TRUE(std::isnan(value)) << "code " << c;
      continue;
    }
    EXPECT_EQ(value, fp8Reference(c)) << "code " << c;
    EXPECT_EQ(std::signbit(value), c >= 0x80) << "code " << c;
    EXPECT_EQ(decodeCodebook(ElementFormat::FP8E4M3, c), value);
  }
  EXPECT_EQ(decodeFP8E4M3(0x7e), 448.0f);
  EXPECT_EQ(decodeFP8E4M3(0xfe), -448.0f);
  EXPECT_EQ(decodeFP8E4M3(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(decodeFP8E4M3(0x08), std::ldexp(1.0f, -6));
  EXPECT_EQ(decodeFP8E4M3(0x38), 1.0f);
  EXPECT_EQ(formatMaxMagnitude(ElementFormat::FP8E4M3), 448.0f);
}

TEST(FP8Test, EncodeOfDecodeRoundTripsForFiniteCodes) {
  for (int c = 0; c < 256; ++c) {
    if (isFP8NaN(c))
      continue;
    // 0x80 (-0) comes back as 0x80: the encoder keeps the sign of zero.
    EXPECT_EQ(encodeFP8E4M3(decodeFP8E4M3(c)), c) << "code " << c;
  }
}

TEST(FP8Test, EncodesToTheNearestCodeWithTiesToEven) {
  std::vector<double> values;
  std::vector<int> codes;
  for (int c = 0; c < 256; ++c) {
    if (!isFP8NaN(c)) {
      values.push_back(fp8Reference(c));
      codes.push_back(c);
    }
  }
  std::vector<float> sweep;
  // Linear over [-450, 450], geometric over [2^-13, 460] of both signs, and
  // every midpoint between adjacent codes (the ties).
  for (int i = -45000; i <= 45000; ++i)
    sweep.push_back(static_cast<float>(i) * 0.01f);
  for (float x = std::ldexp(1.0f, -13); x < 460.0f; x *= 1.0007f) {
    sweep.push_back(x);
    sweep.push_back(-x);
  }
  for (int c = 0; c < 0x7e; ++c) {
    float mid = static_cast<float>((fp8Reference(c) + fp8Reference(c + 1)) / 2);
    sweep.push_back(mid);
    sweep.push_back(-mid);
  }
  for (float x : sweep) {
    bool tie;
    size_t nearest = bruteForceNearest(values, x, &tie);
    uint8_t code = encodeFP8E4M3(x);
    ASSERT_FALSE(isFP8NaN(code)) << "x = " << x;
    ASSERT_EQ(std::fabs(fp8Reference(code) - x), std::fabs(values[nearest] - x))
        << "x = " << x;
    if (tie && x != 0.0f) {
      ASSERT_EQ(code % 2, 0) << "tie at x = " << x << " not to even";
    }
  }
  // Ties spelled out: 2^-10 lies between 0 and 2^-9, 3 * 2^-10 between 2^-9
  // (0x01) and 2^-8 (0x02), 1 + 1/16 between 1 (0x38) and 1.125 (0x39).
  EXPECT_EQ(encodeFP8E4M3(std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(encodeFP8E4M3(3 * std::ldexp(1.0f, -10)), 0x02);
  EXPECT_EQ(encodeFP8E4M3(1.0625f), 0x38);
  EXPECT_EQ(encodeFP8E4M3(1.1875f), 0x3a);
  EXPECT_EQ(encodeFP8E4M3(-1.1875f), 0xba);
}

TEST(FP8Test, SaturatesAtPlusMinus448) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {448.0f, 449.0f, 464.0f, 479.0f, 480.0f, 1e6f, 3e38f, inf}) {
    EXPECT_EQ(encodeFP8E4M3(x), 0x7e) << "x = " << x;
    EXPECT_EQ(encodeFP8E4M3(-x), 0xfe) << "x = " << -x;
  }
  EXPECT_TRUE(std::isnan(decodeFP8E4M3(encodeFP8E4M3(std::nanf("")))));
}

//===----------------------------------------------------------------------===//
// F16 and BF16
//===----------------------------------------------------------------------===//

/// binary16 by its definition: bias 15, 10 mantissa bits.
double f16Reference(uint16_t bits) {
  int sign = bits >> 15, exponent = (bits >> 10) & 0x1f,
      mantissa = bits & 0x3ff;
  double magnitude;
  if (exponent == 0x1f)
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN()
                         : std::numeric_limits<double>::infinity();
  else if (exponent == 0)
    magnitude = std::ldexp(mantissa, -24);
  else
    magnitude = std::ldexp(1.0 + mantissa / 1024.0, exponent - 15);
  return sign ? -magnitude : magnitude;
}

/// bfloat16 by its definition: bias 127, 7 mantissa bits.
double bf16Reference(uint16_t bits) {
  int sign = bits >> 15, exponent = (bits >> 7) & 0xff, mantissa = bits & 0x7f;
  double magnitude;
  if (exponent == 0xff)
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN()
                         : std::numeric_limits<double>::infinity();
  else if (exponent == 0)
    magnitude = std::ldexp(mantissa, -133);
  else
    magnitude = std::ldexp(1.0 + mantissa / 128.0, exponent - 127);
  return sign ? -magnitude : magnitude;
}

/// Nearest 16-bit pattern to finite `x` under the decoder `reference`, with
/// ties to even and overflow to infinity (round to nearest even, IEEE style:
/// a value at or above max + ulp/2 rounds to infinity). `infBits` is +inf.
uint16_t nearestBits(double x, double (*reference)(uint16_t),
                     uint16_t infBits) {
  uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  double magnitude = std::fabs(x);
  // Positive patterns 0..infBits increase monotonically in value: find the
  // last one <= magnitude by bisection.
  uint16_t lo = 0, hi = infBits; // reference(lo) <= magnitude < reference(hi)
  if (magnitude >= reference(infBits))
    return sign | infBits;
  while (hi - lo > 1) {
    uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
    if (reference(mid) <= magnitude)
      lo = mid;
    else
      hi = mid;
  }
  double below = reference(lo);
  double above = hi == infBits
                     ? 2 * reference(lo) - reference(lo - 1) // max + ulp
                     : reference(hi);
  uint16_t chosen;
  if (magnitude - below < above - magnitude)
    chosen = lo;
  else if (magnitude - below > above - magnitude)
    chosen = hi;
  else
    chosen = (lo & 1) ? hi : lo;
  return sign | chosen;
}

/// Random finite floats: every exponent equally likely across
/// [2^minExp, 2^maxExp), random mantissa and sign, from a fixed seed.
/// Exponents below -126 all give float subnormals.
std::vector<float> randomFloats(int minExp, int maxExp, int count) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> exponent(minExp, maxExp - 1);
  std::uniform_int_distribution<uint32_t> mantissa(0, 0x7fffff);
  std::vector<float> values;
  for (int i = 0; i < count; ++i) {
    int field = std::max(0, exponent(rng) + 127);
    uint32_t bits = (static_cast<uint32_t>(field) << 23) | mantissa(rng) |
                    ((rng() & 1u) << 31);
    values.push_back(floatOf(bits));
  }
  return values;
}

TEST(F16Test, DecodesEveryPatternByTheDefinition) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    double expected = f16Reference(static_cast<uint16_t>(b));
    float value = f16BitsToFloat(static_cast<uint16_t>(b));
    if (std::isnan(expected))
      ASSERT_TRUE(std::isnan(value)) << std::hex << b;
    else
      ASSERT_EQ(value, expected) << std::hex << b;
  }
}

TEST(F16Test, EncodeOfDecodeRoundTripsEveryNonNaNPattern) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    uint16_t bits = static_cast<uint16_t>(b);
    uint16_t back = floatToF16Bits(f16BitsToFloat(bits));
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff)) // NaN stays NaN.
      ASSERT_TRUE((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) << std::hex << b;
    else
      ASSERT_EQ(back, bits) << std::hex << b;
  }
}

TEST(F16Test, KnownValuesAndTiesToEven) {
  EXPECT_EQ(floatToF16Bits(1.0f), 0x3c00);
  EXPECT_EQ(floatToF16Bits(-2.0f), 0xc000);
  EXPECT_EQ(floatToF16Bits(65504.0f), 0x7bff);
  EXPECT_EQ(floatToF16Bits(0.0f), 0x0000);
  EXPECT_EQ(floatToF16Bits(-0.0f), 0x8000);
  EXPECT_EQ(floatToF16Bits(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToF16Bits(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(floatToF16Bits(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_TRUE(std::isnan(f16BitsToFloat(floatToF16Bits(std::nanf("")))));
  // 1 + 2^-11 is halfway between 0x3c00 and 0x3c01: to even 0x3c00;
  // 1 + 3 * 2^-11 halfway between 0x3c01 and 0x3c02: to even 0x3c02.
  EXPECT_EQ(floatToF16Bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToF16Bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Subnormal ties: 2^-25 between 0 and 0x0001, 3 * 2^-25 between 0x0001
  // and 0x0002.
  EXPECT_EQ(floatToF16Bits(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToF16Bits(3 * std::ldexp(1.0f, -25)), 0x0002);
  // Just above the tie rounds up.
  EXPECT_EQ(floatToF16Bits(std::nextafter(std::ldexp(1.0f, -25), 1.0f)),
            0x0001);
  // Overflow: 65520 is halfway between 65504 and 65536 (= inf's place).
  EXPECT_EQ(floatToF16Bits(65519.0f), 0x7bff);
  EXPECT_EQ(floatToF16Bits(65520.0f), 0x7c00);
  EXPECT_EQ(floatToF16Bits(-65520.0f), 0xfc00);
}

TEST(F16Test, EncodesRandomFloatsToTheNearestPattern) {
  for (float x : randomFloats(-27, 17, 200000))
    ASSERT_EQ(floatToF16Bits(x), nearestBits(x, f16Reference, 0x7c00))
        << "x = " << x;
}

#ifdef __FLT16_MAX__
TEST(F16Test, AgreesWithTheCompilersFloat16) {
  for (float x : randomFloats(-27, 17, 200000)) {
    _Float16 h = static_cast<_Float16>(x);
    uint16_t bits;
    std::memcpy(&bits, &h, sizeof(bits));
    ASSERT_EQ(floatToF16Bits(x), bits) << "x = " << x;
  }
}
#endif

TEST(BF16Test, DecodesEveryPatternByTheDefinition) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    double expected = bf16Reference(static_cast<uint16_t>(b));
    float value = bf16BitsToFloat(static_cast<uint16_t>(b));
    if (std::isnan(expected))
      ASSERT_TRUE(std::isnan(value)) << std::hex << b;
    else
      ASSERT_EQ(value, expected) << std::hex << b;
  }
}

TEST(BF16Test, EncodeOfDecodeRoundTripsEveryNonNaNPattern) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    uint16_t bits = static_cast<uint16_t>(b);
    uint16_t back = floatToBF16Bits(bf16BitsToFloat(bits));
    if ((bits & 0x7f80) == 0x7f80 && (bits & 0x7f))
      ASSERT_TRUE((back & 0x7f80) == 0x7f80 && (back & 0x7f)) << std::hex << b;
    else
      ASSERT_EQ(back, bits) << std::hex << b;
  }
}

TEST(BF16Test, KnownValuesAndTiesToEven) {
  EXPECT_EQ(floatToBF16Bits(1.0f), 0x3f80);
  EXPECT_EQ(floatToBF16Bits(-2.0f), 0xc000);
  EXPECT_EQ(floatToBF16Bits(0.0f), 0x0000);
  EXPECT_EQ(floatToBF16Bits(-0.0f), 0x8000);
  EXPECT_EQ(floatToBF16Bits(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16BitsToFloat(floatToBF16Bits(std::nanf("")))));
  // 1 + 2^-8 is halfway between 0x3f80 and 0x3f81: to even 0x3f80;
  // 1 + 3 * 2^-8 halfway between 0x3f81 and 0x3f82: to even 0x3f82.
  EXPECT_EQ(floatToBF16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBF16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  // The largest float rounds to infinity (it is above max bf16 + ulp/2).
  EXPECT_EQ(floatToBF16Bits(std::numeric_limits<float>::max()), 0x7f80);
  // A float NaN whose payload lives only in the low 16 bits stays NaN.
  EXPECT_TRUE(
      std::isnan(bf16BitsToFloat(floatToBF16Bits(floatOf(0x7f800001)))));
}

TEST(BF16Test, EncodesRandomFloatsToTheNearestPattern) {
  for (float x : randomFloats(-133, 127, 200000))
    ASSERT_EQ(floatToBF16Bits(x), nearestBits(x, bf16Reference, 0x7f80))
        << "x = " << x;
}

//===----------------------------------------------------------------------===//
// roundScaleUp
//===----------------------------------------------------------------------===//

TEST(RoundScaleUpTest, F32IsIdentity) {
  for (float x : randomFloats(-126, 127, 1000))
    EXPECT_EQ(bitsOf(roundScaleUp(std::fabs(x), ScaleType::F32)),
              bitsOf(std::fabs(x)));
}

/// Checks roundScaleUp(x) for 16-bit `type` on positive `x`: it is
/// representable, >= x, and the representable value just below it is < x.
void checkRoundsUp(float x, ScaleType type) {
  bool isF16 = type == ScaleType::F16;
  auto encode = isF16 ? floatToF16Bits : floatToBF16Bits;
  auto decode = isF16 ? f16BitsToFloat : bf16BitsToFloat;
  float up = roundScaleUp(x, type);
  uint16_t bits = encode(up);
  ASSERT_EQ(bitsOf(decode(bits)), bitsOf(up)) << "not representable, x = " << x;
  ASSERT_GE(up, x);
  ASSERT_GT(bits, 0) << "x = " << x; // x > 0, so the result is too.
  ASSERT_LT(decode(static_cast<uint16_t>(bits - 1)), x) << "x = " << x;
}

TEST(RoundScaleUpTest, F16GivesTheSmallestRepresentableNotBelow) {
  // Positive floats from below the smallest subnormal (2^-24) up to 2^15,
  // plus every positive finite f16 value itself (which must be returned
  // unchanged).
  for (float x : randomFloats(-30, 16, 200000))
    checkRoundsUp(std::fabs(x), ScaleType::F16);
  for (uint16_t b = 1; b < 0x7c00; ++b) {
    float x = f16BitsToFloat(b);
    ASSERT_EQ(roundScaleUp(x, ScaleType::F16), x);
  }
  EXPECT_EQ(roundScaleUp(1e-30f, ScaleType::F16), std::ldexp(1.0f, -24));
  EXPECT_EQ(roundScaleUp(65504.0f, ScaleType::F16), 65504.0f);
  // Not even rounding to nearest may go down: just above 1 goes to 1 + ulp.
  EXPECT_EQ(roundScaleUp(std::nextafter(1.0f, 2.0f), ScaleType::F16),
            1.0f + std::ldexp(1.0f, -10));
}

TEST(RoundScaleUpTest, BF16GivesTheSmallestRepresentableNotBelow) {
  for (float x : randomFloats(-133, 127, 200000))
    if (std::fabs(x) < bf16BitsToFloat(0x7f7f))
      checkRoundsUp(std::fabs(x), ScaleType::BF16);
  for (uint16_t b = 1; b < 0x7f80; ++b) {
    float x = bf16BitsToFloat(b);
    ASSERT_EQ(roundScaleUp(x, ScaleType::BF16), x);
  }
  EXPECT_EQ(roundScaleUp(std::nextafter(1.0f, 2.0f), ScaleType::BF16),
            1.0f + std::ldexp(1.0f, -7));
}

} // namespace

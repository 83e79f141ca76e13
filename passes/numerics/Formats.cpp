//===- Formats.cpp - Element formats of quantized weights -----------------===//
//
// Bit-level encoders and decoders for the weight element formats (NF4,
// FP4 E2M1, FP8 E4M3FN) and the 16-bit scale formats (F16, BF16). Every
// encoder rounds to the nearest representable value; ties go to the even code
// (even mantissa) except for NF4, whose levels are not evenly spaced and whose
// ties go to the lower code.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Formats.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

namespace nibble::numerics {

namespace {

/// Bits of a float, without aliasing.
uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

/// Float of the given bits, without aliasing.
float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// FP4 E2M1 magnitudes by the low three bits of the code.
constexpr float kFP4Magnitudes[8] = {0.0f, 0.5f, 1.0f, 1.5f,
                                     2.0f, 3.0f, 4.0f, 6.0f};

/// Shifts `mantissa` right by `shift` bits (1 <= shift < 32), rounding to
/// nearest with ties to even.
uint32_t shiftRightRoundEven(uint32_t mantissa, unsigned shift) {
  uint32_t result = mantissa >> shift;
  uint32_t remainder = mantissa & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (result & 1)))
    ++result;
  return result;
}

} // namespace

const char *elementFormatName(ElementFormat format) {
  switch (format) {
  case ElementFormat::Int:
    return "Int";
  case ElementFormat::NF4:
    return "NF4";
  case ElementFormat::FP4E2M1:
    return "FP4E2M1";
  case ElementFormat::FP8E4M3:
    return "FP8E4M3";
  }
  return "unknown";
}

std::vector<float> codebookLevels(ElementFormat format) {
  std::vector<float> levels;
  switch (format) {
  case ElementFormat::NF4:
    levels.assign(nf4Levels().begin(), nf4Levels().end());
    break;
  case ElementFormat::FP4E2M1:
    for (unsigned code = 0; code < 16; ++code)
      levels.push_back(decodeFP4E2M1(code));
    break;
  case ElementFormat::FP8E4M3:
    for (unsigned code = 0; code < 256; ++code)
      levels.push_back(decodeFP8E4M3(code));
    break;
  case ElementFormat::Int:
    break;
  }
  return levels;
}

const std::array<float, 16> &nf4Levels() {
  static const std::array<float, 16> levels = {-1.0f,
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
  return levels;
}

uint8_t encodeNF4(float value) {
  // Midpoints between adjacent levels; the midpoint of two floats is exact in
  // double, so comparing against them picks the exactly nearest level.
  static const std::array<double, 15> midpoints = [] {
    const std::array<float, 16> &levels = nf4Levels();
    std::array<double, 15> mids;
    for (size_t i = 0; i < mids.size(); ++i)
      mids[i] = (static_cast<double>(levels[i]) + levels[i + 1]) / 2;
    return mids;
  }();
  if (std::isnan(value))
    return 7;
  // The code is the number of midpoints strictly below `value` (ties go to
  // the lower level).
  return static_cast<uint8_t>(std::lower_bound(midpoints.begin(),
                                               midpoints.end(),
                                               static_cast<double>(value)) -
                              midpoints.begin());
}

float decodeFP4E2M1(uint8_t code) {
  float magnitude = kFP4Magnitudes[code & 0x7];
  return (code & 0x8) ? -magnitude : magnitude;
}

uint8_t encodeFP4E2M1(float value) {
  if (std::isnan(value))
    return 0;
  uint8_t sign = std::signbit(value) ? 0x8 : 0x0;
  float magnitude = std::fabs(value);
  uint8_t code = 0;
  // Walk up while the next magnitude is nearer; on an exact midpoint take
  // the even code (even mantissa bit).
  while (code < 7) {
    float mid = (kFP4Magnitudes[code] + kFP4Magnitudes[code + 1]) / 2;
    if (magnitude > mid || (magnitude == mid && (code & 1)))
      ++code;
    else
      break;
  }
  return sign | code;
}

float decodeFP8E4M3(uint8_t code) {
  bool negative = code & 0x80;
  unsigned exponent = (code >> 3) & 0xf;
  unsigned mantissa = code & 0x7;
  if (exponent == 0xf && mantissa == 0x7)
    return std::numeric_limits<float>::quiet_NaN();
  float magnitude = exponent == 0
                        ? std::ldexp(static_cast<float>(mantissa), -9)
                        : std::ldexp(static_cast<float>(8 + mantissa),
                                     static_cast<int>(exponent) - 7 - 3);
  return negative ? -magnitude : magnitude;
}

uint8_t encodeFP8E4M3(float value) {
  uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  if (std::isnan(value))
    return sign | 0x7f;
  float magnitude = std::fabs(value);
  // Saturate: 448 is the largest finite value and everything above rounds to
  // it (including infinity).
  if (magnitude >= 448.0f)
    return sign | 0x7e;
  // Subnormals (and zero): value = m * 2^-9, m in 0..7; m == 8 is the
  // smallest normal, whose code is also 8.
  if (magnitude < 0x1p-6f) {
    float m = std::nearbyint(magnitude * 512.0f);
    return sign | static_cast<uint8_t>(m);
  }
  // Normal: rebias the float's exponent from 127 to 7 and keep 3 mantissa
  // bits, rounding to nearest even; a carry out of the mantissa bumps the
  // exponent, as it should. 447.99... can only round up to 448 (0x7e).
  uint32_t rebiased = floatBits(magnitude) - (120u << 23);
  return sign | static_cast<uint8_t>(shiftRightRoundEven(rebiased, 20));
}

float formatMaxMagnitude(ElementFormat format) {
  switch (format) {
  case ElementFormat::Int:
    assert(false && "Int has no fixed maximum magnitude");
    return 0.0f;
  case ElementFormat::NF4:
    return 1.0f;
  case ElementFormat::FP4E2M1:
    return 6.0f;
  case ElementFormat::FP8E4M3:
    return 448.0f;
  }
  return 0.0f;
}

float decodeCodebook(ElementFormat format, uint8_t code) {
  switch (format) {
  case ElementFormat::Int:
    assert(false && "Int is not a code-book format");
    return 0.0f;
  case ElementFormat::NF4:
    return nf4Levels()[code & 0xf];
  case ElementFormat::FP4E2M1:
    return decodeFP4E2M1(code);
  case ElementFormat::FP8E4M3:
    return decodeFP8E4M3(code);
  }
  return 0.0f;
}

uint8_t encodeCodebook(ElementFormat format, float value) {
  switch (format) {
  case ElementFormat::Int:
    assert(false && "Int is not a code-book format");
    return 0;
  case ElementFormat::NF4:
    return encodeNF4(value);
  case ElementFormat::FP4E2M1:
    return encodeFP4E2M1(value);
  case ElementFormat::FP8E4M3:
    return encodeFP8E4M3(value);
  }
  return 0;
}

uint16_t floatToF16Bits(float value) {
  uint32_t bits = floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;
  uint32_t mantissa = magnitude & 0x7fffff;
  if (magnitude >= 0x7f800000) {
    // Infinity, or NaN kept quiet with the top payload bits.
    if (magnitude == 0x7f800000)
      return sign | 0x7c00;
    return sign | 0x7e00 | static_cast<uint16_t>(mantissa >> 13);
  }
  int exponent = static_cast<int>(magnitude >> 23) - 127;
  if (exponent > 15)
    return sign | 0x7c00;
  if (exponent >= -14) {
    // Normal: keep 10 mantissa bits; a carry out of the mantissa bumps the
    // exponent, and out of the largest exponent gives infinity (0x7c00).
    uint32_t half =
        (static_cast<uint32_t>(exponent + 15) << 10) | (mantissa >> 13);
    uint32_t remainder = mantissa & 0x1fff;
    if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1)))
      ++half;
    return sign | static_cast<uint16_t>(half);
  }
  // Below 2^-25 everything rounds to zero (2^-25 itself is a tie to 0).
  if (exponent < -25)
    return sign;
  // Subnormal: value = m * 2^-24. The full 24-bit significand times
  // 2^(exponent - 23) equals m * 2^-24 for m = significand >> -(exponent + 1).
  uint32_t significand = mantissa | 0x800000;
  unsigned shift = static_cast<unsigned>(-(exponent + 1));
  return sign | static_cast<uint16_t>(shiftRightRoundEven(significand, shift));
}

float f16BitsToFloat(uint16_t bits) {
  bool negative = bits & 0x8000;
  unsigned exponent = (bits >> 10) & 0x1f;
  unsigned mantissa = bits & 0x3ff;
  float magnitude;
  if (exponent == 0x1f)
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN()
                         : std::numeric_limits<float>::infinity();
  else if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else
    magnitude = std::ldexp(static_cast<float>(1024 + mantissa),
                           static_cast<int>(exponent) - 15 - 10);
  return negative ? -magnitude : magnitude;
}

uint16_t floatToBF16Bits(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((bits >> 16) | 0x0040); // Quiet NaN.
  // Round to nearest even on the low 16 bits; a carry propagates into the
  // exponent and turns the largest finite values into infinity as it should.
  uint32_t roundingBias = 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

float bf16BitsToFloat(uint16_t bits) {
  return bitsToFloat(static_cast<uint32_t>(bits) << 16);
}

float roundScaleUp(float value, ScaleType type) {
  if (type == ScaleType::F32 || std::isnan(value))
    return value;
  bool isF16 = type == ScaleType::F16;
  uint16_t bits = isF16 ? floatToF16Bits(value) : floatToBF16Bits(value);
  auto decode = [&](uint16_t b) {
    return isF16 ? f16BitsToFloat(b) : bf16BitsToFloat(b);
  };
  if (decode(bits) < value) {
    // Step one representable value towards +infinity: up in magnitude for a
    // positive number, down in magnitude for a negative one (never -0 < x).
    if (bits & 0x8000)
      --bits;
    else
      ++bits;
  }
  return decode(bits);
}

} // namespace nibble::numerics

//===- Formats.h - Element formats of quantized weights ---------*- C++ -*-===//
//
// Encoding and decoding of the element formats nibble stores weights in:
// integers of 2..8 bits, NF4 (QLoRA), FP4 E2M1 and FP8 E4M3 (OCP "FN"
// variant: no infinities, 0x7f/0xff are NaN, max finite 448), plus the
// 16-bit scale formats F16 and BF16. Plain C++, no LLVM/MLIR dependency, so
// the runtime may reuse it.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_NUMERICS_FORMATS_H
#define NIBBLE_PASSES_NUMERICS_FORMATS_H

#include <array>
#include <cstdint>
#include <vector>

namespace nibble::numerics {

/// How the code of one weight element maps to a real value (before scaling).
enum class ElementFormat {
  /// Integer codes of `bits` bits; symmetric or asymmetric (zero point).
  Int,
  /// 4-bit NormalFloat: 16 levels in [-1, 1] (QLoRA, Dettmers et al. 2023).
  NF4,
  /// 4-bit float, 1 sign, 2 exponent, 1 mantissa bits: ±{0,.5,1,1.5,2,3,4,6}.
  FP4E2M1,
  /// 8-bit float, 1 sign, 4 exponent (bias 7), 3 mantissa bits, finite-only.
  FP8E4M3,
};

/// Storage type of scales.
enum class ScaleType { F32, F16, BF16 };

/// Name of `format` as written in messages: "Int", "NF4", "FP4E2M1",
/// "FP8E4M3".
const char *elementFormatName(ElementFormat format);

/// The 16 NF4 levels in code order (code 0 = -1.0, code 7 = 0.0, code 15 =
/// 1.0), exactly the table of bitsandbytes / QLoRA.
const std::array<float, 16> &nf4Levels();

/// The value of every code of a code-book format, in code order: 16 for NF4
/// and FP4 E2M1, 256 for FP8 E4M3 (NaN codes included). Empty for Int.
std::vector<float> codebookLevels(ElementFormat format);

/// Value of an FP4 E2M1 code (low 4 bits used; bit 3 is the sign).
float decodeFP4E2M1(uint8_t code);
/// Nearest FP4 E2M1 code to `value` (ties to even mantissa), saturating at
/// ±6.
uint8_t encodeFP4E2M1(float value);

/// Value of an FP8 E4M3FN byte (NaN for 0x7f and 0xff).
float decodeFP8E4M3(uint8_t code);
/// Nearest FP8 E4M3FN byte to `value`, round to nearest even, saturating at
/// ±448 (never produces NaN for finite input).
uint8_t encodeFP8E4M3(float value);

/// Nearest NF4 code to `value` (expected in [-1, 1]; clamps outside).
uint8_t encodeNF4(float value);

/// Largest finite magnitude of a non-integer format (1 for NF4, 6 for FP4,
/// 448 for FP8).
float formatMaxMagnitude(ElementFormat format);

/// Value of `code` in a code-book format (NF4, FP4E2M1, FP8E4M3).
float decodeCodebook(ElementFormat format, uint8_t code);
/// Nearest code of a code-book format to `value`.
uint8_t encodeCodebook(ElementFormat format, float value);

/// IEEE binary16 bits of `value`, round to nearest even.
uint16_t floatToF16Bits(float value);
/// Value of IEEE binary16 bits.
float f16BitsToFloat(uint16_t bits);
/// bfloat16 bits of `value`, round to nearest even.
uint16_t floatToBF16Bits(float value);
/// Value of bfloat16 bits.
float bf16BitsToFloat(uint16_t bits);

/// The smallest value representable in `type` that is >= `value` (for
/// positive finite `value`). Scales are rounded upwards so that the quantized
/// grid still covers the group's range.
float roundScaleUp(float value, ScaleType type);

} // namespace nibble::numerics

#endif // NIBBLE_PASSES_NUMERICS_FORMATS_H

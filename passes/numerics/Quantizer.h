//===- Quantizer.h - Round-to-nearest weight quantization -------*- C++ -*-===//
//
// Quantizes a row-major float matrix W[rows][cols] (rows = output channels N,
// cols = reduction dimension K, PyTorch's Linear layout) into one code per
// element plus scales (and zero points), group by group along K.
//
// Code semantics, shared by every consumer (lowering, kernels, docs):
//  - Int, symmetric, b bits: code u in [0, 2^b - 1] is offset binary,
//    value = scale * (u - 2^(b-1)); scale = absmax / (2^(b-1) - 1).
//  - Int, asymmetric, b bits: value = scale * (u - zero), zero in
//    [0, 2^b - 1]; scale = (max - min) / (2^b - 1) with the range widened to
//    contain 0.
//  - NF4 / FP4E2M1 / FP8E4M3: value = scale * decodeCodebook(format, u);
//    scale = absmax / formatMaxMagnitude(format).
// Scales are rounded *up* to their storage type (and, with double
// quantization, to their 8-bit code), and codes are computed against the final
// scale, so every element within the group's range has |w - ŵ| <= scale / 2
// for Int formats.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_NUMERICS_QUANTIZER_H
#define NIBBLE_PASSES_NUMERICS_QUANTIZER_H

#include "passes/numerics/Formats.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nibble::numerics {

/// How a group's scale is chosen.
enum class ScaleSearch {
  /// Cover the whole range of the group (absmax, or min/max).
  AbsMax,
  /// Try shrinking the range by factors 1, 1 - 1/grid, ... down to
  /// 1 - maxShrink and keep the one with the least squared error (GPTQ's
  /// `mse` option, llama.cpp's rmse search).
  Mse,
};

/// Everything that determines how a matrix is quantized.
struct QuantSpec {
  ElementFormat format = ElementFormat::Int;
  /// Bits per code: 2..8 for Int; 4 for NF4/FP4E2M1; 8 for FP8E4M3.
  unsigned bits = 8;
  /// Symmetric (no zero point). Asymmetric is only valid for Int.
  bool symmetric = true;
  /// Elements per group along K: > 0 for per-group, 0 for one group per row
  /// (per-channel), -1 for a single group over the whole matrix (per-tensor).
  int64_t groupSize = 0;
  ScaleType scaleType = ScaleType::F32;
  /// Double quantization: scales are stored as 8-bit unsigned codes with one
  /// f32 scale per `doubleQuantGroup` consecutive scales (row-major order of
  /// the scale matrix). 0 disables it.
  int64_t doubleQuantGroup = 0;
  ScaleSearch search = ScaleSearch::AbsMax;
  /// Mse search resolution and extent.
  int mseGrid = 100;
  float mseMaxShrink = 0.8f;
};

/// Scales that were double-quantized: scale[i] = codes[i] * superScales[i /
/// group].
struct DoubleQuantizedScales {
  std::vector<uint8_t> codes;
  std::vector<float> superScales;
  int64_t group = 0;
};

/// The result of quantizing a matrix. `scales` always holds the final float
/// value of every scale (after rounding to the storage type or double
/// quantization), shape [rows][groupsPerRow] (per-tensor: [1][1]).
struct QuantizedMatrix {
  int64_t rows = 0, cols = 0;
  /// Scale-matrix shape: [scaleRows][groupsPerRow]; scaleRows is `rows`, or 1
  /// for per-tensor. groupsPerRow is cols / groupSize, or 1.
  int64_t scaleRows = 0, groupsPerRow = 0;
  /// One unpacked code per element, row-major [rows][cols].
  std::vector<uint8_t> codes;
  std::vector<float> scales;
  /// Asymmetric only: one zero point per scale.
  std::vector<uint8_t> zeroPoints;
  /// Set when spec.doubleQuantGroup > 0.
  DoubleQuantizedScales doubleQuant;
};

/// Returns an empty string if `spec` is valid for a rows x cols matrix, else
/// a message saying what is wrong (e.g. "K = 100 is not a multiple of the
/// group size 32").
std::string validateQuantSpec(const QuantSpec &spec, int64_t rows,
                              int64_t cols);

/// Returns the index of the first NaN or infinite element of `values`
/// (`count` elements), or -1 if every element is finite. Quantizers check
/// weights and the scales they computed with it: a NaN would otherwise
/// become an arbitrary code and an infinity a NaN row.
int64_t findNonFinite(const float *values, int64_t count);

/// Quantizes `weights` (row-major rows x cols). `spec` must be valid. The
/// weights should be finite (findNonFinite); scales that overflow their
/// storage type come out infinite.
QuantizedMatrix quantizeMatrix(const float *weights, int64_t rows, int64_t cols,
                               const QuantSpec &spec);

/// Writes the dequantized matrix (row-major rows x cols) to `out`.
void dequantizeMatrix(const QuantizedMatrix &q, const QuantSpec &spec,
                      float *out);

/// Double-quantizes positive `scales` with 8-bit codes, rounding each code up
/// so that the dequantized scale is >= the original: 0 <= ŝ - s <=
/// superScale.
DoubleQuantizedScales quantizeScales(const std::vector<float> &scales,
                                     int64_t group);

/// The float scales that `dq` encodes.
std::vector<float> dequantizeScales(const DoubleQuantizedScales &dq);

} // namespace nibble::numerics

#endif // NIBBLE_PASSES_NUMERICS_QUANTIZER_H

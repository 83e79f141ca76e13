//===- Quantizer.cpp - Round-to-nearest weight quantization ---------------===//
//
// Implements the quantizer described in Quantizer.h in three phases:
//  1. every group gets a raw scale (and, when asymmetric, the low end of the
//     range it covers), optionally chosen by an MSE search over shrunk ranges;
//  2. scales are rounded up to their storage type and, with double
//     quantization, replaced by their dequantized 8-bit codes;
//  3. zero points and codes are computed against those final scales.
//
// Groups are always contiguous runs of the row-major matrix (a whole row per
// channel, the whole matrix per tensor), and the group index is the row-major
// index into the scale matrix.
//
// An all-zero group gets scale 0 (stored as such, also under double
// quantization), zero point 0, and every code equal to the code of 0.0 (the
// offset 2^(b-1) for symmetric Int, 0 for asymmetric Int, encodeCodebook(0)
// for code books), so it dequantizes to exactly 0.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Quantizer.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <limits>

namespace nibble::numerics {

namespace {

/// What the code computation needs to know about a spec.
struct CodeParams {
  ElementFormat format;
  bool symmetric;
  /// Largest code, 2^bits - 1.
  int maxCode;
  /// Offset of symmetric Int codes, 2^(bits - 1); 0 otherwise.
  int offset;
  /// The range (absmax, or max - min) divided by this is the scale.
  float levels;
  /// Code of every element of an all-zero group.
  uint8_t zeroGroupCode;
};

CodeParams getCodeParams(const QuantSpec &spec) {
  CodeParams params;
  params.format = spec.format;
  params.symmetric = spec.symmetric;
  params.maxCode = (1 << spec.bits) - 1;
  params.offset = 0;
  if (spec.format == ElementFormat::Int) {
    if (spec.symmetric) {
      params.offset = 1 << (spec.bits - 1);
      params.levels = static_cast<float>(params.offset - 1);
      params.zeroGroupCode = static_cast<uint8_t>(params.offset);
    } else {
      params.levels = static_cast<float>(params.maxCode);
      params.zeroGroupCode = 0;
    }
  } else {
    params.levels = formatMaxMagnitude(spec.format);
    params.zeroGroupCode = encodeCodebook(spec.format, 0.0f);
  }
  return params;
}

/// How the matrix splits into contiguous groups.
struct GroupLayout {
  int64_t numGroups, groupLength, scaleRows, groupsPerRow;
};

GroupLayout getGroupLayout(const QuantSpec &spec, int64_t rows, int64_t cols) {
  if (spec.groupSize < 0)
    return {1, rows * cols, 1, 1};
  if (spec.groupSize == 0)
    return {rows, cols, rows, 1};
  int64_t groupsPerRow = cols / spec.groupSize;
  return {rows * groupsPerRow, spec.groupSize, rows, groupsPerRow};
}

/// The smallest float scale with scale * levels >= range (so the grid covers
/// the range despite the rounding of the division); never 0 for range > 0.
float scaleForRange(double range, float levels) {
  if (range <= 0)
    return 0.0f;
  float scale = static_cast<float>(range / levels);
  scale = std::max(scale, std::numeric_limits<float>::denorm_min());
  while (static_cast<double>(scale) * levels < range)
    scale = std::nextafter(scale, std::numeric_limits<float>::infinity());
  return scale;
}

/// Zero point of an asymmetric group whose range starts at `low` (<= 0).
int zeroPointFor(float low, float scale, const CodeParams &params) {
  if (params.symmetric)
    return params.offset;
  if (scale == 0.0f)
    return 0;
  float zero = std::nearbyint(-low / scale);
  return static_cast<int>(
      std::clamp(zero, 0.0f, static_cast<float>(params.maxCode)));
}

/// Code of `weight` under `scale` and `zero` (the Int offset for symmetric).
uint8_t quantizeElement(float weight, float scale, int zero,
                        const CodeParams &params) {
  if (scale == 0.0f)
    return params.zeroGroupCode;
  if (params.format != ElementFormat::Int)
    return encodeCodebook(params.format, weight / scale);
  float code = std::nearbyint(weight / scale) + static_cast<float>(zero);
  if (!(code >= 0.0f)) // Also catches NaN.
    return 0;
  return static_cast<uint8_t>(
      std::min(code, static_cast<float>(params.maxCode)));
}

/// Value of `code` under `scale` and `zero`.
float dequantizeElement(uint8_t code, float scale, int zero,
                        const CodeParams &params) {
  if (params.format != ElementFormat::Int)
    return scale * decodeCodebook(params.format, code);
  return scale * static_cast<float>(static_cast<int>(code) - zero);
}

/// Sum of squared errors of quantizing `weights[0..n)` with `scale`/`zero`,
/// accumulated in element order. Stops early, returning a partial sum >=
/// `limit`, once the sum reaches `limit` (the sum only grows).
double squaredError(const float *weights, int64_t n, float scale, int zero,
                    const CodeParams &params, double limit) {
  double sum = 0;
  for (int64_t i = 0; i < n && sum < limit; ++i) {
    uint8_t code = quantizeElement(weights[i], scale, zero, params);
    double error = static_cast<double>(weights[i]) -
                   dequantizeElement(code, scale, zero, params);
    sum += error * error;
  }
  return sum;
}

/// Phase-1 result for one group: the scale before storage rounding and the
/// low end of the covered range (asymmetric only).
struct GroupScale {
  float scale = 0.0f;
  float low = 0.0f;
};

/// Scale (rounded to `scaleType`) and range start covering [low, high]
/// (asymmetric) or [-absMax, absMax] (symmetric) shrunk by `shrink`.
GroupScale candidateScale(float low, float high, float absMax, double shrink,
                          const CodeParams &params, ScaleType scaleType,
                          bool roundToStorage) {
  GroupScale result;
  if (params.symmetric) {
    result.scale = scaleForRange(absMax * shrink, params.levels);
  } else {
    result.low = static_cast<float>(low * shrink);
    float shrunkHigh = static_cast<float>(high * shrink);
    result.scale = scaleForRange(static_cast<double>(shrunkHigh) - result.low,
                                 params.levels);
  }
  if (roundToStorage)
    result.scale = roundScaleUp(result.scale, scaleType);
  return result;
}

/// Phase 1 for one group: its raw scale, by AbsMax or by the MSE search.
GroupScale chooseGroupScale(const float *weights, int64_t n,
                            const QuantSpec &spec, const CodeParams &params) {
  // The range always contains 0 (asymmetric ranges are widened to it).
  float low = 0.0f, high = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    low = std::min(low, weights[i]);
    high = std::max(high, weights[i]);
  }
  float absMax = std::max(-low, high);
  if (absMax == 0.0f)
    return GroupScale();
  if (spec.search == ScaleSearch::AbsMax)
    return candidateScale(low, high, absMax, 1.0, params, spec.scaleType,
                          /*roundToStorage=*/false);

  // Mse: shrink factors p = 1 - i / grid for i = 0, 1, ..., floor(maxShrink *
  // grid), so both p = 1 and p = 1 - maxShrink (when on the grid) are tried.
  // The floor forgives 1e-6 of float error, so that 0.7f * 10 counts as 7.
  // Candidates are evaluated with their scale already rounded to the storage
  // type, so without double quantization the error that wins is exactly the
  // error of the final result, and never more than AbsMax's (p = 1). The
  // first (largest) p wins ties.
  int steps = static_cast<int>(
      std::floor(static_cast<double>(spec.mseMaxShrink) * spec.mseGrid + 1e-6));
  GroupScale best;
  double bestError = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= steps; ++i) {
    double shrink = 1.0 - static_cast<double>(i) / spec.mseGrid;
    if (shrink <= 0.0)
      break;
    GroupScale candidate =
        candidateScale(low, high, absMax, shrink, params, spec.scaleType,
                       /*roundToStorage=*/true);
    int zero = zeroPointFor(candidate.low, candidate.scale, params);
    double error =
        squaredError(weights, n, candidate.scale, zero, params, bestError);
    if (error < bestError) {
      bestError = error;
      best = candidate;
    }
  }
  return best;
}

/// The dequantized value of a double-quantized scale; quantizeScales and
/// dequantizeScales must agree bit for bit.
float scaleFromCode(uint8_t code, float superScale) {
  return static_cast<float>(code) * superScale;
}

/// printf into a std::string.
std::string formatMessage(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

std::string formatMessage(const char *format, ...) {
  char buffer[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  return buffer;
}

} // namespace

std::string validateQuantSpec(const QuantSpec &spec, int64_t rows,
                              int64_t cols) {
  if (rows <= 0 || cols <= 0)
    return formatMessage("the matrix must not be empty, got %lld x %lld",
                         static_cast<long long>(rows),
                         static_cast<long long>(cols));
  const char *name = elementFormatName(spec.format);
  switch (spec.format) {
  case ElementFormat::Int:
    if (spec.bits < 2 || spec.bits > 8)
      return formatMessage("Int codes must have 2 to 8 bits, got %u",
                           spec.bits);
    break;
  case ElementFormat::NF4:
  case ElementFormat::FP4E2M1:
    if (spec.bits != 4)
      return formatMessage("%s codes must have 4 bits, got %u", name,
                           spec.bits);
    break;
  case ElementFormat::FP8E4M3:
    if (spec.bits != 8)
      return formatMessage("%s codes must have 8 bits, got %u", name,
                           spec.bits);
    break;
  }
  if (!spec.symmetric && spec.format != ElementFormat::Int)
    return formatMessage("asymmetric quantization (zero points) is only "
                         "supported for Int, not %s",
                         name);
  if (spec.groupSize < -1)
    return formatMessage("the group size must be -1 (per-tensor), 0 "
                         "(per-channel) or positive, got %lld",
                         static_cast<long long>(spec.groupSize));
  if (spec.groupSize > 0 && cols % spec.groupSize != 0)
    return formatMessage("K = %lld is not a multiple of the group size %lld",
                         static_cast<long long>(cols),
                         static_cast<long long>(spec.groupSize));
  if (spec.doubleQuantGroup < 0)
    return formatMessage("the double-quantization group must be 0 (off) or "
                         "positive, got %lld",
                         static_cast<long long>(spec.doubleQuantGroup));
  if (spec.mseGrid <= 0)
    return formatMessage("the MSE search grid must be positive, got %d",
                         spec.mseGrid);
  if (!(spec.mseMaxShrink > 0.0f && spec.mseMaxShrink < 1.0f))
    return formatMessage("the MSE maximum shrink must be in (0, 1), got %g",
                         static_cast<double>(spec.mseMaxShrink));
  return std::string();
}

int64_t findNonFinite(const float *values, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    if (!std::isfinite(values[i]))
      return i;
  return -1;
}

QuantizedMatrix quantizeMatrix(const float *weights, int64_t rows, int64_t cols,
                               const QuantSpec &spec) {
  assert(validateQuantSpec(spec, rows, cols).empty() && "invalid QuantSpec");
  CodeParams params = getCodeParams(spec);
  GroupLayout layout = getGroupLayout(spec, rows, cols);

  QuantizedMatrix result;
  result.rows = rows;
  result.cols = cols;
  result.scaleRows = layout.scaleRows;
  result.groupsPerRow = layout.groupsPerRow;

  // Phase 1: raw scales.
  std::vector<GroupScale> groups(layout.numGroups);
  for (int64_t g = 0; g < layout.numGroups; ++g)
    groups[g] = chooseGroupScale(weights + g * layout.groupLength,
                                 layout.groupLength, spec, params);

  // Phase 2: storage rounding, then double quantization.
  result.scales.resize(layout.numGroups);
  for (int64_t g = 0; g < layout.numGroups; ++g)
    result.scales[g] = roundScaleUp(groups[g].scale, spec.scaleType);
  if (spec.doubleQuantGroup > 0) {
    result.doubleQuant = quantizeScales(result.scales, spec.doubleQuantGroup);
    result.scales = dequantizeScales(result.doubleQuant);
  }

  // Phase 3: zero points and codes against the final scales.
  if (!spec.symmetric)
    result.zeroPoints.resize(layout.numGroups);
  result.codes.resize(static_cast<size_t>(rows * cols));
  for (int64_t g = 0; g < layout.numGroups; ++g) {
    float scale = result.scales[g];
    int zero = zeroPointFor(groups[g].low, scale, params);
    if (!spec.symmetric)
      result.zeroPoints[g] = static_cast<uint8_t>(zero);
    int64_t begin = g * layout.groupLength;
    for (int64_t i = begin; i < begin + layout.groupLength; ++i)
      result.codes[i] = quantizeElement(weights[i], scale, zero, params);
  }
  return result;
}

void dequantizeMatrix(const QuantizedMatrix &q, const QuantSpec &spec,
                      float *out) {
  CodeParams params = getCodeParams(spec);
  assert(q.groupsPerRow > 0 && q.cols % q.groupsPerRow == 0);
  int64_t groupLength = q.cols / q.groupsPerRow;
  for (int64_t r = 0; r < q.rows; ++r) {
    int64_t scaleRow = q.scaleRows == 1 ? 0 : r;
    for (int64_t c = 0; c < q.cols; ++c) {
      int64_t g = scaleRow * q.groupsPerRow + c / groupLength;
      int zero = spec.symmetric ? params.offset : q.zeroPoints[g];
      out[r * q.cols + c] =
          dequantizeElement(q.codes[r * q.cols + c], q.scales[g], zero, params);
    }
  }
}

DoubleQuantizedScales quantizeScales(const std::vector<float> &scales,
                                     int64_t group) {
  assert(group > 0 && "the double-quantization group must be positive");
  DoubleQuantizedScales result;
  result.group = group;
  int64_t n = static_cast<int64_t>(scales.size());
  result.codes.resize(scales.size());
  result.superScales.resize(static_cast<size_t>((n + group - 1) / group));
  for (int64_t begin = 0, s = 0; begin < n; begin += group, ++s) {
    int64_t end = std::min(n, begin + group);
    float maxScale = 0.0f;
    for (int64_t i = begin; i < end; ++i) {
      assert(scales[i] >= 0.0f && std::isfinite(scales[i]) &&
             "scales must be finite and non-negative");
      maxScale = std::max(maxScale, scales[i]);
    }
    // superScale * 255 >= maxScale exactly, so code 255 always suffices.
    float superScale = scaleForRange(maxScale, 255.0f);
    result.superScales[s] = superScale;
    for (int64_t i = begin; i < end; ++i) {
      if (superScale == 0.0f) {
        result.codes[i] = 0;
        continue;
      }
      // The smallest code whose dequantized float is >= the scale; start from
      // the exact ceiling and correct for the rounding of the product.
      double estimate = std::ceil(static_cast<double>(scales[i]) / superScale);
      int code = static_cast<int>(std::min(255.0, estimate));
      while (code < 255 &&
             scaleFromCode(static_cast<uint8_t>(code), superScale) < scales[i])
        ++code;
      while (code > 0 && scaleFromCode(static_cast<uint8_t>(code - 1),
                                       superScale) >= scales[i])
        --code;
      result.codes[i] = static_cast<uint8_t>(code);
    }
  }
  return result;
}

std::vector<float> dequantizeScales(const DoubleQuantizedScales &dq) {
  std::vector<float> scales(dq.codes.size());
  for (size_t i = 0; i < dq.codes.size(); ++i)
    scales[i] = scaleFromCode(
        dq.codes[i], dq.superScales[i / static_cast<size_t>(dq.group)]);
  return scales;
}

} // namespace nibble::numerics

//===- QuantizerTest.cpp - Tests of the round-to-nearest quantizer --------===//
//
// Error bounds are derived from each format's grid: half a step for Int,
// half the widest gap between neighbouring levels for NF4 and FP4, half an
// ulp for FP8. On top of the bound every comparison allows a slack of
// 2^-22 * (|w| + |ŵ| + scale): the division w / scale and the product
// scale * level are each rounded once in float (2^-24 relative), so four
// ulps of the operands cover them with room to spare, while any real
// misrounding (a wrong code) costs at least a whole step and fails.
//
//===----------------------------------------------------------------------===//

#include "passes/numerics/Quantizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace nibble::numerics;

namespace {

/// One element format configuration under test.
struct FormatCase {
  const char *name;
  ElementFormat format;
  unsigned bits;
  bool symmetric;
};

const FormatCase kFormats[] = {
    {"Int2Sym", ElementFormat::Int, 2, true},
    {"Int3Sym", ElementFormat::Int, 3, true},
    {"Int4Sym", ElementFormat::Int, 4, true},
    {"Int8Sym", ElementFormat::Int, 8, true},
    {"Int2Asym", ElementFormat::Int, 2, false},
    {"Int3Asym", ElementFormat::Int, 3, false},
    {"Int4Asym", ElementFormat::Int, 4, false},
    {"Int8Asym", ElementFormat::Int, 8, false},
    {"NF4", ElementFormat::NF4, 4, true},
    {"FP4", ElementFormat::FP4E2M1, 4, true},
    {"FP8", ElementFormat::FP8E4M3, 8, true},
};

QuantSpec makeSpec(const FormatCase &fc, int64_t groupSize,
                   ScaleType scaleType = ScaleType::F32) {
  QuantSpec spec;
  spec.format = fc.format;
  spec.bits = fc.bits;
  spec.symmetric = fc.symmetric;
  spec.groupSize = groupSize;
  spec.scaleType = scaleType;
  return spec;
}

/// Normal(0, 1) weights with row r scaled by 2^(r % 5 - 2), so groups have
/// different scales; a fixed seed makes every run identical.
std::vector<float> randomWeights(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weights(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      weights[r * cols + c] = std::ldexp(normal(rng), int(r % 5) - 2);
  return weights;
}

/// Index into q.scales of element (r, c).
int64_t scaleIndex(const QuantizedMatrix &q, int64_t r, int64_t c) {
  int64_t scaleRow = q.scaleRows == 1 ? 0 : r;
  return scaleRow * q.groupsPerRow + c / (q.cols / q.groupsPerRow);
}

/// The range a group's scale must cover and the number of steps it is
/// divided into, per Quantizer.h: absmax over 2^(b-1) - 1 (symmetric Int),
/// max - min with 0 included over 2^b - 1 (asymmetric Int), absmax over the
/// largest magnitude (code books). Also returns the low end in `*low`.
struct GroupRange {
  double range = 0, levels = 1, low = 0, high = 0;
};

std::vector<GroupRange> groupRanges(const QuantizedMatrix &q,
                                    const QuantSpec &spec,
                                    const std::vector<float> &w) {
  std::vector<GroupRange> ranges(q.scales.size());
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      GroupRange &g = ranges[scaleIndex(q, r, c)];
      g.low = std::min<double>(g.low, w[r * q.cols + c]);
      g.high = std::max<double>(g.high, w[r * q.cols + c]);
    }
  for (GroupRange &g : ranges) {
    if (spec.format != ElementFormat::Int) {
      g.range = std::max(-g.low, g.high);
      g.levels = formatMaxMagnitude(spec.format);
    } else if (spec.symmetric) {
      g.range = std::max(-g.low, g.high);
      g.levels = (1 << (spec.bits - 1)) - 1;
    } else {
      g.range = g.high - g.low;
      g.levels = (1 << spec.bits) - 1;
    }
  }
  return ranges;
}

/// Value of element (r, c) by the code semantics of Quantizer.h, computed
/// here independently of dequantizeMatrix (same float operations).
float referenceValue(const QuantizedMatrix &q, const QuantSpec &spec, int64_t r,
                     int64_t c) {
  int64_t g = scaleIndex(q, r, c);
  uint8_t u = q.codes[r * q.cols + c];
  float scale = q.scales[g];
  if (spec.format != ElementFormat::Int)
    return scale * decodeCodebook(spec.format, u);
  int zero = spec.symmetric ? 1 << (spec.bits - 1) : q.zeroPoints[g];
  return scale * static_cast<float>(int(u) - zero);
}

/// Half the widest gap between adjacent NF4 levels (between -1 and -0.696).
double nf4MaxHalfGap() {
  const std::array<float, 16> &levels = nf4Levels();
  double gap = 0;
  for (int i = 0; i < 15; ++i)
    gap = std::max(gap, double(levels[i + 1]) - levels[i]);
  return gap / 2;
}

/// The largest |w - ŵ| rounding allows for `w` in a group with `scale`
/// whose range contains w (without the float slack).
double roundingBound(const QuantSpec &spec, double w, double scale) {
  switch (spec.format) {
  case ElementFormat::Int:
    return scale / 2;
  case ElementFormat::NF4:
    return scale * nf4MaxHalfGap();
  case ElementFormat::FP4E2M1: {
    // Gaps are 0.5 up to 2, 1 up to 4, 2 up to 6.
    double q = std::fabs(w) / scale;
    return scale * (q <= 2 ? 0.25 : q <= 4 ? 0.5 : 1.0);
  }
  case ElementFormat::FP8E4M3:
    // Half an ulp: 2^-4 relative for normals (3 mantissa bits), 2^-10
    // absolute (in units of scale) for subnormals.
    return std::max(std::fabs(w) * 0x1p-4, scale * 0x1p-10);
  }
  return 0;
}

double floatSlack(double w, double wHat, double scale) {
  return 0x1p-22 * (std::fabs(w) + std::fabs(wHat) + scale);
}

/// The representable value of `type` just below positive `scale`.
double previousRepresentable(float scale, ScaleType type) {
  switch (type) {
  case ScaleType::F32:
    return std::nextafter(scale, 0.0f);
  case ScaleType::F16:
    return f16BitsToFloat(floatToF16Bits(scale) - 1);
  case ScaleType::BF16:
    return bf16BitsToFloat(floatToBF16Bits(scale) - 1);
  }
  return 0;
}

bool isRepresentable(float scale, ScaleType type) {
  switch (type) {
  case ScaleType::F32:
    return true;
  case ScaleType::F16:
    return f16BitsToFloat(floatToF16Bits(scale)) == scale;
  case ScaleType::BF16:
    return bf16BitsToFloat(floatToBF16Bits(scale)) == scale;
  }
  return false;
}

/// The interval [low, high] the grid of group `g` spans (symmetric Int: up
/// to levels steps either side, although code 0 reaches one step further).
std::pair<double, double> gridInterval(const QuantizedMatrix &q,
                                       const QuantSpec &spec, int64_t g) {
  double scale = q.scales[g];
  if (spec.format != ElementFormat::Int)
    return {-scale * formatMaxMagnitude(spec.format),
            scale * formatMaxMagnitude(spec.format)};
  if (spec.symmetric) {
    double levels = (1 << (spec.bits - 1)) - 1;
    return {-scale * levels, scale * levels};
  }
  int zero = q.zeroPoints[g], maxCode = (1 << spec.bits) - 1;
  return {-scale * zero, scale * (maxCode - zero)};
}

/// Checks codes, zero points, dequantization and the error bound of every
/// element of `q` against `w`. With `allowClipping` (MSE search, whose grid
/// may not span the group) an element outside the grid's interval may also
/// be off by its distance to the interval: ŵ is the nearest grid point, so
/// |w - ŵ| <= |w - clamp(w)| + bound(clamp(w)).
void checkElements(const QuantizedMatrix &q, const QuantSpec &spec,
                   const std::vector<float> &w, bool allowClipping = false) {
  ASSERT_EQ(q.codes.size(), w.size());
  if (spec.symmetric) {
    EXPECT_TRUE(q.zeroPoints.empty());
  } else {
    ASSERT_EQ(q.zeroPoints.size(), q.scales.size());
    for (uint8_t zero : q.zeroPoints)
      ASSERT_LE(zero, (1u << spec.bits) - 1);
  }
  std::vector<float> out(w.size());
  dequantizeMatrix(q, spec, out.data());
  for (int64_t r = 0; r < q.rows; ++r) {
    for (int64_t c = 0; c < q.cols; ++c) {
      int64_t i = r * q.cols + c;
      uint8_t code = q.codes[i];
      ASSERT_LT(code, 1u << spec.bits) << "element " << i;
      if (spec.format == ElementFormat::FP8E4M3) {
        ASSERT_NE(code & 0x7f, 0x7f) << "NaN code at element " << i;
      }
      ASSERT_EQ(out[i], referenceValue(q, spec, r, c)) << "element " << i;
      int64_t g = scaleIndex(q, r, c);
      double scale = q.scales[g];
      double error = std::fabs(double(w[i]) - out[i]);
      double inGrid = w[i];
      if (allowClipping) {
        auto [low, high] = gridInterval(q, spec, g);
        inGrid = std::clamp<double>(w[i], low, high);
        error -= std::fabs(w[i] - inGrid);
      }
      ASSERT_LE(error, roundingBound(spec, inGrid, scale) +
                           floatSlack(w[i], out[i], scale))
          << "element (" << r << ", " << c << "), w = " << w[i]
          << ", w^ = " << out[i] << ", scale = " << scale;
    }
  }
}

/// Per-group sums of squared errors, accumulated in element order exactly as
/// the quantizer's MSE search does.
std::vector<double> groupSquaredErrors(const QuantizedMatrix &q,
                                       const QuantSpec &spec,
                                       const std::vector<float> &w) {
  std::vector<float> out(w.size());
  dequantizeMatrix(q, spec, out.data());
  std::vector<double> sums(q.scales.size(), 0.0);
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      double error = double(w[r * q.cols + c]) - out[r * q.cols + c];
      sums[scaleIndex(q, r, c)] += error * error;
    }
  return sums;
}

//===----------------------------------------------------------------------===//
// Every format x granularity x scale type
//===----------------------------------------------------------------------===//

using BoundParam = std::tuple<FormatCase, int64_t, ScaleType>;

class QuantizerBoundTest : public ::testing::TestWithParam<BoundParam> {};

TEST_P(QuantizerBoundTest, ScalesAreTightAndEveryElementIsWithinBound) {
  auto [fc, groupSize, scaleType] = GetParam();
  QuantSpec spec = makeSpec(fc, groupSize, scaleType);
  const int64_t rows = 6, cols = 128;
  ASSERT_EQ(validateQuantSpec(spec, rows, cols), "");
  std::vector<float> w = randomWeights(rows, cols, 42);
  QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, spec);

  EXPECT_EQ(q.rows, rows);
  EXPECT_EQ(q.cols, cols);
  EXPECT_EQ(q.scaleRows, groupSize < 0 ? 1 : rows);
  EXPECT_EQ(q.groupsPerRow, groupSize > 0 ? cols / groupSize : 1);
  ASSERT_EQ(int64_t(q.scales.size()), q.scaleRows * q.groupsPerRow);
  EXPECT_TRUE(q.doubleQuant.codes.empty());

  // Each scale is the smallest value of its storage type whose grid covers
  // the group's range: scale * levels >= range > previous * levels.
  std::vector<GroupRange> ranges = groupRanges(q, spec, w);
  for (size_t g = 0; g < q.scales.size(); ++g) {
    float scale = q.scales[g];
    EXPECT_TRUE(isRepresentable(scale, scaleType)) << "scale " << g;
    EXPECT_GE(double(scale) * ranges[g].levels, ranges[g].range)
        << "scale " << g;
    EXPECT_LT(previousRepresentable(scale, scaleType) * ranges[g].levels,
              ranges[g].range)
        << "scale " << g;
    if (!spec.symmetric) {
      // zero = round(-min / scale).
      EXPECT_LE(std::fabs(q.zeroPoints[g] + ranges[g].low / scale), 0.5 + 1e-6)
          << "zero point " << g;
    }
  }
  checkElements(q, spec, w);
}

std::string boundParamName(const ::testing::TestParamInfo<BoundParam> &info) {
  auto [fc, groupSize, scaleType] = info.param;
  std::string name = fc.name;
  name += groupSize < 0    ? "_Tensor"
          : groupSize == 0 ? "_Channel"
                           : "_G" + std::to_string(groupSize);
  name += scaleType == ScaleType::F32   ? "_F32"
          : scaleType == ScaleType::F16 ? "_F16"
                                        : "_BF16";
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllFormats, QuantizerBoundTest,
                         ::testing::Combine(::testing::ValuesIn(kFormats),
                                            ::testing::Values(-1, 0, 32, 64),
                                            ::testing::Values(ScaleType::F32,
                                                              ScaleType::F16,
                                                              ScaleType::BF16)),
                         boundParamName);

//===----------------------------------------------------------------------===//
// Values on the grid
//===----------------------------------------------------------------------===//

/// The grid point (in units of the scale) and code of column c for `fc`,
/// cycling through every code so that the extreme codes (which set the scale)
/// occur in each row of 256 columns.
std::pair<float, uint8_t> gridPoint(const FormatCase &fc, int64_t c) {
  switch (fc.format) {
  case ElementFormat::Int: {
    int maxCode = (1 << fc.bits) - 1;
    if (fc.symmetric) {
      int n = (1 << (fc.bits - 1)) - 1;
      int k = int(c % (2 * n + 1)) - n; // -n .. n
      return {float(k), uint8_t(k + n + 1)};
    }
    int zero = maxCode / 3;
    int u = int(c % (maxCode + 1));
    return {float(u - zero), uint8_t(u)};
  }
  case ElementFormat::NF4:
    return {nf4Levels()[c % 16], uint8_t(c % 16)};
  case ElementFormat::FP4E2M1:
    return {decodeFP4E2M1(c % 16), uint8_t(c % 16)};
  case ElementFormat::FP8E4M3: {
    uint8_t code = uint8_t(c % 254); // Skips 0x7f..0x80's NaN...
    if (code >= 0x7f)
      code += 1; // ...by shifting 0x7f..0xfd to 0x80..0xfe.
    return {decodeFP8E4M3(code), code};
  }
  }
  return {0.0f, 0};
}

TEST(QuantizerTest, ValuesOnTheGridAreReconstructedExactly) {
  const int64_t rows = 4, cols = 256;
  for (const FormatCase &fc : kFormats) {
    for (ScaleType scaleType : {ScaleType::F32, ScaleType::F16}) {
      SCOPED_TRACE(fc.name);
      QuantSpec spec = makeSpec(fc, /*groupSize=*/0, scaleType);
      std::vector<float> w(rows * cols);
      std::vector<uint8_t> expectedCodes(rows * cols);
      // Row r uses scale 2^(r - 2): every product is exact.
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          auto [value, code] = gridPoint(fc, c);
          w[r * cols + c] = std::ldexp(value, int(r) - 2);
          expectedCodes[r * cols + c] = code;
        }
      QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, spec);
      for (int64_t r = 0; r < rows; ++r)
        EXPECT_EQ(q.scales[r], std::ldexp(1.0f, int(r) - 2)) << "row " << r;
      if (!fc.symmetric) {
        for (uint8_t zero : q.zeroPoints)
          EXPECT_EQ(zero, ((1 << fc.bits) - 1) / 3);
      }
      EXPECT_EQ(q.codes, expectedCodes);
      std::vector<float> out(w.size());
      dequantizeMatrix(q, spec, out.data());
      EXPECT_EQ(out, w);
    }
  }
}

//===----------------------------------------------------------------------===//
// MSE search
//===----------------------------------------------------------------------===//

TEST(QuantizerTest, MseSearchIsNeverWorseThanAbsMax) {
  const int64_t rows = 8, cols = 128;
  // Heavy-tailed weights: one in 16 is multiplied by 6, so many groups have
  // outliers worth clipping.
  std::vector<float> w = randomWeights(rows, cols, 7);
  for (size_t i = 0; i < w.size(); i += 16)
    w[i] *= 6.0f;
  for (const FormatCase &fc : kFormats) {
    for (ScaleType scaleType : {ScaleType::F32, ScaleType::BF16}) {
      SCOPED_TRACE(std::string(fc.name) +
                   (scaleType == ScaleType::F32 ? " F32" : " BF16"));
      QuantSpec absMax = makeSpec(fc, 32, scaleType);
      QuantSpec mse = absMax;
      mse.search = ScaleSearch::Mse;
      QuantizedMatrix qAbsMax = quantizeMatrix(w.data(), rows, cols, absMax);
      QuantizedMatrix qMse = quantizeMatrix(w.data(), rows, cols, mse);
      std::vector<double> errAbsMax = groupSquaredErrors(qAbsMax, absMax, w);
      std::vector<double> errMse = groupSquaredErrors(qMse, mse, w);
      for (size_t g = 0; g < errMse.size(); ++g) {
        // The search tries p = 1, which is exactly AbsMax's scale, and keeps
        // the least error, so this holds exactly, without a tolerance.
        EXPECT_LE(errMse[g], errAbsMax[g]) << "group " << g;
        EXPECT_TRUE(isRepresentable(qMse.scales[g], scaleType));
        EXPECT_LE(qMse.scales[g], qAbsMax.scales[g]) << "group " << g;
      }
      checkElements(qMse, mse, w, /*allowClipping=*/true);
    }
  }
}

/// One 32-element group: the integers -7..7 repeated, plus `outlier`.
std::vector<float> outlierGroup(float outlier) {
  std::vector<float> w(32);
  for (int i = 0; i < 31; ++i)
    w[i] = float(i % 15 - 7);
  w[31] = outlier;
  return w;
}

TEST(QuantizerTest, MseSearchClipsAnOutlierForStrictlyLessError) {
  // Int4 symmetric, AbsMax scale 7.49 / 7: every integer but 0 misses the
  // grid by up to half a step (squared error 2.98). Shrinking to p = 0.94
  // (scale 1.0058) puts them within 0.6% of the grid at the cost of clipping
  // 7.49 to 7.04 (squared error 0.22).
  std::vector<float> w = outlierGroup(7.49f);
  QuantSpec absMax = makeSpec(kFormats[2], /*groupSize=*/32);
  ASSERT_EQ(absMax.bits, 4u);
  QuantSpec mse = absMax;
  mse.search = ScaleSearch::Mse;
  QuantizedMatrix qAbsMax = quantizeMatrix(w.data(), 1, 32, absMax);
  QuantizedMatrix qMse = quantizeMatrix(w.data(), 1, 32, mse);
  double errAbsMax = groupSquaredErrors(qAbsMax, absMax, w)[0];
  double errMse = groupSquaredErrors(qMse, mse, w)[0];
  EXPECT_LT(errMse, errAbsMax);
  EXPECT_LT(qMse.scales[0], qAbsMax.scales[0]);

  // NF4: the levels themselves plus 1.15. AbsMax (scale 1.15) moves the 31
  // values off their levels (squared error 0.14); p = 0.88 (scale 1.012)
  // nearly restores them and clips 1.15 to 1.012 (squared error 0.02).
  std::vector<float> wNF4(32);
  for (int i = 0; i < 31; ++i)
    wNF4[i] = nf4Levels()[i % 16];
  wNF4[31] = 1.15f;
  QuantSpec absMaxNF4 = makeSpec(kFormats[8], 32);
  ASSERT_EQ(absMaxNF4.format, ElementFormat::NF4);
  QuantSpec mseNF4 = absMaxNF4;
  mseNF4.search = ScaleSearch::Mse;
  double errAbsMaxNF4 = groupSquaredErrors(
      quantizeMatrix(wNF4.data(), 1, 32, absMaxNF4), absMaxNF4, wNF4)[0];
  double errMseNF4 = groupSquaredErrors(
      quantizeMatrix(wNF4.data(), 1, 32, mseNF4), mseNF4, wNF4)[0];
  EXPECT_LT(errMseNF4, errAbsMaxNF4);
}

/// The smallest float s with s * levels >= range.
float smallestCoveringScale(double range, double levels) {
  float s = float(range / levels);
  while (double(s) * levels < range)
    s = std::nextafter(s, 1e30f);
  while (double(std::nextafter(s, 0.0f)) * levels >= range)
    s = std::nextafter(s, 0.0f);
  return s;
}

TEST(QuantizerTest, MseShrinkRangeIncludesOneMinusMaxShrink) {
  // Factors are p = 1 - i / grid for i = 0 .. floor(maxShrink * grid): with
  // grid 10 and maxShrink 0.1 exactly p = 1 and p = 0.9 are tried, and on
  // the outlier group p = 0.9 wins (its error is below AbsMax's).
  std::vector<float> w = outlierGroup(7.49f);
  QuantSpec spec = makeSpec(kFormats[2], 32);
  spec.search = ScaleSearch::Mse;
  spec.mseGrid = 10;
  spec.mseMaxShrink = 0.1f;
  QuantizedMatrix q = quantizeMatrix(w.data(), 1, 32, spec);
  EXPECT_EQ(q.scales[0], smallestCoveringScale(7.49f * 0.9, 7));

  // With maxShrink 0.05, floor(0.5) = 0: only p = 1, identical to AbsMax.
  spec.mseMaxShrink = 0.05f;
  QuantizedMatrix qOnlyOne = quantizeMatrix(w.data(), 1, 32, spec);
  QuantizedMatrix qAbsMax =
      quantizeMatrix(w.data(), 1, 32, makeSpec(kFormats[2], 32));
  EXPECT_EQ(qOnlyOne.scales, qAbsMax.scales);
  EXPECT_EQ(qOnlyOne.codes, qAbsMax.codes);
  EXPECT_EQ(qAbsMax.scales[0], smallestCoveringScale(7.49f, 7));
}

//===----------------------------------------------------------------------===//
// Double quantization
//===----------------------------------------------------------------------===//

TEST(DoubleQuantTest, CodesRoundUpByLessThanOneSuperScaleStep) {
  // 1000 log-uniform scales in [2^-12, 2^4], groups of 64: the last group
  // has 1000 - 15 * 64 = 40 scales.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> logScale(-12.0f, 4.0f);
  std::vector<float> scales(1000);
  for (float &s : scales)
    s = std::exp2(logScale(rng));
  DoubleQuantizedScales dq = quantizeScales(scales, 64);
  EXPECT_EQ(dq.group, 64);
  ASSERT_EQ(dq.codes.size(), scales.size());
  ASSERT_EQ(dq.superScales.size(), 16u);
  std::vector<float> back = dequantizeScales(dq);
  ASSERT_EQ(back.size(), scales.size());
  for (size_t begin = 0; begin < scales.size(); begin += 64) {
    size_t end = std::min(scales.size(), begin + 64);
    size_t argMax = begin;
    for (size_t i = begin; i < end; ++i)
      if (scales[i] > scales[argMax])
        argMax = i;
    float superScale = dq.superScales[begin / 64];
    // superScale = max / 255, rounded up just enough to cover the maximum.
    EXPECT_GE(double(superScale) * 255, scales[argMax]);
    EXPECT_LE(double(superScale) * 255, scales[argMax] * (1 + 0x1p-22));
    EXPECT_EQ(dq.codes[argMax], 255);
    for (size_t i = begin; i < end; ++i) {
      double diff = double(back[i]) - scales[i];
      // ŝ is the float product code * superScale; one rounding of it is
      // allowed on top of the step.
      EXPECT_GE(diff, 0.0) << "scale " << i;
      EXPECT_LE(diff, superScale + 0x1p-23 * back[i]) << "scale " << i;
      EXPECT_EQ(back[i], float(dq.codes[i]) * superScale);
      // The code is the smallest that covers the scale.
      if (dq.codes[i] > 0) {
        EXPECT_LT(float(dq.codes[i] - 1) * superScale, scales[i]);
      }
    }
  }
}

TEST(DoubleQuantTest, ZeroScalesGetCodeZero) {
  DoubleQuantizedScales dq = quantizeScales({0.0f, 0.0f, 0.0f, 0.5f, 0.0f}, 3);
  ASSERT_EQ(dq.superScales.size(), 2u);
  EXPECT_EQ(dq.superScales[0], 0.0f);
  EXPECT_EQ(dq.codes, (std::vector<uint8_t>{0, 0, 0, 255, 0}));
  std::vector<float> back = dequantizeScales(dq);
  EXPECT_EQ(back[0], 0.0f);
  EXPECT_GE(back[3], 0.5f);
  EXPECT_EQ(back[4], 0.0f);
}

TEST(DoubleQuantTest, QuantizedMatrixUsesTheDoubleQuantizedScales) {
  const int64_t rows = 16, cols = 128; // 64 scales in groups of 32 elements.
  std::vector<float> w = randomWeights(rows, cols, 11);
  for (const FormatCase &fc : kFormats) {
    for (int64_t dqGroup : {8, 12}) { // 12: the last super-group is partial.
      SCOPED_TRACE(std::string(fc.name) + " dq " + std::to_string(dqGroup));
      QuantSpec spec = makeSpec(fc, 32);
      spec.doubleQuantGroup = dqGroup;
      ASSERT_EQ(validateQuantSpec(spec, rows, cols), "");
      QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, spec);
      const DoubleQuantizedScales &dq = q.doubleQuant;
      EXPECT_EQ(dq.group, dqGroup);
      ASSERT_EQ(dq.codes.size(), q.scales.size());
      ASSERT_EQ(int64_t(dq.superScales.size()), (64 + dqGroup - 1) / dqGroup);
      EXPECT_EQ(q.scales, dequantizeScales(dq));
      // Against the exact scale range / levels: never below it, above it by
      // at most one super-scale step (plus float rounding of the F32 scale
      // and of the product).
      std::vector<GroupRange> ranges = groupRanges(q, spec, w);
      for (size_t g = 0; g < q.scales.size(); ++g) {
        double exact = ranges[g].range / ranges[g].levels;
        double superScale = dq.superScales[g / dqGroup];
        EXPECT_GE(q.scales[g], exact) << "scale " << g;
        EXPECT_LE(q.scales[g] - exact, superScale + 0x1p-22 * q.scales[g])
            << "scale " << g;
      }
      checkElements(q, spec, w);
    }
  }
}

//===----------------------------------------------------------------------===//
// All-zero groups
//===----------------------------------------------------------------------===//

TEST(QuantizerTest, AllZeroGroupsDequantizeToZero) {
  // Row 1 is all zeros (both of its groups); row 2's first group is zeros
  // (one of them -0.0).
  const int64_t rows = 3, cols = 64;
  std::vector<float> w = randomWeights(rows, cols, 5);
  for (int64_t c = 0; c < cols; ++c)
    w[cols + c] = 0.0f;
  for (int64_t c = 0; c < 32; ++c)
    w[2 * cols + c] = c == 3 ? -0.0f : 0.0f;
  const std::vector<int64_t> zeroGroups = {2, 3, 4};
  for (const FormatCase &fc : kFormats) {
    for (int64_t dqGroup : {0, 4}) {
      SCOPED_TRACE(std::string(fc.name) + " dq " + std::to_string(dqGroup));
      QuantSpec spec = makeSpec(fc, 32);
      spec.doubleQuantGroup = dqGroup;
      QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, spec);
      uint8_t zeroCode = fc.format == ElementFormat::Int
                             ? (fc.symmetric ? 1 << (fc.bits - 1) : 0)
                             : encodeCodebook(fc.format, 0.0f);
      for (int64_t g : zeroGroups) {
        EXPECT_EQ(q.scales[g], 0.0f) << "group " << g;
        if (!fc.symmetric) {
          EXPECT_EQ(q.zeroPoints[g], 0) << "group " << g;
        }
        for (int64_t i = g * 32; i < (g + 1) * 32; ++i)
          EXPECT_EQ(q.codes[i], zeroCode) << "element " << i;
      }
      std::vector<float> out(w.size());
      dequantizeMatrix(q, spec, out.data());
      for (int64_t g : zeroGroups)
        for (int64_t i = g * 32; i < (g + 1) * 32; ++i)
          EXPECT_EQ(out[i], 0.0f) << "element " << i;
      checkElements(q, spec, w); // The other groups are unaffected.
    }
  }
}

TEST(QuantizerTest, AllZeroMatrixPerTensor) {
  std::vector<float> w(5 * 8, 0.0f);
  for (const FormatCase &fc : kFormats) {
    SCOPED_TRACE(fc.name);
    QuantSpec spec = makeSpec(fc, /*groupSize=*/-1);
    spec.search = ScaleSearch::Mse;
    QuantizedMatrix q = quantizeMatrix(w.data(), 5, 8, spec);
    ASSERT_EQ(q.scales, std::vector<float>{0.0f});
    EXPECT_EQ(q.scaleRows, 1);
    EXPECT_EQ(q.groupsPerRow, 1);
    std::vector<float> out(w.size(), 1.0f);
    dequantizeMatrix(q, spec, out.data());
    EXPECT_EQ(out, w);
  }
}

//===----------------------------------------------------------------------===//
// validateQuantSpec
//===----------------------------------------------------------------------===//

TEST(ValidateQuantSpecTest, AcceptsValidSpecs) {
  for (const FormatCase &fc : kFormats)
    for (int64_t groupSize : {-1, 0, 32, 128})
      EXPECT_EQ(validateQuantSpec(makeSpec(fc, groupSize), 4, 128), "")
          << fc.name << " " << groupSize;
  QuantSpec qlora = makeSpec(kFormats[8], 64, ScaleType::BF16);
  qlora.doubleQuantGroup = 256;
  qlora.search = ScaleSearch::Mse;
  EXPECT_EQ(validateQuantSpec(qlora, 4096, 4096), "");
}

TEST(ValidateQuantSpecTest, ExplainsEachInvalidSpec) {
  QuantSpec spec;
  EXPECT_EQ(validateQuantSpec(spec, 0, 64),
            "the matrix must not be empty, got 0 x 64");
  EXPECT_EQ(validateQuantSpec(spec, 4, -1),
            "the matrix must not be empty, got 4 x -1");

  spec.bits = 1;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "Int codes must have 2 to 8 bits, got 1");
  spec.bits = 9;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "Int codes must have 2 to 8 bits, got 9");

  spec = QuantSpec();
  spec.format = ElementFormat::NF4;
  spec.bits = 8;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "NF4 codes must have 4 bits, got 8");
  spec.format = ElementFormat::FP4E2M1;
  spec.bits = 3;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "FP4E2M1 codes must have 4 bits, got 3");
  spec.format = ElementFormat::FP8E4M3;
  spec.bits = 4;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "FP8E4M3 codes must have 8 bits, got 4");

  spec = QuantSpec();
  spec.format = ElementFormat::NF4;
  spec.bits = 4;
  spec.symmetric = false;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "asymmetric quantization (zero points) is only supported for "
            "Int, not NF4");

  spec = QuantSpec();
  spec.groupSize = -2;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "the group size must be -1 (per-tensor), 0 (per-channel) or "
            "positive, got -2");
  spec.groupSize = 32;
  EXPECT_EQ(validateQuantSpec(spec, 4, 100),
            "K = 100 is not a multiple of the group size 32");
  spec.groupSize = 128;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "K = 64 is not a multiple of the group size 128");

  spec = QuantSpec();
  spec.doubleQuantGroup = -1;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "the double-quantization group must be 0 (off) or positive, got "
            "-1");

  spec = QuantSpec();
  spec.mseGrid = 0;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "the MSE search grid must be positive, got 0");
  spec = QuantSpec();
  for (float shrink : {0.0f, 1.0f, 1.5f, -0.25f}) {
    spec.mseMaxShrink = shrink;
    char expected[80];
    std::snprintf(expected, sizeof(expected),
                  "the MSE maximum shrink must be in (0, 1), got %g",
                  double(shrink));
    EXPECT_EQ(validateQuantSpec(spec, 4, 64), expected);
  }
  spec.mseMaxShrink = 1.5f;
  EXPECT_EQ(validateQuantSpec(spec, 4, 64),
            "the MSE maximum shrink must be in (0, 1), got 1.5");
}

} // namespace

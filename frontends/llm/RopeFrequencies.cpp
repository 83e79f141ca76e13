//===- RopeFrequencies.cpp - RoPE inverse frequencies as Hugging Face's ---===//
//
// Hugging Face computes inverse frequencies in float32 torch tensors; every
// step below is the same float32 operation in the same order (this file is
// compiled with -ffp-contract=off so none is fused), with Python scalars
// rounded to float32 where torch rounds them:
//   1.0 / t         is t.reciprocal() * 1.0 (Tensor.__rtruediv__)
//   base ** t       is torch.pow(float32(base), t)
//   t / s, t * s    round s to float32, then divide or multiply
// Only pow differs: torch's vectorized powf (Sleef, within 1 ulp) against
// the correctly rounded float of the double pow here.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/TransformerConfig.h"

#include <cassert>
#include <cmath>

namespace nibble {
namespace llm {

namespace {

/// float32(base) ** exponent, rounded once from the double result.
float powFloat(double base, float exponent) {
  return static_cast<float>(
      std::pow(static_cast<double>(static_cast<float>(base)),
               static_cast<double>(exponent)));
}

/// Hugging Face's default frequencies:
///   1.0 / (base ** (torch.arange(0, dim, 2).float() / dim)).
std::vector<float> defaultFrequencies(int64_t dim, double base) {
  std::vector<float> frequencies(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    frequencies[i] = (1.0f / powFloat(base, exponent)) * 1.0f;
  }
  return frequencies;
}

/// _compute_llama3_parameters on top of the default frequencies.
void applyLlama3(std::vector<float> &frequencies, const RopeScaling &scaling) {
  const double pi = 3.14159265358979323846;
  float factor = static_cast<float>(scaling.factor);
  float lowFreqFactor = static_cast<float>(scaling.lowFreqFactor);
  double oldContext = static_cast<double>(scaling.originalMaxPositions);
  // Python doubles, compared with float32 tensors (so rounded to float32).
  float lowFreqWavelength =
      static_cast<float>(oldContext / scaling.lowFreqFactor);
  float highFreqWavelength =
      static_cast<float>(oldContext / scaling.highFreqFactor);
  float smoothDenominator =
      static_cast<float>(scaling.highFreqFactor - scaling.lowFreqFactor);
  for (float &frequency : frequencies) {
    float wavelength = (1.0f / frequency) * static_cast<float>(2 * pi);
    // wavelen > low_freq_wavelen: divide by factor.
    float scaled =
        wavelength > lowFreqWavelength ? frequency / factor : frequency;
    bool isMedium =
        !(wavelength < highFreqWavelength) && !(wavelength > lowFreqWavelength);
    if (!isMedium) {
      frequency = scaled;
      continue;
    }
    float smooth =
        ((1.0f / wavelength) * static_cast<float>(oldContext) - lowFreqFactor) /
        smoothDenominator;
    float lowPart = ((1.0f - smooth) * scaled) / factor;
    float highPart = smooth * scaled;
    frequency = lowPart + highPart;
  }
}

} // namespace

std::vector<float> ropeInverseFrequencies(int64_t rotaryDim, double theta,
                                          const RopeScaling &scaling,
                                          int64_t maxPositions) {
  assert(rotaryDim > 0 && rotaryDim % 2 == 0 && "rotary dim must be even");
  double base = theta;
  if (scaling.kind == RopeScaling::Kind::Dynamic) {
    // _compute_dynamic_ntk_parameters with seq_len = max_position_embeddings
    // (the longest sequence a compiled model sees): the bracket is 1.
    double seqLen = static_cast<double>(maxPositions);
    double maxLen = static_cast<double>(maxPositions);
    double dim = static_cast<double>(rotaryDim);
    base = theta *
           std::pow((scaling.factor * seqLen / maxLen) - (scaling.factor - 1),
                    dim / (dim - 2));
  }
  std::vector<float> frequencies = defaultFrequencies(rotaryDim, base);
  switch (scaling.kind) {
  case RopeScaling::Kind::None:
  case RopeScaling::Kind::Dynamic:
    break;
  case RopeScaling::Kind::Linear: {
    float factor = static_cast<float>(scaling.factor);
    for (float &frequency : frequencies)
      frequency /= factor;
    break;
  }
  case RopeScaling::Kind::Llama3:
    applyLlama3(frequencies, scaling);
    break;
  }
  if (!scaling.frequencyFactors.empty()) {
    assert(scaling.frequencyFactors.size() == frequencies.size() &&
           "one frequency factor per inverse frequency");
    for (size_t i = 0; i < frequencies.size(); ++i)
      frequencies[i] /= scaling.frequencyFactors[i];
  }
  return frequencies;
}

} // namespace llm
} // namespace nibble

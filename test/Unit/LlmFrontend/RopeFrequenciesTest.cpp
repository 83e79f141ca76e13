//===- RopeFrequenciesTest.cpp - RoPE inverse frequencies vs transformers -===//
//
// Inputs/rope_frequencies.json holds transformers' float32 inverse
// frequencies (ROPE_INIT_FUNCTIONS, LlamaRotaryEmbedding's default) for 16
// (head dim, theta, scaling) cases, made by Inputs/make_rope_fixtures.py.
// Tolerance: 2 ulp. torch's powf (Sleef, documented within 1 ulp) and the
// correctly rounded pow here may differ by 1 ulp; the linear scaling's
// float division after it can round that difference to 2. All other values
// match exactly: 4 of the 928 differ.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/TransformerConfig.h"

#include "LlmTestUtil.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace nibble;
using namespace nibble::llm;
using nibble::test::llmInput;
using nibble::test::ulpDistance;

namespace {

float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

TEST(RopeFrequencies, MatchTransformers) {
  std::string path = llmInput("rope_frequencies.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(buffer) << path;
  llvm::Expected<llvm::json::Value> root =
      llvm::json::parse((*buffer)->getBuffer());
  ASSERT_TRUE(bool(root)) << llvm::toString(root.takeError());
  const llvm::json::Array *cases = root->getAsObject()->getArray("cases");
  ASSERT_NE(cases, nullptr);
  ASSERT_EQ(cases->size(), 16u);

  int64_t values = 0, inexact = 0, worst = 0;
  for (const llvm::json::Value &entry : *cases) {
    const llvm::json::Object &c = *entry.getAsObject();
    int64_t dim = *c.getInteger("head_dim");
    double theta = *c.getNumber("rope_theta");
    int64_t maxPositions = *c.getInteger("max_position_embeddings");
    const llvm::json::Object &parameters = *c.getObject("rope_parameters");
    llvm::StringRef type = *parameters.getString("rope_type");
    RopeScaling scaling;
    if (type == "linear")
      scaling.kind = RopeScaling::Kind::Linear;
    else if (type == "dynamic")
      scaling.kind = RopeScaling::Kind::Dynamic;
    else if (type == "llama3")
      scaling.kind = RopeScaling::Kind::Llama3;
    else
      ASSERT_EQ(type, "default");
    if (auto factor = parameters.getNumber("factor"))
      scaling.factor = *factor;
    if (auto low = parameters.getNumber("low_freq_factor"))
      scaling.lowFreqFactor = *low;
    if (auto high = parameters.getNumber("high_freq_factor"))
      scaling.highFreqFactor = *high;
    if (auto original =
            parameters.getInteger("original_max_position_embeddings"))
      scaling.originalMaxPositions = *original;

    std::vector<float> got =
        ropeInverseFrequencies(dim, theta, scaling, maxPositions);
    const llvm::json::Array &bits = *c.getArray("inv_freq_bits");
    ASSERT_EQ(got.size(), bits.size()) << type.str() << " dim " << dim;
    for (size_t i = 0; i < got.size(); ++i) {
      uint32_t expectedBits = 0;
      ASSERT_FALSE(bits[i].getAsString()->getAsInteger(0, expectedBits));
      float expected = floatFromBits(expectedBits);
      int64_t ulps = ulpDistance(got[i], expected);
      EXPECT_LE(ulps, 2) << type.str() << " dim " << dim << " theta " << theta
                         << " i " << i << ": " << got[i] << " vs " << expected;
      ++values;
      inexact += ulps != 0;
      worst = std::max(worst, ulps);
    }
  }
  EXPECT_EQ(values, 928);
  // With transformers 5.23 / torch 2.15: 4 values differ, by 1, 1, 1 and 2
  // ulp (pow).
  EXPECT_LE(inexact, 4) << "worst " << worst << " ulp";
}

TEST(RopeFrequencies, DefaultFormula) {
  // 1 / theta^(2i/d) within an ulp of the double formula.
  std::vector<float> got = ropeInverseFrequencies(64, 10000.0, {}, 2048);
  ASSERT_EQ(got.size(), 32u);
  EXPECT_EQ(got[0], 1.0f);
  for (int i = 0; i < 32; ++i)
    EXPECT_LE(ulpDistance(got[i],
                          static_cast<float>(std::pow(10000.0, -2.0 * i / 64))),
              1)
        << i;
}

TEST(RopeFrequencies, DynamicEqualsDefaultWithinMaxPositions) {
  RopeScaling dynamic;
  dynamic.kind = RopeScaling::Kind::Dynamic;
  dynamic.factor = 4.0;
  EXPECT_EQ(ropeInverseFrequencies(128, 500000.0, dynamic, 4096),
            ropeInverseFrequencies(128, 500000.0, {}, 4096));
}

TEST(RopeFrequencies, FrequencyFactorsDivide) {
  // llama.cpp's rope_freqs: the factors divide the scaled frequencies.
  RopeScaling scaling;
  scaling.frequencyFactors = {1.0f, 2.0f, 4.0f, 8.0f};
  std::vector<float> plain = ropeInverseFrequencies(8, 10000.0, {}, 128);
  std::vector<float> got = ropeInverseFrequencies(8, 10000.0, scaling, 128);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(got[i], plain[i] / scaling.frequencyFactors[i]);
}

} // namespace

//===- PerplexityTest.cpp - Scoring a text with a language model ----------===//
//
// Log-softmax on hand-computed rows and on logits near +-1e4 (where a naive
// exp overflows), the accumulator's mean, perplexity and llama.cpp's error
// bar, the window plan, and a whole perplexity run over a fake model checked
// against a direct transcription of llama.cpp's loop.
//
//===----------------------------------------------------------------------===//

#include "runtime/Perplexity.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <string>

using namespace nibble::runtime;

namespace {

TEST(PerplexityTest, LogSoftmaxHandComputed) {
  std::vector<float> uniform(4, 0.0f);
  EXPECT_NEAR(logSoftmaxAt(uniform.data(), 4, 2), -std::log(4.0), 1e-15);
  std::vector<float> row = {1.0f, 2.0f, 3.0f};
  double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  for (int t = 0; t < 3; ++t)
    EXPECT_NEAR(logSoftmaxAt(row.data(), 3, t), (t + 1) - std::log(sum), 1e-14);
  // A single token is certain.
  float one = 5.0f;
  EXPECT_EQ(logSoftmaxAt(&one, 1, 0), 0.0);
}

TEST(PerplexityTest, LogSoftmaxIsStableForHugeLogits) {
  // exp(1e4) overflows any float type; shifted by the maximum the row is
  // {0, -1, -2}, whose log-softmax at 0 is -log(1 + e^-1 + e^-2).
  std::vector<float> high = {1e4f, 1e4f - 1, 1e4f - 2};
  double expected = -std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  EXPECT_NEAR(logSoftmaxAt(high.data(), 3, 0), expected, 1e-14);
  EXPECT_NEAR(logSoftmaxAt(high.data(), 3, 2), expected - 2, 1e-14);
  // Far below the maximum: probability e^-20000, log-probability exact.
  std::vector<float> spread = {-1e4f, 1e4f};
  EXPECT_NEAR(logSoftmaxAt(spread.data(), 2, 0), -2e4, 1e-9);
  EXPECT_NEAR(logSoftmaxAt(spread.data(), 2, 1), 0.0, 1e-15);
  // All very negative.
  std::vector<float> low = {-1e4f, -1e4f, -1e4f, -1e4f};
  EXPECT_NEAR(logSoftmaxAt(low.data(), 4, 3), -std::log(4.0), 1e-14);
}

TEST(PerplexityTest, NegativeLogLikelihoodChecksItsInputs) {
  std::vector<float> row = {0.0f, std::log(3.0f)}; // p = {1/4, 3/4}
  double nll = 0;
  ASSERT_EQ(tokenNegativeLogLikelihood(row.data(), 2, 1, nll), NIBBLE_OK);
  EXPECT_NEAR(nll, std::log(4.0 / 3.0), 1e-7);
  EXPECT_EQ(tokenNegativeLogLikelihood(row.data(), 2, 2, nll),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("target token 2 is outside the vocabulary of 2 tokens"),
            std::string::npos)
      << nibble_last_error();
  std::vector<float> bad = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_EQ(tokenNegativeLogLikelihood(bad.data(), 2, 0, nll),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(nibble_last_error()).find("the logit of token 1 is nan"),
      std::string::npos);
  EXPECT_EQ(tokenNegativeLogLikelihood(nullptr, 2, 0, nll),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  // A masked target is impossible: infinite NLL.
  std::vector<float> masked = {-std::numeric_limits<float>::infinity(), 0.0f};
  ASSERT_EQ(tokenNegativeLogLikelihood(masked.data(), 2, 0, nll), NIBBLE_OK);
  EXPECT_EQ(nll, std::numeric_limits<double>::infinity());
}

TEST(PerplexityTest, AccumulatorHandComputed) {
  PerplexityAccumulator accumulator;
  EXPECT_EQ(accumulator.count(), 0);
  EXPECT_EQ(accumulator.perplexity(), 1.0);
  for (double nll : {1.0, 2.0, 3.0})
    accumulator.add(nll);
  EXPECT_EQ(accumulator.count(), 3);
  EXPECT_DOUBLE_EQ(accumulator.meanNll(), 2.0);
  EXPECT_DOUBLE_EQ(accumulator.perplexity(), std::exp(2.0));
  // mean(nll^2) - mean^2 = 14/3 - 4 = 2/3; / (n - 1) = 1/3.
  EXPECT_NEAR(accumulator.perplexityError(), std::sqrt(1.0 / 3) * std::exp(2.0),
              1e-12);
  // Uniform over V tokens has perplexity V.
  PerplexityAccumulator uniform;
  for (int i = 0; i < 10; ++i)
    uniform.add(std::log(50.0));
  EXPECT_NEAR(uniform.perplexity(), 50.0, 1e-12);
  EXPECT_EQ(uniform.perplexityError(), 0.0);
}

TEST(PerplexityTest, PlansLlamaCppWindows) {
  std::vector<PerplexityWindow> windows;
  // nCtx 4: first = 2, rows [2, 3): one target per window, at position 3.
  // 10 tokens: windows at 0 and 4; tokens 8 and 9 are left over.
  ASSERT_EQ(planPerplexityWindows(10, 4, -1, windows), NIBBLE_OK);
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[0].begin, 0);
  EXPECT_EQ(windows[1].begin, 4);
  EXPECT_EQ(windows[1].firstRow, 2);
  EXPECT_EQ(windows[1].endRow, 3);
  // nCtx 512 (llama.cpp's usual): rows 256..510, 255 targets per window.
  ASSERT_EQ(planPerplexityWindows(2000, 512, -1, windows), NIBBLE_OK);
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_EQ(windows[2].begin, 1024);
  EXPECT_EQ(windows[2].firstRow, 256);
  EXPECT_EQ(windows[2].endRow, 511);
  // nCtx 5 (odd): first = 2, rows 2 and 3, targets 3 and 4.
  ASSERT_EQ(planPerplexityWindows(5, 5, -1, windows), NIBBLE_OK);
  ASSERT_EQ(windows.size(), 1u);
  EXPECT_EQ(windows[0].firstRow, 2);
  EXPECT_EQ(windows[0].endRow, 4);
  // At most maxWindows.
  ASSERT_EQ(planPerplexityWindows(100, 10, 3, windows), NIBBLE_OK);
  EXPECT_EQ(windows.size(), 3u);
  ASSERT_EQ(planPerplexityWindows(100, 10, 30, windows), NIBBLE_OK);
  EXPECT_EQ(windows.size(), 10u);
}

TEST(PerplexityTest, PlanErrors) {
  std::vector<PerplexityWindow> windows;
  EXPECT_EQ(planPerplexityWindows(100, 2, -1, windows),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(nibble_last_error()).find("a context of at least 3 tokens"),
      std::string::npos);
  EXPECT_EQ(planPerplexityWindows(9, 10, -1, windows),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("at least one full window of 10 tokens, the text has 9"),
            std::string::npos)
      << nibble_last_error();
  EXPECT_EQ(planPerplexityWindows(100, 10, 0, windows),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(planPerplexityWindows(100, 10, -2, windows),
            NIBBLE_ERROR_INVALID_ARGUMENT);
}

TEST(PerplexityTest, WindowInputGetsBos) {
  std::vector<int32_t> tokens = {2, 10, 11, 12, 13, 14, 15, 16};
  PerplexityWindow second = {4, 2, 3};
  EXPECT_EQ(perplexityWindowInput(tokens.data(), 4, second, true, 2),
            (std::vector<int32_t>{2, 14, 15, 16}));
  EXPECT_EQ(perplexityWindowInput(tokens.data(), 4, second, false, 2),
            (std::vector<int32_t>{13, 14, 15, 16}));
}

TEST(PerplexityTest, ScoresHandComputedWindows) {
  // V = 3; every scored row is {0, 0, log 2}: p = {1/4, 1/4, 1/2}.
  // nCtx 4, tokens 0..7: the targets are tokens[3] = 2 (NLL log 2) and
  // tokens[7] = 0 (NLL log 4): perplexity exp(1.5 log 2) = 2^1.5.
  std::vector<int32_t> tokens = {1, 1, 1, 2, 1, 1, 1, 0};
  std::vector<PerplexityWindow> windows;
  ASSERT_EQ(planPerplexityWindows(tokens.size(), 4, -1, windows), NIBBLE_OK);
  std::vector<float> row = {0.0f, 0.0f, std::log(2.0f)};
  PerplexityAccumulator accumulator;
  for (const PerplexityWindow &window : windows)
    ASSERT_EQ(scorePerplexityWindow(tokens.data(), window, row.data(), 3,
                                    accumulator),
              NIBBLE_OK);
  EXPECT_EQ(accumulator.count(), 2);
  EXPECT_NEAR(accumulator.perplexity(), std::pow(2.0, 1.5), 1e-6);
  // A target outside the vocabulary names its place.
  tokens[7] = 3;
  EXPECT_EQ(scorePerplexityWindow(tokens.data(), windows[1], row.data(), 3,
                                  accumulator),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("perplexity window at token 4, position 2: target token "
                      "3 is outside"),
            std::string::npos)
      << nibble_last_error();
}

/// A fake causal model: the logits at position j depend on every input
/// token up to j (so replacing the first token by BOS changes them all).
std::vector<float> fakeModelLogits(const std::vector<int32_t> &input,
                                   int64_t vocab) {
  std::vector<float> logits(input.size() * vocab);
  int64_t prefix = 0;
  for (size_t j = 0; j < input.size(); ++j) {
    prefix = (prefix * 31 + input[j] + 7) % 1009;
    for (int64_t v = 0; v < vocab; ++v)
      logits[j * vocab + v] = float(3.0 * std::sin(0.37 * v * (prefix + 1)));
  }
  return logits;
}

TEST(PerplexityTest, MatchesLlamaCppLoop) {
  const int64_t vocab = 11, nCtx = 8;
  const int32_t bos = 1;
  std::vector<int32_t> tokens = {bos};
  for (int i = 0; i < 36; ++i)
    tokens.push_back((i * 7 + 3) % vocab);

  // llama.cpp's perplexity(), transcribed: n_chunk = size / n_ctx; each
  // chunk's first token becomes BOS; first = n_ctx / 2; logits[first + i]
  // scores tokens[start + first + i + 1] for i < n_ctx - 1 - first.
  double nll = 0;
  int count = 0;
  for (int64_t chunk = 0; chunk < int64_t(tokens.size()) / nCtx; ++chunk) {
    int64_t start = chunk * nCtx;
    std::vector<int32_t> batch(tokens.begin() + start,
                               tokens.begin() + start + nCtx);
    batch[0] = bos;
    std::vector<float> logits = fakeModelLogits(batch, vocab);
    int64_t first = nCtx / 2;
    for (int64_t i = 0; i < nCtx - 1 - first; ++i) {
      const float *row = &logits[(first + i) * vocab];
      double max = row[0], sum = 0;
      for (int64_t v = 0; v < vocab; ++v)
        max = std::max(max, double(row[v]));
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(row[v] - max);
      nll += -(row[tokens[start + first + i + 1]] - max - std::log(sum));
      ++count;
    }
  }

  std::vector<PerplexityWindow> windows;
  ASSERT_EQ(planPerplexityWindows(tokens.size(), nCtx, -1, windows), NIBBLE_OK);
  PerplexityAccumulator accumulator;
  for (const PerplexityWindow &window : windows) {
    std::vector<int32_t> input =
        perplexityWindowInput(tokens.data(), nCtx, window, true, bos);
    std::vector<float> logits = fakeModelLogits(input, vocab);
    ASSERT_EQ(scorePerplexityWindow(tokens.data(), window,
                                    &logits[window.firstRow * vocab], vocab,
                                    accumulator),
              NIBBLE_OK);
  }
  EXPECT_EQ(accumulator.count(), count);
  EXPECT_EQ(count, 4 * 3); // 37 tokens: 4 windows of 8, 3 targets each
  EXPECT_NEAR(accumulator.meanNll(), nll / count, 1e-12);
  EXPECT_NEAR(accumulator.perplexity(), std::exp(nll / count), 1e-12);
}

} // namespace

//===- SamplerTest.cpp - Choosing the next token
//---------------------------===//
//
// The sampler against a reference written here in plain double precision
// (penalty, then a full sort and the llama.cpp filters one after another):
// the exact distribution it draws from, the empirical frequencies of many
// draws, greedy choices and ties, reproducibility of seeds, the hand-computed
// repetition penalty, option and input errors, and a 262144-token vocabulary.
//
//===----------------------------------------------------------------------===//

#include "runtime/Sampler.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <string>

using namespace nibble::runtime;

namespace {

/// The distribution the options define, computed the slow, obvious way:
/// reference[i] = probability of token i.
std::vector<double> referenceDistribution(const std::vector<float> &logits,
                                          const std::vector<int32_t> &history,
                                          const SamplerOptions &options) {
  size_t vocab = logits.size();
  std::vector<double> l(logits.begin(), logits.end());
  // Penalty: each distinct token of the window once.
  size_t window = options.penaltyLastN < 0
                      ? history.size()
                      : std::min<size_t>(options.penaltyLastN, history.size());
  std::vector<bool> seen(vocab, false);
  for (size_t i = history.size() - window; i < history.size(); ++i)
    seen[history[i]] = true;
  for (size_t t = 0; t < vocab; ++t)
    if (seen[t]) {
      double penalty = options.repetitionPenalty;
      l[t] = l[t] > 0 ? l[t] / penalty : l[t] * penalty;
    }
  // Penalised logits are rounded to float, as the sampler stores them.
  for (double &value : l)
    value = float(value);

  std::vector<size_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return l[a] > l[b] || (l[a] == l[b] && a < b);
  });
  std::vector<double> result(vocab, 0.0);
  if (options.temperature == 0) {
    result[order[0]] = 1;
    return result;
  }
  auto softmax = [&](const std::vector<size_t> &set, double temperature) {
    double max = -std::numeric_limits<double>::infinity();
    for (size_t t : set)
      max = std::max(max, l[t]);
    std::vector<double> p;
    double sum = 0;
    for (size_t t : set) {
      p.push_back(std::exp((l[t] - max) / temperature));
      sum += p.back();
    }
    for (double &x : p)
      x /= sum;
    return p;
  };
  std::vector<size_t> set = order;
  if (options.topK > 0 && size_t(options.topK) < set.size())
    set.resize(options.topK);
  if (options.topP < 1) {
    std::vector<double> p = softmax(set, 1.0);
    double cumulative = 0;
    size_t keep = 0;
    while (keep < set.size()) {
      cumulative += p[keep++];
      if (cumulative >= options.topP)
        break;
    }
    set.resize(keep);
  }
  if (options.minP > 0) {
    std::vector<double> p = softmax(set, 1.0);
    double pMax = *std::max_element(p.begin(), p.end());
    std::vector<size_t> kept;
    for (size_t i = 0; i < set.size(); ++i)
      if (p[i] >= options.minP * pMax)
        kept.push_back(set[i]);
    set = kept;
  }
  std::vector<double> p = softmax(set, options.temperature);
  for (size_t i = 0; i < set.size(); ++i)
    result[set[i]] = p[i];
  return result;
}

/// `count` logits uniform in [low, high) from a fixed std::mt19937 (whose
/// output the standard fixes), converted with our own arithmetic.
std::vector<float> randomLogits(size_t count, uint32_t seed, float low,
                                float high) {
  std::mt19937 engine(seed);
  std::vector<float> logits(count);
  for (float &logit : logits)
    logit = low + (high - low) * float(engine() / 4294967296.0);
  return logits;
}

SamplerOptions makeOptions(float temperature, int64_t topK, float topP,
                           float minP) {
  SamplerOptions options;
  options.temperature = temperature;
  options.topK = topK;
  options.topP = topP;
  options.minP = minP;
  return options;
}

/// A sampler configured with `options` (failing the test if they are bad).
Sampler makeSampler(const SamplerOptions &options) {
  Sampler sampler;
  EXPECT_EQ(sampler.configure(options), NIBBLE_OK) << nibble_last_error();
  return sampler;
}

/// Checks the sampler's distribution against the reference: the same tokens
/// and probabilities within 1e-12.
void expectReferenceDistribution(const std::vector<float> &logits,
                                 const std::vector<int32_t> &history,
                                 const SamplerOptions &options) {
  Sampler sampler = makeSampler(options);
  std::vector<TokenProbability> got;
  ASSERT_EQ(sampler.distribution(logits.data(), logits.size(), history.data(),
                                 history.size(), got),
            NIBBLE_OK)
      << nibble_last_error();
  std::vector<double> expected =
      referenceDistribution(logits, history, options);
  std::vector<double> actual(logits.size(), 0.0);
  double sum = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    actual[got[i].token] = got[i].probability;
    sum += got[i].probability;
    if (i > 0) {
      EXPECT_GE(got[i - 1].probability, got[i].probability)
          << "not most likely first at " << i;
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  for (size_t t = 0; t < logits.size(); ++t) {
    EXPECT_EQ(actual[t] > 0, expected[t] > 0) << "token " << t;
    EXPECT_NEAR(actual[t], expected[t], 1e-12) << "token " << t;
  }
}

TEST(SamplerTest, DistributionMatchesTheReference) {
  std::vector<float> logits = randomLogits(50, 1, -4, 4);
  std::vector<int32_t> history = {3, 7, 7, 11, 3, 42, 0};
  struct Case {
    float temperature;
    int64_t topK;
    float topP, minP, penalty;
    int64_t lastN;
  };
  const Case cases[] = {
      {1.0f, 0, 1.0f, 0.0f, 1.0f, 64},    // plain softmax
      {0.7f, 5, 0.9f, 0.05f, 1.0f, 64},   // all filters
      {1.3f, 0, 0.8f, 0.0f, 1.0f, 64},    // top-p alone
      {1.0f, 0, 1.0f, 0.1f, 1.0f, 64},    // min-p alone (id order)
      {2.0f, 3, 1.0f, 0.0f, 1.0f, 64},    // top-k alone
      {0.5f, 10, 0.7f, 0.2f, 1.3f, 4},    // with a penalty window
      {1.0f, 20, 0.95f, 0.05f, 0.8f, -1}, // a penalty < 1 favours repeats
      {1.0f, 60, 1.0f, 0.0f, 1.0f, 64},   // top-k above the vocabulary
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(
        "T=" + std::to_string(c.temperature) + " k=" + std::to_string(c.topK) +
        " p=" + std::to_string(c.topP) + " min-p=" + std::to_string(c.minP) +
        " penalty=" + std::to_string(c.penalty));
    SamplerOptions options = makeOptions(c.temperature, c.topK, c.topP, c.minP);
    options.repetitionPenalty = c.penalty;
    options.penaltyLastN = c.lastN;
    expectReferenceDistribution(logits, history, options);
  }
}

TEST(SamplerTest, EmpiricalFrequenciesMatchTheReference) {
  // 12 tokens, every filter active; 200000 draws. A token of probability p
  // is drawn n*p times with standard deviation sqrt(n p (1-p)); each
  // frequency must be within 5 standard deviations, and tokens the filters
  // remove must never be drawn.
  std::vector<float> logits = {1.0f, 2.5f, -0.5f, 0.3f,  2.0f, -3.0f,
                               1.7f, 0.0f, 2.2f,  -1.0f, 0.9f, 1.2f};
  std::vector<int32_t> history = {1, 4, 4};
  SamplerOptions options = makeOptions(0.8f, 8, 0.95f, 0.02f);
  options.repetitionPenalty = 1.2f;
  options.seed = 1234;
  std::vector<double> expected =
      referenceDistribution(logits, history, options);
  int kept = 0;
  for (double p : expected)
    kept += p > 0;
  // The case exercises the filters: top-k leaves 8, top-p removes more.
  ASSERT_GT(kept, 2);
  ASSERT_LT(kept, 8);

  Sampler sampler = makeSampler(options);
  const int draws = 200000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    int32_t token = -1;
    ASSERT_EQ(sampler.sample(logits.data(), logits.size(), history.data(),
                             history.size(), token),
              NIBBLE_OK);
    ASSERT_GE(token, 0);
    ASSERT_LT(token, int32_t(logits.size()));
    ++counts[token];
  }
  double chiSquare = 0;
  for (size_t t = 0; t < logits.size(); ++t) {
    double p = expected[t];
    if (p == 0) {
      EXPECT_EQ(counts[t], 0) << "token " << t << " was filtered out";
      continue;
    }
    double frequency = counts[t] / double(draws);
    double sigma = std::sqrt(p * (1 - p) / draws);
    EXPECT_NEAR(frequency, p, 5 * sigma) << "token " << t;
    chiSquare +=
        (counts[t] - draws * p) * (counts[t] - draws * p) / (draws * p);
  }
  // Chi-square with kept-1 degrees of freedom: mean df, sd sqrt(2 df);
  // 6 standard deviations above the mean is far in the tail.
  double df = kept - 1;
  EXPECT_LT(chiSquare, df + 6 * std::sqrt(2 * df));
}

TEST(SamplerTest, GreedyIsTheArgmax) {
  Sampler sampler = makeSampler(makeOptions(0.0f, 40, 0.95f, 0.05f));
  for (uint32_t seed = 0; seed < 20; ++seed) {
    std::vector<float> logits = randomLogits(1000, seed, -10, 10);
    size_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
      if (logits[i] > logits[best])
        best = i;
    int32_t token = -1;
    ASSERT_EQ(sampler.sample(logits.data(), logits.size(), nullptr, 0, token),
              NIBBLE_OK);
    EXPECT_EQ(token, int32_t(best));
  }
}

TEST(SamplerTest, GreedyTiesGoToTheLowestId) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> logits = {1.0f, 3.0f, -inf, 3.0f, 2.0f, 3.0f};
  for (SamplerOptions options :
       {makeOptions(0.0f, 0, 1.0f, 0.0f), makeOptions(1.0f, 1, 1.0f, 0.0f)}) {
    Sampler sampler = makeSampler(options);
    int32_t token = -1;
    ASSERT_EQ(sampler.sample(logits.data(), logits.size(), nullptr, 0, token),
              NIBBLE_OK);
    EXPECT_EQ(token, 1);
  }
}

TEST(SamplerTest, TopKOneIsGreedy) {
  Sampler greedy = makeSampler(makeOptions(0.0f, 0, 1.0f, 0.0f));
  SamplerOptions topOne = makeOptions(1.5f, 1, 1.0f, 0.0f);
  topOne.seed = 99;
  Sampler sampler = makeSampler(topOne);
  for (uint32_t seed = 0; seed < 50; ++seed) {
    // Coarse logits, so ties are common.
    std::vector<float> logits = randomLogits(64, seed, 0, 4);
    for (float &logit : logits)
      logit = std::floor(logit);
    int32_t expected = -1, token = -1;
    ASSERT_EQ(greedy.sample(logits.data(), logits.size(), nullptr, 0, expected),
              NIBBLE_OK);
    ASSERT_EQ(sampler.sample(logits.data(), logits.size(), nullptr, 0, token),
              NIBBLE_OK);
    EXPECT_EQ(token, expected);
  }
}

TEST(SamplerTest, FixedSeedsReproduce) {
  std::vector<float> logits = randomLogits(50, 5, -1, 1);
  SamplerOptions options = makeOptions(1.0f, 0, 1.0f, 0.0f);
  options.seed = 2024;
  auto run = [&](Sampler &sampler) {
    std::vector<int32_t> tokens;
    for (int i = 0; i < 200; ++i) {
      int32_t token = -1;
      EXPECT_EQ(sampler.sample(logits.data(), logits.size(), tokens.data(),
                               tokens.size(), token),
                NIBBLE_OK);
      tokens.push_back(token);
    }
    return tokens;
  };
  Sampler first = makeSampler(options), second = makeSampler(options);
  std::vector<int32_t> tokens = run(first);
  EXPECT_EQ(run(second), tokens);
  // configure() with the same seed starts the sequence again.
  ASSERT_EQ(first.configure(options), NIBBLE_OK);
  EXPECT_EQ(run(first), tokens);
  // Another seed gives another sequence (50 near-equal tokens, 200 draws).
  options.seed = 2025;
  Sampler other = makeSampler(options);
  EXPECT_NE(run(other), tokens);
}

TEST(SamplerTest, DrawsFollowTheDocumentedRule) {
  // Without top-k/top-p the survivors stay in id order, and a draw with
  // uniform u picks the first token whose cumulative probability exceeds u.
  // The uniforms of seed 42 (top 53 bits of xoshiro256** times 2^-53) were
  // computed with an independent Python transcription, so these tokens are
  // the same on every platform.
  const double uniforms[] = {0.08386297105988216, 0.3789802506626686,
                             0.6800434110281394,  0.9246929453253876,
                             0.9918039142821028,  0.7697394604342425};
  // Cumulative probabilities 0.4, 0.7, 0.9, 1: tokens 0, 0, 1, 3, 3, 2.
  std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f),
                               std::log(0.1f)};
  SamplerOptions options = makeOptions(1.0f, 0, 1.0f, 0.0f);
  options.seed = 42;
  Sampler sampler = makeSampler(options);
  const int32_t expected[] = {0, 0, 1, 3, 3, 2};
  for (size_t i = 0; i < 6; ++i) {
    int32_t token = -1;
    ASSERT_EQ(sampler.sample(logits.data(), logits.size(), nullptr, 0, token),
              NIBBLE_OK);
    EXPECT_EQ(token, expected[i]) << "u = " << uniforms[i];
  }
}

/// The sampler's kept tokens and probabilities, by token.
std::map<int32_t, double> keptTokens(const std::vector<float> &logits,
                                     const SamplerOptions &options) {
  Sampler sampler = makeSampler(options);
  std::vector<TokenProbability> distribution;
  EXPECT_EQ(sampler.distribution(logits.data(), logits.size(), nullptr, 0,
                                 distribution),
            NIBBLE_OK);
  std::map<int32_t, double> kept;
  for (const TokenProbability &entry : distribution)
    kept[entry.token] = entry.probability;
  return kept;
}

TEST(SamplerTest, TopPKeepsTheSmallestSetWithEnoughMass) {
  // Probabilities 0.5, 0.25, 0.15, 0.1 (tokens shuffled).
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.1f),
                               std::log(0.25f)};
  using Kept = std::map<int32_t, double>;
  auto within = [](const Kept &got, const Kept &expected) {
    if (got.size() != expected.size())
      return false;
    for (auto [token, p] : expected)
      if (!got.count(token) || std::abs(got.at(token) - p) > 1e-6)
        return false;
    return true;
  };
  // 0.5 < 0.7 <= 0.75: the two most likely, renormalised.
  EXPECT_TRUE(within(keptTokens(logits, makeOptions(1, 0, 0.7f, 0)),
                     Kept{{1, 0.5 / 0.75}, {3, 0.25 / 0.75}}));
  // 0.75 < 0.8 <= 0.9: three.
  EXPECT_TRUE(within(keptTokens(logits, makeOptions(1, 0, 0.8f, 0)),
                     Kept{{1, 0.5 / 0.9}, {3, 0.25 / 0.9}, {0, 0.15 / 0.9}}));
  // 0.4 <= 0.5: the first alone.
  EXPECT_TRUE(
      within(keptTokens(logits, makeOptions(1, 0, 0.4f, 0)), Kept{{1, 1.0}}));
  // Top-p measures mass after top-k: top-3 renormalises to 0.5/0.9 = 0.556,
  // enough for p = 0.55, which over all four (0.5) it is not.
  EXPECT_TRUE(
      within(keptTokens(logits, makeOptions(1, 3, 0.55f, 0)), Kept{{1, 1.0}}));
  EXPECT_TRUE(within(keptTokens(logits, makeOptions(1, 0, 0.55f, 0)),
                     Kept{{1, 0.5 / 0.75}, {3, 0.25 / 0.75}}));
  // Temperature applies after the filters: top-p 0.7 keeps {1, 3}, and at
  // T = 0.5 their weights are 0.5^2 and 0.25^2.
  EXPECT_TRUE(within(keptTokens(logits, makeOptions(0.5f, 0, 0.7f, 0)),
                     Kept{{1, 0.25 / 0.3125}, {3, 0.0625 / 0.3125}}));
}

TEST(SamplerTest, MinPKeepsTokensNearTheMaximum) {
  std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.1f),
                               std::log(0.25f)};
  using Kept = std::map<int32_t, double>;
  auto tokens = [](const Kept &kept) {
    std::vector<int32_t> result;
    for (auto entry : kept)
      result.push_back(entry.first);
    return result;
  };
  // Floor 0.25 * 0.5 = 0.125: drops only 0.1.
  EXPECT_EQ(tokens(keptTokens(logits, makeOptions(1, 0, 1, 0.25f))),
            (std::vector<int32_t>{0, 1, 3}));
  // Floor 0.35 * 0.5 = 0.175: keeps 0.5 and 0.25.
  Kept kept = keptTokens(logits, makeOptions(1, 0, 1, 0.35f));
  EXPECT_EQ(tokens(kept), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(kept[1], 0.5 / 0.75, 1e-6);
  // min-p = 1 keeps the maximum alone.
  EXPECT_EQ(tokens(keptTokens(logits, makeOptions(1, 0, 1, 1.0f))),
            (std::vector<int32_t>{1}));
  // After top-k (a sorted prefix) the same floor gives the same set.
  EXPECT_EQ(tokens(keptTokens(logits, makeOptions(1, 3, 1, 0.35f))),
            (std::vector<int32_t>{1, 3}));
}

TEST(SamplerTest, RepetitionPenaltyHandComputed) {
  // Penalty 2 on tokens {0, 1, 4} (token 1 twice, penalised once):
  // 2.0 / 2 = 1.0, -1.0 * 2 = -2.0, 0.0 * 2 = 0.0; 0.5 and 3.0 unchanged.
  std::vector<float> logits = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f};
  std::vector<int32_t> history = {0, 1, 1, 4};
  SamplerOptions options = makeOptions(1, 0, 1, 0);
  options.repetitionPenalty = 2.0f;
  options.penaltyLastN = -1;
  Sampler sampler = makeSampler(options);
  std::vector<TokenProbability> got;
  ASSERT_EQ(sampler.distribution(logits.data(), logits.size(), history.data(),
                                 history.size(), got),
            NIBBLE_OK);
  const double penalised[] = {1.0, -2.0, 0.5, 3.0, 0.0};
  double sum = 0;
  for (double l : penalised)
    sum += std::exp(l);
  ASSERT_EQ(got.size(), 5u);
  for (const TokenProbability &entry : got)
    EXPECT_NEAR(entry.probability, std::exp(penalised[entry.token]) / sum,
                1e-12)
        << "token " << entry.token;

  // The window: last 1 token penalises only token 4; last 0 none.
  auto greedyWith = [&](std::vector<float> row, std::vector<int32_t> tokens,
                        int64_t lastN) {
    SamplerOptions greedy = makeOptions(0, 0, 1, 0);
    greedy.repetitionPenalty = 2.0f;
    greedy.penaltyLastN = lastN;
    Sampler s = makeSampler(greedy);
    int32_t token = -1;
    EXPECT_EQ(
        s.sample(row.data(), row.size(), tokens.data(), tokens.size(), token),
        NIBBLE_OK);
    return token;
  };
  // {3.0, 2.0}: the last token alone is penalised with a window of 1.
  EXPECT_EQ(greedyWith({3.0f, 2.0f}, {1, 0}, 1), 1); // {1.5, 2.0}
  EXPECT_EQ(greedyWith({3.0f, 2.0f}, {0, 1}, 1), 0); // {3.0, 1.0}
  EXPECT_EQ(greedyWith({3.0f, 2.0f}, {0, 1}, 2), 0); // {1.5, 1.0}
  EXPECT_EQ(greedyWith({3.0f, 2.0f}, {0}, 0), 0);    // no window
  EXPECT_EQ(greedyWith({3.0f, 2.0f}, {0}, 64), 1);   // {1.5, 2.0}
  // Negative logits move away from zero: {-1.0, -1.5} with token 0
  // penalised is {-2.0, -1.5}.
  EXPECT_EQ(greedyWith({-1.0f, -1.5f}, {0}, 64), 1);
}

TEST(SamplerTest, LargeVocabulary) {
  // Gemma 3's 262144 tokens: the prefix sorts and nth_element must agree
  // with a full sort.
  const size_t vocab = 262144;
  std::vector<float> logits = randomLogits(vocab, 77, -10, 10);
  std::vector<int32_t> history = {5, 262143, 100000};
  const SamplerOptions cases[] = {
      makeOptions(1.0f, 40, 0.95f, 0.05f), // llama.cpp's defaults
      makeOptions(0.8f, 0, 0.9f, 0.0f),    // top-p over everything
      makeOptions(1.0f, 0, 1.0f, 0.5f),    // min-p over everything
      makeOptions(1.0f, 1000, 0.5f, 0.0f),
  };
  for (const SamplerOptions &options : cases) {
    SCOPED_TRACE("k=" + std::to_string(options.topK) +
                 " p=" + std::to_string(options.topP) +
                 " min-p=" + std::to_string(options.minP));
    expectReferenceDistribution(logits, history, options);
    std::vector<double> expected =
        referenceDistribution(logits, history, options);
    Sampler sampler = makeSampler(options);
    for (int i = 0; i < 20; ++i) {
      int32_t token = -1;
      ASSERT_EQ(sampler.sample(logits.data(), vocab, history.data(),
                               history.size(), token),
                NIBBLE_OK);
      EXPECT_GT(expected[token], 0) << "token " << token;
    }
  }
}

TEST(SamplerTest, BadOptionsAreNamed) {
  struct Case {
    void (*change)(SamplerOptions &);
    const char *message;
  };
  const Case cases[] = {
      {[](SamplerOptions &o) { o.temperature = -0.5f; },
       "temperature must be finite and at least 0 (0 is greedy), got -0.5"},
      {[](SamplerOptions &o) { o.temperature = std::nanf(""); }, "temperature"},
      {[](SamplerOptions &o) { o.topK = -1; },
       "top-k must be at least 0 (0 keeps every token), got -1"},
      {[](SamplerOptions &o) { o.topP = 0.0f; },
       "top-p must be in (0, 1] (1 keeps every token), got 0"},
      {[](SamplerOptions &o) { o.topP = 1.5f; }, "top-p must be in (0, 1]"},
      {[](SamplerOptions &o) { o.minP = -0.1f; },
       "min-p must be in [0, 1] (0 keeps every token), got -0.1"},
      {[](SamplerOptions &o) { o.minP = 2.0f; }, "got 2"},
      {[](SamplerOptions &o) { o.repetitionPenalty = 0.0f; },
       "repetition penalty must be finite and greater than 0 (1 is no "
       "penalty), got 0"},
      {[](SamplerOptions &o) { o.repetitionPenalty = HUGE_VALF; }, "got inf"},
      {[](SamplerOptions &o) { o.penaltyLastN = -2; },
       "repetition penalty window (last n) must be at least -1 (-1 is the "
       "whole history, 0 none), got -2"},
  };
  for (const Case &c : cases) {
    SamplerOptions options;
    c.change(options);
    EXPECT_EQ(validateSamplerOptions(options), NIBBLE_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(nibble_last_error()).find(c.message),
              std::string::npos)
        << nibble_last_error();
    // configure() refuses them and keeps the previous options.
    Sampler sampler;
    EXPECT_EQ(sampler.configure(options), NIBBLE_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(sampler.options().temperature, 0.0f);
  }
  EXPECT_EQ(validateSamplerOptions(SamplerOptions()), NIBBLE_OK);
}

TEST(SamplerTest, BadInputsAreReported) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Sampler sampler = makeSampler(makeOptions(1, 0, 1, 0));
  int32_t token = -1;
  auto expectError = [&](std::vector<float> logits,
                         std::vector<int32_t> history, const char *message) {
    EXPECT_EQ(sampler.sample(logits.data(), logits.size(), history.data(),
                             history.size(), token),
              NIBBLE_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(nibble_last_error()).find(message), std::string::npos)
        << nibble_last_error();
  };
  expectError({0, 1, 2, nan}, {}, "the logit of token 3 is nan");
  expectError({0, inf}, {}, "the logit of token 1 is inf");
  expectError({-inf, -inf}, {}, "all 2 logits are -inf");
  expectError({0, 1}, {1, 2},
              "history token 1 is 2, outside the vocabulary "
              "of 2 tokens");
  expectError({}, {}, "vocabulary of 1 to 2^31-1 tokens, got 0");
  EXPECT_EQ(sampler.sample(nullptr, 4, nullptr, 0, token),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  // -inf logits are allowed and never drawn.
  std::vector<float> masked = {-inf, 0.0f, -inf};
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(sampler.sample(masked.data(), 3, nullptr, 0, token), NIBBLE_OK);
    EXPECT_EQ(token, 1);
  }
}

} // namespace

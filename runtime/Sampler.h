//===- Sampler.h - Picking the next token from a logits row -----*- C++ -*-===//
//
// Turns one row of logits (one float per vocabulary entry) and the tokens
// generated so far into the next token id. The filters run in llama.cpp's
// default order (common/sampling.cpp: penalties, top-k, top-p, min-p,
// temperature, then a draw):
//
//   1. repetition penalty: each distinct token among the last
//      `penaltyLastN` of the history has its logit divided by
//      `repetitionPenalty` if it is positive and multiplied by it otherwise
//      (the HF/llama.cpp convention; once per token however often it occurs);
//   2. top-k: keep the `topK` largest logits;
//   3. top-p: softmax (temperature 1) over what is left, keep the smallest
//      set of most likely tokens whose probability adds up to at least
//      `topP`;
//   4. min-p: keep the tokens whose probability is at least `minP` times the
//      largest one (softmax at temperature 1; relative to the maximum, so it
//      does not matter which set it is normalised over);
//   5. temperature: the survivors' probabilities become
//      softmax(logit / temperature), renormalised over the survivors;
//   6. a draw from that distribution with the sampler's own generator.
//
// Temperature 0 is greedy: the largest penalised logit, and the lowest id
// among equal ones (the filters cannot remove the maximum, so they are
// skipped). Equal logits are ordered by id wherever the filters rank tokens,
// so top-k and top-p also keep the lower ids on a tie.
//
// A fixed seed reproduces the same tokens on every platform for the same
// logits: the generator is xoshiro256** (Random.h) and each draw takes one
// uniform double; the probabilities are computed in double with std::exp.
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_SAMPLER_H
#define NIBBLE_RUNTIME_SAMPLER_H

#include "runtime/Random.h"
#include "runtime/nibble_runtime.h"

#include <cstdint>
#include <vector>

namespace nibble::runtime {

/// How the sampler chooses; the defaults are llama.cpp's, except the seed,
/// which is fixed so that runs reproduce unless the caller picks another.
struct SamplerOptions {
  /// Divides the logits before the draw; 0 picks the most likely token.
  /// Must be finite and at least 0.
  float temperature = 0.8f;
  /// Keeps this many most likely tokens; 0 keeps all. Must be at least 0.
  int64_t topK = 40;
  /// Nucleus mass in (0, 1]; 1 keeps all.
  float topP = 0.95f;
  /// Relative probability floor in [0, 1]; 0 keeps all.
  float minP = 0.05f;
  /// Logit penalty for recently seen tokens, finite and > 0; 1 is none.
  float repetitionPenalty = 1.0f;
  /// How many of the latest history tokens the penalty looks at: 0 none,
  /// -1 the whole history. Must be at least -1.
  int64_t penaltyLastN = 64;
  /// The generator's seed.
  uint64_t seed = 0;
};

/// Checks every option, failing with NIBBLE_ERROR_INVALID_ARGUMENT and a
/// message naming the first bad option and its value.
nibble_status validateSamplerOptions(const SamplerOptions &options);

/// One token and its probability in the final distribution.
struct TokenProbability {
  int32_t token;
  double probability;
};

/// Samples tokens with fixed options and a generator seeded once; keeps its
/// scratch buffers between calls so a step allocates nothing after the first.
class Sampler {
public:
  /// A greedy sampler until configure() succeeds.
  Sampler() = default;

  /// Checks `options` (validateSamplerOptions), adopts them and seeds the
  /// generator with options.seed. Leaves the sampler unchanged on failure.
  nibble_status configure(const SamplerOptions &options);

  /// Chooses the next token from `vocabSize` logits given the `historySize`
  /// tokens so far (prompt and generated, oldest first). Fails on a null or
  /// empty row, a NaN or +inf logit, a row with every logit -inf, or a
  /// history token outside [0, vocabSize). Greedy choices use no random
  /// numbers; every other choice uses exactly one.
  nibble_status sample(const float *logits, int64_t vocabSize,
                       const int32_t *history, int64_t historySize,
                       int32_t &token);

  /// The distribution sample() draws from, most likely first (ties by id),
  /// probabilities summing to 1; one entry with probability 1 when greedy.
  /// Uses no random numbers.
  nibble_status distribution(const float *logits, int64_t vocabSize,
                             const int32_t *history, int64_t historySize,
                             std::vector<TokenProbability> &result);

  const SamplerOptions &options() const { return currentOptions; }

private:
  /// A token and its logit after the penalty.
  struct Candidate {
    float logit;
    int32_t token;
  };

  /// Checks the inputs, applies the penalty and, unless greedy, the filters;
  /// leaves the survivors in candidates[0, kept).
  nibble_status filter(const float *logits, int64_t vocabSize,
                       const int32_t *history, int64_t historySize);

  /// Sorts the `count` best candidates to the front, best first.
  void sortBest(size_t count);

  SamplerOptions currentOptions = greedyOptions();
  Xoshiro256StarStar generator{0};
  std::vector<Candidate> candidates;
  /// The number of survivors at the front of `candidates`.
  size_t kept = 0;
  /// Whether candidates[0, kept) are sorted best first.
  bool keptSorted = false;
  /// The logits after the repetition penalty, by token id.
  std::vector<float> penalisedLogits;
  /// The distinct tokens the repetition penalty applies to.
  std::vector<int32_t> penalised;
  /// exp((logit - max) / temperature) of the survivors.
  std::vector<double> weights;

  static SamplerOptions greedyOptions() {
    SamplerOptions options;
    options.temperature = 0.0f;
    return options;
  }
};

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_SAMPLER_H

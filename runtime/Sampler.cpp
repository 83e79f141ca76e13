//===- Sampler.cpp - Picking the next token from a logits row -------------===//
//
// The penalty works on a copy of the logits; the filters on (logit, id)
// candidates. Top-k takes one pass with a k-entry heap and sorts only the k
// survivors; without top-k, top-p sorts a growing prefix (64, 512, ...
// tokens, with std::nth_element) until it holds the requested mass, so a
// 262144-entry vocabulary is never fully sorted when the distribution is
// peaked. The survivors are always either a sorted prefix or in id order,
// both independent of how the standard library orders elements, so draws
// reproduce across platforms.
//
//===----------------------------------------------------------------------===//

#include "runtime/Sampler.h"
#include "runtime/Status.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <limits>

namespace nibble::runtime {

nibble_status validateSamplerOptions(const SamplerOptions &options) {
  if (!(std::isfinite(options.temperature) && options.temperature >= 0))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "temperature must be finite and at least 0 (0 is greedy), "
                "got %g",
                double(options.temperature));
  if (options.topK < 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "top-k must be at least 0 (0 keeps every token), got %" PRId64,
                options.topK);
  if (!(options.topP > 0 && options.topP <= 1))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "top-p must be in (0, 1] (1 keeps every token), got %g",
                double(options.topP));
  if (!(options.minP >= 0 && options.minP <= 1))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "min-p must be in [0, 1] (0 keeps every token), got %g",
                double(options.minP));
  if (!(std::isfinite(options.repetitionPenalty) &&
        options.repetitionPenalty > 0))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "repetition penalty must be finite and greater than 0 (1 is "
                "no penalty), got %g",
                double(options.repetitionPenalty));
  if (options.penaltyLastN < -1)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "repetition penalty window (last n) must be at least -1 (-1 "
                "is the whole history, 0 none), got %" PRId64,
                options.penaltyLastN);
  return NIBBLE_OK;
}

nibble_status Sampler::configure(const SamplerOptions &options) {
  if (nibble_status status = validateSamplerOptions(options))
    return status;
  currentOptions = options;
  generator.reseed(options.seed);
  return NIBBLE_OK;
}

namespace {

/// The ranking of candidates: larger logit first, then lower id.
template <typename Candidate>
bool ranksBefore(const Candidate &a, const Candidate &b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

} // namespace

void Sampler::sortBest(size_t count) {
  auto begin = candidates.begin();
  auto byRank = ranksBefore<Candidate>;
  if (count < kept)
    std::nth_element(begin, begin + count, begin + kept, byRank);
  std::sort(begin, begin + count, byRank);
}

nibble_status Sampler::filter(const float *logits, int64_t vocabSize,
                              const int32_t *history, int64_t historySize) {
  if (vocabSize <= 0 || vocabSize > std::numeric_limits<int32_t>::max())
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "sampling needs a vocabulary of 1 to 2^31-1 tokens, got "
                "%" PRId64,
                vocabSize);
  if (!logits)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "sampling from null logits");
  if (historySize < 0 || (historySize > 0 && !history))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "sampling with a history of %" PRId64 " tokens at %p",
                historySize, static_cast<const void *>(history));
  bool anyFinite = false;
  for (int64_t i = 0; i < vocabSize; ++i) {
    float logit = logits[i];
    if (std::isnan(logit) || logit == std::numeric_limits<float>::infinity())
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "the logit of token %" PRId64 " is %g; only finite logits "
                  "and -inf can be sampled",
                  i, double(logit));
    anyFinite |= std::isfinite(logit);
  }
  if (!anyFinite)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "all %" PRId64 " logits are -inf; no token can be sampled",
                vocabSize);
  for (int64_t i = 0; i < historySize; ++i)
    if (history[i] < 0 || history[i] >= vocabSize)
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "history token %" PRId64 " is %" PRId32
                  ", outside the vocabulary of %" PRId64 " tokens",
                  i, history[i], vocabSize);

  // 1. Repetition penalty, once per distinct token in the window.
  const SamplerOptions &options = currentOptions;
  penalisedLogits.assign(logits, logits + vocabSize);
  int64_t window = options.penaltyLastN == -1
                       ? historySize
                       : std::min(options.penaltyLastN, historySize);
  if (options.repetitionPenalty != 1.0f && window > 0) {
    penalised.assign(history + historySize - window, history + historySize);
    std::sort(penalised.begin(), penalised.end());
    penalised.erase(std::unique(penalised.begin(), penalised.end()),
                    penalised.end());
    for (int32_t token : penalised) {
      float &logit = penalisedLogits[token];
      logit = logit <= 0 ? logit * options.repetitionPenalty
                         : logit / options.repetitionPenalty;
    }
  }
  const float *work = penalisedLogits.data();
  auto size = static_cast<size_t>(vocabSize);

  // Greedy: the best token alone (the filters always keep it).
  if (options.temperature == 0.0f) {
    size_t best = 0;
    for (size_t i = 1; i < size; ++i)
      if (work[i] > work[best])
        best = i;
    candidates.assign(1, {work[best], static_cast<int32_t>(best)});
    kept = 1;
    keptSorted = true;
    return NIBBLE_OK;
  }

  // 2. Top-k: one pass with a heap of the k best so far (its top the worst
  // of them), which a new token rarely enters; then the k are sorted.
  if (options.topK > 0 && static_cast<uint64_t>(options.topK) < size) {
    auto k = static_cast<size_t>(options.topK);
    auto byRank = ranksBefore<Candidate>;
    candidates.clear();
    candidates.reserve(k);
    for (size_t i = 0; i < size; ++i) {
      Candidate candidate = {work[i], static_cast<int32_t>(i)};
      if (candidates.size() < k) {
        candidates.push_back(candidate);
        std::push_heap(candidates.begin(), candidates.end(), byRank);
      } else if (byRank(candidate, candidates.front())) {
        std::pop_heap(candidates.begin(), candidates.end(), byRank);
        candidates.back() = candidate;
        std::push_heap(candidates.begin(), candidates.end(), byRank);
      }
    }
    std::sort(candidates.begin(), candidates.end(), byRank);
    kept = k;
    keptSorted = true;
  } else {
    candidates.resize(size);
    for (size_t i = 0; i < size; ++i)
      candidates[i] = {work[i], static_cast<int32_t>(i)};
    kept = size;
    keptSorted = false;
  }

  // 3. Top-p over the softmax of what top-k left.
  auto maxLogit = [&] {
    if (keptSorted)
      return double(candidates[0].logit);
    float best = candidates[0].logit;
    for (size_t i = 1; i < kept; ++i)
      best = std::max(best, candidates[i].logit);
    return double(best);
  };
  if (options.topP < 1.0f) {
    double max = maxLogit();
    double total = 0;
    for (size_t i = 0; i < kept; ++i)
      total += std::exp(double(candidates[i].logit) - max);
    double target = double(options.topP) * total;
    size_t prefix = std::min<size_t>(kept, 64);
    while (true) {
      if (!keptSorted)
        sortBest(prefix);
      double mass = 0;
      size_t i = 0;
      for (; i < prefix; ++i) {
        mass += std::exp(double(candidates[i].logit) - max);
        if (mass >= target)
          break;
      }
      if (i < prefix || prefix == kept) {
        // Rounding can leave the whole set just short of the target.
        kept = std::min(i + 1, kept);
        keptSorted = true;
        break;
      }
      prefix = std::min(kept, prefix * 8);
    }
  }

  // 4. Min-p: logit - max >= log(minP), i.e. p >= minP * pMax.
  if (options.minP > 0.0f) {
    double max = maxLogit();
    double floor = std::log(double(options.minP));
    auto survives = [&](const Candidate &candidate) {
      return double(candidate.logit) - max >= floor;
    };
    if (keptSorted) {
      // A sorted prefix: cut at the first token below the floor.
      size_t i = 1;
      while (i < kept && survives(candidates[i]))
        ++i;
      kept = i;
    } else {
      // In id order: compact in place, keeping the order.
      size_t out = 0;
      for (size_t i = 0; i < kept; ++i)
        if (survives(candidates[i]))
          candidates[out++] = candidates[i];
      kept = out;
    }
  }

  // 5. Temperature: the weights the draw uses.
  double max = maxLogit();
  double temperature = options.temperature;
  weights.resize(kept);
  for (size_t i = 0; i < kept; ++i)
    weights[i] = std::exp((double(candidates[i].logit) - max) / temperature);
  return NIBBLE_OK;
}

nibble_status Sampler::sample(const float *logits, int64_t vocabSize,
                              const int32_t *history, int64_t historySize,
                              int32_t &token) {
  if (nibble_status status = filter(logits, vocabSize, history, historySize))
    return status;
  if (currentOptions.temperature == 0.0f) {
    token = candidates[0].token;
    return NIBBLE_OK;
  }
  // 6. One uniform draw, walked through the cumulative weights in the
  // survivors' (platform-independent) order.
  double total = 0;
  for (double weight : weights)
    total += weight;
  double target = generator.uniform() * total;
  double cumulative = 0;
  size_t chosen = kept;
  for (size_t i = 0; i < kept; ++i) {
    if (weights[i] <= 0)
      continue;
    cumulative += weights[i];
    chosen = i;
    if (target < cumulative)
      break;
  }
  token = candidates[chosen].token;
  return NIBBLE_OK;
}

nibble_status Sampler::distribution(const float *logits, int64_t vocabSize,
                                    const int32_t *history, int64_t historySize,
                                    std::vector<TokenProbability> &result) {
  if (nibble_status status = filter(logits, vocabSize, history, historySize))
    return status;
  result.clear();
  if (currentOptions.temperature == 0.0f) {
    result.push_back({candidates[0].token, 1.0});
    return NIBBLE_OK;
  }
  double total = 0;
  for (double weight : weights)
    total += weight;
  for (size_t i = 0; i < kept; ++i)
    if (weights[i] > 0)
      result.push_back({candidates[i].token, weights[i] / total});
  std::sort(result.begin(), result.end(),
            [](const TokenProbability &a, const TokenProbability &b) {
              return a.probability > b.probability ||
                     (a.probability == b.probability && a.token < b.token);
            });
  return NIBBLE_OK;
}

} // namespace nibble::runtime

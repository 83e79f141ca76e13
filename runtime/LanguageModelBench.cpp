//===- LanguageModelBench.cpp - Timing prefill and decode -----------------===//

#include "runtime/LanguageModelBench.h"
#include "runtime/Random.h"
#include "runtime/Status.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace nibble {
namespace runtime {
namespace {

/// `count` valid token ids of `model`, the same on every call.
std::vector<int32_t> benchTokens(const LanguageModel &model, int64_t count) {
  Xoshiro256StarStar random(0x6e6962626c65); // "nibble"
  std::vector<int32_t> tokens(static_cast<size_t>(count));
  for (int32_t &token : tokens)
    token = static_cast<int32_t>(random.next() %
                                 static_cast<uint64_t>(model.vocabSize()));
  return tokens;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// The median of `seconds` as a timing of `tokens` tokens per repetition.
BenchTiming median(std::vector<double> seconds, int64_t tokens) {
  std::sort(seconds.begin(), seconds.end());
  BenchTiming timing;
  timing.seconds = seconds[seconds.size() / 2];
  timing.tokensPerSecond =
      timing.seconds > 0 ? static_cast<double>(tokens) / timing.seconds : 0;
  return timing;
}

nibble_status checkCounts(int64_t tokens, int repetitions) {
  if (tokens < 1 || repetitions < 1)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "a benchmark needs at least one token and one repetition, "
                "got %lld tokens and %d repetitions",
                static_cast<long long>(tokens), repetitions);
  return NIBBLE_OK;
}

} // namespace

nibble_status benchPrefill(LanguageModel &model, int64_t tokens,
                           int repetitions, BenchTiming &timing) {
  if (nibble_status status = checkCounts(tokens, repetitions))
    return status;
  std::vector<int32_t> prompt = benchTokens(model, tokens);
  std::vector<float> logits(static_cast<size_t>(model.vocabSize()));
  std::vector<double> seconds;
  // One untimed warm-up repetition first (page faults, caches).
  for (int i = 0; i <= repetitions; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (nibble_status status =
            model.run(prompt.data(), tokens, 0, false, logits.data()))
      return status;
    if (i > 0)
      seconds.push_back(secondsSince(start));
  }
  timing = median(std::move(seconds), tokens);
  return NIBBLE_OK;
}

nibble_status benchDecode(LanguageModel &model, int64_t context, int64_t tokens,
                          int repetitions, BenchTiming &timing) {
  if (nibble_status status = checkCounts(tokens, repetitions))
    return status;
  if (context < 0)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "negative context %lld",
                static_cast<long long>(context));
  std::vector<int32_t> ids = benchTokens(model, context + tokens);
  std::vector<float> logits(static_cast<size_t>(model.vocabSize()));
  std::vector<double> seconds;
  // One untimed warm-up repetition first (page faults, caches).
  for (int i = 0; i <= repetitions; ++i) {
    // The context, in chunks of at most 512 tokens.
    for (int64_t done = 0; done < context;) {
      int64_t chunk = std::min<int64_t>(512, context - done);
      if (nibble_status status =
              model.run(ids.data() + done, chunk, done, false, logits.data()))
        return status;
      done += chunk;
    }
    auto start = std::chrono::steady_clock::now();
    for (int64_t step = 0; step < tokens; ++step)
      if (nibble_status status =
              model.run(ids.data() + context + step, 1, context + step, false,
                        logits.data()))
        return status;
    if (i > 0)
      seconds.push_back(secondsSince(start));
  }
  timing = median(std::move(seconds), tokens);
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

//===- Generation.cpp - Text generation and perplexity loops --------------===//

#include "runtime/Generation.h"
#include "runtime/Status.h"
#include "runtime/StopStrings.h"

#include <algorithm>
#include <chrono>

namespace nibble {
namespace runtime {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace

nibble_status generate(LanguageModel &model, const Tokenizer &tokenizer,
                       const std::string &prompt,
                       const GenerateOptions &options,
                       const std::function<void(const std::string &)> &onText,
                       GenerateStats &stats) {
  stats = GenerateStats();
  Sampler sampler;
  if (nibble_status status = sampler.configure(options.sampler))
    return status;
  StopStringFilter stops;
  if (nibble_status status = stops.reset(options.stopStrings))
    return status;
  if (options.prefillChunk < 1)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "prefill chunk must be at least 1 token, got %lld",
                static_cast<long long>(options.prefillChunk));

  bool addSpecial = options.startPosition == 0;
  std::vector<int32_t> &tokens = stats.tokens;
  tokens = tokenizer.encode(prompt, addSpecial, options.parseSpecialTokens);
  if (tokens.empty())
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "the prompt has no tokens");
  stats.promptTokens = static_cast<int64_t>(tokens.size());
  int64_t position = options.startPosition;
  if (position + stats.promptTokens >= model.capacity())
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "the prompt (%lld tokens from position %lld) does not fit the "
                "context of %lld tokens",
                static_cast<long long>(stats.promptTokens),
                static_cast<long long>(position),
                static_cast<long long>(model.capacity()));

  std::vector<float> logits(static_cast<size_t>(model.vocabSize()));
  auto started = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < stats.promptTokens;) {
    int64_t count = std::min(options.prefillChunk, stats.promptTokens - done);
    if (nibble_status status = model.run(tokens.data() + done, count, position,
                                         /*allLogits=*/false, logits.data()))
      return status;
    done += count;
    position += count;
  }
  stats.prefillSeconds = secondsSince(started);

  TokenStreamDecoder decoder(tokenizer);
  started = std::chrono::steady_clock::now();
  stats.stopReason = "max tokens";
  std::string printable;
  while (stats.generatedTokens < options.maxTokens) {
    int32_t next;
    if (nibble_status status =
            sampler.sample(logits.data(), model.vocabSize(), tokens.data(),
                           static_cast<int64_t>(tokens.size()), next))
      return status;
    bool endOfTurn =
        next == tokenizer.eosId() ||
        std::find(options.endOfTurnIds.begin(), options.endOfTurnIds.end(),
                  next) != options.endOfTurnIds.end();
    if (options.stopAtEos && endOfTurn) {
      stats.stopReason = "eos";
      break;
    }
    tokens.push_back(next);
    ++stats.generatedTokens;
    printable.clear();
    if (stops.push(decoder.push(next), printable)) {
      if (!printable.empty())
        onText(printable);
      stats.stopReason = "stop string";
      break;
    }
    if (!printable.empty())
      onText(printable);
    if (stats.generatedTokens == options.maxTokens)
      break;
    if (position + 1 >= model.capacity()) {
      stats.stopReason = "context full";
      break;
    }
    if (nibble_status status = model.run(&next, 1, position,
                                         /*allLogits=*/false, logits.data()))
      return status;
    ++position;
  }
  stats.decodeSeconds = secondsSince(started);
  if (!stops.stopped()) {
    printable.clear();
    stops.push(decoder.finish(), printable);
    stops.finish(printable);
    if (!printable.empty())
      onText(printable);
  }
  stats.endPosition = position;
  return NIBBLE_OK;
}

nibble_status
computePerplexity(LanguageModel &model, const Tokenizer &tokenizer,
                  const std::string &text, int64_t contextSize,
                  int64_t maxWindows,
                  const std::function<void(int64_t, int64_t, double)> &onWindow,
                  PerplexityResult &result) {
  result = PerplexityResult();
  if (contextSize > model.capacity())
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "perplexity context %lld exceeds the model's KV cache "
                "capacity of %lld tokens",
                static_cast<long long>(contextSize),
                static_cast<long long>(model.capacity()));
  std::vector<int32_t> tokens = tokenizer.encode(
      text, /*addSpecialTokens=*/true, /*parseSpecialTokens=*/false);
  result.textTokens = static_cast<int64_t>(tokens.size());
  std::vector<PerplexityWindow> windows;
  if (nibble_status status = planPerplexityWindows(
          result.textTokens, contextSize, maxWindows, windows))
    return status;
  auto started = std::chrono::steady_clock::now();
  PerplexityAccumulator accumulator;
  int64_t vocab = model.vocabSize();
  std::vector<float> logits(static_cast<size_t>(contextSize * vocab));
  for (size_t w = 0; w < windows.size(); ++w) {
    const PerplexityWindow &window = windows[w];
    std::vector<int32_t> input =
        perplexityWindowInput(tokens.data(), contextSize, window,
                              tokenizer.addsBos(), tokenizer.bosId());
    if (nibble_status status = model.run(input.data(), contextSize, /*start=*/0,
                                         /*allLogits=*/true, logits.data()))
      return status;
    double before = accumulator.meanNll() * double(accumulator.count());
    if (nibble_status status = scorePerplexityWindow(
            tokens.data(), window, logits.data() + window.firstRow * vocab,
            vocab, accumulator))
      return status;
    result.windowNll.push_back(
        accumulator.meanNll() * double(accumulator.count()) - before);
    if (onWindow)
      onWindow(static_cast<int64_t>(w) + 1,
               static_cast<int64_t>(windows.size()), accumulator.perplexity());
  }
  result.seconds = secondsSince(started);
  result.perplexity = accumulator.perplexity();
  result.error = accumulator.perplexityError();
  result.windows = static_cast<int64_t>(windows.size());
  result.scoredTokens = accumulator.count();
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

//===- Generation.h - Text generation and perplexity loops ------*- C++ -*-===//
//
// The loops `nibble-run generate`, `chat` and `perplexity` run over any
// LanguageModel session: tokenize, prefill the prompt in chunks, sample and
// decode token by token (streaming text, stop strings, EOS), and score a
// text in llama.cpp's perplexity windows (Perplexity.h says exactly which
// tokens are scored). LLVM-free (part of the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_GENERATION_H
#define NIBBLE_RUNTIME_GENERATION_H

#include "runtime/LanguageModel.h"
#include "runtime/Perplexity.h"
#include "runtime/Sampler.h"
#include "runtime/Tokenizer.h"

#include <functional>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

/// Options of generate().
struct GenerateOptions {
  SamplerOptions sampler;
  /// Tokens to generate at most.
  int64_t maxTokens = 128;
  /// Text that ends generation (not printed).
  std::vector<std::string> stopStrings;
  /// Stop at the tokenizer's EOS and at control tokens that end a turn
  /// (`endOfTurnIds`).
  bool stopAtEos = true;
  std::vector<int32_t> endOfTurnIds;
  /// Prompt tokens per prefill call (the prompt is run in chunks).
  int64_t prefillChunk = 256;
  /// Parse special tokens written in the prompt (chat templates need it).
  bool parseSpecialTokens = true;
  /// The position generation starts at (a chat continues its session).
  int64_t startPosition = 0;
};

/// What a generation did, and how fast.
struct GenerateStats {
  int64_t promptTokens = 0;
  int64_t generatedTokens = 0;
  double prefillSeconds = 0;
  double decodeSeconds = 0;
  /// Why it stopped: "eos", "stop string", "max tokens", "context full".
  std::string stopReason;
  /// The position after the last token written to the cache.
  int64_t endPosition = 0;
  /// Every token id, prompt then generated (what the cache holds).
  std::vector<int32_t> tokens;
};

/// Generates from `prompt`, calling `onText` with text as it becomes final
/// (never a partial UTF-8 character or a prefix of a stop string that might
/// still complete). The prompt gets the tokenizer's BOS when the model adds
/// one and startPosition is 0.
nibble_status generate(LanguageModel &model, const Tokenizer &tokenizer,
                       const std::string &prompt,
                       const GenerateOptions &options,
                       const std::function<void(const std::string &)> &onText,
                       GenerateStats &stats);

/// Result of computePerplexity().
struct PerplexityResult {
  double perplexity = 0;
  double error = 0;
  int64_t windows = 0;
  int64_t scoredTokens = 0;
  int64_t textTokens = 0;
  double seconds = 0;
  /// Per window: the sum of the scored tokens' negative log-likelihoods.
  std::vector<double> windowNll;
};

/// The perplexity of `text` in windows of `contextSize` tokens (at most
/// `maxWindows`, -1 for all); `onWindow(done, total, runningPerplexity)` is
/// called after each window.
nibble_status
computePerplexity(LanguageModel &model, const Tokenizer &tokenizer,
                  const std::string &text, int64_t contextSize,
                  int64_t maxWindows,
                  const std::function<void(int64_t, int64_t, double)> &onWindow,
                  PerplexityResult &result);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_GENERATION_H

//===- ChatSession.h - A conversation over one model session ----*- C++ -*-===//
//
// `nibble-run chat`: a conversation rendered in the model's chat template,
// whose KV cache carries over from turn to turn. Each turn renders the whole
// conversation; when the text the cache already holds (the previous prompt
// and reply) is a prefix of that rendering, only the rest (the end of the
// reply's turn, the user's message, the reply header) is prefilled. Otherwise
// (a reply cut short by --max-tokens or a stop string, a template that
// rewrites earlier turns, a full cache) the whole conversation is prefilled
// again from position 0. LLVM-free (part of the runtime).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_CHATSESSION_H
#define NIBBLE_RUNTIME_CHATSESSION_H

#include "runtime/ChatTemplate.h"
#include "runtime/Generation.h"

#include <functional>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

/// A conversation with a model.
class ChatSession {
public:
  /// `options.endOfTurnIds` gets the template's end-of-turn token; a
  /// non-empty `systemPrompt` opens the conversation.
  ChatSession(LanguageModel &model, const Tokenizer &tokenizer,
              ChatTemplate chatTemplate, GenerateOptions options,
              const std::string &systemPrompt);

  /// Adds `message` as the user's turn, generates the reply (streamed to
  /// `onText`) and adds it as the assistant's turn. `stats` counts the
  /// tokens prefilled this turn.
  nibble_status reply(const std::string &message,
                      const std::function<void(const std::string &)> &onText,
                      GenerateStats &stats);

  /// Forgets the conversation (keeping the system prompt).
  void reset();

  /// Prefill the whole conversation every turn (to check the reuse).
  void setReuseCache(bool reuse) { reuseCache = reuse; }

  const std::vector<ChatMessage> &messages() const { return history; }

private:
  LanguageModel &model;
  const Tokenizer &tokenizer;
  ChatTemplate chatTemplate;
  GenerateOptions options;
  std::vector<ChatMessage> history;
  size_t systemMessages = 0;
  bool reuseCache = true;
  /// The text whose tokens the cache holds (empty: reuse nothing) and the
  /// position after them.
  std::string cachedText;
  int64_t cachedPosition = 0;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_CHATSESSION_H

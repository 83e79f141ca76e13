//===- ChatSession.cpp - A conversation over one model session ------------===//

#include "runtime/ChatSession.h"

namespace nibble {
namespace runtime {

ChatSession::ChatSession(LanguageModel &model, const Tokenizer &tokenizer,
                         ChatTemplate chatTemplate, GenerateOptions options,
                         const std::string &systemPrompt)
    : model(model), tokenizer(tokenizer), chatTemplate(chatTemplate),
      options(std::move(options)) {
  int32_t endOfTurn = tokenizer.findToken(chatEndOfTurn(chatTemplate.kind));
  if (endOfTurn >= 0)
    this->options.endOfTurnIds.push_back(endOfTurn);
  if (!systemPrompt.empty()) {
    history.push_back({"system", systemPrompt});
    systemMessages = 1;
  }
}

void ChatSession::reset() {
  history.resize(systemMessages);
  cachedText.clear();
  cachedPosition = 0;
}

nibble_status
ChatSession::reply(const std::string &message,
                   const std::function<void(const std::string &)> &onText,
                   GenerateStats &stats) {
  std::vector<ChatMessage> conversation = history;
  conversation.push_back({"user", message});
  std::string rendered;
  if (nibble_status status = renderChat(chatTemplate, conversation,
                                        /*addGenerationPrompt=*/true, rendered))
    return status;
  // Only what the cache does not hold yet is prefilled.
  GenerateOptions turn = options;
  std::string prompt = rendered;
  turn.startPosition = 0;
  if (reuseCache && !cachedText.empty() &&
      rendered.compare(0, cachedText.size(), cachedText) == 0) {
    prompt = rendered.substr(cachedText.size());
    turn.startPosition = cachedPosition;
  }
  std::string replyText;
  nibble_status status = generate(
      model, tokenizer, prompt, turn,
      [&](const std::string &piece) {
        replyText += piece;
        onText(piece);
      },
      stats);
  cachedText.clear();
  cachedPosition = 0;
  if (status != NIBBLE_OK)
    return status;
  conversation.push_back({"assistant", replyText});
  history = std::move(conversation);
  // Only a reply that ended its turn had every token run through the model
  // (generate() does not run the last token it stops after).
  if (stats.stopReason == "eos") {
    cachedText = rendered + replyText;
    cachedPosition = stats.endPosition;
  }
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

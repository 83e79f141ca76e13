//===- ChatTemplate.h - Rendering a conversation as a prompt ----*- C++ -*-===//
//
// Instruction-tuned models expect a conversation laid out in the format they
// were trained on, which their GGUF declares as a Jinja template
// (tokenizer.chat_template). The runtime has no Jinja engine; like
// llama.cpp's llm_chat_detect_template it recognises the template's family
// from a marker in the text and renders that family in C++:
//
//  - chatml (the template contains "<|im_start|>"), as SmolLM2 declares it:
//      <|im_start|>{role}\n{content}<|im_end|>\n          for every message
//      <|im_start|>assistant\n                           if a reply is wanted
//    When the first message is not a system message, SmolLM2's template
//    first emits a system turn with its built-in prompt; detection copies
//    that prompt from the template text into defaultSystemPrompt.
//
//  - gemma (the template contains "<start_of_turn>"), as Gemma 3's template
//    does it:
//      <start_of_turn>user\n{system}\n\n{content}<end_of_turn>\n
//      <start_of_turn>model\n{content}<end_of_turn>\n  ...
//      <start_of_turn>model\n                            if a reply is wanted
//    Gemma has no system turn: a leading system message is put in front of
//    the first turn's text followed by a blank line. "assistant" is called
//    "model"; message text is stripped of surrounding whitespace (Jinja's
//    `trim`, i.e. Python's str.strip()), the system text is not. The roles
//    after the system message must alternate user, model, user, ... as the
//    template requires. Gemma's template starts with {{ bos_token }}; the
//    rendered prompt here does not, because the tokenizer adds BOS
//    (tokenizer.ggml.add_bos_token is true for Gemma).
//
// test/Unit/Generation/Inputs/make_chat_fixtures.py renders conversations
// with jinja2 and both real templates; ChatTemplateTest compares byte for
// byte.
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_CHATTEMPLATE_H
#define NIBBLE_RUNTIME_CHATTEMPLATE_H

#include "runtime/nibble_runtime.h"

#include <string>
#include <vector>

namespace nibble::runtime {

/// One message of a conversation. Roles are "system", "user", "assistant"
/// (and whatever else a template accepts).
struct ChatMessage {
  std::string role;
  std::string content;
};

/// The template families the runtime renders.
enum class ChatTemplateKind { ChatML, Gemma };

/// A template family plus what the declared template adds to it.
struct ChatTemplate {
  ChatTemplateKind kind = ChatTemplateKind::ChatML;
  /// ChatML only: the system prompt inserted when the conversation does not
  /// start with a system message (SmolLM2's "You are a helpful AI assistant
  /// named SmolLM, ..."); empty inserts nothing.
  std::string defaultSystemPrompt;
};

/// The name of a family: "chatml" or "gemma".
const char *chatTemplateName(ChatTemplateKind kind);

/// Recognises a GGUF's Jinja chat template by its markers ("<|im_start|>":
/// chatml, "<start_of_turn>": gemma). Fails with NIBBLE_ERROR_FORMAT, quoting
/// the template's first 80 characters and listing the known families, when
/// it has neither.
nibble_status detectChatTemplate(const std::string &jinjaTemplate,
                                 ChatTemplate &result);

/// The family called `name` ("chatml", "gemma"), with no default system
/// prompt. Fails with NIBBLE_ERROR_INVALID_ARGUMENT listing the known names.
nibble_status chatTemplateByName(const std::string &name, ChatTemplate &result);

/// Renders `messages` as the prompt text, ending with the opening of an
/// assistant turn if `addGenerationPrompt`. Fails with
/// NIBBLE_ERROR_INVALID_ARGUMENT where the template would raise an error:
/// gemma with no messages, or with roles that do not alternate.
nibble_status renderChat(const ChatTemplate &chatTemplate,
                         const std::vector<ChatMessage> &messages,
                         bool addGenerationPrompt, std::string &prompt);

/// The text that ends an assistant turn in this family ("<|im_end|>",
/// "<end_of_turn>"): a stop string for chat generation.
const char *chatEndOfTurn(ChatTemplateKind kind);

/// `text` without the whitespace Python's str.strip() removes at either end
/// (ASCII whitespace, \x1c-\x1f, U+0085, U+00A0, U+1680, U+2000-U+200A,
/// U+2028, U+2029, U+202F, U+205F, U+3000), as Jinja's `trim` filter does.
std::string stripPythonWhitespace(const std::string &text);

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_CHATTEMPLATE_H

//===- ChatTemplate.cpp - Rendering a conversation as a prompt ------------===//

#include "runtime/ChatTemplate.h"
#include "runtime/Status.h"

#include <cstdio>

namespace nibble::runtime {
namespace {

constexpr const char *kKnownTemplates =
    "chatml (contains \"<|im_start|>\"), gemma (contains \"<start_of_turn>\")";

/// The first `limit` bytes of `text` (not splitting a UTF-8 character),
/// control characters escaped, and "..." if cut.
std::string quoteStart(const std::string &text, size_t limit) {
  size_t cut = text.size();
  if (cut > limit) {
    cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
      --cut;
  }
  std::string quoted = "\"";
  for (size_t i = 0; i < cut; ++i) {
    unsigned char byte = static_cast<unsigned char>(text[i]);
    if (byte == '\n') {
      quoted += "\\n";
    } else if (byte == '"' || byte == '\\') {
      quoted += '\\';
      quoted += char(byte);
    } else if (byte < 0x20 || byte == 0x7F) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      quoted += escaped;
    } else {
      quoted += char(byte);
    }
  }
  quoted += '"';
  if (cut < text.size())
    quoted += "...";
  return quoted;
}

/// A hard-coded system turn's text in a ChatML template: the first
/// "<|im_start|>system" + newline (or Jinja's escape \n) + text +
/// "<|im_end|>" that lies inside one Jinja string literal (no unescaped
/// closing quote; the escapes \n, \t, \', \", \\ are decoded) or in the
/// template's plain text (no Jinja delimiter). Empty if there is none.
std::string chatMLDefaultSystemPrompt(const std::string &jinjaTemplate) {
  const std::string open = "<|im_start|>system";
  const std::string close = "<|im_end|>";
  for (size_t at = jinjaTemplate.find(open); at != std::string::npos;
       at = jinjaTemplate.find(open, at + 1)) {
    char quote = at > 0 ? jinjaTemplate[at - 1] : '\0';
    bool inLiteral = quote == '\'' || quote == '"';
    size_t begin = at + open.size();
    if (jinjaTemplate.compare(begin, 1, "\n") == 0)
      begin += 1;
    else if (inLiteral && jinjaTemplate.compare(begin, 2, "\\n") == 0)
      begin += 2;
    else
      continue;
    size_t end = jinjaTemplate.find(close, begin);
    if (end == std::string::npos)
      return "";
    std::string text = jinjaTemplate.substr(begin, end - begin);
    if (!inLiteral) {
      if (text.find("{{") == std::string::npos &&
          text.find("{%") == std::string::npos &&
          text.find("{#") == std::string::npos)
        return text;
      continue;
    }
    std::string prompt;
    bool closed = false;
    for (size_t i = 0; i < text.size() && !closed; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        char next = text[++i];
        prompt += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      } else if (text[i] == quote) {
        closed = true;
      } else {
        prompt += text[i];
      }
    }
    if (!closed)
      return prompt;
  }
  return "";
}

/// The length of the Python whitespace character starting at `text[i]`, or
/// 0 if there is none there.
size_t whitespaceAt(const std::string &text, size_t i) {
  auto byte = [&](size_t k) {
    return k < text.size() ? static_cast<unsigned char>(text[k]) : 0u;
  };
  unsigned b0 = byte(i);
  if ((b0 >= 0x09 && b0 <= 0x0D) || (b0 >= 0x1C && b0 <= 0x20))
    return 1;
  unsigned b1 = byte(i + 1), b2 = byte(i + 2);
  if (b0 == 0xC2 && (b1 == 0x85 || b1 == 0xA0))
    return 2; // U+0085, U+00A0
  if (b0 == 0xE1 && b1 == 0x9A && b2 == 0x80)
    return 3; // U+1680
  if (b0 == 0xE2 && b1 == 0x80 &&
      ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF))
    return 3; // U+2000-U+200A, U+2028, U+2029, U+202F
  if (b0 == 0xE2 && b1 == 0x81 && b2 == 0x9F)
    return 3; // U+205F
  if (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80)
    return 3; // U+3000
  return 0;
}

/// The length of the Python whitespace character ending just before
/// `text[end]`, or 0.
size_t whitespaceBefore(const std::string &text, size_t end) {
  for (size_t length = 1; length <= 3 && length <= end; ++length)
    if (whitespaceAt(text, end - length) == length)
      return length;
  return 0;
}

void renderChatML(const ChatTemplate &chatTemplate,
                  const std::vector<ChatMessage> &messages,
                  bool addGenerationPrompt, std::string &prompt) {
  auto turn = [&](const std::string &role, const std::string &content) {
    prompt += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n";
  };
  if (!messages.empty() && messages[0].role != "system" &&
      !chatTemplate.defaultSystemPrompt.empty())
    turn("system", chatTemplate.defaultSystemPrompt);
  for (const ChatMessage &message : messages)
    turn(message.role, message.content);
  if (addGenerationPrompt)
    prompt += "<|im_start|>assistant\n";
}

nibble_status renderGemma(const std::vector<ChatMessage> &messages,
                          bool addGenerationPrompt, std::string &prompt) {
  if (messages.empty())
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "the gemma chat template needs at least one message");
  std::string firstPrefix;
  size_t first = 0;
  if (messages[0].role == "system") {
    firstPrefix = messages[0].content + "\n\n";
    first = 1;
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage &message = messages[i];
    size_t turn = i - first;
    if ((message.role == "user") != (turn % 2 == 0))
      return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                  "the gemma chat template needs roles that alternate "
                  "user/assistant/user/... after an optional system message; "
                  "message %zu is \"%s\"",
                  i, message.role.c_str());
    const std::string &role =
        message.role == "assistant" ? std::string("model") : message.role;
    prompt += "<start_of_turn>" + role + "\n";
    if (turn == 0)
      prompt += firstPrefix;
    prompt += stripPythonWhitespace(message.content) + "<end_of_turn>\n";
  }
  if (addGenerationPrompt)
    prompt += "<start_of_turn>model\n";
  return NIBBLE_OK;
}

} // namespace

const char *chatTemplateName(ChatTemplateKind kind) {
  return kind == ChatTemplateKind::Gemma ? "gemma" : "chatml";
}

const char *chatEndOfTurn(ChatTemplateKind kind) {
  return kind == ChatTemplateKind::Gemma ? "<end_of_turn>" : "<|im_end|>";
}

nibble_status detectChatTemplate(const std::string &jinjaTemplate,
                                 ChatTemplate &result) {
  auto contains = [&](const char *marker) {
    return jinjaTemplate.find(marker) != std::string::npos;
  };
  if (contains("<|im_start|>")) {
    // llama.cpp's variants with the same marker but another layout.
    for (const char *variant : {"<|im_sep|>", "<end_of_utterance>"})
      if (contains(variant))
        return fail(NIBBLE_ERROR_FORMAT,
                    "unsupported chat template %s: it has ChatML's "
                    "<|im_start|> but also %s, which ChatML does not; known "
                    "templates: %s",
                    quoteStart(jinjaTemplate, 80).c_str(), variant,
                    kKnownTemplates);
    result.kind = ChatTemplateKind::ChatML;
    result.defaultSystemPrompt = chatMLDefaultSystemPrompt(jinjaTemplate);
    return NIBBLE_OK;
  }
  if (contains("<start_of_turn>")) {
    result.kind = ChatTemplateKind::Gemma;
    result.defaultSystemPrompt.clear();
    return NIBBLE_OK;
  }
  return fail(NIBBLE_ERROR_FORMAT,
              "unknown chat template %s; known templates: %s",
              quoteStart(jinjaTemplate, 80).c_str(), kKnownTemplates);
}

nibble_status chatTemplateByName(const std::string &name,
                                 ChatTemplate &result) {
  if (name == "chatml" || name == "gemma") {
    result.kind =
        name == "gemma" ? ChatTemplateKind::Gemma : ChatTemplateKind::ChatML;
    result.defaultSystemPrompt.clear();
    return NIBBLE_OK;
  }
  return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
              "unknown chat template name %s; known templates: chatml, gemma",
              quoteStart(name, 80).c_str());
}

nibble_status renderChat(const ChatTemplate &chatTemplate,
                         const std::vector<ChatMessage> &messages,
                         bool addGenerationPrompt, std::string &prompt) {
  std::string rendered;
  if (chatTemplate.kind == ChatTemplateKind::Gemma) {
    if (nibble_status status =
            renderGemma(messages, addGenerationPrompt, rendered))
      return status;
  } else {
    renderChatML(chatTemplate, messages, addGenerationPrompt, rendered);
  }
  prompt = std::move(rendered);
  return NIBBLE_OK;
}

std::string stripPythonWhitespace(const std::string &text) {
  size_t begin = 0, end = text.size();
  while (begin < end) {
    size_t length = whitespaceAt(text, begin);
    if (length == 0)
      break;
    begin += length;
  }
  while (end > begin) {
    size_t length = whitespaceBefore(text, end);
    if (length == 0 || end - length < begin)
      break;
    end -= length;
  }
  return text.substr(begin, end - begin);
}

} // namespace nibble::runtime

//===- ChatTemplateTest.cpp - Conversations rendered as prompts -----------===//
//
// Compares renderChat byte for byte with jinja2's rendering of the real
// templates (SmolLM2's ChatML, Gemma 3's), recorded in
// Inputs/chat_fixtures.txt by Inputs/make_chat_fixtures.py: the templates are
// recognised from their own text, and every conversation the template
// rejects must be rejected here too. Also: detection and name errors, the
// default system prompt read from a template, and Python's whitespace.
//
//===----------------------------------------------------------------------===//

#include "runtime/ChatTemplate.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <map>
#include <string>

using namespace nibble::runtime;

namespace {

/// One rendering from the fixture file.
struct Fixture {
  std::string id;
  std::string templateName;
  bool addGenerationPrompt = false;
  std::vector<ChatMessage> messages;
  bool expectError = false;
  std::string expected;
};

/// Reads the fixture file (format in make_chat_fixtures.py).
class FixtureReader {
public:
  explicit FixtureReader(const std::string &path) {
    if (FILE *file = std::fopen(path.c_str(), "rb")) {
      char buffer[4096];
      size_t read;
      while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        data.append(buffer, read);
      std::fclose(file);
    }
  }

  bool read(std::map<std::string, std::string> &templates,
            std::vector<Fixture> &fixtures) {
    while (at < data.size()) {
      std::string line = readLine();
      if (line.empty() || line[0] == '#')
        continue;
      std::vector<std::string> words = split(line);
      if (words[0] == "template" && words.size() == 3) {
        if (!readBlob(words[2], templates[words[1]]))
          return false;
      } else if (words[0] == "case" && words.size() == 5) {
        Fixture fixture;
        fixture.id = words[1];
        fixture.templateName = words[2];
        fixture.addGenerationPrompt = words[3] == "1";
        for (int i = 0, n = std::stoi(words[4]); i < n; ++i) {
          std::vector<std::string> message = split(readLine());
          ChatMessage chatMessage;
          if (message.size() != 3 || message[0] != "message" ||
              !readBlob(message[2], chatMessage.content))
            return false;
          chatMessage.role = message[1];
          fixture.messages.push_back(chatMessage);
        }
        std::string result = readLine();
        if (result.rfind("error ", 0) == 0) {
          fixture.expectError = true;
        } else {
          std::vector<std::string> expected = split(result);
          if (expected.size() != 2 || expected[0] != "expected" ||
              !readBlob(expected[1], fixture.expected))
            return false;
        }
        fixtures.push_back(fixture);
      } else {
        return false;
      }
    }
    return true;
  }

private:
  std::string readLine() {
    size_t end = data.find('\n', at);
    if (end == std::string::npos)
      end = data.size();
    std::string line = data.substr(at, end - at);
    at = end + 1;
    return line;
  }

  /// `length` bytes and the newline after them.
  bool readBlob(const std::string &length, std::string &blob) {
    size_t size = std::stoul(length);
    if (at + size >= data.size() || data[at + size] != '\n')
      return false;
    blob = data.substr(at, size);
    at += size + 1;
    return true;
  }

  static std::vector<std::string> split(const std::string &line) {
    std::vector<std::string> words;
    size_t begin = 0;
    while (begin <= line.size()) {
      size_t end = line.find(' ', begin);
      if (end == std::string::npos)
        end = line.size();
      words.push_back(line.substr(begin, end - begin));
      begin = end + 1;
    }
    return words;
  }

  std::string data;
  size_t at = 0;
};

TEST(ChatTemplateTest, MatchesJinjaRenderings) {
  std::map<std::string, std::string> templates;
  std::vector<Fixture> fixtures;
  ASSERT_TRUE(FixtureReader(CHAT_FIXTURES).read(templates, fixtures))
      << "cannot read " << CHAT_FIXTURES;
  ASSERT_EQ(templates.size(), 2u);
  ASSERT_GE(fixtures.size(), 20u);

  std::map<std::string, ChatTemplate> detected;
  for (const auto &[name, text] : templates) {
    ASSERT_EQ(detectChatTemplate(text, detected[name]), NIBBLE_OK)
        << nibble_last_error();
    EXPECT_EQ(chatTemplateName(detected[name].kind), name);
  }
  EXPECT_EQ(detected["chatml"].defaultSystemPrompt,
            "You are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face");
  EXPECT_EQ(detected["gemma"].defaultSystemPrompt, "");

  int errors = 0;
  for (const Fixture &fixture : fixtures) {
    SCOPED_TRACE(fixture.id + " (" + fixture.templateName + ")");
    std::string prompt = "unchanged";
    nibble_status status =
        renderChat(detected.at(fixture.templateName), fixture.messages,
                   fixture.addGenerationPrompt, prompt);
    if (fixture.expectError) {
      ++errors;
      EXPECT_EQ(status, NIBBLE_ERROR_INVALID_ARGUMENT);
      EXPECT_EQ(prompt, "unchanged");
    } else {
      ASSERT_EQ(status, NIBBLE_OK) << nibble_last_error();
      EXPECT_EQ(prompt, fixture.expected);
    }
  }
  // The fixture has Gemma's rejections (two users, assistant first, no
  // messages, system then assistant).
  EXPECT_EQ(errors, 4);
}

TEST(ChatTemplateTest, GemmaErrorsExplainThemselves) {
  ChatTemplate gemma;
  ASSERT_EQ(chatTemplateByName("gemma", gemma), NIBBLE_OK);
  std::string prompt;
  EXPECT_EQ(renderChat(gemma, {{"user", "a"}, {"user", "b"}}, true, prompt),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("roles that alternate user/assistant/user/... after an "
                      "optional system message; message 1 is \"user\""),
            std::string::npos)
      << nibble_last_error();
  EXPECT_EQ(renderChat(gemma, {}, true, prompt), NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error()).find("at least one message"),
            std::string::npos);
}

TEST(ChatTemplateTest, UnknownTemplatesAreQuoted) {
  ChatTemplate result;
  std::string llama2 =
      "{% for message in messages %}{% if message['role'] == 'user' %}"
      "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
      "{% endif %}{% endfor %}";
  EXPECT_EQ(detectChatTemplate(llama2, result), NIBBLE_ERROR_FORMAT);
  std::string message = nibble_last_error();
  EXPECT_NE(
      message.find("unknown chat template \"" + llama2.substr(0, 80) + "\"..."),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("known templates: chatml (contains "
                         "\"<|im_start|>\"), gemma (contains "
                         "\"<start_of_turn>\")"),
            std::string::npos)
      << message;
  // Short templates are quoted whole, newlines escaped.
  EXPECT_EQ(detectChatTemplate("a\nb", result), NIBBLE_ERROR_FORMAT);
  EXPECT_NE(std::string(nibble_last_error()).find("template \"a\\nb\";"),
            std::string::npos)
      << nibble_last_error();
  // ChatML's marker with another layout (Phi-4) is not taken for ChatML.
  EXPECT_EQ(detectChatTemplate("{{'<|im_start|>' + m + '<|im_sep|>'}}", result),
            NIBBLE_ERROR_FORMAT);
  EXPECT_NE(std::string(nibble_last_error()).find("<|im_sep|>"),
            std::string::npos);
}

TEST(ChatTemplateTest, ByName) {
  ChatTemplate result;
  result.defaultSystemPrompt = "stale";
  ASSERT_EQ(chatTemplateByName("chatml", result), NIBBLE_OK);
  EXPECT_EQ(result.kind, ChatTemplateKind::ChatML);
  EXPECT_EQ(result.defaultSystemPrompt, "");
  ASSERT_EQ(chatTemplateByName("gemma", result), NIBBLE_OK);
  EXPECT_EQ(result.kind, ChatTemplateKind::Gemma);
  EXPECT_EQ(chatTemplateByName("llama2", result),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("unknown chat template name \"llama2\"; known "
                      "templates: chatml, gemma"),
            std::string::npos)
      << nibble_last_error();
  EXPECT_STREQ(chatEndOfTurn(ChatTemplateKind::ChatML), "<|im_end|>");
  EXPECT_STREQ(chatEndOfTurn(ChatTemplateKind::Gemma), "<end_of_turn>");
}

TEST(ChatTemplateTest, PlainChatMLHasNoDefaultSystemPrompt) {
  ChatTemplate chatml;
  // A generic ChatML template (no hard-coded system turn).
  ASSERT_EQ(
      detectChatTemplate("{% for message in messages %}{{'<|im_start|>' + "
                         "message['role'] + '\\n' + message['content'] + "
                         "'<|im_end|>\\n'}}{% endfor %}",
                         chatml),
      NIBBLE_OK);
  EXPECT_EQ(chatml.defaultSystemPrompt, "");
  std::string prompt;
  ASSERT_EQ(renderChat(chatml, {{"user", "Hi"}}, true, prompt), NIBBLE_OK);
  EXPECT_EQ(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  // A system turn written with Jinja escapes, and one that takes the
  // system message's content (not a default).
  ASSERT_EQ(detectChatTemplate("{{ '<|im_start|>system\\n' + "
                               "messages[0]['content'] + '<|im_end|>' }}"
                               "{{ '<|im_start|>system\\nYou\\'re "
                               "\"Qwen\".<|im_end|>\\n' }}",
                               chatml),
            NIBBLE_OK);
  EXPECT_EQ(chatml.defaultSystemPrompt, "You're \"Qwen\".");
  // A system turn in the template's plain text.
  ASSERT_EQ(detectChatTemplate("<|im_start|>system\nPlain {prompt}.<|im_end|>"
                               "\n{% for m in messages %}{% endfor %}",
                               chatml),
            NIBBLE_OK);
  EXPECT_EQ(chatml.defaultSystemPrompt, "Plain {prompt}.");
}

TEST(ChatTemplateTest, StripsPythonWhitespace) {
  EXPECT_EQ(stripPythonWhitespace(""), "");
  EXPECT_EQ(stripPythonWhitespace(" \t\n\v\f\r"), "");
  EXPECT_EQ(stripPythonWhitespace("  a b  "), "a b");
  // U+00A0, U+3000, U+2029 and \x1c-\x1f are whitespace to Python.
  EXPECT_EQ(stripPythonWhitespace("\xc2\xa0x\xe3\x80\x80"), "x");
  EXPECT_EQ(stripPythonWhitespace("\x1c\x1fy\xe2\x80\xa9"), "y");
  // U+200B (zero width space) and U+00E9 are not.
  EXPECT_EQ(stripPythonWhitespace("\xe2\x80\x8bz"), "\xe2\x80\x8bz");
  EXPECT_EQ(stripPythonWhitespace(" \xc3\xa9 "), "\xc3\xa9");
}

} // namespace

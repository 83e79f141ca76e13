//===- Json.cpp - A small strict JSON parser for the runtime --------------===//
//
// Recursive descent with an explicit depth bound; see Json.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/Json.h"

#include "runtime/Status.h"
#include "runtime/Unicode.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <numeric>
#include <string_view>

namespace nibble {
namespace runtime {

const JsonValue *JsonValue::find(const std::string &name) const {
  if (valueKind != Kind::Object)
    return nullptr;
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == name)
      return &children[i];
  return nullptr;
}

const char *JsonValue::kindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "a boolean";
  case Kind::Number:
    return "a number";
  case Kind::String:
    return "a string";
  case Kind::Array:
    return "an array";
  case Kind::Object:
    return "an object";
  }
  return "?";
}

/// The parser; every method returns false after recording the first error.
class JsonParser {
public:
  JsonParser(const char *text, size_t size) : text(text, size), size(size) {}

  bool parseDocument(JsonValue &root) {
    skipSpace();
    if (!parseValue(root, 1))
      return false;
    skipSpace();
    if (pos != size)
      return failAt("unexpected text after the JSON value");
    return true;
  }

  std::string error;

private:
  bool failAt(const std::string &message) {
    if (error.empty())
      error = message + " at byte " + std::to_string(pos);
    return false;
  }

  void skipSpace() {
    while (pos < size && (text[pos] == ' ' || text[pos] == '\t' ||
                          text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool consumeWord(const char *word) {
    size_t length = std::char_traits<char>::length(word);
    if (size - pos < length || text.compare(pos, length, word) != 0)
      return false;
    pos += length;
    return true;
  }

  bool parseValue(JsonValue &value, int depth) {
    if (pos >= size)
      return failAt("expected a value, found the end of the text");
    char c = text[pos];
    switch (c) {
    case '{':
    case '[':
      if (depth > kMaxJsonDepth)
        return failAt("nesting deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
      return c == '{' ? parseObject(value, depth) : parseArray(value, depth);
    case '"':
      value.valueKind = JsonValue::Kind::String;
      return parseString(value.text);
    case 't':
    case 'f':
    case 'n':
      if (consumeWord("true")) {
        value.valueKind = JsonValue::Kind::Bool;
        value.boolValue = true;
        return true;
      }
      if (consumeWord("false")) {
        value.valueKind = JsonValue::Kind::Bool;
        value.boolValue = false;
        return true;
      }
      if (consumeWord("null")) {
        value.valueKind = JsonValue::Kind::Null;
        return true;
      }
      return failAt("invalid literal (expected true, false or null)");
    default:
      if (c == '-' || (c >= '0' && c <= '9'))
        return parseNumber(value);
      return failAt("expected a value");
    }
  }

  bool parseObject(JsonValue &value, int depth) {
    value.valueKind = JsonValue::Kind::Object;
    ++pos; // '{'
    skipSpace();
    if (pos < size && text[pos] == '}') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      if (pos >= size || text[pos] != '"')
        return failAt("expected a string key in an object");
      size_t keyPos = pos;
      value.keys.emplace_back();
      if (!parseString(value.keys.back()))
        return false;
      keyOffsets.push_back(keyPos);
      skipSpace();
      if (pos >= size || text[pos] != ':')
        return failAt("expected ':' after an object key");
      ++pos;
      skipSpace();
      value.children.emplace_back();
      if (!parseValue(value.children.back(), depth + 1))
        return false;
      skipSpace();
      if (pos < size && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < size && text[pos] == '}') {
        ++pos;
        break;
      }
      return failAt("expected ',' or '}' after an object member");
    }
    return checkDuplicateKeys(value);
  }

  /// Rejects an object with two equal keys (sorting indices: no copies of
  /// the keys, O(n log n) for a 262k-entry vocabulary).
  bool checkDuplicateKeys(JsonValue &value) {
    size_t count = value.keys.size();
    size_t firstOffset = keyOffsets.size() - count;
    if (count > 1) {
      std::vector<uint32_t> order(count);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return value.keys[a] != value.keys[b] ? value.keys[a] < value.keys[b]
                                              : a < b;
      });
      for (size_t i = 1; i < count; ++i) {
        if (value.keys[order[i]] == value.keys[order[i - 1]]) {
          pos = keyOffsets[firstOffset + order[i]];
          return failAt("duplicate object key \"" + value.keys[order[i]] +
                        "\"");
        }
      }
    }
    keyOffsets.resize(firstOffset);
    return true;
  }

  bool parseArray(JsonValue &value, int depth) {
    value.valueKind = JsonValue::Kind::Array;
    ++pos; // '['
    skipSpace();
    if (pos < size && text[pos] == ']') {
      ++pos;
      return true;
    }
    while (true) {
      skipSpace();
      value.children.emplace_back();
      if (!parseValue(value.children.back(), depth + 1))
        return false;
      skipSpace();
      if (pos < size && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < size && text[pos] == ']') {
        ++pos;
        return true;
      }
      return failAt("expected ',' or ']' after an array element");
    }
  }

  bool parseHex4(uint32_t &value) {
    value = 0;
    for (int i = 0; i < 4; ++i, ++pos) {
      if (pos >= size)
        return failAt("truncated \\u escape");
      char c = text[pos];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return failAt("invalid hex digit in a \\u escape");
      value = value * 16 + digit;
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos; // '"'
    while (true) {
      if (pos >= size)
        return failAt("unterminated string");
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return failAt("unescaped control character in a string");
      if (c == '\\') {
        if (!parseEscape(out))
          return false;
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos;
        continue;
      }
      uint32_t codePoint;
      size_t length = decodeUtf8(text.data() + pos, size - pos, codePoint);
      if (codePoint == kInvalidCodePoint)
        return failAt("invalid UTF-8 in a string");
      out.append(text, pos, length);
      pos += length;
    }
  }

  bool parseEscape(std::string &out) {
    size_t escapePos = pos;
    ++pos; // '\\'
    if (pos >= size)
      return failAt("unterminated string");
    char c = text[pos++];
    switch (c) {
    case '"':
    case '\\':
    case '/':
      out += c;
      return true;
    case 'b':
      out += '\b';
      return true;
    case 'f':
      out += '\f';
      return true;
    case 'n':
      out += '\n';
      return true;
    case 'r':
      out += '\r';
      return true;
    case 't':
      out += '\t';
      return true;
    case 'u':
      break;
    default:
      pos = escapePos;
      return failAt("invalid escape in a string");
    }
    uint32_t codePoint;
    if (!parseHex4(codePoint))
      return false;
    if (codePoint >= 0xDC00 && codePoint <= 0xDFFF) {
      pos = escapePos;
      return failAt("lone low surrogate in a \\u escape");
    }
    if (codePoint >= 0xD800 && codePoint <= 0xDBFF) {
      if (size - pos < 2 || text[pos] != '\\' || text[pos + 1] != 'u') {
        pos = escapePos;
        return failAt("high surrogate without a low surrogate");
      }
      pos += 2;
      uint32_t low;
      if (!parseHex4(low))
        return false;
      if (low < 0xDC00 || low > 0xDFFF) {
        pos = escapePos;
        return failAt("high surrogate without a low surrogate");
      }
      codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (low - 0xDC00);
    }
    appendUtf8(codePoint, out);
    return true;
  }

  bool parseNumber(JsonValue &value) {
    size_t start = pos;
    bool integral = true;
    if (text[pos] == '-')
      ++pos;
    auto digits = [&] {
      size_t first = pos;
      while (pos < size && text[pos] >= '0' && text[pos] <= '9')
        ++pos;
      return pos - first;
    };
    if (pos < size && text[pos] == '0') {
      ++pos;
    } else if (digits() == 0) {
      return failAt("invalid number");
    }
    if (pos < size && text[pos] == '.') {
      ++pos;
      integral = false;
      if (digits() == 0)
        return failAt("invalid number (no digits after '.')");
    }
    if (pos < size && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      integral = false;
      if (pos < size && (text[pos] == '+' || text[pos] == '-'))
        ++pos;
      if (digits() == 0)
        return failAt("invalid number (no digits in the exponent)");
    }
    std::string literal(text.substr(start, pos - start));
    value.valueKind = JsonValue::Kind::Number;
    value.number = std::strtod(literal.c_str(), nullptr);
    if (integral) {
      errno = 0;
      long long parsed = std::strtoll(literal.c_str(), nullptr, 10);
      if (errno == 0) {
        value.integral = true;
        value.integer = parsed;
      }
    }
    return true;
  }

  std::string_view text;
  size_t size;
  size_t pos = 0;
  /// Byte offsets of the keys of the objects being parsed (innermost last).
  std::vector<size_t> keyOffsets;
};

nibble_status parseJson(const char *text, size_t size, JsonValue &root) {
  root = JsonValue();
  JsonParser parser(text, size);
  if (!parser.parseDocument(root)) {
    root = JsonValue();
    return fail(NIBBLE_ERROR_FORMAT, "%s", parser.error.c_str());
  }
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

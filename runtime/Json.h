//===- Json.h - A small strict JSON parser for the runtime ------*- C++ -*-===//
//
// RFC 8259 JSON into a tree of JsonValue, LLVM-free (the runtime reads HF
// tokenizer.json with it). Strict: one value with optional surrounding
// whitespace, no comments or trailing commas, no duplicate object keys,
// strings of well-formed UTF-8 with \u escapes (surrogate pairs combined,
// lone surrogates rejected), numbers as the grammar spells them. Nesting is
// bounded (kMaxJsonDepth) before recursing, so hostile input cannot exhaust
// the stack. Errors name the problem and its byte offset.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_JSON_H
#define NIBBLE_RUNTIME_JSON_H

#include "runtime/nibble_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

/// Arrays and objects nest at most this deep (the top-level value is 1).
constexpr int kMaxJsonDepth = 64;

/// One JSON value.
class JsonValue {
public:
  enum class Kind : uint8_t { Null, Bool, Number, String, Array, Object };

  Kind kind() const { return valueKind; }
  bool isNull() const { return valueKind == Kind::Null; }
  bool isBool() const { return valueKind == Kind::Bool; }
  bool isNumber() const { return valueKind == Kind::Number; }
  bool isString() const { return valueKind == Kind::String; }
  bool isArray() const { return valueKind == Kind::Array; }
  bool isObject() const { return valueKind == Kind::Object; }

  /// The value of a Bool.
  bool asBool() const { return boolValue; }
  /// The value of a Number.
  double asDouble() const { return number; }
  /// True for a Number written without fraction or exponent that fits in
  /// int64_t; asInteger() is then its exact value.
  bool isInteger() const { return integral; }
  int64_t asInteger() const { return integer; }
  /// The (unescaped) text of a String.
  const std::string &asString() const { return text; }

  /// Elements of an Array, or member values of an Object, in order.
  size_t size() const { return children.size(); }
  const JsonValue &operator[](size_t index) const { return children[index]; }
  /// The key of member `index` of an Object.
  const std::string &key(size_t index) const { return keys[index]; }
  /// The member `name` of an Object, or nullptr (also for non-objects).
  const JsonValue *find(const std::string &name) const;

  /// "null", "a boolean", "a number", "a string", "an array", "an object".
  static const char *kindName(Kind kind);

private:
  friend class JsonParser;
  Kind valueKind = Kind::Null;
  bool boolValue = false;
  bool integral = false;
  double number = 0;
  int64_t integer = 0;
  std::string text;
  std::vector<JsonValue> children;
  std::vector<std::string> keys;
};

/// Parses `size` bytes of `text` into `root`. Fails with NIBBLE_ERROR_FORMAT
/// and a message like "expected ':' after an object key at byte 17".
nibble_status parseJson(const char *text, size_t size, JsonValue &root);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_JSON_H

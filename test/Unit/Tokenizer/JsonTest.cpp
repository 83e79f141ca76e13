//===- JsonTest.cpp - Tests of the runtime's strict JSON parser -----------===//
//
// A document using every construct, then one case per rejection with the
// message and byte offset it must report.
//
//===----------------------------------------------------------------------===//

#include "runtime/Json.h"

#include "gtest/gtest.h"

#include <cctype>
#include <string>
#include <vector>

using namespace nibble::runtime;

namespace {

nibble_status parse(const std::string &text, JsonValue &root) {
  return parseJson(text.data(), text.size(), root);
}

TEST(JsonTest, ParsesEveryConstruct) {
  JsonValue root;
  std::string text =
      " {\"null\": null, \"t\": true, \"f\": false,\n"
      "  \"ints\": [0, -0, 7, -42, 9007199254740993, 9223372036854775807,"
      " -9223372036854775808, 9223372036854775808],\n"
      "  \"reals\": [1.5, -2.5e3, 1E-2, 0.0],\n"
      "  \"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00"
      "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\n"
      "  \"nested\": {\"a\": [[], {}, [{\"b\": []}]]}, \"\": \"empty "
      "key\"\t}\r\n";
  ASSERT_EQ(parse(text, root), NIBBLE_OK) << nibble_last_error();
  ASSERT_TRUE(root.isObject());
  EXPECT_EQ(root.size(), 8u);
  EXPECT_TRUE(root.find("null")->isNull());
  EXPECT_TRUE(root.find("t")->asBool());
  EXPECT_FALSE(root.find("f")->asBool());
  const JsonValue &ints = *root.find("ints");
  ASSERT_EQ(ints.size(), 8u);
  EXPECT_TRUE(ints[0].isInteger());
  EXPECT_EQ(ints[1].asInteger(), 0);
  EXPECT_EQ(ints[3].asInteger(), -42);
  EXPECT_EQ(ints[4].asInteger(), 9007199254740993LL); // Beyond a double.
  EXPECT_EQ(ints[5].asInteger(), INT64_MAX);
  EXPECT_EQ(ints[6].asInteger(), INT64_MIN);
  EXPECT_FALSE(ints[7].isInteger()); // Too large: a number, not an integer.
  EXPECT_DOUBLE_EQ(ints[7].asDouble(), 9223372036854775808.0);
  const JsonValue &reals = *root.find("reals");
  EXPECT_FALSE(reals[0].isInteger());
  EXPECT_DOUBLE_EQ(reals[0].asDouble(), 1.5);
  EXPECT_DOUBLE_EQ(reals[1].asDouble(), -2500);
  EXPECT_DOUBLE_EQ(reals[2].asDouble(), 0.01);
  EXPECT_EQ(root.find("s")->asString(),
            "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  const JsonValue &nested = *root.find("nested")->find("a");
  ASSERT_EQ(nested.size(), 3u);
  EXPECT_TRUE(nested[0].isArray());
  EXPECT_TRUE(nested[1].isObject());
  EXPECT_TRUE(nested[2][0].find("b")->isArray());
  EXPECT_EQ(root.key(7), "");
  EXPECT_EQ(root.find("missing"), nullptr);

  ASSERT_EQ(parse("\"just a string\"", root), NIBBLE_OK);
  EXPECT_EQ(root.asString(), "just a string");
  ASSERT_EQ(parse("-1.0e+2", root), NIBBLE_OK);
  EXPECT_DOUBLE_EQ(root.asDouble(), -100);
}

TEST(JsonTest, ParsesBuffersWithoutTerminator) {
  // Exactly sized heap buffers (no NUL after them): ASan reports any read
  // past the end (the fuzzer found one: fuzz/regressions/).
  for (std::string text : {"[12]", "\"ab\"", "12", "null", "{}"}) {
    std::vector<char> buffer(text.begin(), text.end());
    JsonValue root;
    EXPECT_EQ(parseJson(buffer.data(), buffer.size(), root), NIBBLE_OK) << text;
  }
  std::vector<char> prefix = {'1', '2'};
  JsonValue root;
  ASSERT_EQ(parseJson(prefix.data(), 1, root), NIBBLE_OK);
  EXPECT_EQ(root.asInteger(), 1);
}

TEST(JsonTest, NestingUpToTheLimit) {
  JsonValue root;
  std::string deep =
      std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(parse(deep, root), NIBBLE_OK) << nibble_last_error();
  std::string tooDeep = "[" + deep + "]";
  ASSERT_EQ(parse(tooDeep, root), NIBBLE_ERROR_FORMAT);
  EXPECT_STREQ(nibble_last_error(), "nesting deeper than 64 levels at byte 64");
  // Far deeper input fails the same way without recursing further.
  std::string hostile(1 << 20, '{');
  ASSERT_EQ(parse(hostile, root), NIBBLE_ERROR_FORMAT);
  EXPECT_STREQ(nibble_last_error(),
               "expected a string key in an object at byte 1");
  std::string hostileArrays(1 << 20, '[');
  ASSERT_EQ(parse(hostileArrays, root), NIBBLE_ERROR_FORMAT);
  EXPECT_STREQ(nibble_last_error(), "nesting deeper than 64 levels at byte 64");
}

struct BadJson {
  const char *what;
  std::string text;
  const char *message;
};

class JsonRejects : public testing::TestWithParam<BadJson> {};

TEST_P(JsonRejects, WithMessageAndOffset) {
  const BadJson &bad = GetParam();
  JsonValue root;
  ASSERT_EQ(parse(bad.text, root), NIBBLE_ERROR_FORMAT) << bad.what;
  EXPECT_STREQ(nibble_last_error(), bad.message) << bad.what;
  EXPECT_TRUE(root.isNull()) << "a failed parse leaves null";
}

INSTANTIATE_TEST_SUITE_P(
    JsonTest, JsonRejects,
    testing::Values(
        BadJson{"empty", "",
                "expected a value, found the end of the text "
                "at byte 0"},
        BadJson{"only space", "  \n",
                "expected a value, found the end of "
                "the text at byte 3"},
        BadJson{"trailing text", "{} x",
                "unexpected text after the JSON value at byte 3"},
        BadJson{"two values", "1 2",
                "unexpected text after the JSON value at byte 2"},
        BadJson{"trailing comma in object", "{\"a\": 1,}",
                "expected a string key in an object at byte 8"},
        BadJson{"trailing comma in array", "[1,]",
                "expected a value at byte 3"},
        BadJson{"missing colon", "{\"a\" 1}",
                "expected ':' after an object key at byte 5"},
        BadJson{"missing comma", "[1 2]",
                "expected ',' or ']' after an array element at byte 3"},
        BadJson{"unclosed object", "{\"a\": 1",
                "expected ',' or '}' after an object member at byte 7"},
        BadJson{"single quotes", "{'a': 1}",
                "expected a string key in an object at byte 1"},
        BadJson{"comment", "[1] // note",
                "unexpected text after the JSON value at byte 4"},
        BadJson{"unterminated string", "\"abc",
                "unterminated string at byte 4"},
        BadJson{"raw newline in string", "\"a\nb\"",
                "unescaped control character in a string at byte 2"},
        BadJson{"bad escape", "\"a\\x41\"",
                "invalid escape in a string at "
                "byte 2"},
        BadJson{"short unicode escape", "\"\\u12\"",
                "invalid hex digit in a \\u escape at byte 5"},
        BadJson{"lone low surrogate", "\"\\udc00\"",
                "lone low surrogate in a \\u escape at byte 1"},
        BadJson{"high surrogate alone", "\"\\ud83d\"",
                "high surrogate without a low surrogate at byte 1"},
        BadJson{"high surrogate then letter", "\"\\ud83d\\u0041\"",
                "high surrogate without a low surrogate at byte 1"},
        BadJson{"invalid UTF-8", "\"\xff\"",
                "invalid UTF-8 in a string at "
                "byte 1"},
        BadJson{"overlong UTF-8", "\"\xc0\xaf\"",
                "invalid UTF-8 in a string at byte 1"},
        BadJson{"UTF-8 surrogate", "\"\xed\xa0\x80\"",
                "invalid UTF-8 in a string at byte 1"},
        BadJson{"truncated UTF-8", "\"\xe2\x82\"",
                "invalid UTF-8 in a string at byte 1"},
        BadJson{"leading zero", "01",
                "unexpected text after the JSON value at byte 1"},
        BadJson{"lone minus", "-", "invalid number at byte 1"},
        BadJson{"no fraction digits", "1.",
                "invalid number (no digits after '.') at byte 2"},
        BadJson{"no exponent digits", "1e+",
                "invalid number (no digits in the exponent) at byte 3"},
        BadJson{"plus sign", "+1", "expected a value at byte 0"},
        BadJson{"NaN", "NaN", "expected a value at byte 0"},
        BadJson{"bad literal", "nul",
                "invalid literal (expected true, false or null) at byte 0"},
        BadJson{"capitalized literal", "True", "expected a value at byte 0"},
        BadJson{"duplicate key", "{\"a\": 1, \"b\": 2, \"a\": 3}",
                "duplicate object key \"a\" at byte 17"},
        BadJson{"duplicate key, nested",
                "{\"x\": {\"k\": 1, \"k\": 2}, \"y\": 0}",
                "duplicate object key \"k\" at byte 15"}),
    [](const testing::TestParamInfo<BadJson> &info) {
      std::string name;
      for (char c : std::string(info.param.what))
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

} // namespace

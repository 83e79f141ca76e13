//===- UnicodeTest.cpp - UTF-8 helpers and Unicode classes ----------------===//

#include "runtime/Unicode.h"

#include "gtest/gtest.h"

#include <string>

using namespace nibble::runtime;

namespace {

uint32_t decodeOne(const std::string &bytes, size_t &length) {
  uint32_t cp;
  length = decodeUtf8(bytes.data(), bytes.size(), cp);
  return cp;
}

TEST(UnicodeTest, DecodesWellFormedSequences) {
  size_t length;
  EXPECT_EQ(decodeOne("A", length), 0x41u);
  EXPECT_EQ(length, 1u);
  EXPECT_EQ(decodeOne("\xc3\xa9x", length), 0xE9u);
  EXPECT_EQ(length, 2u);
  EXPECT_EQ(decodeOne("\xe2\x82\xac", length), 0x20ACu);
  EXPECT_EQ(length, 3u);
  EXPECT_EQ(decodeOne("\xf0\x9f\x98\x80", length), 0x1F600u);
  EXPECT_EQ(length, 4u);
  EXPECT_EQ(decodeOne("\xf4\x8f\xbf\xbf", length), 0x10FFFFu);
  EXPECT_EQ(length, 4u);
  EXPECT_EQ(decodeOne(std::string("\0", 1), length), 0u);
}

TEST(UnicodeTest, MalformedSequencesDecodeAsOneInvalidByte) {
  for (const std::string &bad :
       {std::string("\x80"), std::string("\xbf"), std::string("\xc0\x80"),
        std::string("\xc1\xbf"), std::string("\xe0\x80\x80"),
        std::string("\xed\xa0\x80"), std::string("\xf0\x80\x80\x80"),
        std::string("\xf4\x90\x80\x80"), std::string("\xf5\x80\x80\x80"),
        std::string("\xff"), std::string("\xc3"), std::string("\xe2\x82"),
        std::string("\xe2\x28\xa1"), std::string("\xf0\x9f\x98")}) {
    size_t length;
    EXPECT_EQ(decodeOne(bad, length), kInvalidCodePoint) << bad.size();
    EXPECT_EQ(length, 1u);
  }
}

TEST(UnicodeTest, EncodesAndValidates) {
  std::string out;
  for (uint32_t cp : {0x24u, 0xA2u, 0x939u, 0x20ACu, 0xD55Cu, 0x10348u})
    appendUtf8(cp, out);
  EXPECT_EQ(out, "\x24\xc2\xa2\xe0\xa4\xb9\xe2\x82\xac\xed\x95\x9c"
                 "\xf0\x90\x8d\x88");
  EXPECT_TRUE(isValidUtf8(out.data(), out.size()));
  size_t offset = 99;
  std::string bad = "ok\xe2\x82";
  EXPECT_FALSE(isValidUtf8(bad.data(), bad.size(), &offset));
  EXPECT_EQ(offset, 2u);
}

TEST(UnicodeTest, CompletePrefixHoldsBackOnlyCompletableSequences) {
  auto prefix = [](const std::string &bytes) {
    return completeUtf8Prefix(bytes.data(), bytes.size());
  };
  EXPECT_EQ(prefix(""), 0u);
  EXPECT_EQ(prefix("abc"), 3u);
  EXPECT_EQ(prefix("ab\xc3"), 2u);             // é's lead byte.
  EXPECT_EQ(prefix("ab\xe2\x82"), 2u);         // € without its last byte.
  EXPECT_EQ(prefix("ab\xf0\x9f\x98"), 2u);     // 😀 without its last byte.
  EXPECT_EQ(prefix("ab\xf0\x9f\x98\x80"), 6u); // Complete.
  EXPECT_EQ(prefix("\xe2\x82\xac\xe2"), 3u);
  // Bytes that can never complete are not held back.
  EXPECT_EQ(prefix("ab\x80"), 3u);     // A stray continuation byte.
  EXPECT_EQ(prefix("ab\xff"), 3u);     // Never valid.
  EXPECT_EQ(prefix("ab\xc0"), 3u);     // Overlong lead.
  EXPECT_EQ(prefix("ab\xe0\x80"), 4u); // E0 needs A0..BF next.
  EXPECT_EQ(prefix("ab\xed\xa0"), 4u); // A surrogate.
  EXPECT_EQ(prefix("ab\xf4\x90"), 4u); // Beyond U+10FFFF.
  EXPECT_EQ(prefix("ab\xe0\xa0"), 2u); // E0 A0 can still complete.
}

TEST(UnicodeTest, Classes) {
  // \p{L}
  for (uint32_t cp : {0x41u, 0x7Au, 0xAAu, 0xB5u, 0xE9u, 0x3B1u, 0x416u, 0x5D0u,
                      0x627u, 0x905u, 0xE01u, 0x3042u, 0x30A2u, 0x4E2Du,
                      0xAC00u, 0x1D400u, 0x20000u, 0x2B0u})
    EXPECT_TRUE(isLetter(cp)) << std::hex << cp;
  for (uint32_t cp : {0x30u, 0x20u, 0x5Fu, 0x301u, 0x2581u, 0x1F600u, 0xD800u,
                      0x110000u, kInvalidCodePoint, 0x3000u})
    EXPECT_FALSE(isLetter(cp)) << std::hex << cp;
  // \p{N}: Nd, Nl, No.
  for (uint32_t cp :
       {0x30u, 0x39u, 0xB2u, 0xB9u, 0xBDu, 0x663u, 0x6F1u, 0x967u, 0xFF11u,
        0x2160u, 0x216Bu, 0x2075u, 0x2082u, 0x2460u, 0x3007u, 0x1D7CEu})
    EXPECT_TRUE(isNumber(cp)) << std::hex << cp;
  for (uint32_t cp : {0x41u, 0x2Eu, 0x2Bu, 0x221Eu, 0x3C0u})
    EXPECT_FALSE(isNumber(cp)) << std::hex << cp;
  // \s
  for (uint32_t cp :
       {0x9u, 0xAu, 0xBu, 0xCu, 0xDu, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u,
        0x200Au, 0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
    EXPECT_TRUE(isWhitespace(cp)) << std::hex << cp;
  for (uint32_t cp : {0x0u, 0x1Cu, 0x200Bu, 0x2581u, 0xFEFFu, 0x180Eu})
    EXPECT_FALSE(isWhitespace(cp)) << std::hex << cp;
  EXPECT_STREQ(unicodeVersion(), "14.0.0");
}

} // namespace

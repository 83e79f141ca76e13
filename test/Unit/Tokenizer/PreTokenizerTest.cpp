//===- PreTokenizerTest.cpp - The hand-written split regexes --------------===//
//
// Pieces the GPT-2 and Llama 3 regexes, the digit split and the literal
// splits must produce, worked out from the regexes' semantics (the first
// alternative that matches wins; `\s+(?!\S)` gives back the last space
// before a word). ReferenceTest checks the same against HF tokenizers on
// real text.
//
//===----------------------------------------------------------------------===//

#include "runtime/PreTokenizer.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace nibble::runtime;

namespace {

using Pieces = std::vector<std::string>;

Pieces pieces(const std::string &text, const std::vector<TextSpan> &spans) {
  Pieces out;
  for (const TextSpan &span : spans) {
    EXPECT_GT(span.length, 0u);
    out.push_back(text.substr(span.offset, span.length));
  }
  return out;
}

Pieces regexSplit(SplitRegex regex, const std::string &text) {
  std::vector<TextSpan> spans;
  splitWithRegex(regex, text.data(), text.size(), spans);
  // The regexes cover the text without gaps.
  size_t next = 0;
  for (const TextSpan &span : spans) {
    EXPECT_EQ(span.offset, next) << text;
    next = span.offset + span.length;
  }
  EXPECT_EQ(next, text.size()) << text;
  return pieces(text, spans);
}

TEST(PreTokenizerTest, Gpt2Regex) {
  auto gpt2 = [](const std::string &text) {
    return regexSplit(SplitRegex::Gpt2, text);
  };
  EXPECT_EQ(gpt2("Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(gpt2("it's they're I'LL"),
            (Pieces{"it", "'s", " they", "'re", " I", "'", "LL"}));
  EXPECT_EQ(gpt2("  multiple   spaces"),
            (Pieces{" ", " multiple", "  ", " spaces"}));
  EXPECT_EQ(gpt2("x  1 23"), (Pieces{"x", " ", " 1", " 23"}));
  EXPECT_EQ(gpt2("a\n\nb"), (Pieces{"a", "\n", "\n", "b"}));
  EXPECT_EQ(gpt2("a \n b"), (Pieces{"a", " \n", " b"}));
  EXPECT_EQ(gpt2("end   "), (Pieces{"end", "   "}));
  EXPECT_EQ(gpt2("\tTab"), (Pieces{"\t", "Tab"}));
  EXPECT_EQ(gpt2("(x) += 3;"), (Pieces{"(", "x", ")", " +=", " 3", ";"}));
  EXPECT_EQ(gpt2("?'s"), (Pieces{"?'", "s"}));
  EXPECT_EQ(
      gpt2("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac 12\xc2\xbd"),
      (Pieces{"caf\xc3\xa9", " \xe6\x97\xa5\xe6\x9c\xac", " 12\xc2\xbd"}));
  // U+00A0 is \s but not the optional ' '; an invalid byte is of no class
  // (like punctuation).
  EXPECT_EQ(gpt2("a\xc2\xa0\xc2\xa0z \xff\xfe!"),
            (Pieces{"a", "\xc2\xa0", "\xc2\xa0", "z", " \xff\xfe!"}));
  EXPECT_TRUE(gpt2("").empty());
}

TEST(PreTokenizerTest, Llama3Regex) {
  auto llama3 = [](const std::string &text) {
    return regexSplit(SplitRegex::Llama3, text);
  };
  EXPECT_EQ(llama3("Hello WORLD's 1234567"),
            (Pieces{"Hello", " WORLD", "'s", " ", "123", "456", "7"}));
  EXPECT_EQ(llama3("I'LL (x)"), (Pieces{"I", "'LL", " (", "x", ")"}));
  EXPECT_EQ(llama3("a.\n\n  b"), (Pieces{"a", ".\n\n", " ", " b"}));
  EXPECT_EQ(llama3("x  \n\n  \ty"), (Pieces{"x", "  \n\n", "  ", "\ty"}));
  EXPECT_EQ(llama3("end \r\n"), (Pieces{"end", " \r\n"}));
  EXPECT_EQ(llama3(" ?!x  ?!"), (Pieces{" ?!", "x", " ", " ?!"}));
  EXPECT_EQ(llama3("\n1"), (Pieces{"\n", "1"}));
}

TEST(PreTokenizerTest, Digits) {
  std::string text = "ab12c\xd9\xa3\xd9\xa4 5";
  std::vector<TextSpan> spans;
  splitDigits(text.data(), text.size(), /*individual=*/true, spans);
  EXPECT_EQ(pieces(text, spans),
            (Pieces{"ab", "1", "2", "c", "\xd9\xa3", "\xd9\xa4", " ", "5"}));
  spans.clear();
  splitDigits(text.data(), text.size(), /*individual=*/false, spans);
  EXPECT_EQ(pieces(text, spans),
            (Pieces{"ab", "12", "c", "\xd9\xa3\xd9\xa4", " ", "5"}));
}

TEST(PreTokenizerTest, StringBehaviors) {
  auto split = [](const std::string &text, SplitBehavior behavior) {
    std::vector<TextSpan> spans;
    splitOnString(text.data(), text.size(), "-", behavior, spans);
    return pieces(text, spans);
  };
  const std::string text = "-a--b-c-";
  EXPECT_EQ(split(text, SplitBehavior::Removed), (Pieces{"a", "b", "c"}));
  EXPECT_EQ(split(text, SplitBehavior::Isolated),
            (Pieces{"-", "a", "-", "-", "b", "-", "c", "-"}));
  EXPECT_EQ(split(text, SplitBehavior::Contiguous),
            (Pieces{"-", "a", "--", "b", "-", "c", "-"}));
  EXPECT_EQ(split(text, SplitBehavior::MergedWithPrevious),
            (Pieces{"-", "a-", "-", "b-", "c-"}));
  EXPECT_EQ(split(text, SplitBehavior::MergedWithNext),
            (Pieces{"-a", "-", "-b", "-c", "-"}));
  EXPECT_EQ(split("abc", SplitBehavior::MergedWithNext), (Pieces{"abc"}));
  std::vector<TextSpan> spans;
  std::string metaspace = "\xe2\x96\x81"
                          "a\xe2\x96\x81\xe2\x96\x81"
                          "b";
  splitOnString(metaspace.data(), metaspace.size(), "\xe2\x96\x81",
                SplitBehavior::MergedWithNext, spans);
  EXPECT_EQ(pieces(metaspace, spans), (Pieces{"\xe2\x96\x81"
                                              "a",
                                              "\xe2\x96\x81",
                                              "\xe2\x96\x81"
                                              "b"}));
}

} // namespace

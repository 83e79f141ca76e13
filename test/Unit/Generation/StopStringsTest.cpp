//===- StopStringsTest.cpp - Stop strings in streamed text ----------------===//
//
// Feeds texts to StopStringFilter cut into pieces at every position (every
// single cut, every pair of cuts, one byte at a time) and checks that the
// printed text is exactly the text before the first stop string, that what
// is printed at any moment is a prefix of that (nothing is ever taken back),
// that the stop is reported by the piece that completes it, and that only a
// possible start of a stop string (or of a UTF-8 character) is held back.
//
//===----------------------------------------------------------------------===//

#include "runtime/StopStrings.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace nibble::runtime;

namespace {

struct StreamCase {
  std::string text;
  std::vector<std::string> stops;
};

/// Where the filter must stop, computed directly: `end` is the first byte
/// position by which some stop string is complete, `start` the earliest
/// start of a stop string in the text up to there (npos, npos if none).
std::pair<size_t, size_t> firstStop(const std::string &text,
                                    const std::vector<std::string> &stops) {
  size_t end = std::string::npos;
  for (const std::string &stop : stops) {
    size_t at = text.find(stop);
    if (at != std::string::npos)
      end = std::min(end, at + stop.size());
  }
  if (end == std::string::npos)
    return {end, end};
  size_t start = end;
  for (const std::string &stop : stops)
    start = std::min(start, text.substr(0, end).find(stop));
  return {start, end};
}

/// The longest ending of `text` that is a proper prefix of a stop string.
size_t longestStopPrefixEnding(const std::string &text,
                               const std::vector<std::string> &stops) {
  size_t longest = 0;
  for (const std::string &stop : stops)
    for (size_t length = 1; length < stop.size() && length <= text.size();
         ++length)
      if (text.compare(text.size() - length, length, stop, 0, length) == 0)
        longest = std::max(longest, length);
  return longest;
}

/// Streams `text` cut at `cuts` (increasing positions) and checks every
/// property; `label` names the split in failures.
void checkSplit(const StreamCase &c, const std::vector<size_t> &cuts) {
  std::string label = "cuts:";
  for (size_t cut : cuts)
    label += " " + std::to_string(cut);
  SCOPED_TRACE(label);
  auto [stopStart, stopEnd] = firstStop(c.text, c.stops);
  std::string expected =
      stopStart == std::string::npos ? c.text : c.text.substr(0, stopStart);

  StopStringFilter filter;
  ASSERT_EQ(filter.reset(c.stops), NIBBLE_OK);
  std::string printed;
  size_t begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(c.text.size());
  for (size_t end : ends) {
    std::string piece = c.text.substr(begin, end - begin);
    bool wasStopped = filter.stopped();
    bool stopped = filter.push(piece, printed);
    // Never printed anything that is not part of the final output.
    ASSERT_EQ(expected.compare(0, printed.size(), printed), 0)
        << "printed \"" << printed << "\" but the output is \"" << expected
        << "\"";
    ASSERT_LE(printed.size(), expected.size());
    // The stop is reported by the piece that completes it.
    bool completes = stopEnd != std::string::npos && end >= stopEnd;
    EXPECT_EQ(stopped, completes) << "after byte " << end;
    if (stopped && !wasStopped) {
      EXPECT_EQ(printed, expected);
    } else if (!stopped) {
      // Held back: nothing but a possible stop string start or an
      // incomplete character, and printed + held is all that arrived.
      std::string arrived = c.text.substr(0, end);
      EXPECT_EQ(printed + filter.heldBack(), arrived);
      size_t stopHold = longestStopPrefixEnding(arrived, c.stops);
      size_t utf8Hold = incompleteUtf8Suffix(arrived.substr(
          0, arrived.size() - std::min(stopHold, arrived.size())));
      EXPECT_EQ(filter.heldBack().size(), stopHold + utf8Hold);
    }
    begin = end;
  }
  filter.finish(printed);
  EXPECT_EQ(printed, expected);
  EXPECT_EQ(filter.stopped(), stopStart != std::string::npos);
}

const StreamCase kCases[] = {
    {"Hello there<|im_end|>\nignored", {"<|im_end|>"}},
    {"Hello there<|im_", {"<|im_end|>"}}, // ends inside a stop's prefix
    {"<|im_end|>at once", {"<|im_end|>"}},
    {"a <|im_x <|im_end|>", {"<|im_end|>"}}, // a false start first
    {"aaab", {"aab"}},                       // self-overlapping
    {"no stop here at all", {"<end_of_turn>", "\nUser:"}},
    {"reply\nUse\nUser: more", {"<end_of_turn>", "\nUser:"}},
    {"x<end_of_turn", {"<end_of_turn>", "<end"}}, // a stop inside another
    {"xabcdy", {"abcd", "bc"}}, // "bc" completes first: the output is "xa"
    {"one two three", {}},
    {"caf\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x8c\x8d!", {"!"}},
    {"\xe2\x82\xac<eot>\xe2\x82\xac", {"<eot>", "\xe2\x82\xac<e"}},
};

TEST(StopStringsTest, EverySingleCut) {
  for (const StreamCase &c : kCases) {
    SCOPED_TRACE(c.text);
    for (size_t cut = 0; cut <= c.text.size(); ++cut)
      checkSplit(c, {cut});
  }
}

TEST(StopStringsTest, EveryPairOfCuts) {
  for (const StreamCase &c : kCases) {
    SCOPED_TRACE(c.text);
    for (size_t first = 0; first <= c.text.size(); ++first)
      for (size_t second = first; second <= c.text.size(); ++second)
        checkSplit(c, {first, second});
  }
}

TEST(StopStringsTest, OneByteAtATime) {
  for (const StreamCase &c : kCases) {
    SCOPED_TRACE(c.text);
    std::vector<size_t> cuts;
    for (size_t cut = 1; cut < c.text.size(); ++cut)
      cuts.push_back(cut);
    checkSplit(c, cuts);
  }
}

TEST(StopStringsTest, HoldsBackOnlyWhatCouldStillMatch) {
  StopStringFilter filter;
  ASSERT_EQ(filter.reset({"<|im_end|>"}), NIBBLE_OK);
  std::string out;
  EXPECT_FALSE(filter.push("Hello<|im", out));
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(filter.heldBack(), "<|im");
  // The next piece shows it was not a stop string: all of it is released.
  EXPECT_FALSE(filter.push("x", out));
  EXPECT_EQ(out, "Hello<|imx");
  EXPECT_EQ(filter.heldBack(), "");
  EXPECT_EQ(filter.matchedIndex(), -1);
}

TEST(StopStringsTest, ReportsWhichStopMatched) {
  StopStringFilter filter;
  ASSERT_EQ(filter.reset({"STOP", "\n\n", "ST"}), NIBBLE_OK);
  std::string out;
  EXPECT_TRUE(filter.push("a\n\nSTOP", out));
  EXPECT_EQ(out, "a");
  EXPECT_EQ(filter.matchedIndex(), 1); // the earliest in the text
  // After a stop nothing more comes out, and finish() adds nothing.
  EXPECT_TRUE(filter.push("more", out));
  filter.finish(out);
  EXPECT_EQ(out, "a");
  // In one piece, the stop that ends first wins, as it would byte by byte.
  ASSERT_EQ(filter.reset({"STOP", "\n\n", "ST"}), NIBBLE_OK);
  out.clear();
  EXPECT_TRUE(filter.push("xSTOP", out));
  EXPECT_EQ(filter.matchedIndex(), 2);
  EXPECT_EQ(out, "x");
  // Ending at the same place, the one starting first; then the first listed.
  ASSERT_EQ(filter.reset({"OP", "STOP", "OP"}), NIBBLE_OK);
  out.clear();
  EXPECT_TRUE(filter.push("xSTOP", out));
  EXPECT_EQ(filter.matchedIndex(), 1);
  ASSERT_EQ(filter.reset({"QQ", "OP", "OP"}), NIBBLE_OK);
  out.clear();
  EXPECT_TRUE(filter.push("xSTOP", out));
  EXPECT_EQ(filter.matchedIndex(), 1);
  EXPECT_EQ(out, "xST");
}

TEST(StopStringsTest, HoldsBackIncompleteCharacters) {
  StopStringFilter filter;
  ASSERT_EQ(filter.reset({}), NIBBLE_OK);
  std::string out;
  // U+1F30D in four bytes, one per token (byte-fallback tokens).
  const char bytes[] = "\xf0\x9f\x8c\x8d";
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(filter.push(std::string(1, bytes[i]), out));
    EXPECT_EQ(out, "");
  }
  EXPECT_FALSE(filter.push(std::string(1, bytes[3]), out));
  EXPECT_EQ(out, bytes);
  // An invalid byte is passed on at once.
  out.clear();
  EXPECT_FALSE(filter.push("\xff", out));
  EXPECT_EQ(out, "\xff");
  // A character cut off by the end of the stream is flushed as it is.
  out.clear();
  EXPECT_FALSE(filter.push("a\xe2\x82", out));
  EXPECT_EQ(out, "a");
  filter.finish(out);
  EXPECT_EQ(out, "a\xe2\x82");
}

TEST(StopStringsTest, IncompleteUtf8Suffix) {
  EXPECT_EQ(incompleteUtf8Suffix(""), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("abc"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("a\xc3"), 1u);
  EXPECT_EQ(incompleteUtf8Suffix("a\xc3\xa9"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("\xe4\xb8"), 2u);
  EXPECT_EQ(incompleteUtf8Suffix("\xe4\xb8\x96"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("\xf0\x9f\x8c"), 3u);
  EXPECT_EQ(incompleteUtf8Suffix("\xf0\x9f\x8c\x8d"), 0u);
  // Stray continuation bytes and invalid leads are complete (as is).
  EXPECT_EQ(incompleteUtf8Suffix("\x80\x80\x80"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("\xc0"), 0u);
  EXPECT_EQ(incompleteUtf8Suffix("\xf8"), 0u);
}

TEST(StopStringsTest, EmptyStopStringIsAnError) {
  StopStringFilter filter;
  EXPECT_EQ(filter.reset({"ok", ""}), NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(nibble_last_error()).find("stop string 1 of 2 is empty"),
      std::string::npos)
      << nibble_last_error();
}

} // namespace

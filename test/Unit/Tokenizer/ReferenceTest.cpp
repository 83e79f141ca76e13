//===- ReferenceTest.cpp - Tokenizers against HF tokenizers' ids ----------===//
//
// Every text unit of the fixtures (3403 units of Debian's Python docs and
// the hand-written cases, twice) encoded by the runtime's tokenizer must
// give exactly the ids the Hugging Face `tokenizers` package gave
// (Inputs/make_tokenizer_fixtures.py), for the two real models loaded from
// their GGUF files and for four small tokenizer.json files; decoding the
// reference ids must give exactly the bytes `tokenizers` decoded (compared
// by FNV-1a-64); and decode(encode(x)) must give x back where the model is
// lossless. transformers' GGUF conversion must differ exactly on the units
// the script recorded (see there). Also: encoding speed on the ~256 KB
// Python tutorial.
//
//===----------------------------------------------------------------------===//

#include "FixtureUtil.h"

#include "runtime/Tokenizer.h"
#include "runtime/Unicode.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <dirent.h>

using namespace nibble::runtime;
using namespace nibble::test;

#if defined(__SANITIZE_ADDRESS__)
#define NIBBLE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NIBBLE_TEST_SANITIZED 1
#endif
#endif

namespace {

constexpr const char *kSmolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf";
constexpr const char *kGemma3 = "gemma-3-270m-q4_k_m.gguf";
/// The doc units the tiny tokenizer.json fixtures encode (the script's
/// TINY_DOC_UNITS).
constexpr size_t kTinyDocUnits = 200;
/// Mismatches printed in full before the rest are only counted.
constexpr int kMismatchesShown = 5;

/// How decode(encode(x)) relates to x.
enum class RoundTrip {
  /// Byte-level BPE and SentencePiece with byte fallback: x, except that a
  /// literal U+2581 in x comes back as ' ' for SentencePiece models.
  Exact,
  ExactButMetaspace,
  /// Not checked (a prefix space is added, or unknown characters).
  None,
};

/// Loads `source` (a model file or an Inputs/ tokenizer.json).
void openTokenizer(const std::string &path, Tokenizer &tokenizer) {
  nibble_status status = tokenizer.open(path);
  ASSERT_EQ(status, NIBBLE_OK)
      << nibble_last_error()
      << (path.find(".gguf") != std::string::npos
              ? "\n(the models come from scripts/fetch-models.sh)"
              : "");
}

/// `text` with every U+2581 replaced by a space.
std::string metaspaceToSpace(std::string text) {
  for (size_t at; (at = text.find("\xE2\x96\x81")) != std::string::npos;)
    text.replace(at, 3, " ");
  return text;
}

/// Compares `tokenizer` with fixture `name` on every unit.
void checkAgainstReference(const Tokenizer &tokenizer, const std::string &name,
                           size_t maxDocUnits, RoundTrip roundTrip) {
  std::string error;
  std::vector<TextUnit> units;
  ASSERT_TRUE(loadTextUnits(maxDocUnits, units, error)) << error;
  std::vector<std::vector<int32_t>> expected;
  ASSERT_TRUE(loadIdLists(name, expected, error)) << error;
  std::vector<uint64_t> decodeHashes;
  ASSERT_TRUE(loadDecodeHashes(name, decodeHashes, error)) << error;
  ASSERT_EQ(units.size(), expected.size())
      << name << ": the fixture has another number of units than the text "
      << "(rerun make_tokenizer_fixtures.py)";
  ASSERT_EQ(units.size(), decodeHashes.size());

  size_t ids = 0, encodeMismatches = 0, decodeMismatches = 0,
         roundTripMismatches = 0, roundTrips = 0, bytes = 0;
  std::vector<std::vector<int32_t>> ours(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    const TextUnit &unit = units[i];
    ours[i] = tokenizer.encode(unit.text, /*addSpecialTokens=*/false,
                               unit.parseSpecialTokens);
    ids += expected[i].size();
    bytes += unit.text.size();
    if (ours[i] != expected[i] && encodeMismatches++ < kMismatchesShown)
      ADD_FAILURE() << name << ": " << unit.where << " \"" << preview(unit.text)
                    << "\"\n  expected " << formatIds(expected[i])
                    << "\n  got      " << formatIds(ours[i]);
    std::string decoded = tokenizer.decode(expected[i]);
    if (fnv64(decoded) != decodeHashes[i] &&
        decodeMismatches++ < kMismatchesShown)
      ADD_FAILURE() << name << ": " << unit.where
                    << ": decoding the reference ids gives \""
                    << preview(decoded) << "\", not what tokenizers decoded";
    if (roundTrip == RoundTrip::None)
      continue;
    std::string want = unit.text;
    if (roundTrip == RoundTrip::ExactButMetaspace)
      want = metaspaceToSpace(want);
    ++roundTrips;
    std::string back = tokenizer.decode(ours[i]);
    if (back != want && roundTripMismatches++ < kMismatchesShown)
      ADD_FAILURE() << name << ": " << unit.where << ": decode(encode(x)) is \""
                    << preview(back) << "\", x is \"" << preview(unit.text)
                    << "\"";
  }
  EXPECT_EQ(encodeMismatches, 0u) << name;
  EXPECT_EQ(decodeMismatches, 0u) << name;
  EXPECT_EQ(roundTripMismatches, 0u) << name;
  std::printf("[ %s ] %zu units (%zu bytes, %zu reference ids): %zu encode "
              "mismatches, %zu decode mismatches, %zu of %zu round trips "
              "differ\n",
              name.c_str(), units.size(), bytes, ids, encodeMismatches,
              decodeMismatches, roundTripMismatches, roundTrips);
}

/// Checks that transformers' GGUF conversion differs from ours exactly on
/// the units the fixture script recorded, and on no others.
void checkTransformersDifferences(const Tokenizer &tokenizer,
                                  const std::string &name) {
  std::string error;
  std::vector<TextUnit> units;
  ASSERT_TRUE(loadTextUnits(SIZE_MAX, units, error)) << error;
  std::vector<std::pair<size_t, std::vector<int32_t>>> differences;
  ASSERT_TRUE(loadTransformersDifferences(name, differences, error)) << error;
  for (const auto &difference : differences) {
    ASSERT_LT(difference.first, units.size());
    const TextUnit &unit = units[difference.first];
    std::vector<int32_t> ours =
        tokenizer.encode(unit.text, false, unit.parseSpecialTokens);
    EXPECT_NE(ours, difference.second)
        << name << ": " << unit.where << ": recorded as a unit where "
        << "transformers' conversion differs, but it gives our ids";
    // Both spell the same text.
    EXPECT_EQ(tokenizer.decode(ours), tokenizer.decode(difference.second))
        << name << ": " << unit.where;
  }
  std::printf("[ %s ] transformers' GGUF conversion differs on %zu of %zu "
              "units (documented in make_tokenizer_fixtures.py)\n",
              name.c_str(), differences.size(), units.size());
}

TEST(TokenizerReference, SmolLM2MatchesTokenizers) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(openTokenizer(modelPath(kSmolLM2), tokenizer));
  checkAgainstReference(tokenizer, "smollm2", SIZE_MAX, RoundTrip::Exact);
  checkTransformersDifferences(tokenizer, "smollm2");
}

TEST(TokenizerReference, Gemma3MatchesTokenizers) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(openTokenizer(modelPath(kGemma3), tokenizer));
  checkAgainstReference(tokenizer, "gemma3", SIZE_MAX,
                        RoundTrip::ExactButMetaspace);
  checkTransformersDifferences(tokenizer, "gemma3");
}

TEST(TokenizerReference, TinyByteLevelJson) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(
      openTokenizer(inputPath("tiny_bytelevel.json"), tokenizer));
  checkAgainstReference(tokenizer, "tiny_bytelevel", kTinyDocUnits,
                        RoundTrip::None);
}

TEST(TokenizerReference, TinyByteFallbackJson) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(
      openTokenizer(inputPath("tiny_fallback.json"), tokenizer));
  checkAgainstReference(tokenizer, "tiny_fallback", kTinyDocUnits,
                        RoundTrip::None);
}

TEST(TokenizerReference, TinyLlama3Json) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(
      openTokenizer(inputPath("tiny_llama3.json"), tokenizer));
  checkAgainstReference(tokenizer, "tiny_llama3", kTinyDocUnits,
                        RoundTrip::Exact);
}

TEST(TokenizerReference, TinyMetaspaceJson) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(
      openTokenizer(inputPath("tiny_metaspace.json"), tokenizer));
  checkAgainstReference(tokenizer, "tiny_metaspace", kTinyDocUnits,
                        RoundTrip::None);
}

/// The Python tutorial, every .rst.txt in name order (about 256 KB).
std::string tutorialText() {
  const std::string dir = "/usr/share/doc/python3.11/html/_sources/tutorial";
  std::vector<std::string> names;
  if (DIR *handle = opendir(dir.c_str())) {
    while (dirent *entry = readdir(handle)) {
      std::string file = entry->d_name;
      if (file.size() > 8 && file.compare(file.size() - 8, 8, ".rst.txt") == 0)
        names.push_back(file);
    }
    closedir(handle);
  }
  std::sort(names.begin(), names.end());
  std::string text, contents;
  for (const std::string &file : names)
    if (readWholeFile(dir + "/" + file, contents))
      text += contents;
  return text;
}

/// Encodes the tutorial, checks the round trip, prints the speed.
void encodeTutorial(const char *model, RoundTrip roundTrip) {
  Tokenizer tokenizer;
  ASSERT_NO_FATAL_FAILURE(openTokenizer(modelPath(model), tokenizer));
  std::string text = tutorialText();
  ASSERT_GT(text.size(), 200000u)
      << "the Python tutorial is missing: install python3.11-doc "
         "(scripts/setup.sh)";
  auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = tokenizer.encode(text, false, false);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::string back = tokenizer.decode(ids);
  EXPECT_EQ(back, roundTrip == RoundTrip::ExactButMetaspace
                      ? metaspaceToSpace(text)
                      : text);
  std::printf("[ %s ] tutorial: %zu bytes -> %zu ids in %.3f s (%.2f MB/s)\n",
              model, text.size(), ids.size(), seconds,
              text.size() / seconds / 1e6);
  // Bounded in optimized builds without sanitizers only.
#if defined(__OPTIMIZE__) && !defined(NIBBLE_TEST_SANITIZED)
  EXPECT_LT(seconds, 1.0) << "encoding 256 KB should take well under a "
                             "second";
#endif
}

TEST(TokenizerPerformance, SmolLM2Tutorial) {
  encodeTutorial(kSmolLM2, RoundTrip::Exact);
}

TEST(TokenizerPerformance, Gemma3Tutorial) {
  encodeTutorial(kGemma3, RoundTrip::ExactButMetaspace);
}

} // namespace

//===- FixtureUtil.h - The tokenizer fixtures and their text ----*- C++ -*-===//
//
// Reads what Inputs/make_tokenizer_fixtures.py wrote: the text units
// (line ranges of Debian's Python docs, checked against their recorded
// hashes, and the hand-written cases) and the reference ids and decode
// hashes of each tokenizer.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TEST_UNIT_TOKENIZER_FIXTUREUTIL_H
#define NIBBLE_TEST_UNIT_TOKENIZER_FIXTUREUTIL_H

#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace test {

/// One text a fixture encodes.
struct TextUnit {
  std::string text;
  /// Whether control tokens in the text are parsed (else kept as text).
  bool parseSpecialTokens = true;
  /// Where it comes from: "library/re.rst.txt:12", "case 3".
  std::string where;
};

/// The units of a fixture, in the order the script encoded them: the doc
/// units (at most `maxDocUnits`), the cases with special tokens parsed,
/// then the cases without. False with `error` set if the docs are missing
/// or differ from the recorded hashes.
bool loadTextUnits(size_t maxDocUnits, std::vector<TextUnit> &units,
                   std::string &error);

/// The id lists of Inputs/<name>.ids.npy.
bool loadIdLists(const std::string &name,
                 std::vector<std::vector<int32_t>> &lists, std::string &error);

/// The decode hashes of Inputs/<name>.decoded.npy.
bool loadDecodeHashes(const std::string &name, std::vector<uint64_t> &hashes,
                      std::string &error);

/// The units where transformers' GGUF conversion differs
/// (Inputs/<name>.transformers.npy): unit index and its ids there.
bool loadTransformersDifferences(
    const std::string &name,
    std::vector<std::pair<size_t, std::vector<int32_t>>> &differences,
    std::string &error);

/// The path of Inputs/<name>.
std::string inputPath(const std::string &name);

/// The path of model file `name` in $NIBBLE_CACHE_DIR/models (default
/// ~/.cache/nibble/models), where scripts/fetch-models.sh puts them.
std::string modelPath(const std::string &name);

/// The whole file at `path`; false if it cannot be read.
bool readWholeFile(const std::string &path, std::string &contents);

/// FNV-1a 64 of `bytes`.
uint64_t fnv64(const std::string &bytes);

/// A unit's text for messages: escaped, at most `limit` bytes.
std::string preview(const std::string &text, size_t limit = 80);

/// "[1, 2, 3]".
std::string formatIds(const std::vector<int32_t> &ids);

} // namespace test
} // namespace nibble

#endif // NIBBLE_TEST_UNIT_TOKENIZER_FIXTUREUTIL_H

//===- PreTokenizer.h - Splitting text before the BPE merges ---*- C++ -*-===//
//
// The splits tokenizers make before their model runs, as hand-written
// matchers over code points (std::regex has no \p{..} classes). Each split
// function appends spans [offset, offset + length) of `text` covering it
// left to right without gaps (except Removed delimiters) and never empty.
//
//   GPT-2      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+
//              |\s+(?!\S)|\s+
//   Llama 3    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+
//              |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Digits     \p{N} one by one (individual) or in runs, isolated
//   String     occurrences of a literal, with HF tokenizers' five
//              delimiter behaviors
//
// Each regex matches as a backtracking engine (Oniguruma for HF tokenizers,
// llama.cpp's unicode.cpp) would: alternatives in order, the first that
// matches at the current position wins. A byte that is not valid UTF-8 is
// one character of no class.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_PRETOKENIZER_H
#define NIBBLE_RUNTIME_PRETOKENIZER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

/// A piece of a split text.
struct TextSpan {
  size_t offset;
  size_t length;
};

/// The regexes with a hand-written matcher.
enum class SplitRegex : uint8_t { Gpt2, Llama3 };

/// The pattern text of `regex` as tokenizer.json spells it.
const char *splitRegexPattern(SplitRegex regex);

/// Splits `text` at every match of `regex` (matches and the text between
/// them become pieces; the regexes match every character, so there is no
/// text between).
void splitWithRegex(SplitRegex regex, const char *text, size_t size,
                    std::vector<TextSpan> &out);

/// Isolates every \p{N} character (`individual`) or every run of them.
void splitDigits(const char *text, size_t size, bool individual,
                 std::vector<TextSpan> &out);

/// What becomes of the delimiters a split finds (HF tokenizers'
/// SplitDelimiterBehavior).
enum class SplitBehavior : uint8_t {
  Removed,
  Isolated,
  MergedWithPrevious,
  MergedWithNext,
  Contiguous,
};

/// Splits `text` at the non-overlapping occurrences of `pattern` (not
/// empty), left to right.
void splitOnString(const char *text, size_t size, const std::string &pattern,
                   SplitBehavior behavior, std::vector<TextSpan> &out);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_PRETOKENIZER_H

//===- Unicode.h - UTF-8 and the Unicode classes tokenizers use -*- C++ -*-===//
//
// UTF-8 decoding that never fails (an invalid byte decodes as one byte with
// kInvalidCodePoint, so byte-level tokenizers keep every byte), encoding,
// validation, the boundary of the complete prefix of a byte stream (for
// streaming detokenization), and the three character classes of the
// pre-tokenizer regexes: \p{L}, \p{N} and \s. The class tables are generated
// by scripts/gen_unicode_tables.py (runtime/UnicodeTables.inc).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_UNICODE_H
#define NIBBLE_RUNTIME_UNICODE_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace nibble {
namespace runtime {

/// The code point decodeUtf8 reports for a byte that does not start a
/// well-formed sequence. It belongs to no class (like U+FFFD, a symbol).
constexpr uint32_t kInvalidCodePoint = 0x110000;

/// Decodes the code point starting at `text[0]` (`size` > 0 bytes remain).
/// Returns its length in bytes (1-4). A malformed, truncated, overlong or
/// surrogate sequence yields kInvalidCodePoint and length 1.
size_t decodeUtf8(const char *text, size_t size, uint32_t &codePoint);

/// Appends code point `codePoint` (at most U+10FFFF) to `out` as UTF-8.
void appendUtf8(uint32_t codePoint, std::string &out);

/// True if `text` is well-formed UTF-8; otherwise false and, if
/// `errorOffset` is given, the offset of the first bad byte.
bool isValidUtf8(const char *text, size_t size, size_t *errorOffset = nullptr);

/// The length of the longest prefix of `text` that does not end inside a
/// UTF-8 sequence that later bytes could still complete. Bytes that can
/// never become valid are part of the prefix (they will not improve).
size_t completeUtf8Prefix(const char *text, size_t size);

/// \p{L}: general category Lu, Ll, Lt, Lm or Lo.
bool isLetter(uint32_t codePoint);
/// \p{N}: general category Nd, Nl or No.
bool isNumber(uint32_t codePoint);
/// \s: U+0009..U+000D, U+0085 and categories Zs, Zl, Zp.
bool isWhitespace(uint32_t codePoint);

/// The Unicode version the class tables were generated from ("14.0.0").
const char *unicodeVersion();

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_UNICODE_H

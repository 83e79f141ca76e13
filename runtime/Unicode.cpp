//===- Unicode.cpp - UTF-8 and the Unicode classes tokenizers use ---------===//
//
// See Unicode.h. The classes are binary searches over the generated ranges,
// with an ASCII fast path (most text the tokenizers see is ASCII).
//
//===----------------------------------------------------------------------===//

#include "runtime/Unicode.h"

#include <algorithm>

namespace nibble {
namespace runtime {

namespace {

struct UnicodeRange {
  uint32_t first;
  uint32_t last;
};

#include "runtime/UnicodeTables.inc"

template <size_t N>
bool inRanges(const UnicodeRange (&ranges)[N], uint32_t codePoint) {
  const UnicodeRange *end = ranges + N;
  const UnicodeRange *it = std::upper_bound(
      ranges, end, codePoint,
      [](uint32_t cp, const UnicodeRange &range) { return cp < range.first; });
  return it != ranges && codePoint <= (it - 1)->last;
}

/// The number of continuation bytes a lead byte announces and the smallest
/// code point such a sequence may encode; false for a byte that cannot lead.
bool leadByteInfo(unsigned char lead, size_t &continuation, uint32_t &value,
                  uint32_t &minimum) {
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1, value = lead & 0x1F, minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2, value = lead & 0x0F, minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3, value = lead & 0x07, minimum = 0x10000;
  } else {
    return false;
  }
  return true;
}

} // namespace

size_t decodeUtf8(const char *text, size_t size, uint32_t &codePoint) {
  unsigned char lead = static_cast<unsigned char>(text[0]);
  if (lead < 0x80) {
    codePoint = lead;
    return 1;
  }
  size_t continuation;
  uint32_t value, minimum;
  codePoint = kInvalidCodePoint;
  if (!leadByteInfo(lead, continuation, value, minimum) || size <= continuation)
    return 1;
  for (size_t i = 1; i <= continuation; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80)
      return 1;
    value = (value << 6) | (c & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF ||
      (value >= 0xD800 && value <= 0xDFFF))
    return 1;
  codePoint = value;
  return continuation + 1;
}

void appendUtf8(uint32_t codePoint, std::string &out) {
  if (codePoint < 0x80) {
    out += static_cast<char>(codePoint);
  } else if (codePoint < 0x800) {
    out += static_cast<char>(0xC0 | (codePoint >> 6));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else if (codePoint < 0x10000) {
    out += static_cast<char>(0xE0 | (codePoint >> 12));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (codePoint >> 18));
    out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codePoint & 0x3F));
  }
}

bool isValidUtf8(const char *text, size_t size, size_t *errorOffset) {
  for (size_t pos = 0; pos < size;) {
    uint32_t codePoint;
    size_t length = decodeUtf8(text + pos, size - pos, codePoint);
    if (codePoint == kInvalidCodePoint) {
      if (errorOffset)
        *errorOffset = pos;
      return false;
    }
    pos += length;
  }
  return true;
}

size_t completeUtf8Prefix(const char *text, size_t size) {
  // Only a sequence starting in the last three bytes can be incomplete.
  size_t start = size > 3 ? size - 3 : 0;
  for (size_t pos = size; pos-- > start;) {
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if ((c & 0xC0) == 0x80)
      continue; // A continuation byte: look further back for its lead.
    size_t continuation;
    uint32_t value, minimum;
    if (!leadByteInfo(c, continuation, value, minimum))
      return size; // ASCII or a byte that cannot lead: nothing pending.
    size_t have = size - pos - 1;
    if (have >= continuation)
      return size; // Complete (or malformed) already.
    // Incomplete: hold it back only if the bytes so far can still form a
    // valid sequence (the second byte limits E0, ED, F0 and F4 leads).
    if (have >= 1) {
      unsigned char second = static_cast<unsigned char>(text[pos + 1]);
      if ((c == 0xE0 && second < 0xA0) || (c == 0xED && second > 0x9F) ||
          (c == 0xF0 && second < 0x90) || (c == 0xF4 && second > 0x8F))
        return size;
    }
    return pos;
  }
  return size;
}

bool isLetter(uint32_t codePoint) {
  if (codePoint < 0x80)
    return (codePoint | 0x20) >= 'a' && (codePoint | 0x20) <= 'z';
  return inRanges(kLetterRanges, codePoint);
}

bool isNumber(uint32_t codePoint) {
  if (codePoint < 0x80)
    return codePoint >= '0' && codePoint <= '9';
  return inRanges(kNumberRanges, codePoint);
}

bool isWhitespace(uint32_t codePoint) {
  if (codePoint < 0x80)
    return codePoint == ' ' || (codePoint >= 0x09 && codePoint <= 0x0D);
  return inRanges(kWhitespaceRanges, codePoint);
}

const char *unicodeVersion() { return NIBBLE_UNICODE_VERSION; }

} // namespace runtime
} // namespace nibble

//===- PreTokenizer.cpp - Splitting text before the BPE merges ------------===//
//
// The text is decoded once into code points with their byte offsets and
// classes; each regex is then a loop that picks the first alternative that
// matches at the current character. See PreTokenizer.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/PreTokenizer.h"

#include "runtime/Unicode.h"

#include <cstring>

namespace nibble {
namespace runtime {

namespace {

/// The classes the regexes distinguish. Other is [^\s\p{L}\p{N}].
enum CharClass : uint8_t { Letter, Number, Space, Other };

/// A text decoded into characters: code point, class, and byte offset
/// (offsets has one more entry: the text's size).
struct DecodedText {
  std::vector<uint32_t> codePoints;
  std::vector<uint8_t> classes;
  std::vector<size_t> offsets;

  DecodedText(const char *text, size_t size) {
    codePoints.reserve(size);
    classes.reserve(size);
    offsets.reserve(size + 1);
    for (size_t pos = 0; pos < size;) {
      uint32_t cp;
      size_t length = decodeUtf8(text + pos, size - pos, cp);
      codePoints.push_back(cp);
      classes.push_back(isLetter(cp)       ? Letter
                        : isNumber(cp)     ? Number
                        : isWhitespace(cp) ? Space
                                           : Other);
      offsets.push_back(pos);
      pos += length;
    }
    offsets.push_back(size);
  }

  size_t size() const { return codePoints.size(); }
};

/// Appends the piece of characters [begin, end).
void emit(const DecodedText &decoded, size_t begin, size_t end,
          std::vector<TextSpan> &out) {
  out.push_back(
      {decoded.offsets[begin], decoded.offsets[end] - decoded.offsets[begin]});
}

/// The end of the run of characters of class `cls` starting at `i`.
size_t runEnd(const DecodedText &decoded, size_t i, uint8_t cls) {
  while (i < decoded.size() && decoded.classes[i] == cls)
    ++i;
  return i;
}

uint32_t lowerAscii(uint32_t cp) {
  return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
}

/// The length of the contraction ('s 't 're 've 'm 'll 'd) at `i`, or 0.
size_t contractionLength(const DecodedText &decoded, size_t i,
                         bool ignoreCase) {
  const std::vector<uint32_t> &cps = decoded.codePoints;
  if (cps[i] != '\'' || i + 1 >= cps.size())
    return 0;
  auto at = [&](size_t k) { return ignoreCase ? lowerAscii(cps[k]) : cps[k]; };
  uint32_t c1 = at(i + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
    return 2;
  if (i + 2 < cps.size()) {
    uint32_t c2 = at(i + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
        (c1 == 'l' && c2 == 'l'))
      return 3;
  }
  return 0;
}

/// `\s+(?!\S)|\s+` at a whitespace character `i`: the whole run if it ends
/// the text, else the run but its last character (which then precedes a
/// non-space), else (a run of one) that one character.
size_t whitespaceEnd(const DecodedText &decoded, size_t i) {
  size_t end = runEnd(decoded, i, Space);
  if (end < decoded.size() && end - i >= 2)
    return end - 1;
  return end;
}

void splitGpt2(const DecodedText &decoded, std::vector<TextSpan> &out) {
  const std::vector<uint32_t> &cps = decoded.codePoints;
  const std::vector<uint8_t> &cls = decoded.classes;
  size_t n = decoded.size();
  for (size_t i = 0; i < n;) {
    if (size_t length = contractionLength(decoded, i, /*ignoreCase=*/false)) {
      emit(decoded, i, i + length, out);
      i += length;
      continue;
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then
    // a run of one class.
    size_t start = i;
    if (cps[i] == ' ' && i + 1 < n && cls[i + 1] != Space)
      start = i + 1;
    if (cls[start] != Space) {
      size_t end = runEnd(decoded, start, cls[start]);
      emit(decoded, i, end, out);
      i = end;
      continue;
    }
    size_t end = whitespaceEnd(decoded, i);
    emit(decoded, i, end, out);
    i = end;
  }
}

void splitLlama3(const DecodedText &decoded, std::vector<TextSpan> &out) {
  const std::vector<uint32_t> &cps = decoded.codePoints;
  const std::vector<uint8_t> &cls = decoded.classes;
  size_t n = decoded.size();
  auto isLineBreak = [&](size_t k) { return cps[k] == '\r' || cps[k] == '\n'; };
  for (size_t i = 0; i < n;) {
    if (size_t length = contractionLength(decoded, i, /*ignoreCase=*/true)) {
      emit(decoded, i, i + length, out);
      i += length;
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (cls[i] == Letter) {
      size_t end = runEnd(decoded, i, Letter);
      emit(decoded, i, end, out);
      i = end;
      continue;
    }
    if (cls[i] != Number && !isLineBreak(i) && i + 1 < n &&
        cls[i + 1] == Letter) {
      size_t end = runEnd(decoded, i + 1, Letter);
      emit(decoded, i, end, out);
      i = end;
      continue;
    }
    // \p{N}{1,3}
    if (cls[i] == Number) {
      size_t end = i + 1;
      while (end < n && end < i + 3 && cls[end] == Number)
        ++end;
      emit(decoded, i, end, out);
      i = end;
      continue;
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    size_t start =
        cps[i] == ' ' && i + 1 < n && cls[i + 1] == Other ? i + 1 : i;
    if (cls[start] == Other) {
      size_t end = runEnd(decoded, start, Other);
      while (end < n && isLineBreak(end))
        ++end;
      emit(decoded, i, end, out);
      i = end;
      continue;
    }
    // \s*[\r\n]+: up to the last line break of the whitespace run.
    size_t runStop = runEnd(decoded, i, Space);
    size_t lastBreak = runStop;
    for (size_t k = i; k < runStop; ++k)
      if (isLineBreak(k))
        lastBreak = k;
    if (lastBreak != runStop) {
      emit(decoded, i, lastBreak + 1, out);
      i = lastBreak + 1;
      continue;
    }
    // \s+(?!\S)|\s+
    size_t end = whitespaceEnd(decoded, i);
    emit(decoded, i, end, out);
    i = end;
  }
}

} // namespace

const char *splitRegexPattern(SplitRegex regex) {
  switch (regex) {
  case SplitRegex::Gpt2:
    return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
           "\\s+(?!\\S)|\\s+";
  case SplitRegex::Llama3:
    return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
           "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
           "\\s+(?!\\S)|\\s+";
  }
  return "";
}

void splitWithRegex(SplitRegex regex, const char *text, size_t size,
                    std::vector<TextSpan> &out) {
  DecodedText decoded(text, size);
  if (regex == SplitRegex::Gpt2)
    splitGpt2(decoded, out);
  else
    splitLlama3(decoded, out);
}

void splitDigits(const char *text, size_t size, bool individual,
                 std::vector<TextSpan> &out) {
  size_t pieceStart = 0;
  for (size_t pos = 0; pos < size;) {
    uint32_t cp;
    size_t length = decodeUtf8(text + pos, size - pos, cp);
    if (!isNumber(cp)) {
      pos += length;
      continue;
    }
    if (pieceStart < pos)
      out.push_back({pieceStart, pos - pieceStart});
    size_t end = pos + length;
    while (!individual && end < size) {
      size_t next = decodeUtf8(text + end, size - end, cp);
      if (!isNumber(cp))
        break;
      end += next;
    }
    out.push_back({pos, end - pos});
    pieceStart = pos = end;
  }
  if (pieceStart < size)
    out.push_back({pieceStart, size - pieceStart});
}

void splitOnString(const char *text, size_t size, const std::string &pattern,
                   SplitBehavior behavior, std::vector<TextSpan> &out) {
  // The pieces, alternating text and delimiters as found.
  struct Match {
    TextSpan span;
    bool isDelimiter;
  };
  std::vector<Match> matches;
  size_t pos = 0;
  while (!pattern.empty() && pos + pattern.size() <= size) {
    const void *found =
        memmem(text + pos, size - pos, pattern.data(), pattern.size());
    if (!found)
      break;
    size_t at = static_cast<const char *>(found) - text;
    if (at > pos)
      matches.push_back({{pos, at - pos}, false});
    matches.push_back({{at, pattern.size()}, true});
    pos = at + pattern.size();
  }
  if (pos < size)
    matches.push_back({{pos, size - pos}, false});

  std::vector<TextSpan> pieces;
  switch (behavior) {
  case SplitBehavior::Removed:
    for (const Match &match : matches)
      if (!match.isDelimiter)
        pieces.push_back(match.span);
    break;
  case SplitBehavior::Isolated:
    for (const Match &match : matches)
      pieces.push_back(match.span);
    break;
  case SplitBehavior::Contiguous: {
    bool previousDelimiter = false;
    for (const Match &match : matches) {
      if (match.isDelimiter && previousDelimiter)
        pieces.back().length += match.span.length;
      else
        pieces.push_back(match.span);
      previousDelimiter = match.isDelimiter;
    }
    break;
  }
  case SplitBehavior::MergedWithPrevious: {
    bool previousDelimiter = false;
    for (const Match &match : matches) {
      if (match.isDelimiter && !previousDelimiter && !pieces.empty())
        pieces.back().length += match.span.length;
      else
        pieces.push_back(match.span);
      previousDelimiter = match.isDelimiter;
    }
    break;
  }
  case SplitBehavior::MergedWithNext: {
    bool previousDelimiter = false; // Looking from the right.
    std::vector<TextSpan> reversed;
    for (size_t i = matches.size(); i-- > 0;) {
      const Match &match = matches[i];
      if (match.isDelimiter && !previousDelimiter && !reversed.empty()) {
        reversed.back().offset = match.span.offset;
        reversed.back().length += match.span.length;
      } else {
        reversed.push_back(match.span);
      }
      previousDelimiter = match.isDelimiter;
    }
    pieces.assign(reversed.rbegin(), reversed.rend());
    break;
  }
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

} // namespace runtime
} // namespace nibble

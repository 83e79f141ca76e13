//===- AddedTokens.cpp - Finding added tokens in raw text -----------------===//
//
// A byte trie over the added tokens' contents. findNext scans for the
// leftmost position where some token matches and takes the longest token
// matching there, as HF tokenizers' AddedVocabulary (Aho-Corasick,
// LeftmostLongest) does; lstrip/rstrip then widen the match over the
// whitespace around it. (llama.cpp instead splits the text on each token in
// turn, longest token first; the two agree unless two tokens overlap in the
// text, which the vocabularies of the supported models do not allow.)
//
//===----------------------------------------------------------------------===//

#include "runtime/TokenizerImpl.h"

#include "runtime/Unicode.h"

namespace nibble {
namespace runtime {

namespace {

/// The start of the whitespace run ending at `end` (not before `limit`).
size_t whitespaceBefore(const char *text, size_t limit, size_t end) {
  while (end > limit) {
    size_t start = end - 1;
    while (start > limit && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80)
      --start;
    uint32_t codePoint;
    decodeUtf8(text + start, end - start, codePoint);
    if (!isWhitespace(codePoint))
      break;
    end = start;
  }
  return end;
}

/// The end of the whitespace run starting at `start`.
size_t whitespaceAfter(const char *text, size_t size, size_t start) {
  while (start < size) {
    uint32_t codePoint;
    size_t length = decodeUtf8(text + start, size - start, codePoint);
    if (!isWhitespace(codePoint))
      break;
    start += length;
  }
  return start;
}

} // namespace

void AddedTokenMatcher::build(const std::vector<AddedToken> &added) {
  tokens = &added;
  terminal.assign(1, -1);
  edges.clear();
  for (bool &first : firstByte)
    first = false;
  for (size_t index = 0; index < added.size(); ++index) {
    const std::string &content = added[index].content;
    if (content.empty())
      continue;
    firstByte[static_cast<uint8_t>(content[0])] = true;
    int32_t node = 0;
    for (char c : content) {
      uint64_t key = static_cast<uint64_t>(node) << 8 | static_cast<uint8_t>(c);
      auto it = edges.find(key);
      if (it == edges.end()) {
        int32_t child = static_cast<int32_t>(terminal.size());
        terminal.push_back(-1);
        it = edges.emplace(key, child).first;
      }
      node = it->second;
    }
    // The first token with this content wins (a later duplicate is unused).
    if (terminal[node] < 0)
      terminal[node] = static_cast<int32_t>(index);
  }
}

bool AddedTokenMatcher::findNext(const char *text, size_t size, size_t from,
                                 bool includeSpecial, size_t &start,
                                 size_t &end, size_t &tokenIndex) const {
  if (!tokens || tokens->empty())
    return false;
  for (size_t pos = from; pos < size; ++pos) {
    if (!firstByte[static_cast<uint8_t>(text[pos])])
      continue;
    int32_t node = 0;
    int32_t best = -1;
    size_t bestEnd = pos;
    for (size_t i = pos; i < size; ++i) {
      auto it = edges.find(static_cast<uint64_t>(node) << 8 |
                           static_cast<uint8_t>(text[i]));
      if (it == edges.end())
        break;
      node = it->second;
      int32_t index = terminal[node];
      if (index >= 0 && (includeSpecial || !(*tokens)[index].special)) {
        best = index;
        bestEnd = i + 1;
      }
    }
    if (best < 0)
      continue;
    const AddedToken &token = (*tokens)[best];
    start = token.lstrip ? whitespaceBefore(text, from, pos) : pos;
    end = token.rstrip ? whitespaceAfter(text, size, bestEnd) : bestEnd;
    tokenIndex = static_cast<size_t>(best);
    return true;
  }
  return false;
}

} // namespace runtime
} // namespace nibble

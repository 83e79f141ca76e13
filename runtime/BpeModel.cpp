//===- BpeModel.cpp - Byte-pair merges by rank and by score ---------------===//
//
// The two ways a pre-tokenized piece becomes ids (TokenizerImpl.h):
//
// By rank (HF tokenizers' BPE::merge_word): the piece's characters become
// symbols (vocabulary ids; else <0xNN> byte tokens with byte fallback; else
// the unknown token), then the adjacent pair with the lowest merge rank is
// replaced by its merge result, leftmost first on equal ranks, until no
// adjacent pair has a merge.
//
// By score (llama.cpp's llm_tokenizer_spm_session, SentencePiece's BPE):
// characters become symbols, then the adjacent pair whose concatenation is
// a token with the highest score merges first, leftmost first on equal
// scores; a final symbol that is no token (a character outside the
// vocabulary) becomes its bytes' <0xNN> tokens.
//
// A character with no token and no byte tokens becomes
// TokenizerData::missingCharacter, or nothing.
//
// Both keep a heap of candidate pairs and skip candidates whose symbols
// changed since they were queued.
//
//===----------------------------------------------------------------------===//

#include "runtime/TokenizerImpl.h"

#include "runtime/Unicode.h"

#include <queue>

namespace nibble {
namespace runtime {

namespace {

/// A symbol of the piece being merged: a doubly linked list over an array.
struct Symbol {
  int32_t id;     ///< Ranks: the symbol's id.
  int32_t prev;   ///< Index of the previous live symbol, or -1.
  int32_t next;   ///< Index of the next live symbol, or -1.
  uint32_t begin; ///< Scores: the symbol's bytes in the piece.
  uint32_t size;  ///< Scores: 0 once merged into its left neighbor.
  bool alive;
};

void unlinkRight(std::vector<Symbol> &symbols, int32_t left) {
  Symbol &leftSymbol = symbols[left];
  Symbol &rightSymbol = symbols[leftSymbol.next];
  rightSymbol.alive = false;
  leftSymbol.next = rightSymbol.next;
  if (rightSymbol.next >= 0)
    symbols[rightSymbol.next].prev = left;
}

} // namespace

void TokenizerData::encodePiece(const std::string &piece,
                                std::vector<int32_t> &out) const {
  if (piece.empty())
    return;
  if (model == TokenizerModel::BpeScores)
    encodeWithScores(piece, out);
  else
    encodeWithRanks(piece, out);
}

void TokenizerData::encodeWithRanks(const std::string &piece,
                                    std::vector<int32_t> &out) const {
  if (ignoreMerges) {
    int32_t id = lookup(piece);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }

  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  auto addSymbol = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    if (index > 0)
      symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, 0, 0, true});
  };
  bool previousUnknown = false;
  for (size_t pos = 0; pos < piece.size();) {
    uint32_t codePoint;
    size_t length =
        decodeUtf8(piece.data() + pos, piece.size() - pos, codePoint);
    int32_t id = lookup(std::string_view(piece.data() + pos, length));
    if (id >= 0) {
      addSymbol(id);
      previousUnknown = false;
      pos += length;
      continue;
    }
    bool haveBytes = byteFallback;
    for (size_t i = 0; haveBytes && i < length; ++i)
      haveBytes = byteTokens[static_cast<uint8_t>(piece[pos + i])] >= 0;
    if (haveBytes) {
      for (size_t i = 0; i < length; ++i)
        addSymbol(byteTokens[static_cast<uint8_t>(piece[pos + i])]);
      previousUnknown = false;
    } else if (missingCharacter >= 0) {
      if (!(fuseUnknown && previousUnknown))
        addSymbol(missingCharacter);
      previousUnknown = true;
    }
    pos += length;
  }

  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t leftId;
    int32_t rightId;
    int32_t result;
  };
  struct LowerPriority {
    bool operator()(const Candidate &a, const Candidate &b) const {
      return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, LowerPriority> queue;
  auto addCandidate = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0)
      return;
    uint64_t key =
        static_cast<uint64_t>(static_cast<uint32_t>(symbols[left].id)) << 32 |
        static_cast<uint32_t>(symbols[right].id);
    auto it = merges.find(key);
    if (it == merges.end())
      return;
    queue.push({it->second.rank, left, right, symbols[left].id,
                symbols[right].id, it->second.result});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i)
    addCandidate(i - 1, i);

  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.left];
    if (!left.alive || left.next != top.right || left.id != top.leftId ||
        !symbols[top.right].alive || symbols[top.right].id != top.rightId)
      continue;
    left.id = top.result;
    unlinkRight(symbols, top.left);
    addCandidate(left.prev, top.left);
    addCandidate(top.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
    out.push_back(symbols[i].id);
}

void TokenizerData::encodeWithScores(const std::string &piece,
                                     std::vector<int32_t> &out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  // Characters; a byte that is not valid UTF-8 is one on its own (llama.cpp
  // takes as many bytes as a malformed lead byte announces, which can
  // swallow the next character; both give valid text the same symbols).
  for (size_t pos = 0; pos < piece.size();) {
    uint32_t codePoint;
    size_t length =
        decodeUtf8(piece.data() + pos, piece.size() - pos, codePoint);
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back(
        {-1, index - 1, pos + length == piece.size() ? -1 : index + 1,
         static_cast<uint32_t>(pos), static_cast<uint32_t>(length), true});
    pos += length;
  }

  struct Bigram {
    float score;
    int32_t left;
    int32_t right;
    uint32_t size;
  };
  struct LowerPriority {
    bool operator()(const Bigram &a, const Bigram &b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  std::priority_queue<Bigram, std::vector<Bigram>, LowerPriority> queue;
  auto addBigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0)
      return;
    uint32_t size = symbols[left].size + symbols[right].size;
    int32_t id =
        lookup(std::string_view(piece.data() + symbols[left].begin, size));
    if (id < 0)
      return;
    queue.push({scores[id], left, right, size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i)
    addBigram(i - 1, i);

  while (!queue.empty()) {
    Bigram top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.left];
    Symbol &right = symbols[top.right];
    if (left.size == 0 || right.size == 0 || left.size + right.size != top.size)
      continue;
    left.size += right.size;
    right.size = 0;
    unlinkRight(symbols, top.left);
    addBigram(left.prev, top.left);
    addBigram(top.left, left.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
    const Symbol &symbol = symbols[i];
    int32_t id =
        lookup(std::string_view(piece.data() + symbol.begin, symbol.size));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback: <0xNN>, else the byte itself as a token (as
    // llama.cpp's byte_to_token), else the unknown token.
    for (uint32_t k = 0; k < symbol.size; ++k) {
      int32_t byteId =
          byteTokens[static_cast<uint8_t>(piece[symbol.begin + k])];
      if (byteId < 0)
        byteId = lookup(std::string_view(piece.data() + symbol.begin + k, 1));
      if (byteId < 0)
        byteId = missingCharacter;
      if (byteId >= 0)
        out.push_back(byteId);
    }
  }
}

} // namespace runtime
} // namespace nibble

//===- TokenizerImpl.h - The tokenizer's tables (private) -------*- C++ -*-===//
//
// What a loader (TokenizerGguf.cpp, TokenizerJson.cpp) fills in and the
// encoder (Tokenizer.cpp, BpeModel.cpp) and decoder read. Private to the
// tokenizer's source files.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_TOKENIZERIMPL_H
#define NIBBLE_RUNTIME_TOKENIZERIMPL_H

#include "runtime/PreTokenizer.h"
#include "runtime/Tokenizer.h"

#include <string_view>
#include <unordered_map>

namespace nibble {
namespace runtime {

/// How a pre-tokenized piece becomes ids.
enum class TokenizerModel : uint8_t {
  /// Merges ranked by a merge list (GPT-2, HF BPE): the adjacent pair with
  /// the lowest rank merges first, leftmost on ties.
  BpeRanks,
  /// Merges scored by the merged token's score (SentencePiece BPE as in
  /// llama.cpp's llm_tokenizer_spm): any adjacent pair whose concatenation
  /// is a token, highest score first, leftmost on ties.
  BpeScores,
};

/// One normalizer step, applied to each text segment between added tokens.
struct NormalizerStep {
  enum class Kind : uint8_t { Replace, Prepend, Strip };
  Kind kind = Kind::Replace;
  std::string pattern; ///< Replace: the literal replaced.
  std::string content; ///< Replace: its replacement; Prepend: prefix.
  bool left = false;   ///< Strip: leading whitespace.
  bool right = false;  ///< Strip: trailing whitespace.
};

/// When Metaspace adds its replacement in front of a piece.
enum class PrependScheme : uint8_t { Always, First, Never };

/// One pre-tokenizer step, applied to each piece the previous step made.
struct PreTokenizerStep {
  enum class Kind : uint8_t { Regex, Digits, String, ByteLevel, Metaspace };
  Kind kind = Kind::Regex;
  SplitRegex regex = SplitRegex::Gpt2;              ///< Regex.
  bool individualDigits = false;                    ///< Digits.
  std::string pattern;                              ///< String.
  SplitBehavior behavior = SplitBehavior::Isolated; ///< Regex, String.
  bool addPrefixSpace = false;                      ///< ByteLevel.
  bool useRegex = true;                             ///< ByteLevel: GPT-2 split.
  std::string replacement;                          ///< Metaspace.
  PrependScheme prependScheme = PrependScheme::Always; ///< Metaspace.
  bool split = true;                                   ///< Metaspace.
};

/// A token found in the raw text before normalization.
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false; ///< Matched only when parsing special tokens.
  bool lstrip = false;  ///< Takes the whitespace on its left.
  bool rstrip = false;  ///< Takes the whitespace on its right.
};

/// Finds added tokens in text: leftmost match first, the longest of those
/// starting there (HF tokenizers' AddedVocabulary semantics).
class AddedTokenMatcher {
public:
  /// Indexes `tokens` (kept by reference; must outlive the matcher).
  void build(const std::vector<AddedToken> &tokens);

  /// Finds the first match in text[from, size): sets [start, end) (after
  /// lstrip/rstrip) and the index of the token; false if none. Special
  /// tokens count only if `includeSpecial`.
  bool findNext(const char *text, size_t size, size_t from, bool includeSpecial,
                size_t &start, size_t &end, size_t &tokenIndex) const;

private:
  const std::vector<AddedToken> *tokens = nullptr;
  /// Trie: node -> token index ending there (-1: none).
  std::vector<int32_t> terminal;
  /// Trie edges: (node << 8 | byte) -> child node.
  std::unordered_map<uint64_t, int32_t> edges;
  bool firstByte[256] = {};
};

/// The result of merging a pair of ids.
struct BpeMerge {
  int32_t rank;
  int32_t result;
};

/// Everything a loaded tokenizer holds.
struct TokenizerData {
  TokenizerModel model = TokenizerModel::BpeRanks;

  // The vocabulary, indexed by id.
  std::vector<std::string> tokens;
  std::vector<TokenKind> kinds;
  std::vector<float> scores; ///< BpeScores only.
  /// Token text -> id, over the model's vocabulary (views into `tokens`,
  /// which must not change afterwards).
  std::unordered_map<std::string_view, int32_t> tokenIds;

  // BpeRanks: (left id << 32 | right id) -> merge.
  std::unordered_map<uint64_t, BpeMerge> merges;
  /// Whole pieces that are tokens skip the merges (HF ignore_merges,
  /// llama.cpp's Llama 3 vocabularies).
  bool ignoreMerges = false;
  /// Characters that are no token become their <0xNN> byte tokens.
  bool byteFallback = false;
  /// Consecutive unknown characters become one unknown token.
  bool fuseUnknown = false;
  /// The id of <0xNN> for each byte, or -1.
  int32_t byteTokens[256];

  // The stages before the model.
  std::vector<AddedToken> addedTokens;
  AddedTokenMatcher addedTokenMatcher;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> preTokenizers;

  // Special ids and what encode(addSpecialTokens) adds.
  int32_t bos = -1, eos = -1, unknown = -1, padding = -1;
  /// What the model emits for a character it has no token (nor byte
  /// token) for: HF's unk_token, or -1 to drop the character (llama.cpp's
  /// byte-level BPE, and HF's BPE without unk_token).
  int32_t missingCharacter = -1;
  bool addBos = false, addEos = false;
  std::vector<int32_t> prefixIds, suffixIds;

  // Decoding: the bytes of each id; control tokens' text is in `tokens`.
  std::vector<std::string> decoded;
  /// decode() removes up to this many `stripLeadingText` from the start.
  size_t stripLeadingCount = 0;
  std::string stripLeadingText;

  std::string chatTemplate;
  std::string description;

  TokenizerData();

  /// Builds tokenIds from `tokens` (later duplicates win, as in llama.cpp
  /// and HF) and byteTokens from the <0xNN> entries.
  void indexVocabulary();
  /// The id of `text` in the model's vocabulary, or -1.
  int32_t lookup(std::string_view text) const {
    auto it = tokenIds.find(text);
    return it == tokenIds.end() ? -1 : it->second;
  }

  /// Appends the ids of one pre-tokenized piece (in the model's alphabet).
  void encodePiece(const std::string &piece, std::vector<int32_t> &out) const;

private:
  void encodeWithRanks(const std::string &piece,
                       std::vector<int32_t> &out) const;
  void encodeWithScores(const std::string &piece,
                        std::vector<int32_t> &out) const;
};

/// GPT-2's byte-level alphabet: the code point standing for byte `b`
/// (printable Latin-1 bytes stand for themselves, the others for
/// U+0100 + n in byte order).
uint32_t byteLevelCodePoint(uint8_t byte);
/// The byte a byte-level code point stands for, or -1.
int byteLevelByte(uint32_t codePoint);
/// `bytes` spelled in the byte-level alphabet.
std::string toByteLevel(const char *bytes, size_t size);
/// Byte-level text back to bytes; characters outside the alphabet are kept
/// as they are.
std::string fromByteLevel(const std::string &text);

/// The byte of a "<0xNN>" token text, or -1.
int parseByteToken(const std::string &text);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_TOKENIZERIMPL_H

//===- Tokenizer.h - Text to token ids and back ----------------*- C++ -*-===//
//
// The runtime's tokenizer: loaded from a GGUF file's tokenizer.ggml.*
// metadata (as llama.cpp reads it) or from a Hugging Face tokenizer.json,
// it turns UTF-8 text into token ids and ids back into bytes. LLVM-free.
//
// Encoding runs the stages HF tokenizers runs:
//   1. added tokens (specials like <|im_start|>, user-defined tokens like
//      Gemma's "\n" or "<b>") are found in the raw text, leftmost-longest;
//      control tokens only when asked to parse them;
//   2. each text segment between them is normalized (e.g. ' ' -> U+2581),
//   3. pre-tokenized (the model's split regex, digits, byte-level mapping),
//   4. and the model turns each piece into ids:
//      - byte-pair merges by rank (GPT-2 byte-level BPE, HF BPE with byte
//        fallback), or
//      - byte-pair merges by score (SentencePiece BPE as llama.cpp's
//        llm_tokenizer_spm runs it: highest-scoring adjacent pair first,
//        bytes <0xNN> for characters no merge covers).
// Decoding maps each token to its bytes (byte-level alphabet reversed,
// U+2581 -> ' ', <0xNN> -> byte) and concatenates; TokenStreamDecoder does
// the same one token at a time, holding back an incomplete UTF-8 sequence.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_TOKENIZER_H
#define NIBBLE_RUNTIME_TOKENIZER_H

#include "runtime/nibble_runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

class GgufFile;
struct TokenizerData;

/// What a token is, numbered as GGUF's tokenizer.ggml.token_type
/// (llama.cpp's llama_token_type).
enum class TokenKind : uint8_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,     ///< Special: <bos>, <|im_end|>; matched only on request.
  UserDefined = 4, ///< Added, not special: always matched whole.
  Unused = 5,      ///< An id with no token (decodes to nothing).
  Byte = 6,        ///< <0xNN> byte fallback.
};

/// A loaded tokenizer. Immutable once loaded, so one may be shared by
/// threads that encode and decode concurrently.
class Tokenizer {
public:
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;

  /// Loads the tokenizer of `path`: a GGUF file (recognized by its magic)
  /// or a tokenizer.json. Errors start with the path and name the key or
  /// JSON item at fault.
  nibble_status open(const std::string &path);

  /// Loads from the tokenizer.ggml.* metadata of an open GGUF file.
  nibble_status loadGguf(const GgufFile &file);

  /// Loads `size` bytes of tokenizer.json text; `displayName` (a path)
  /// starts error messages. Supports the BPE model (byte-level or with byte
  /// fallback), added_tokens, the normalizers Sequence/Replace/Prepend/
  /// Strip, the pre-tokenizers Sequence/ByteLevel/Split (literal strings
  /// and the GPT-2 and Llama 3 regexes)/Digits/Metaspace, the decoders
  /// Sequence/ByteLevel/Replace/ByteFallback/Fuse/Strip/Metaspace and the
  /// post-processors TemplateProcessing/ByteLevel; anything else is
  /// rejected naming the component.
  nibble_status loadJson(const char *text, size_t size,
                         const std::string &displayName);

  /// True once a load succeeded.
  bool isLoaded() const { return data != nullptr; }

  /// The ids of `text` (any bytes; invalid UTF-8 is kept byte for byte by
  /// byte-level and byte-fallback models). `addSpecialTokens` adds what the
  /// model adds around a sequence (BOS if add_bos_token, the template of a
  /// tokenizer.json post-processor). `parseSpecialTokens` lets control
  /// tokens written in the text (<|im_start|>) become their ids; otherwise
  /// they are tokenized as text. User-defined tokens are always matched.
  std::vector<int32_t> encode(const std::string &text,
                              bool addSpecialTokens = true,
                              bool parseSpecialTokens = false) const;

  /// The bytes of `ids` concatenated (TokenStreamDecoder over all of them).
  /// Control tokens appear as their text if `renderSpecialTokens`, else not
  /// at all; ids outside the vocabulary are skipped.
  std::string decode(const std::vector<int32_t> &ids,
                     bool renderSpecialTokens = true) const;

  /// The bytes token `id` decodes to on its own (possibly part of a UTF-8
  /// sequence: a <0xE6> byte token, a byte-level token holding half a
  /// character). Empty for an unknown id and, unless
  /// `renderSpecialTokens`, for control tokens. Does not apply the strip
  /// at the start of the text that decode() applies for models that add a
  /// space prefix when encoding.
  std::string tokenBytes(int32_t id, bool renderSpecialTokens = true) const;

  /// Number of ids (the vocabulary plus added tokens; the embedding rows).
  int32_t vocabSize() const;
  /// Special ids, or -1 if the model has none.
  int32_t bosId() const;
  int32_t eosId() const;
  int32_t unknownId() const;
  int32_t paddingId() const;
  /// Whether encode(..., addSpecialTokens=true) adds BOS / EOS.
  bool addsBos() const;
  bool addsEos() const;

  /// The kind of `id` (Unused for an id outside the vocabulary).
  TokenKind kind(int32_t id) const;
  /// True for control tokens (GGUF token_type 3, tokenizer.json added
  /// tokens with "special": true).
  bool isControl(int32_t id) const;
  /// The token's text as the vocabulary spells it ("Ġthe", "▁the",
  /// "<0x0A>", "<|im_end|>"); empty for an id outside the vocabulary.
  const std::string &tokenText(int32_t id) const;
  /// The id whose text (as tokenText spells it) is `text`, or -1.
  int32_t findToken(const std::string &text) const;

  /// tokenizer.chat_template of a GGUF file (empty if none).
  const std::string &chatTemplate() const;
  /// One line saying what was loaded, e.g. "BPE by rank (byte-level),
  /// 49152 tokens, 48900 merges, pre-tokenizer smollm".
  const std::string &description() const;

private:
  friend class TokenStreamDecoder;
  std::unique_ptr<TokenizerData> data;
};

/// Decodes a stream of ids one at a time (generation): each push() returns
/// the text that became complete, never ending inside a UTF-8 sequence
/// that later bytes may complete; finish() returns what is still held back.
/// Concatenating every push() and the finish() gives Tokenizer::decode().
class TokenStreamDecoder {
public:
  explicit TokenStreamDecoder(const Tokenizer &tokenizer,
                              bool renderSpecialTokens = false);

  /// Appends token `id`; returns the bytes now complete.
  std::string push(int32_t id);
  /// Returns the bytes held back (an incomplete sequence at the end of the
  /// stream) and starts a new stream.
  std::string finish();

private:
  const Tokenizer &tokenizer;
  bool renderSpecialTokens;
  /// Whether a byte has been produced (the start-of-text strip is done).
  bool started = false;
  /// How many leading characters the start-of-text strip removed so far.
  size_t stripped = 0;
  std::string pending;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_TOKENIZER_H

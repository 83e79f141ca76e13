//===- TokenizerGguf.cpp - Loading a tokenizer from GGUF metadata ---------===//
//
// The tokenizer.ggml.* keys as llama.cpp (src/llama-vocab.cpp) reads them:
//
//   model "gpt2"   byte-level BPE, merges ranked by their order in
//                  tokenizer.ggml.merges; the split regexes of
//                  tokenizer.ggml.pre (below); add_bos_token default false
//   model "llama"  SentencePiece BPE: spaces become U+2581, a U+2581
//                  prefix if add_space_prefix (default true), merges by
//                  tokenizer.ggml.scores, <0xNN> byte fallback;
//                  add_bos_token default true
//
// token_type gives each token's kind (1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte); control, unknown and user-defined
// tokens are matched in the text before the model runs (control and
// unknown ones only when parsing special tokens).
//
// Pre-tokenizers of "gpt2" vocabularies, by tokenizer.ggml.pre:
//   gpt-2, gpt2, phi-2                    the GPT-2 regex
//   smollm, starcoder, refact, command-r,
//   codeshell, exaone, minerva           \p{N} one by one, then GPT-2
//   llama3, llama-v3, llama-bpe, dbrx,
//   smaug-bpe, falcon3                   the Llama 3 regex; whole pieces
//                                        that are tokens skip the merges
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include "runtime/Gguf.h"
#include "runtime/MappedFile.h"
#include "runtime/Status.h"
#include "runtime/TokenizerImpl.h"

#include <cstring>

namespace nibble {
namespace runtime {

namespace {

/// The pre-tokenizer families of "gpt2" vocabularies.
enum class GgufPreTokenizer { Gpt2, DigitsThenGpt2, Llama3 };

bool lookupPreTokenizer(const std::string &name, GgufPreTokenizer &family) {
  static const std::pair<const char *, GgufPreTokenizer> names[] = {
      {"gpt-2", GgufPreTokenizer::Gpt2},
      {"gpt2", GgufPreTokenizer::Gpt2},
      {"phi-2", GgufPreTokenizer::Gpt2},
      {"smollm", GgufPreTokenizer::DigitsThenGpt2},
      {"starcoder", GgufPreTokenizer::DigitsThenGpt2},
      {"refact", GgufPreTokenizer::DigitsThenGpt2},
      {"command-r", GgufPreTokenizer::DigitsThenGpt2},
      {"codeshell", GgufPreTokenizer::DigitsThenGpt2},
      {"exaone", GgufPreTokenizer::DigitsThenGpt2},
      {"minerva", GgufPreTokenizer::DigitsThenGpt2},
      {"llama3", GgufPreTokenizer::Llama3},
      {"llama-v3", GgufPreTokenizer::Llama3},
      {"llama-bpe", GgufPreTokenizer::Llama3},
      {"dbrx", GgufPreTokenizer::Llama3},
      {"smaug-bpe", GgufPreTokenizer::Llama3},
      {"falcon3", GgufPreTokenizer::Llama3},
  };
  for (const auto &entry : names) {
    if (name == entry.first) {
      family = entry.second;
      return true;
    }
  }
  return false;
}

/// Reads the optional special id `key` into `id` (kept if absent).
nibble_status readOptionalId(const GgufFile &file, const std::string &key,
                             size_t vocabSize, int32_t &id) {
  if (!file.find(key))
    return NIBBLE_OK;
  uint64_t value;
  if (nibble_status status = file.getUnsigned(key, value))
    return status;
  if (value >= vocabSize)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"%s\" is %llu, outside the %zu-token vocabulary",
                file.path().c_str(), key.c_str(),
                static_cast<unsigned long long>(value), vocabSize);
  id = static_cast<int32_t>(value);
  return NIBBLE_OK;
}

/// Reads the optional flag `key` into `flag` (kept if absent).
nibble_status readOptionalBool(const GgufFile &file, const std::string &key,
                               bool &flag) {
  if (!file.find(key))
    return NIBBLE_OK;
  return file.getBool(key, flag);
}

/// Fills the ranked merges from tokenizer.ggml.merges ("left right").
nibble_status loadMerges(const GgufFile &file, TokenizerData &data) {
  const std::string key = "tokenizer.ggml.merges";
  const std::vector<std::string> *merges;
  if (nibble_status status = file.getStringArray(key, merges))
    return status;
  data.merges.reserve(merges->size());
  std::string joined;
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const std::string &text = (*merges)[rank];
    size_t space = text.find(' ', 1);
    if (space == std::string::npos)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"%s\": merge %zu \"%s\" is not two tokens "
                  "separated by a space",
                  file.path().c_str(), key.c_str(), rank, text.c_str());
    std::string_view left(text.data(), space);
    std::string_view right(text.data() + space + 1, text.size() - space - 1);
    joined.assign(left.data(), left.size()).append(right.data(), right.size());
    int32_t leftId = data.lookup(left), rightId = data.lookup(right),
            resultId = data.lookup(joined);
    if (leftId < 0 || rightId < 0 || resultId < 0)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"%s\": merge %zu \"%s\": \"%s\" is not a token",
                  file.path().c_str(), key.c_str(), rank, text.c_str(),
                  leftId < 0    ? std::string(left).c_str()
                  : rightId < 0 ? std::string(right).c_str()
                                : joined.c_str());
    uint64_t pair =
        static_cast<uint64_t>(leftId) << 32 | static_cast<uint32_t>(rightId);
    data.merges.emplace(pair, BpeMerge{static_cast<int32_t>(rank),
                                       resultId}); // The first rank wins.
  }
  return NIBBLE_OK;
}

} // namespace

nibble_status Tokenizer::loadGguf(const GgufFile &file) {
  data.reset();
  auto loaded = std::make_unique<TokenizerData>();
  TokenizerData &d = *loaded;
  const std::string &path = file.path();

  std::string model;
  if (nibble_status status = file.getString("tokenizer.ggml.model", model))
    return status;
  bool byteLevel = model == "gpt2";
  if (!byteLevel && model != "llama")
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"tokenizer.ggml.model\": tokenizer model \"%s\" is "
                "not supported (only \"gpt2\" and \"llama\")",
                path.c_str(), model.c_str());

  const std::vector<std::string> *tokens;
  if (nibble_status status =
          file.getStringArray("tokenizer.ggml.tokens", tokens))
    return status;
  size_t count = tokens->size();
  if (count == 0 || count >= (1u << 30))
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"tokenizer.ggml.tokens\" has %zu tokens, expected "
                "1 to 2^30",
                path.c_str(), count);
  d.tokens = *tokens;
  d.kinds.assign(count, TokenKind::Normal);
  if (file.find("tokenizer.ggml.token_type")) {
    std::vector<int64_t> types;
    if (nibble_status status =
            file.getSignedArray("tokenizer.ggml.token_type", types))
      return status;
    if (types.size() != count)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"tokenizer.ggml.token_type\" has %zu entries for "
                  "%zu tokens",
                  path.c_str(), types.size(), count);
    for (size_t id = 0; id < count; ++id) {
      if (types[id] < 1 || types[id] > 6)
        return fail(NIBBLE_ERROR_FORMAT,
                    "%s: key \"tokenizer.ggml.token_type\": token %zu has "
                    "type %lld, expected 1 to 6",
                    path.c_str(), id, static_cast<long long>(types[id]));
      d.kinds[id] = static_cast<TokenKind>(types[id]);
    }
  }
  d.scores.assign(count, 0.0f);
  if (file.find("tokenizer.ggml.scores")) {
    const std::vector<double> *scores;
    if (nibble_status status =
            file.getFloatArray("tokenizer.ggml.scores", scores))
      return status;
    if (scores->size() != count)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"tokenizer.ggml.scores\" has %zu entries for %zu "
                  "tokens",
                  path.c_str(), scores->size(), count);
    for (size_t id = 0; id < count; ++id)
      d.scores[id] = static_cast<float>((*scores)[id]);
  }
  d.indexVocabulary();

  // Defaults as llama.cpp's, then the file's values.
  bool addSpacePrefix = !byteLevel;
  d.addBos = !byteLevel;
  d.addEos = false;
  if (!byteLevel) {
    d.bos = 1, d.eos = 2, d.unknown = 0; // SentencePiece's defaults.
  } else {
    d.bos = 11, d.eos = 11; // GPT-2's <|endoftext|> in llama.cpp's defaults.
  }
  if (static_cast<size_t>(d.bos) >= count)
    d.bos = -1;
  if (static_cast<size_t>(d.eos) >= count)
    d.eos = -1;
  if (static_cast<size_t>(d.unknown) >= count)
    d.unknown = -1;
  if (nibble_status status =
          readOptionalId(file, "tokenizer.ggml.bos_token_id", count, d.bos))
    return status;
  if (nibble_status status =
          readOptionalId(file, "tokenizer.ggml.eos_token_id", count, d.eos))
    return status;
  if (nibble_status status = readOptionalId(
          file, "tokenizer.ggml.unknown_token_id", count, d.unknown))
    return status;
  if (nibble_status status = readOptionalId(
          file, "tokenizer.ggml.padding_token_id", count, d.padding))
    return status;
  if (nibble_status status =
          readOptionalBool(file, "tokenizer.ggml.add_bos_token", d.addBos))
    return status;
  if (nibble_status status =
          readOptionalBool(file, "tokenizer.ggml.add_eos_token", d.addEos))
    return status;
  if (nibble_status status = readOptionalBool(
          file, "tokenizer.ggml.add_space_prefix", addSpacePrefix))
    return status;
  if (d.addBos && d.bos < 0)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: tokenizer.ggml.add_bos_token is true but there is no "
                "tokenizer.ggml.bos_token_id",
                path.c_str());
  if (d.addEos && d.eos < 0)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: tokenizer.ggml.add_eos_token is true but there is no "
                "tokenizer.ggml.eos_token_id",
                path.c_str());
  // llama.cpp drops characters a byte-level vocabulary has no token for;
  // SentencePiece vocabularies fall back to <unk> (llama.cpp aborts).
  d.missingCharacter = byteLevel ? -1 : d.unknown;
  if (d.addBos)
    d.prefixIds.push_back(d.bos);
  if (d.addEos)
    d.suffixIds.push_back(d.eos);
  if (file.find("tokenizer.chat_template"))
    if (nibble_status status =
            file.getString("tokenizer.chat_template", d.chatTemplate))
      return status;

  std::string pre = "default";
  if (file.find("tokenizer.ggml.pre"))
    if (nibble_status status = file.getString("tokenizer.ggml.pre", pre))
      return status;

  if (byteLevel) {
    GgufPreTokenizer family;
    if (!lookupPreTokenizer(pre, family))
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"tokenizer.ggml.pre\": pre-tokenizer \"%s\" is "
                  "not supported for \"gpt2\" vocabularies (supported: "
                  "gpt-2, smollm, starcoder, llama-bpe and their aliases)",
                  path.c_str(), pre.c_str());
    d.model = TokenizerModel::BpeRanks;
    if (nibble_status status = loadMerges(file, d))
      return status;
    PreTokenizerStep step;
    if (family == GgufPreTokenizer::DigitsThenGpt2) {
      step.kind = PreTokenizerStep::Kind::Digits;
      step.individualDigits = true;
      d.preTokenizers.push_back(step);
    }
    if (family == GgufPreTokenizer::Llama3) {
      step.kind = PreTokenizerStep::Kind::Regex;
      step.regex = SplitRegex::Llama3;
      d.preTokenizers.push_back(step);
      d.ignoreMerges = true;
    }
    step = PreTokenizerStep();
    step.kind = PreTokenizerStep::Kind::ByteLevel;
    step.useRegex = family != GgufPreTokenizer::Llama3;
    d.preTokenizers.push_back(step);
  } else {
    d.model = TokenizerModel::BpeScores;
    NormalizerStep escape;
    escape.kind = NormalizerStep::Kind::Replace;
    escape.pattern = " ";
    escape.content = "\xE2\x96\x81";
    d.normalizers.push_back(escape);
    if (addSpacePrefix) {
      NormalizerStep prefix;
      prefix.kind = NormalizerStep::Kind::Prepend;
      prefix.content = "\xE2\x96\x81";
      d.normalizers.push_back(prefix);
      d.stripLeadingText = " ";
      d.stripLeadingCount = 1;
    }
  }

  // Added tokens: what llama.cpp matches before the model.
  for (size_t id = 0; id < count; ++id) {
    TokenKind kind = d.kinds[id];
    if ((kind != TokenKind::Control && kind != TokenKind::Unknown &&
         kind != TokenKind::UserDefined) ||
        d.tokens[id].empty())
      continue;
    AddedToken token;
    token.id = static_cast<int32_t>(id);
    token.content = d.tokens[id];
    token.special = kind != TokenKind::UserDefined;
    d.addedTokens.push_back(std::move(token));
  }
  d.addedTokenMatcher.build(d.addedTokens);

  // Decoding, as llama.cpp's token_to_piece.
  d.decoded.resize(count);
  for (size_t id = 0; id < count; ++id) {
    const std::string &text = d.tokens[id];
    switch (d.kinds[id]) {
    case TokenKind::Normal:
      if (byteLevel) {
        d.decoded[id] = fromByteLevel(text);
      } else {
        std::string &out = d.decoded[id];
        for (size_t pos = 0; pos < text.size();) {
          if (text.compare(pos, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            pos += 3;
          } else {
            out += text[pos++];
          }
        }
      }
      break;
    case TokenKind::Byte: {
      int byte = parseByteToken(text);
      if (byte >= 0)
        d.decoded[id].assign(1, static_cast<char>(byte));
      break;
    }
    case TokenKind::Unused:
      break;
    default:
      d.decoded[id] = text;
      break;
    }
  }

  d.description = std::string(byteLevel ? "BPE by rank (byte-level)"
                                        : "BPE by score (SentencePiece)") +
                  ", " + std::to_string(count) + " tokens" +
                  (byteLevel ? ", " + std::to_string(d.merges.size()) +
                                   " merges, pre-tokenizer " + pre
                             : std::string()) +
                  ", from GGUF";
  data = std::move(loaded);
  return NIBBLE_OK;
}

nibble_status Tokenizer::open(const std::string &path) {
  data.reset();
  MappedFile mapped;
  if (nibble_status status = mapped.open(path))
    return status;
  if (mapped.size() >= 4 && std::memcmp(mapped.data(), "GGUF", 4) == 0) {
    GgufFile file;
    if (nibble_status status = file.open(path))
      return status;
    return loadGguf(file);
  }
  return loadJson(reinterpret_cast<const char *>(mapped.data()), mapped.size(),
                  path);
}

} // namespace runtime
} // namespace nibble

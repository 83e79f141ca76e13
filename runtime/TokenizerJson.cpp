//===- TokenizerJson.cpp - Loading a Hugging Face tokenizer.json ----------===//
//
// Reads the components of a tokenizer.json (HF tokenizers' serialization)
// into TokenizerData: the BPE model (vocab, merges, byte_fallback,
// unk_token, fuse_unk, ignore_merges), added_tokens, and the normalizer,
// pre-tokenizer, post-processor and decoder trees. Anything the runtime
// does not implement is rejected with the file, the item (a JSON path like
// pre_tokenizer.pretokenizers[1]) and the component type, never ignored:
// a tokenizer that silently differs from the model's would be worse.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include "runtime/Json.h"
#include "runtime/MappedFile.h"
#include "runtime/Status.h"
#include "runtime/TokenizerImpl.h"
#include "runtime/Unicode.h"

#include <algorithm>
#include <cstring>

namespace nibble {
namespace runtime {

namespace {

/// Ids may leave at most this many ids unused (tokenizer.json vocabularies
/// are dense; this bounds the tables a hostile file can make us allocate).
constexpr int64_t kMaxUnusedIds = 1 << 16;

/// Per-token decoding, computed once per token at load time.
struct DecoderStep {
  enum class Kind : uint8_t { ByteLevel, Replace, ByteFallback, Strip };
  Kind kind;
  std::string pattern; ///< Replace.
  std::string content; ///< Replace: replacement; Strip: the character.
  size_t start = 0;    ///< Strip: leading characters.
  size_t stop = 0;     ///< Strip: trailing characters.
};

/// Reads one tokenizer.json; every check fails with the file and the item.
class JsonTokenizerLoader {
public:
  JsonTokenizerLoader(const std::string &file, TokenizerData &data)
      : file(file), data(data) {}

  nibble_status load(const JsonValue &root);

private:
  nibble_status error(const std::string &item, const std::string &message) {
    return fail(NIBBLE_ERROR_FORMAT, "%s: %s: %s", file.c_str(), item.c_str(),
                message.c_str());
  }
  nibble_status unsupported(const std::string &item, const std::string &what,
                            const std::string &type) {
    return fail(NIBBLE_ERROR_FORMAT, "%s: %s: %s type \"%s\" is not supported",
                file.c_str(), item.c_str(), what.c_str(), type.c_str());
  }

  /// Member `key` of `object` (at `item`) of kind `kind`; a missing member
  /// or null is an error if `required`, else leaves `out` null.
  nibble_status member(const JsonValue &object, const std::string &item,
                       const char *key, JsonValue::Kind kind, bool required,
                       const JsonValue *&out);
  nibble_status getString(const JsonValue &object, const std::string &item,
                          const char *key, bool required, std::string &out);
  nibble_status getBool(const JsonValue &object, const std::string &item,
                        const char *key, bool &out);
  /// The "type" of a component object.
  nibble_status typeOf(const JsonValue &object, const std::string &item,
                       std::string &type);
  /// A {"String": s} or {"Regex": r} pattern.
  nibble_status getPattern(const JsonValue &object, const std::string &item,
                           std::string &pattern, bool &isRegex);

  nibble_status loadModel(const JsonValue &model);
  nibble_status loadAddedTokens(const JsonValue &added);
  nibble_status loadNormalizer(const JsonValue &normalizer,
                               const std::string &item);
  nibble_status loadPreTokenizer(const JsonValue &pre, const std::string &item);
  nibble_status loadPostProcessor(const JsonValue &post,
                                  const std::string &item);
  nibble_status loadDecoder(const JsonValue &decoder, const std::string &item,
                            bool &fused);
  nibble_status finish();

  const std::string &file;
  TokenizerData &data;
  /// The model's vocabulary before added tokens extend it.
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::string unknownToken;
  std::vector<DecoderStep> decoderSteps;
  std::string modelSummary;
};

nibble_status JsonTokenizerLoader::member(const JsonValue &object,
                                          const std::string &item,
                                          const char *key, JsonValue::Kind kind,
                                          bool required,
                                          const JsonValue *&out) {
  out = object.find(key);
  if (!out || out->isNull()) {
    out = nullptr;
    if (required)
      return error(item, std::string("missing \"") + key + "\"");
    return NIBBLE_OK;
  }
  if (out->kind() != kind)
    return error(item + "." + key, std::string("expected ") +
                                       JsonValue::kindName(kind) + ", found " +
                                       JsonValue::kindName(out->kind()));
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::getString(const JsonValue &object,
                                             const std::string &item,
                                             const char *key, bool required,
                                             std::string &out) {
  const JsonValue *value;
  if (nibble_status status =
          member(object, item, key, JsonValue::Kind::String, required, value))
    return status;
  if (value)
    out = value->asString();
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::getBool(const JsonValue &object,
                                           const std::string &item,
                                           const char *key, bool &out) {
  const JsonValue *value;
  if (nibble_status status =
          member(object, item, key, JsonValue::Kind::Bool, false, value))
    return status;
  if (value)
    out = value->asBool();
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::typeOf(const JsonValue &object,
                                          const std::string &item,
                                          std::string &type) {
  if (!object.isObject())
    return error(item, std::string("expected an object, found ") +
                           JsonValue::kindName(object.kind()));
  return getString(object, item, "type", true, type);
}

nibble_status JsonTokenizerLoader::getPattern(const JsonValue &object,
                                              const std::string &item,
                                              std::string &pattern,
                                              bool &isRegex) {
  const JsonValue *value;
  if (nibble_status status =
          member(object, item, "pattern", JsonValue::Kind::Object, true, value))
    return status;
  const JsonValue *text = value->find("String");
  isRegex = false;
  if (!text) {
    text = value->find("Regex");
    isRegex = true;
  }
  if (value->size() != 1 || !text || !text->isString())
    return error(item + ".pattern",
                 "expected {\"String\": ...} or {\"Regex\": ...}");
  pattern = text->asString();
  if (pattern.empty())
    return error(item + ".pattern", "empty pattern");
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::load(const JsonValue &root) {
  if (!root.isObject())
    return error("tokenizer", std::string("expected an object, found ") +
                                  JsonValue::kindName(root.kind()));
  const JsonValue *value;
  if (nibble_status status = member(root, "tokenizer", "model",
                                    JsonValue::Kind::Object, true, value))
    return status;
  if (nibble_status status = loadModel(*value))
    return status;
  if (nibble_status status = member(root, "tokenizer", "added_tokens",
                                    JsonValue::Kind::Array, false, value))
    return status;
  if (value)
    if (nibble_status status = loadAddedTokens(*value))
      return status;
  if ((value = root.find("truncation")) && !value->isNull())
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: truncation: truncating is not supported (set it to null)",
                file.c_str());
  if ((value = root.find("normalizer")) && !value->isNull())
    if (nibble_status status = loadNormalizer(*value, "normalizer"))
      return status;
  if ((value = root.find("pre_tokenizer")) && !value->isNull())
    if (nibble_status status = loadPreTokenizer(*value, "pre_tokenizer"))
      return status;
  if ((value = root.find("post_processor")) && !value->isNull())
    if (nibble_status status = loadPostProcessor(*value, "post_processor"))
      return status;
  bool fused = false;
  if ((value = root.find("decoder")) && !value->isNull())
    if (nibble_status status = loadDecoder(*value, "decoder", fused))
      return status;
  return finish();
}

nibble_status JsonTokenizerLoader::loadModel(const JsonValue &model) {
  std::string type;
  if (nibble_status status = typeOf(model, "model", type))
    return status;
  if (type != "BPE")
    return unsupported("model", "model", type);
  data.model = TokenizerModel::BpeRanks;

  const JsonValue *value;
  if ((value = model.find("dropout")) && !value->isNull() &&
      !(value->isNumber() && value->asDouble() == 0))
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: model.dropout: BPE dropout is not supported",
                file.c_str());
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    std::string affix;
    if (nibble_status status = getString(model, "model", key, false, affix))
      return status;
    if (!affix.empty())
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: model.%s: \"%s\" is not supported (only empty)",
                  file.c_str(), key, affix.c_str());
  }
  if (nibble_status status =
          getString(model, "model", "unk_token", false, unknownToken))
    return status;
  if (nibble_status status =
          getBool(model, "model", "byte_fallback", data.byteFallback))
    return status;
  if (nibble_status status =
          getBool(model, "model", "fuse_unk", data.fuseUnknown))
    return status;
  if (nibble_status status =
          getBool(model, "model", "ignore_merges", data.ignoreMerges))
    return status;

  if (nibble_status status =
          member(model, "model", "vocab", JsonValue::Kind::Object, true, value))
    return status;
  const JsonValue &vocabObject = *value;
  int64_t maxId = -1;
  vocab.reserve(vocabObject.size());
  for (size_t i = 0; i < vocabObject.size(); ++i) {
    const JsonValue &id = vocabObject[i];
    if (!id.isInteger() || id.asInteger() < 0 || id.asInteger() >= (1 << 30))
      return error("model.vocab[\"" + vocabObject.key(i) + "\"]",
                   "expected an id in [0, 2^30)");
    if (id.asInteger() >=
        static_cast<int64_t>(vocabObject.size()) + kMaxUnusedIds)
      return error("model.vocab[\"" + vocabObject.key(i) + "\"]",
                   "id " + std::to_string(id.asInteger()) +
                       " leaves more than 65536 ids unused");
    vocab.emplace_back(vocabObject.key(i), id.asInteger());
    maxId = std::max(maxId, id.asInteger());
  }
  data.tokens.assign(static_cast<size_t>(maxId + 1), std::string());
  data.kinds.assign(data.tokens.size(), TokenKind::Unused);
  for (const auto &entry : vocab) {
    if (data.kinds[entry.second] != TokenKind::Unused)
      return error("model.vocab[\"" + entry.first + "\"]",
                   "id " + std::to_string(entry.second) +
                       " is also the id of \"" + data.tokens[entry.second] +
                       "\"");
    data.tokens[entry.second] = entry.first;
    data.kinds[entry.second] = TokenKind::Normal;
  }

  if (nibble_status status = member(model, "model", "merges",
                                    JsonValue::Kind::Array, false, value))
    return status;
  if (!value)
    return error("model", "missing \"merges\"");
  const JsonValue &merges = *value;
  std::unordered_map<std::string_view, int32_t> ids;
  ids.reserve(vocab.size());
  for (const auto &entry : vocab)
    ids[entry.first] = static_cast<int32_t>(entry.second);
  data.merges.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    std::string item = "model.merges[" + std::to_string(rank) + "]";
    const JsonValue &merge = merges[rank];
    std::string left, right;
    if (merge.isString()) {
      const std::string &text = merge.asString();
      size_t space = text.find(' ', 1);
      if (space == std::string::npos ||
          text.find(' ', space + 1) != std::string::npos)
        return error(item, "expected two tokens separated by one space, "
                           "found \"" +
                               text + "\"");
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (merge.isArray() && merge.size() == 2 && merge[0].isString() &&
               merge[1].isString()) {
      left = merge[0].asString();
      right = merge[1].asString();
    } else {
      return error(item, "expected \"left right\" or [\"left\", \"right\"]");
    }
    auto leftIt = ids.find(left), rightIt = ids.find(right),
         resultIt = ids.find(left + right);
    if (leftIt == ids.end() || rightIt == ids.end() || resultIt == ids.end())
      return error(item, "\"" +
                             (leftIt == ids.end()    ? left
                              : rightIt == ids.end() ? right
                                                     : left + right) +
                             "\" is not in the vocabulary");
    uint64_t key = static_cast<uint64_t>(leftIt->second) << 32 |
                   static_cast<uint32_t>(rightIt->second);
    data.merges.emplace(key, BpeMerge{static_cast<int32_t>(rank),
                                      resultIt->second}); // First rank wins.
  }
  modelSummary = std::string("BPE by rank (") +
                 (data.byteFallback ? "byte fallback" : "no byte fallback") +
                 "), " + std::to_string(merges.size()) + " merges";
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::loadAddedTokens(const JsonValue &added) {
  for (size_t i = 0; i < added.size(); ++i) {
    std::string item = "added_tokens[" + std::to_string(i) + "]";
    const JsonValue &entry = added[i];
    if (!entry.isObject())
      return error(item, std::string("expected an object, found ") +
                             JsonValue::kindName(entry.kind()));
    AddedToken token;
    const JsonValue *id;
    if (nibble_status status =
            member(entry, item, "id", JsonValue::Kind::Number, true, id))
      return status;
    if (!id->isInteger() || id->asInteger() < 0 || id->asInteger() >= (1 << 30))
      return error(item + ".id", "expected an id in [0, 2^30)");
    token.id = static_cast<int32_t>(id->asInteger());
    if (token.id >= static_cast<int64_t>(data.tokens.size()) + kMaxUnusedIds)
      return error(item + ".id", "id " + std::to_string(token.id) +
                                     " leaves more than 65536 ids unused");
    bool singleWord = false;
    if (nibble_status status =
            getString(entry, item, "content", true, token.content))
      return status;
    if (token.content.empty())
      return error(item + ".content", "empty token");
    if (nibble_status status = getBool(entry, item, "special", token.special))
      return status;
    if (nibble_status status = getBool(entry, item, "lstrip", token.lstrip))
      return status;
    if (nibble_status status = getBool(entry, item, "rstrip", token.rstrip))
      return status;
    if (nibble_status status = getBool(entry, item, "single_word", singleWord))
      return status;
    if (singleWord)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: %s: \"single_word\": true is not supported",
                  file.c_str(), item.c_str());
    if (static_cast<size_t>(token.id) >= data.tokens.size()) {
      data.tokens.resize(token.id + 1);
      data.kinds.resize(token.id + 1, TokenKind::Unused);
    }
    if (data.kinds[token.id] != TokenKind::Normal &&
        data.kinds[token.id] != TokenKind::Unused)
      return error(item + ".id", "id " + std::to_string(token.id) +
                                     " is already an added token");
    if (data.kinds[token.id] == TokenKind::Normal &&
        data.tokens[token.id] != token.content)
      return error(item + ".id", "id " + std::to_string(token.id) + " is \"" +
                                     data.tokens[token.id] +
                                     "\" in the vocabulary");
    data.tokens[token.id] = token.content;
    data.kinds[token.id] =
        token.special ? TokenKind::Control : TokenKind::UserDefined;
    data.addedTokens.push_back(std::move(token));
  }
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::loadNormalizer(const JsonValue &normalizer,
                                                  const std::string &item) {
  std::string type;
  if (nibble_status status = typeOf(normalizer, item, type))
    return status;
  if (type == "Sequence") {
    const JsonValue *steps;
    if (nibble_status status = member(normalizer, item, "normalizers",
                                      JsonValue::Kind::Array, true, steps))
      return status;
    for (size_t i = 0; i < steps->size(); ++i)
      if (nibble_status status = loadNormalizer(
              (*steps)[i], item + ".normalizers[" + std::to_string(i) + "]"))
        return status;
    return NIBBLE_OK;
  }
  NormalizerStep step;
  if (type == "Replace") {
    bool isRegex;
    step.kind = NormalizerStep::Kind::Replace;
    if (nibble_status status =
            getPattern(normalizer, item, step.pattern, isRegex))
      return status;
    if (isRegex)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: %s.pattern: Replace with a regex is not supported",
                  file.c_str(), item.c_str());
    if (nibble_status status =
            getString(normalizer, item, "content", true, step.content))
      return status;
  } else if (type == "Prepend") {
    step.kind = NormalizerStep::Kind::Prepend;
    if (nibble_status status =
            getString(normalizer, item, "prepend", true, step.content))
      return status;
  } else if (type == "Strip") {
    step.kind = NormalizerStep::Kind::Strip;
    if (nibble_status status =
            getBool(normalizer, item, "strip_left", step.left))
      return status;
    if (nibble_status status =
            getBool(normalizer, item, "strip_right", step.right))
      return status;
  } else {
    return unsupported(item, "normalizer", type);
  }
  data.normalizers.push_back(std::move(step));
  return NIBBLE_OK;
}

/// The behavior named `name`, or false.
bool parseBehavior(const std::string &name, SplitBehavior &behavior) {
  static const std::pair<const char *, SplitBehavior> names[] = {
      {"Removed", SplitBehavior::Removed},
      {"Isolated", SplitBehavior::Isolated},
      {"MergedWithPrevious", SplitBehavior::MergedWithPrevious},
      {"MergedWithNext", SplitBehavior::MergedWithNext},
      {"Contiguous", SplitBehavior::Contiguous},
  };
  for (const auto &entry : names) {
    if (name == entry.first) {
      behavior = entry.second;
      return true;
    }
  }
  return false;
}

nibble_status JsonTokenizerLoader::loadPreTokenizer(const JsonValue &pre,
                                                    const std::string &item) {
  std::string type;
  if (nibble_status status = typeOf(pre, item, type))
    return status;
  if (type == "Sequence") {
    const JsonValue *steps;
    if (nibble_status status = member(pre, item, "pretokenizers",
                                      JsonValue::Kind::Array, true, steps))
      return status;
    for (size_t i = 0; i < steps->size(); ++i)
      if (nibble_status status = loadPreTokenizer(
              (*steps)[i], item + ".pretokenizers[" + std::to_string(i) + "]"))
        return status;
    return NIBBLE_OK;
  }
  PreTokenizerStep step;
  if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::ByteLevel;
    if (nibble_status status =
            getBool(pre, item, "add_prefix_space", step.addPrefixSpace))
      return status;
    if (nibble_status status = getBool(pre, item, "use_regex", step.useRegex))
      return status;
  } else if (type == "Digits") {
    step.kind = PreTokenizerStep::Kind::Digits;
    if (nibble_status status =
            getBool(pre, item, "individual_digits", step.individualDigits))
      return status;
  } else if (type == "Split") {
    bool isRegex, invert = false;
    std::string behavior;
    if (nibble_status status = getPattern(pre, item, step.pattern, isRegex))
      return status;
    if (nibble_status status = getString(pre, item, "behavior", true, behavior))
      return status;
    if (nibble_status status = getBool(pre, item, "invert", invert))
      return status;
    if (!parseBehavior(behavior, step.behavior))
      return error(item + ".behavior",
                   "unknown split behavior \"" + behavior + "\"");
    if (invert)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: %s.invert: an inverted Split is not supported",
                  file.c_str(), item.c_str());
    if (isRegex) {
      step.kind = PreTokenizerStep::Kind::Regex;
      if (step.pattern == splitRegexPattern(SplitRegex::Gpt2))
        step.regex = SplitRegex::Gpt2;
      else if (step.pattern == splitRegexPattern(SplitRegex::Llama3))
        step.regex = SplitRegex::Llama3;
      else
        return fail(NIBBLE_ERROR_FORMAT,
                    "%s: %s.pattern: the Split regex \"%s\" is not supported "
                    "(only GPT-2's and Llama 3's)",
                    file.c_str(), item.c_str(), step.pattern.c_str());
      if (step.behavior != SplitBehavior::Isolated)
        return fail(NIBBLE_ERROR_FORMAT,
                    "%s: %s.behavior: a regex Split must be \"Isolated\"",
                    file.c_str(), item.c_str());
    } else {
      step.kind = PreTokenizerStep::Kind::String;
    }
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::Metaspace;
    if (nibble_status status =
            getString(pre, item, "replacement", true, step.replacement))
      return status;
    uint32_t codePoint;
    if (step.replacement.empty() ||
        decodeUtf8(step.replacement.data(), step.replacement.size(),
                   codePoint) != step.replacement.size())
      return error(item + ".replacement", "expected one character");
    std::string scheme;
    if (nibble_status status =
            getString(pre, item, "prepend_scheme", false, scheme))
      return status;
    bool addPrefixSpace = true; // The older spelling of the scheme.
    if (nibble_status status =
            getBool(pre, item, "add_prefix_space", addPrefixSpace))
      return status;
    if (scheme.empty())
      scheme = addPrefixSpace ? "always" : "never";
    if (scheme == "always")
      step.prependScheme = PrependScheme::Always;
    else if (scheme == "first")
      step.prependScheme = PrependScheme::First;
    else if (scheme == "never")
      step.prependScheme = PrependScheme::Never;
    else
      return error(item + ".prepend_scheme",
                   "unknown prepend scheme \"" + scheme + "\"");
    if (nibble_status status = getBool(pre, item, "split", step.split))
      return status;
  } else {
    return unsupported(item, "pre-tokenizer", type);
  }
  data.preTokenizers.push_back(std::move(step));
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::loadPostProcessor(const JsonValue &post,
                                                     const std::string &item) {
  std::string type;
  if (nibble_status status = typeOf(post, item, type))
    return status;
  if (type == "ByteLevel")
    return NIBBLE_OK; // Only adjusts offsets.
  if (type == "Sequence") {
    const JsonValue *steps;
    if (nibble_status status = member(post, item, "processors",
                                      JsonValue::Kind::Array, true, steps))
      return status;
    for (size_t i = 0; i < steps->size(); ++i)
      if (nibble_status status = loadPostProcessor(
              (*steps)[i], item + ".processors[" + std::to_string(i) + "]"))
        return status;
    return NIBBLE_OK;
  }
  if (type != "TemplateProcessing")
    return unsupported(item, "post-processor", type);
  const JsonValue *single, *specials;
  if (nibble_status status =
          member(post, item, "single", JsonValue::Kind::Array, true, single))
    return status;
  if (nibble_status status = member(post, item, "special_tokens",
                                    JsonValue::Kind::Object, false, specials))
    return status;
  bool sawSequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    std::string pieceItem = item + ".single[" + std::to_string(i) + "]";
    const JsonValue &piece = (*single)[i];
    if (!piece.isObject() || piece.size() != 1)
      return error(pieceItem, "expected {\"Sequence\": ...} or "
                              "{\"SpecialToken\": ...}");
    if (piece.find("Sequence")) {
      if (sawSequence)
        return error(pieceItem, "a second sequence in \"single\"");
      sawSequence = true;
      continue;
    }
    const JsonValue *special = piece.find("SpecialToken");
    std::string name;
    if (!special || !special->isObject())
      return error(pieceItem, "expected {\"Sequence\": ...} or "
                              "{\"SpecialToken\": ...}");
    if (nibble_status status =
            getString(*special, pieceItem + ".SpecialToken", "id", true, name))
      return status;
    const JsonValue *entry = specials ? specials->find(name) : nullptr;
    const JsonValue *ids =
        entry && entry->isObject() ? entry->find("ids") : nullptr;
    if (!ids || !ids->isArray())
      return error(item + ".special_tokens",
                   "no ids for special token \"" + name + "\"");
    for (size_t k = 0; k < ids->size(); ++k) {
      const JsonValue &id = (*ids)[k];
      if (!id.isInteger() || id.asInteger() < 0 || id.asInteger() >= (1 << 30))
        return error(item + ".special_tokens[\"" + name + "\"].ids",
                     "expected ids in [0, 2^30)");
      (sawSequence ? data.suffixIds : data.prefixIds)
          .push_back(static_cast<int32_t>(id.asInteger()));
    }
  }
  if (!sawSequence)
    return error(item + ".single", "no {\"Sequence\": ...}");
  return NIBBLE_OK;
}

nibble_status JsonTokenizerLoader::loadDecoder(const JsonValue &decoder,
                                               const std::string &item,
                                               bool &fused) {
  std::string type;
  if (nibble_status status = typeOf(decoder, item, type))
    return status;
  if (type == "Sequence") {
    const JsonValue *steps;
    if (nibble_status status = member(decoder, item, "decoders",
                                      JsonValue::Kind::Array, true, steps))
      return status;
    for (size_t i = 0; i < steps->size(); ++i)
      if (nibble_status status =
              loadDecoder((*steps)[i],
                          item + ".decoders[" + std::to_string(i) + "]", fused))
        return status;
    return NIBBLE_OK;
  }
  DecoderStep step;
  if (type == "ByteLevel") {
    step.kind = DecoderStep::Kind::ByteLevel;
  } else if (type == "ByteFallback") {
    step.kind = DecoderStep::Kind::ByteFallback;
  } else if (type == "Fuse") {
    fused = true;
    return NIBBLE_OK;
  } else if (type == "Replace") {
    bool isRegex;
    step.kind = DecoderStep::Kind::Replace;
    if (nibble_status status = getPattern(decoder, item, step.pattern, isRegex))
      return status;
    if (isRegex)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: %s.pattern: Replace with a regex is not supported",
                  file.c_str(), item.c_str());
    if (nibble_status status =
            getString(decoder, item, "content", true, step.content))
      return status;
  } else if (type == "Strip") {
    step.kind = DecoderStep::Kind::Strip;
    const JsonValue *start, *stop;
    if (nibble_status status =
            getString(decoder, item, "content", true, step.content))
      return status;
    if (nibble_status status = member(decoder, item, "start",
                                      JsonValue::Kind::Number, true, start))
      return status;
    if (nibble_status status =
            member(decoder, item, "stop", JsonValue::Kind::Number, true, stop))
      return status;
    if (!start->isInteger() || start->asInteger() < 0 || !stop->isInteger() ||
        stop->asInteger() < 0)
      return error(item, "expected counts \"start\" and \"stop\" >= 0");
    step.start = static_cast<size_t>(start->asInteger());
    step.stop = static_cast<size_t>(stop->asInteger());
    if (fused) {
      // After Fuse there is one token: the whole text.
      if (step.stop != 0)
        return fail(NIBBLE_ERROR_FORMAT,
                    "%s: %s: Strip at the end of the decoded text (stop %zu) "
                    "is not supported (tokens are decoded as a stream)",
                    file.c_str(), item.c_str(), step.stop);
      data.stripLeadingText = step.content;
      data.stripLeadingCount = step.start;
      return NIBBLE_OK;
    }
  } else if (type == "Metaspace") {
    std::string replacement, scheme;
    if (nibble_status status =
            getString(decoder, item, "replacement", true, replacement))
      return status;
    if (nibble_status status =
            getString(decoder, item, "prepend_scheme", false, scheme))
      return status;
    bool addPrefixSpace = true;
    if (nibble_status status =
            getBool(decoder, item, "add_prefix_space", addPrefixSpace))
      return status;
    step.kind = DecoderStep::Kind::Replace;
    step.pattern = replacement;
    step.content = " ";
    if (scheme.empty() ? addPrefixSpace : scheme != "never") {
      data.stripLeadingText = " ";
      data.stripLeadingCount = 1;
    }
  } else {
    return unsupported(item, "decoder", type);
  }
  decoderSteps.push_back(std::move(step));
  return NIBBLE_OK;
}

/// `text` after `steps` (one token, on its own).
std::string decodeToken(const std::vector<DecoderStep> &steps,
                        std::string text) {
  for (const DecoderStep &step : steps) {
    switch (step.kind) {
    case DecoderStep::Kind::ByteLevel:
      text = fromByteLevel(text);
      break;
    case DecoderStep::Kind::ByteFallback: {
      int byte = parseByteToken(text);
      if (byte >= 0)
        text.assign(1, static_cast<char>(byte));
      break;
    }
    case DecoderStep::Kind::Replace: {
      std::string out;
      size_t pos = 0;
      for (size_t at; (at = text.find(step.pattern, pos)) != std::string::npos;
           pos = at + step.pattern.size())
        out.append(text, pos, at - pos).append(step.content);
      text = out.append(text, pos, std::string::npos);
      break;
    }
    case DecoderStep::Kind::Strip: {
      size_t begin = 0, end = text.size();
      for (size_t i = 0;
           i < step.start && !step.content.empty() &&
           text.compare(begin, step.content.size(), step.content) == 0;
           ++i)
        begin += step.content.size();
      for (size_t i = 0; i < step.stop && !step.content.empty() &&
                         end >= begin + step.content.size() &&
                         text.compare(end - step.content.size(),
                                      step.content.size(), step.content) == 0;
           ++i)
        end -= step.content.size();
      text = text.substr(begin, end - begin);
      break;
    }
    }
  }
  return text;
}

nibble_status JsonTokenizerLoader::finish() {
  if (!unknownToken.empty()) {
    auto it = std::find_if(vocab.begin(), vocab.end(), [&](const auto &entry) {
      return entry.first == unknownToken;
    });
    if (it == vocab.end())
      return error("model.unk_token",
                   "\"" + unknownToken + "\" is not in the vocabulary");
    data.unknown = static_cast<int32_t>(it->second);
    data.missingCharacter = data.unknown;
    if (data.kinds[data.unknown] == TokenKind::Normal)
      data.kinds[data.unknown] = TokenKind::Unknown;
  }
  for (int32_t id : data.prefixIds)
    if (static_cast<size_t>(id) >= data.tokens.size())
      return error("post_processor", "special token id " + std::to_string(id) +
                                         " is outside the vocabulary");
  for (int32_t id : data.suffixIds)
    if (static_cast<size_t>(id) >= data.tokens.size())
      return error("post_processor", "special token id " + std::to_string(id) +
                                         " is outside the vocabulary");
  if (data.prefixIds.size() == 1)
    data.bos = data.prefixIds[0];
  if (data.suffixIds.size() == 1)
    data.eos = data.suffixIds[0];
  data.addBos = data.bos >= 0;
  data.addEos = data.eos >= 0;

  // The model's vocabulary only (added tokens are matched before it), as
  // in HF tokenizers; an added token that is also in the vocabulary keeps
  // its entry.
  data.tokenIds.clear();
  data.tokenIds.reserve(vocab.size());
  for (const auto &entry : vocab)
    data.tokenIds[data.tokens[entry.second]] =
        static_cast<int32_t>(entry.second);
  for (int32_t &id : data.byteTokens)
    id = -1;
  for (const auto &entry : vocab) {
    int byte = parseByteToken(entry.first);
    if (byte >= 0 && data.byteTokens[byte] < 0) {
      data.byteTokens[byte] = static_cast<int32_t>(entry.second);
      if (data.byteFallback && data.kinds[entry.second] == TokenKind::Normal)
        data.kinds[entry.second] = TokenKind::Byte;
    }
  }

  // Per-token decoding; added tokens decode to their text.
  data.decoded.resize(data.tokens.size());
  for (size_t id = 0; id < data.tokens.size(); ++id) {
    TokenKind kind = data.kinds[id];
    if (kind == TokenKind::Normal || kind == TokenKind::Byte ||
        kind == TokenKind::Unknown)
      data.decoded[id] = decodeToken(decoderSteps, data.tokens[id]);
    else
      data.decoded[id] = data.tokens[id];
  }
  data.addedTokenMatcher.build(data.addedTokens);
  data.description = modelSummary + ", " + std::to_string(data.tokens.size()) +
                     " tokens, " + std::to_string(data.addedTokens.size()) +
                     " added tokens, from tokenizer.json";
  return NIBBLE_OK;
}

} // namespace

nibble_status Tokenizer::loadJson(const char *text, size_t size,
                                  const std::string &displayName) {
  data.reset();
  JsonValue root;
  if (nibble_status status = parseJson(text, size, root))
    return addErrorContext(status, displayName + ": ");
  auto loaded = std::make_unique<TokenizerData>();
  JsonTokenizerLoader loader(displayName, *loaded);
  if (nibble_status status = loader.load(root))
    return status;
  data = std::move(loaded);
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

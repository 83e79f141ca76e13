//===- Tokenizer.cpp - Text to token ids and back -------------------------===//
//
// The encoding pipeline (added tokens, normalizers, pre-tokenizers, model),
// decoding, and the accessors. The loaders are TokenizerGguf.cpp and
// TokenizerJson.cpp; the two merge models are BpeModel.cpp.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include "runtime/TokenizerImpl.h"
#include "runtime/Unicode.h"

namespace nibble {
namespace runtime {

//===----------------------------------------------------------------------===//
// Tables
//===----------------------------------------------------------------------===//

TokenizerData::TokenizerData() {
  for (int32_t &id : byteTokens)
    id = -1;
}

void TokenizerData::indexVocabulary() {
  tokenIds.clear();
  tokenIds.reserve(tokens.size());
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (kinds[id] == TokenKind::Unused && tokens[id].empty())
      continue;
    tokenIds[tokens[id]] = static_cast<int32_t>(id);
  }
  for (int32_t &id : byteTokens)
    id = -1;
  for (size_t id = 0; id < tokens.size(); ++id) {
    int byte = parseByteToken(tokens[id]);
    if (byte >= 0 && byteTokens[byte] < 0)
      byteTokens[byte] = static_cast<int32_t>(id);
  }
}

uint32_t byteLevelCodePoint(uint8_t byte) {
  if ((byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
      byte >= 0xAE)
    return byte;
  // The other 68 bytes, in order, after U+00FF.
  uint32_t index = byte <= 0x20   ? byte
                   : byte <= 0xA0 ? byte - 0x7F + 0x21
                                  : 0x43; // 0xAD
  return 0x100 + index;
}

int byteLevelByte(uint32_t codePoint) {
  static const std::vector<int> reverse = [] {
    std::vector<int> table(0x144, -1);
    for (int byte = 0; byte < 256; ++byte)
      table[byteLevelCodePoint(static_cast<uint8_t>(byte))] = byte;
    return table;
  }();
  return codePoint < reverse.size() ? reverse[codePoint] : -1;
}

std::string toByteLevel(const char *bytes, size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i)
    appendUtf8(byteLevelCodePoint(static_cast<uint8_t>(bytes[i])), out);
  return out;
}

std::string fromByteLevel(const std::string &text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t codePoint;
    size_t length = decodeUtf8(text.data() + pos, text.size() - pos, codePoint);
    int byte = byteLevelByte(codePoint);
    if (byte >= 0)
      out += static_cast<char>(byte);
    else
      out.append(text, pos, length);
    pos += length;
  }
  return out;
}

int parseByteToken(const std::string &text) {
  if (text.size() != 6 || text.compare(0, 3, "<0x") != 0 || text[5] != '>')
    return -1;
  int value = 0;
  for (int i = 3; i < 5; ++i) {
    char c = text[i];
    int digit = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
    if (digit < 0)
      return -1;
    value = value * 16 + digit;
  }
  return value;
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

namespace {

/// A piece of a segment on its way through the pre-tokenizers.
struct Piece {
  std::string text;
  /// Whether the piece starts at byte 0 of the text being encoded
  /// (Metaspace's prepend_scheme "first").
  bool atTextStart;
};

void replaceAll(std::string &text, const std::string &pattern,
                const std::string &content) {
  if (pattern.empty() || text.find(pattern) == std::string::npos)
    return;
  std::string out;
  out.reserve(text.size() + text.size() / 2);
  size_t pos = 0;
  for (size_t at; (at = text.find(pattern, pos)) != std::string::npos;
       pos = at + pattern.size())
    out.append(text, pos, at - pos).append(content);
  out.append(text, pos, std::string::npos);
  text.swap(out);
}

void normalize(const TokenizerData &data, std::string &text) {
  for (const NormalizerStep &step : data.normalizers) {
    switch (step.kind) {
    case NormalizerStep::Kind::Replace:
      replaceAll(text, step.pattern, step.content);
      break;
    case NormalizerStep::Kind::Prepend:
      if (!text.empty())
        text.insert(0, step.content);
      break;
    case NormalizerStep::Kind::Strip: {
      size_t end = text.size();
      size_t start = 0;
      if (step.left) {
        while (start < end) {
          uint32_t cp;
          size_t length = decodeUtf8(text.data() + start, end - start, cp);
          if (!isWhitespace(cp))
            break;
          start += length;
        }
      }
      if (step.right) {
        while (end > start) {
          size_t begin = end - 1;
          while (begin > start &&
                 (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80)
            --begin;
          uint32_t cp;
          decodeUtf8(text.data() + begin, end - begin, cp);
          if (!isWhitespace(cp))
            break;
          end = begin;
        }
      }
      text = text.substr(start, end - start);
      break;
    }
    }
  }
}

/// Splits each piece with `step` into `out`.
void applyPreTokenizer(const PreTokenizerStep &step,
                       const std::vector<Piece> &pieces,
                       std::vector<Piece> &out) {
  std::vector<TextSpan> spans;
  for (const Piece &piece : pieces) {
    spans.clear();
    std::string text = piece.text;
    switch (step.kind) {
    case PreTokenizerStep::Kind::Regex:
      splitWithRegex(step.regex, text.data(), text.size(), spans);
      break;
    case PreTokenizerStep::Kind::Digits:
      splitDigits(text.data(), text.size(), step.individualDigits, spans);
      break;
    case PreTokenizerStep::Kind::String:
      splitOnString(text.data(), text.size(), step.pattern, step.behavior,
                    spans);
      break;
    case PreTokenizerStep::Kind::ByteLevel:
      if (step.addPrefixSpace && text[0] != ' ')
        text.insert(0, " ");
      if (step.useRegex)
        splitWithRegex(SplitRegex::Gpt2, text.data(), text.size(), spans);
      else
        spans.push_back({0, text.size()});
      for (const TextSpan &span : spans)
        out.push_back({toByteLevel(text.data() + span.offset, span.length),
                       piece.atTextStart && span.offset == 0});
      continue;
    case PreTokenizerStep::Kind::Metaspace:
      replaceAll(text, " ", step.replacement);
      if (text.compare(0, step.replacement.size(), step.replacement) != 0 &&
          (step.prependScheme == PrependScheme::Always ||
           (step.prependScheme == PrependScheme::First && piece.atTextStart)))
        text.insert(0, step.replacement);
      if (step.split)
        splitOnString(text.data(), text.size(), step.replacement,
                      SplitBehavior::MergedWithNext, spans);
      else
        spans.push_back({0, text.size()});
      break;
    }
    for (const TextSpan &span : spans)
      if (span.length != 0)
        out.push_back({text.substr(span.offset, span.length),
                       piece.atTextStart && span.offset == 0});
  }
}

/// Encodes one text segment between added tokens.
void encodeSegment(const TokenizerData &data, const char *text, size_t size,
                   bool atTextStart, std::vector<int32_t> &out) {
  std::string normalized(text, size);
  normalize(data, normalized);
  if (normalized.empty())
    return;
  if (data.preTokenizers.empty()) {
    data.encodePiece(normalized, out);
    return;
  }
  std::vector<Piece> pieces{{std::move(normalized), atTextStart}};
  std::vector<Piece> next;
  for (const PreTokenizerStep &step : data.preTokenizers) {
    next.clear();
    applyPreTokenizer(step, pieces, next);
    pieces.swap(next);
  }
  for (const Piece &piece : pieces)
    data.encodePiece(piece.text, out);
}

} // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(const std::string &text,
                                       bool addSpecialTokens,
                                       bool parseSpecialTokens) const {
  std::vector<int32_t> ids;
  if (!data)
    return ids;
  if (addSpecialTokens)
    ids = data->prefixIds;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start, end, index;
    bool found = data->addedTokenMatcher.findNext(
        text.data(), text.size(), pos, parseSpecialTokens, start, end, index);
    size_t segmentEnd = found ? start : text.size();
    if (segmentEnd > pos)
      encodeSegment(*data, text.data() + pos, segmentEnd - pos, pos == 0, ids);
    if (!found)
      break;
    ids.push_back(data->addedTokens[index].id);
    pos = end;
  }
  if (addSpecialTokens)
    ids.insert(ids.end(), data->suffixIds.begin(), data->suffixIds.end());
  return ids;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

std::string Tokenizer::tokenBytes(int32_t id, bool renderSpecialTokens) const {
  if (!data || id < 0 || id >= vocabSize())
    return std::string();
  TokenKind tokenKind = data->kinds[id];
  if (!renderSpecialTokens &&
      (tokenKind == TokenKind::Control || tokenKind == TokenKind::Unknown))
    return std::string();
  return data->decoded[id];
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids,
                              bool renderSpecialTokens) const {
  TokenStreamDecoder decoder(*this, renderSpecialTokens);
  std::string text;
  for (int32_t id : ids)
    text += decoder.push(id);
  return text + decoder.finish();
}

TokenStreamDecoder::TokenStreamDecoder(const Tokenizer &tokenizer,
                                       bool renderSpecialTokens)
    : tokenizer(tokenizer), renderSpecialTokens(renderSpecialTokens) {}

std::string TokenStreamDecoder::push(int32_t id) {
  std::string bytes = tokenizer.tokenBytes(id, renderSpecialTokens);
  if (!started && tokenizer.data) {
    const TokenizerData &data = *tokenizer.data;
    const std::string &strip = data.stripLeadingText;
    size_t pos = 0;
    while (stripped < data.stripLeadingCount && !strip.empty() &&
           bytes.compare(pos, strip.size(), strip) == 0) {
      pos += strip.size();
      ++stripped;
    }
    bytes.erase(0, pos);
    started = !bytes.empty();
  }
  pending += bytes;
  size_t complete = completeUtf8Prefix(pending.data(), pending.size());
  std::string out = pending.substr(0, complete);
  pending.erase(0, complete);
  return out;
}

std::string TokenStreamDecoder::finish() {
  std::string out;
  out.swap(pending);
  started = false;
  stripped = 0;
  return out;
}

//===----------------------------------------------------------------------===//
// Accessors
//===----------------------------------------------------------------------===//

int32_t Tokenizer::vocabSize() const {
  return data ? static_cast<int32_t>(data->tokens.size()) : 0;
}
int32_t Tokenizer::bosId() const { return data ? data->bos : -1; }
int32_t Tokenizer::eosId() const { return data ? data->eos : -1; }
int32_t Tokenizer::unknownId() const { return data ? data->unknown : -1; }
int32_t Tokenizer::paddingId() const { return data ? data->padding : -1; }
bool Tokenizer::addsBos() const { return data && data->addBos; }
bool Tokenizer::addsEos() const { return data && data->addEos; }

TokenKind Tokenizer::kind(int32_t id) const {
  if (!data || id < 0 || id >= vocabSize())
    return TokenKind::Unused;
  return data->kinds[id];
}

bool Tokenizer::isControl(int32_t id) const {
  return kind(id) == TokenKind::Control;
}

const std::string &Tokenizer::tokenText(int32_t id) const {
  static const std::string empty;
  if (!data || id < 0 || id >= vocabSize())
    return empty;
  return data->tokens[id];
}

int32_t Tokenizer::findToken(const std::string &text) const {
  if (!data)
    return -1;
  int32_t id = data->lookup(text);
  if (id >= 0)
    return id;
  for (const AddedToken &token : data->addedTokens)
    if (token.content == text)
      return token.id;
  return -1;
}

const std::string &Tokenizer::chatTemplate() const {
  static const std::string empty;
  return data ? data->chatTemplate : empty;
}

const std::string &Tokenizer::description() const {
  static const std::string empty;
  return data ? data->description : empty;
}

} // namespace runtime
} // namespace nibble

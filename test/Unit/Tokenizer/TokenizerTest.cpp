//===- TokenizerTest.cpp - Tokenizer behaviour beyond the reference ids ---===//
//
// Special ids and flags of the real models, special-token parsing on and
// off, streaming decoding (held-back partial UTF-8), invalid UTF-8 kept
// byte for byte, concurrent use, and GGUF loading from small hand-built
// GGUF images: a SentencePiece vocabulary with a space prefix and every
// error of the GGUF loader.
//
//===----------------------------------------------------------------------===//

#include "FixtureUtil.h"

#include "runtime/Gguf.h"
#include "runtime/Tokenizer.h"
#include "runtime/Unicode.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

using namespace nibble::runtime;
using namespace nibble::test;

namespace {

using Ids = std::vector<int32_t>;

/// The two real models, loaded once.
const Tokenizer &smollm() {
  static Tokenizer tokenizer;
  static bool loaded =
      tokenizer.open(modelPath("SmolLM2-135M-Instruct.Q4_1.gguf")) == NIBBLE_OK;
  EXPECT_TRUE(loaded) << nibble_last_error()
                      << " (the models come from scripts/fetch-models.sh)";
  return tokenizer;
}

const Tokenizer &gemma() {
  static Tokenizer tokenizer;
  static bool loaded =
      tokenizer.open(modelPath("gemma-3-270m-q4_k_m.gguf")) == NIBBLE_OK;
  EXPECT_TRUE(loaded) << nibble_last_error()
                      << " (the models come from scripts/fetch-models.sh)";
  return tokenizer;
}

bool contains(const Ids &ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(TokenizerTest, SmolLM2SpecialTokens) {
  const Tokenizer &t = smollm();
  ASSERT_TRUE(t.isLoaded());
  EXPECT_EQ(t.vocabSize(), 49152);
  EXPECT_EQ(t.bosId(), 1);
  EXPECT_EQ(t.eosId(), 2);
  EXPECT_EQ(t.paddingId(), 2);
  EXPECT_FALSE(t.addsBos());
  EXPECT_FALSE(t.addsEos());
  for (int32_t id = 0; id < 17; ++id)
    EXPECT_TRUE(t.isControl(id)) << id;
  EXPECT_FALSE(t.isControl(17));
  EXPECT_FALSE(t.isControl(-1));
  EXPECT_FALSE(t.isControl(49152));
  EXPECT_EQ(t.tokenText(2), "<|im_end|>");
  EXPECT_EQ(t.tokenText(216), "\xc4\xa0"); // "Ġ": a space.
  EXPECT_EQ(t.tokenText(-5), "");
  EXPECT_EQ(t.findToken("<|im_end|>"), 2);
  EXPECT_EQ(t.findToken("no such token"), -1);
  EXPECT_NE(t.chatTemplate().find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(t.kind(0), TokenKind::Control);
  EXPECT_EQ(t.kind(100), TokenKind::Normal);

  std::string chat = "<|im_start|>user\nHi<|im_end|>";
  Ids parsed = t.encode(chat, true, true);
  Ids expected = {1};
  for (int32_t id : t.encode("user\nHi", false))
    expected.push_back(id);
  expected.push_back(2);
  EXPECT_EQ(parsed, expected);
  Ids literal = t.encode(chat, true, false);
  EXPECT_FALSE(contains(literal, 1));
  EXPECT_FALSE(contains(literal, 2));
  EXPECT_EQ(t.decode(literal), chat);
  EXPECT_EQ(t.decode(parsed), chat);
  EXPECT_EQ(t.decode(parsed, /*renderSpecialTokens=*/false), "user\nHi");
  // No BOS is added; nothing comes of nothing.
  EXPECT_EQ(t.encode("Hi", true), t.encode("Hi", false));
  EXPECT_TRUE(t.encode("", true).empty());
}

TEST(TokenizerTest, Gemma3SpecialTokens) {
  const Tokenizer &t = gemma();
  ASSERT_TRUE(t.isLoaded());
  EXPECT_EQ(t.vocabSize(), 262144);
  EXPECT_EQ(t.bosId(), 2);
  EXPECT_EQ(t.eosId(), 1);
  EXPECT_EQ(t.unknownId(), 3);
  EXPECT_TRUE(t.addsBos());
  EXPECT_TRUE(t.isControl(105));                  // <start_of_turn>
  EXPECT_EQ(t.kind(107), TokenKind::UserDefined); // "\n"
  EXPECT_EQ(t.kind(238), TokenKind::Byte);        // <0x00>
  EXPECT_EQ(t.tokenBytes(238 + 0xE6), "\xe6");
  Ids plain = t.encode("Hello", false);
  Ids withBos = t.encode("Hello", true);
  ASSERT_EQ(withBos.size(), plain.size() + 1);
  EXPECT_EQ(withBos[0], 2);
  EXPECT_EQ(Ids(withBos.begin() + 1, withBos.end()), plain);
  EXPECT_EQ(t.encode("", true), (Ids{2}));
  // User-defined tokens ("\n", "<b>") are matched even when special tokens
  // are not parsed; control tokens only when they are.
  std::string text = "<start_of_turn>a\n<b>x</b>";
  Ids literal = t.encode(text, false, false);
  EXPECT_TRUE(contains(literal, 107));
  EXPECT_TRUE(contains(literal, t.findToken("<b>")));
  EXPECT_FALSE(contains(literal, 105));
  EXPECT_TRUE(contains(t.encode(text, false, true), 105));
  EXPECT_EQ(t.decode(literal), text);
}

/// Decodes `ids` one at a time; checks each piece is valid UTF-8 when the
/// whole is, and that the pieces add up to decode(). Returns how many
/// pushes returned nothing while bytes were held back.
size_t streamAndCheck(const Tokenizer &t, const Ids &ids) {
  TokenStreamDecoder stream(t, /*renderSpecialTokens=*/true);
  std::string whole = t.decode(ids), joined;
  size_t heldBack = 0;
  for (int32_t id : ids) {
    std::string piece = stream.push(id);
    if (piece.empty() && !t.tokenBytes(id).empty())
      ++heldBack;
    if (isValidUtf8(whole.data(), whole.size())) {
      EXPECT_TRUE(isValidUtf8(piece.data(), piece.size())) << id;
    }
    joined += piece;
  }
  joined += stream.finish();
  EXPECT_EQ(joined, whole);
  return heldBack;
}

TEST(TokenizerTest, StreamingHoldsBackPartialCharacters) {
  // A private-use character no vocabulary has: four <0xNN> byte tokens.
  std::string rare = "x\xf4\x8f\xbf\xbdy \xe6\x97\xa5\xe6\x9c\xac "
                     "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9";
  Ids ids = gemma().encode(rare, false);
  EXPECT_TRUE(contains(ids, 238 + 0xF4));
  EXPECT_GE(streamAndCheck(gemma(), ids), 3u);
  EXPECT_EQ(gemma().decode(ids), rare);
  // Byte-level tokens cut characters too.
  Ids smol = smollm().encode(rare, false);
  EXPECT_GE(streamAndCheck(smollm(), smol), 1u);
  EXPECT_EQ(smollm().decode(smol), rare);

  // An incomplete sequence at the end comes out of finish().
  TokenStreamDecoder stream(gemma());
  EXPECT_EQ(stream.push(238 + 0xE6), "");
  EXPECT_EQ(stream.push(238 + 0x97), "");
  EXPECT_EQ(stream.finish(), "\xe6\x97");
  EXPECT_EQ(stream.push(gemma().findToken("a")), "a");
  // Control tokens are left out unless asked for.
  EXPECT_EQ(stream.push(105), "");
}

TEST(TokenizerTest, InvalidUtf8RoundTrips) {
  // Gemma's byte fallback keeps every byte. SmolLM2's byte-level
  // vocabulary has no token for 21 bytes (control characters and bytes
  // that start no character in use); like llama.cpp and HF tokenizers it
  // drops them.
  const std::string missingInSmolLM2 =
      "\x04\x06\x13\x14\x16\x1d\xc0\xc1\xf1\xf2\xf5\xf6\xf7\xf8\xf9\xfa"
      "\xfb\xfc\xfd\xfe\xff";
  auto withoutMissing = [&](std::string text) {
    text.erase(std::remove_if(text.begin(), text.end(),
                              [&](char c) {
                                return missingInSmolLM2.find(c) !=
                                       std::string::npos;
                              }),
               text.end());
    return text;
  };
  std::string all;
  for (int byte = 0; byte < 256; ++byte)
    all += static_cast<char>(byte);
  for (const std::string &bytes :
       {std::string("ok \xff\xfe\x80 \xc3 \xe2\x82 end\xf0"), all,
        std::string("\xe6\x97 \xf0\x9f\x98 \xed\xa0\x80 \xc3\xa9")}) {
    EXPECT_EQ(gemma().decode(gemma().encode(bytes, false)), bytes);
    EXPECT_EQ(smollm().decode(smollm().encode(bytes, false)),
              withoutMissing(bytes));
  }
}

TEST(TokenizerTest, DecodeSkipsIdsOutsideTheVocabulary) {
  int32_t a = smollm().findToken("a");
  ASSERT_GE(a, 0);
  EXPECT_EQ(smollm().decode({-1, a, 49152, INT32_MAX, a}), "aa");
  EXPECT_EQ(smollm().tokenBytes(49152), "");
  EXPECT_EQ(smollm().kind(49152), TokenKind::Unused);
}

TEST(TokenizerTest, ConcurrentEncoding) {
  std::string text;
  std::string error;
  std::vector<TextUnit> units;
  ASSERT_TRUE(loadTextUnits(300, units, error)) << error;
  for (const TextUnit &unit : units)
    text += unit.text;
  Ids expected = gemma().encode(text, false);
  Ids results[2];
  std::thread first([&] { results[0] = gemma().encode(text, false); });
  std::thread second([&] { results[1] = gemma().encode(text, false); });
  first.join();
  second.join();
  EXPECT_EQ(results[0], expected);
  EXPECT_EQ(results[1], expected);
}

TEST(TokenizerTest, UnloadedTokenizerIsEmpty) {
  Tokenizer t;
  EXPECT_FALSE(t.isLoaded());
  EXPECT_TRUE(t.encode("text").empty());
  EXPECT_EQ(t.decode({1, 2}), "");
  EXPECT_EQ(t.vocabSize(), 0);
  EXPECT_EQ(t.bosId(), -1);
  EXPECT_EQ(t.findToken("a"), -1);
}

//===----------------------------------------------------------------------===//
// Hand-built GGUF images
//===----------------------------------------------------------------------===//

/// Writes a GGUF v3 image with metadata only (no tensors).
class GgufBuilder {
public:
  GgufBuilder &string(const std::string &key, const std::string &value) {
    header(key, 8);
    text(value);
    return *this;
  }
  GgufBuilder &boolean(const std::string &key, bool value) {
    header(key, 7);
    bytes.push_back(value ? 1 : 0);
    return *this;
  }
  GgufBuilder &uint32(const std::string &key, uint32_t value) {
    header(key, 4);
    raw(&value, 4);
    return *this;
  }
  GgufBuilder &strings(const std::string &key,
                       const std::vector<std::string> &values) {
    arrayHeader(key, 8, values.size());
    for (const std::string &value : values)
      text(value);
    return *this;
  }
  GgufBuilder &floats(const std::string &key,
                      const std::vector<float> &values) {
    arrayHeader(key, 6, values.size());
    for (float value : values)
      raw(&value, 4);
    return *this;
  }
  GgufBuilder &ints(const std::string &key,
                    const std::vector<int32_t> &values) {
    arrayHeader(key, 5, values.size());
    for (int32_t value : values)
      raw(&value, 4);
    return *this;
  }

  /// The image: header, metadata, padding to 32 bytes.
  std::string build() const {
    std::string out = "GGUF";
    uint32_t version = 3;
    uint64_t tensors = 0, kvs = count;
    out.append(reinterpret_cast<const char *>(&version), 4);
    out.append(reinterpret_cast<const char *>(&tensors), 8);
    out.append(reinterpret_cast<const char *>(&kvs), 8);
    out.append(bytes.begin(), bytes.end());
    out.append((32 - out.size() % 32) % 32, '\0');
    return out;
  }

private:
  void raw(const void *data, size_t size) {
    const char *p = static_cast<const char *>(data);
    bytes.insert(bytes.end(), p, p + size);
  }
  void text(const std::string &value) {
    uint64_t length = value.size();
    raw(&length, 8);
    raw(value.data(), value.size());
  }
  void header(const std::string &key, uint32_t type) {
    text(key);
    raw(&type, 4);
    ++count;
  }
  void arrayHeader(const std::string &key, uint32_t elementType,
                   uint64_t size) {
    header(key, 9);
    raw(&elementType, 4);
    raw(&size, 8);
  }
  std::vector<char> bytes;
  uint64_t count = 0;
};

/// A small SentencePiece vocabulary: <unk> <s> </s>, four byte tokens,
/// pieces with scores.
GgufBuilder spmVocabulary() {
  GgufBuilder builder;
  builder.string("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens",
               {"<unk>", "<s>", "</s>", "<0x0A>", "<0xC3>", "<0xA9>", "<0x21>",
                "\xe2\x96\x81", "h", "i", "\xe2\x96\x81h", "\xe2\x96\x81hi",
                "hi", "<tag>"})
      .floats("tokenizer.ggml.scores",
              {0, 0, 0, 0, 0, 0, 0, -1, -2, -3, -4, -5, -6, 0})
      .ints("tokenizer.ggml.token_type",
            {2, 3, 3, 6, 6, 6, 6, 1, 1, 1, 1, 1, 1, 4});
  return builder;
}

nibble_status loadImage(const std::string &image, Tokenizer &tokenizer) {
  GgufFile file;
  if (nibble_status status =
          file.parse(reinterpret_cast<const uint8_t *>(image.data()),
                     image.size(), "test.gguf"))
    return status;
  return tokenizer.loadGguf(file);
}

TEST(TokenizerGgufTest, SentencePieceWithSpacePrefix) {
  Tokenizer t;
  ASSERT_EQ(loadImage(spmVocabulary().build(), t), NIBBLE_OK)
      << nibble_last_error();
  // Defaults: add_bos_token and add_space_prefix are true; bos 1, eos 2.
  EXPECT_TRUE(t.addsBos());
  EXPECT_EQ(t.bosId(), 1);
  EXPECT_EQ(t.eosId(), 2);
  // "hi hi" -> "▁hi▁hi": "▁h" (-4) beats "hi" (-6), then "▁hi" (-5).
  EXPECT_EQ(t.encode("hi hi"), (Ids{1, 11, 11}));
  EXPECT_EQ(t.encode("hi\xc3\xa9!\n", false), (Ids{11, 4, 5, 6, 3}));
  // A character with no byte tokens becomes <unk>; user-defined tokens
  // are matched whole, and the space prefix comes back after them.
  EXPECT_EQ(t.encode("h<tag>x", false), (Ids{10, 13, 7, 0}));
  // decode() drops the prefix space at the start of the text only (after
  // a BOS that renders as nothing).
  EXPECT_EQ(t.decode(t.encode("hi hi"), /*renderSpecialTokens=*/false),
            "hi hi");
  EXPECT_EQ(t.decode(t.encode("hi hi")), "<s> hi hi");
  EXPECT_EQ(t.decode({11, 11}), "hi hi");
  EXPECT_EQ(t.tokenBytes(11), " hi");
  EXPECT_EQ(t.decode({7, 7, 12}), " hi");
}

TEST(TokenizerGgufTest, Gpt2VocabularyAndLlama3Split) {
  Tokenizer t;
  std::string image =
      GgufBuilder()
          .string("tokenizer.ggml.model", "gpt2")
          .string("tokenizer.ggml.pre", "llama-bpe")
          .strings("tokenizer.ggml.tokens",
                   {"a", "b", "ab", "\xc4\xa0",
                    "\xc4\xa0"
                    "ab",
                    "1", "12", "123", "<|eot|>", "bab", "2"})
          .strings("tokenizer.ggml.merges", {"a b", "\xc4\xa0 ab", "1 2"})
          .ints("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1})
          .uint32("tokenizer.ggml.eos_token_id", 8)
          .build();
  ASSERT_EQ(loadImage(image, t), NIBBLE_OK) << nibble_last_error();
  EXPECT_FALSE(t.addsBos());
  EXPECT_EQ(t.eosId(), 8);
  // Llama 3 splits digits in threes; whole pieces that are tokens skip the
  // merges: "123" (no "3" to merge with) and "bab" (the merges would give
  // "b" "ab").
  EXPECT_EQ(t.encode("ab ab 123 12", false), (Ids{2, 4, 3, 7, 3, 6}));
  EXPECT_EQ(t.encode("bab", false), (Ids{9}));
  EXPECT_EQ(t.encode("ab<|eot|>", false, true), (Ids{2, 8}));
  EXPECT_EQ(t.decode({2, 4, 8}), "ab ab<|eot|>");
}

struct BadGguf {
  const char *what;
  std::string image;
  const char *message;
};

class TokenizerGgufRejects : public testing::TestWithParam<BadGguf> {};

TEST_P(TokenizerGgufRejects, NamingFileAndKey) {
  const BadGguf &bad = GetParam();
  Tokenizer t;
  ASSERT_NE(loadImage(bad.image, t), NIBBLE_OK) << bad.what;
  EXPECT_STREQ(nibble_last_error(), bad.message) << bad.what;
  EXPECT_FALSE(t.isLoaded());
}

std::vector<BadGguf> badGgufs() {
  const std::vector<std::string> tokens = {"a", "b", "ab"};
  return {
      {"no model",
       GgufBuilder().strings("tokenizer.ggml.tokens", tokens).build(),
       "test.gguf: key \"tokenizer.ggml.model\" is missing"},
      {"unknown model",
       GgufBuilder()
           .string("tokenizer.ggml.model", "bert")
           .strings("tokenizer.ggml.tokens", tokens)
           .build(),
       "test.gguf: key \"tokenizer.ggml.model\": tokenizer model \"bert\" is "
       "not supported (only \"gpt2\" and \"llama\")"},
      {"no tokens",
       GgufBuilder().string("tokenizer.ggml.model", "gpt2").build(),
       "test.gguf: key \"tokenizer.ggml.tokens\" is missing"},
      {"unknown pre-tokenizer",
       GgufBuilder()
           .string("tokenizer.ggml.model", "gpt2")
           .string("tokenizer.ggml.pre", "qwen2")
           .strings("tokenizer.ggml.tokens", tokens)
           .strings("tokenizer.ggml.merges", {"a b"})
           .build(),
       "test.gguf: key \"tokenizer.ggml.pre\": pre-tokenizer \"qwen2\" is not "
       "supported for \"gpt2\" vocabularies (supported: gpt-2, smollm, "
       "starcoder, llama-bpe and their aliases)"},
      {"merge of an unknown token",
       GgufBuilder()
           .string("tokenizer.ggml.model", "gpt2")
           .string("tokenizer.ggml.pre", "gpt2")
           .strings("tokenizer.ggml.tokens", tokens)
           .strings("tokenizer.ggml.merges", {"a b", "b c"})
           .build(),
       "test.gguf: key \"tokenizer.ggml.merges\": merge 1 \"b c\": \"c\" is "
       "not a token"},
      {"pre-tokenizer not a string",
       GgufBuilder()
           .string("tokenizer.ggml.model", "gpt2")
           .strings("tokenizer.ggml.tokens", tokens)
           .strings("tokenizer.ggml.pre", {"x"})
           .build(),
       "test.gguf: key \"tokenizer.ggml.pre\" is an array of string, "
       "expected a string"},
      {"token types of another length",
       GgufBuilder()
           .string("tokenizer.ggml.model", "llama")
           .strings("tokenizer.ggml.tokens", tokens)
           .ints("tokenizer.ggml.token_type", {1, 1})
           .build(),
       "test.gguf: key \"tokenizer.ggml.token_type\" has 2 entries for 3 "
       "tokens"},
      {"unknown token type",
       GgufBuilder()
           .string("tokenizer.ggml.model", "llama")
           .strings("tokenizer.ggml.tokens", tokens)
           .ints("tokenizer.ggml.token_type", {1, 9, 1})
           .build(),
       "test.gguf: key \"tokenizer.ggml.token_type\": token 1 has type 9, "
       "expected 1 to 6"},
      {"scores of another length",
       GgufBuilder()
           .string("tokenizer.ggml.model", "llama")
           .strings("tokenizer.ggml.tokens", tokens)
           .floats("tokenizer.ggml.scores", {0})
           .build(),
       "test.gguf: key \"tokenizer.ggml.scores\" has 1 entries for 3 tokens"},
      {"bos outside the vocabulary",
       GgufBuilder()
           .string("tokenizer.ggml.model", "llama")
           .strings("tokenizer.ggml.tokens", tokens)
           .uint32("tokenizer.ggml.bos_token_id", 3)
           .build(),
       "test.gguf: key \"tokenizer.ggml.bos_token_id\" is 3, outside the "
       "3-token vocabulary"},
      {"add_bos without a bos",
       GgufBuilder()
           .string("tokenizer.ggml.model", "gpt2")
           .string("tokenizer.ggml.pre", "gpt2")
           .strings("tokenizer.ggml.tokens", {"a"})
           .strings("tokenizer.ggml.merges", {})
           .boolean("tokenizer.ggml.add_bos_token", true)
           .build(),
       "test.gguf: tokenizer.ggml.add_bos_token is true but there is no "
       "tokenizer.ggml.bos_token_id"},
      {"flag of another type",
       GgufBuilder()
           .string("tokenizer.ggml.model", "llama")
           .strings("tokenizer.ggml.tokens", tokens)
           .uint32("tokenizer.ggml.add_space_prefix", 1)
           .build(),
       "test.gguf: key \"tokenizer.ggml.add_space_prefix\" is a uint32, "
       "expected a bool"},
  };
}

INSTANTIATE_TEST_SUITE_P(TokenizerGgufTest, TokenizerGgufRejects,
                         testing::ValuesIn(badGgufs()),
                         [](const testing::TestParamInfo<BadGguf> &info) {
                           std::string name;
                           for (char c : std::string(info.param.what))
                             name += std::isalnum(static_cast<unsigned char>(c))
                                         ? c
                                         : '_';
                           return name;
                         });

} // namespace

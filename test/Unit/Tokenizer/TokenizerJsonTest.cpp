//===- TokenizerJsonTest.cpp - tokenizer.json loading and its errors ------===//
//
// A minimal tokenizer.json that loads, then one test per rejection: each
// message must start with the file and name the item (a JSON path) and,
// for unsupported components, their type.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tokenizer.h"

#include "gtest/gtest.h"

#include <cctype>
#include <string>

using namespace nibble::runtime;

namespace {

/// A valid tokenizer.json with `model`, `added` and `extra` (more
/// top-level members, each followed by a comma) substituted.
std::string document(const std::string &model =
                         "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, "
                         "\"ab\": 2, \"<s>\": 3}, \"merges\": [\"a b\"]}",
                     const std::string &extra = "",
                     const std::string &added =
                         "[{\"id\": 3, \"content\": \"<s>\", \"special\": "
                         "true}]") {
  return "{" + extra + "\"added_tokens\": " + added + ", \"model\": " + model +
         "}";
}

TEST(TokenizerJsonTest, LoadsAMinimalFile) {
  Tokenizer tokenizer;
  std::string text = document();
  ASSERT_EQ(tokenizer.loadJson(text.data(), text.size(), "min.json"), NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(tokenizer.vocabSize(), 4);
  EXPECT_EQ(tokenizer.encode("abab", false), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(tokenizer.encode("ba<s>a", false, true),
            (std::vector<int32_t>{1, 0, 3, 0}));
  EXPECT_EQ(tokenizer.encode("a<s>", false, false),
            (std::vector<int32_t>{0})); // '<', 's', '>' are no tokens.
  EXPECT_TRUE(tokenizer.isControl(3));
  EXPECT_EQ(tokenizer.decode({2, 3, 1}), "ab<s>b");
  EXPECT_EQ(tokenizer.decode({2, 3, 1}, false), "abb");
  EXPECT_FALSE(tokenizer.addsBos());

  // A template post-processor supplies BOS/EOS.
  text = document(
      "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"<s>\": 1, \"</s>\": 2}, "
      "\"merges\": []}",
      "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
      "[{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, "
      "{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"SpecialToken\": "
      "{\"id\": \"</s>\", \"type_id\": 0}}], \"special_tokens\": {\"<s>\": "
      "{\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}, \"</s>\": "
      "{\"id\": \"</s>\", \"ids\": [2], \"tokens\": [\"</s>\"]}}},",
      "[]");
  ASSERT_EQ(tokenizer.loadJson(text.data(), text.size(), "bos.json"), NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(tokenizer.encode("aa"), (std::vector<int32_t>{1, 0, 0, 2}));
  EXPECT_EQ(tokenizer.bosId(), 1);
  EXPECT_EQ(tokenizer.eosId(), 2);
}

TEST(TokenizerJsonTest, MissingFileNamesThePath) {
  Tokenizer tokenizer;
  ASSERT_EQ(tokenizer.open("/nonexistent/tokenizer.json"), NIBBLE_ERROR_IO);
  EXPECT_NE(
      std::string(nibble_last_error()).find("/nonexistent/tokenizer.json"),
      std::string::npos)
      << nibble_last_error();
  EXPECT_FALSE(tokenizer.isLoaded());
}

struct BadTokenizerJson {
  const char *what;
  std::string text;
  const char *message;
};

class TokenizerJsonRejects : public testing::TestWithParam<BadTokenizerJson> {};

TEST_P(TokenizerJsonRejects, NamingFileAndItem) {
  const BadTokenizerJson &bad = GetParam();
  Tokenizer tokenizer;
  ASSERT_NE(tokenizer.loadJson(bad.text.data(), bad.text.size(), "bad.json"),
            NIBBLE_OK)
      << bad.what;
  EXPECT_STREQ(nibble_last_error(), bad.message) << bad.what;
  EXPECT_FALSE(tokenizer.isLoaded());
}

const std::string kVocab = "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}";
const std::string kBpe =
    "{\"type\": \"BPE\", " + kVocab + ", \"merges\": [\"a b\"]";

INSTANTIATE_TEST_SUITE_P(
    TokenizerJsonTest, TokenizerJsonRejects,
    testing::Values(
        BadTokenizerJson{"not JSON", "{",
                         "bad.json: expected a string key in an object at "
                         "byte 1"},
        BadTokenizerJson{"invalid UTF-8", "{\"model\": \"\xc3\"}",
                         "bad.json: invalid UTF-8 in a string at byte 11"},
        BadTokenizerJson{"root not an object", "[]",
                         "bad.json: tokenizer: expected an object, found an "
                         "array"},
        BadTokenizerJson{"no model", "{}",
                         "bad.json: tokenizer: missing \"model\""},
        BadTokenizerJson{"WordPiece model",
                         document("{\"type\": \"WordPiece\", " + kVocab + "}"),
                         "bad.json: model: model type \"WordPiece\" is not "
                         "supported"},
        BadTokenizerJson{"Unigram model",
                         document("{\"type\": \"Unigram\", \"vocab\": []}"),
                         "bad.json: model: model type \"Unigram\" is not "
                         "supported"},
        BadTokenizerJson{"model without type", document("{" + kVocab + "}"),
                         "bad.json: model: missing \"type\""},
        BadTokenizerJson{"vocab not an object",
                         document("{\"type\": \"BPE\", \"vocab\": [], "
                                  "\"merges\": []}"),
                         "bad.json: model.vocab: expected an object, found "
                         "an array"},
        BadTokenizerJson{"negative id",
                         document("{\"type\": \"BPE\", \"vocab\": {\"a\": "
                                  "-1}, \"merges\": []}"),
                         "bad.json: model.vocab[\"a\"]: expected an id in "
                         "[0, 2^30)"},
        BadTokenizerJson{"sparse ids",
                         document("{\"type\": \"BPE\", \"vocab\": {\"a\": 0, "
                                  "\"b\": 65538}, \"merges\": []}"),
                         "bad.json: model.vocab[\"b\"]: id 65538 leaves more "
                         "than 65536 ids unused"},
        BadTokenizerJson{
            "sparse added token id",
            document(kBpe + "}", "", "[{\"id\": 70000, \"content\": \"<s>\"}]"),
            "bad.json: added_tokens[0].id: id 70000 leaves more "
            "than 65536 ids unused"},
        BadTokenizerJson{"two tokens, one id",
                         document("{\"type\": \"BPE\", \"vocab\": {\"a\": 0, "
                                  "\"b\": 0}, \"merges\": []}"),
                         "bad.json: model.vocab[\"b\"]: id 0 is also the id "
                         "of \"a\""},
        BadTokenizerJson{"no merges",
                         document("{\"type\": \"BPE\", " + kVocab + "}"),
                         "bad.json: model: missing \"merges\""},
        BadTokenizerJson{"merge of an unknown token",
                         document("{\"type\": \"BPE\", " + kVocab +
                                  ", \"merges\": [\"a b\", \"a c\"]}"),
                         "bad.json: model.merges[1]: \"c\" is not in the "
                         "vocabulary"},
        BadTokenizerJson{"merge result not a token",
                         document("{\"type\": \"BPE\", " + kVocab +
                                  ", \"merges\": [[\"b\", \"a\"]]}"),
                         "bad.json: model.merges[0]: \"ba\" is not in the "
                         "vocabulary"},
        BadTokenizerJson{"merge without a space",
                         document("{\"type\": \"BPE\", " + kVocab +
                                  ", \"merges\": [\"ab\"]}"),
                         "bad.json: model.merges[0]: expected two tokens "
                         "separated by one space, found \"ab\""},
        BadTokenizerJson{
            "merge not a string",
            document("{\"type\": \"BPE\", " + kVocab + ", \"merges\": [1]}"),
            "bad.json: model.merges[0]: expected \"left "
            "right\" or [\"left\", \"right\"]"},
        BadTokenizerJson{"dropout", document(kBpe + ", \"dropout\": 0.1}"),
                         "bad.json: model.dropout: BPE dropout is not "
                         "supported"},
        BadTokenizerJson{
            "subword prefix",
            document(kBpe + ", \"continuing_subword_prefix\": \"##\"}"),
            "bad.json: model.continuing_subword_prefix: \"##\" "
            "is not supported (only empty)"},
        BadTokenizerJson{"unknown unk_token",
                         document(kBpe + ", \"unk_token\": \"<unk>\"}"),
                         "bad.json: model.unk_token: \"<unk>\" is not in "
                         "the vocabulary"},
        BadTokenizerJson{"byte_fallback not a bool",
                         document(kBpe + ", \"byte_fallback\": \"yes\"}"),
                         "bad.json: model.byte_fallback: expected a boolean, "
                         "found a string"},
        BadTokenizerJson{
            "NFKC normalizer",
            document(kBpe + "}", "\"normalizer\": {\"type\": \"NFKC\"},"),
            "bad.json: normalizer: normalizer type \"NFKC\" is "
            "not supported"},
        BadTokenizerJson{"Lowercase in a sequence",
                         document(kBpe + "}",
                                  "\"normalizer\": {\"type\": \"Sequence\", "
                                  "\"normalizers\": [{\"type\": \"Prepend\", "
                                  "\"prepend\": \"_\"}, {\"type\": "
                                  "\"Lowercase\"}]},"),
                         "bad.json: normalizer.normalizers[1]: normalizer "
                         "type \"Lowercase\" is not supported"},
        BadTokenizerJson{"Replace with a regex",
                         document(kBpe + "}",
                                  "\"normalizer\": {\"type\": \"Replace\", "
                                  "\"pattern\": {\"Regex\": \" +\"}, "
                                  "\"content\": \" \"},"),
                         "bad.json: normalizer.pattern: Replace with a regex "
                         "is not supported"},
        BadTokenizerJson{"normalizer not an object",
                         document(kBpe + "}", "\"normalizer\": \"NFC\","),
                         "bad.json: normalizer: expected an object, found a "
                         "string"},
        BadTokenizerJson{"Whitespace pre-tokenizer",
                         document(kBpe + "}",
                                  "\"pre_tokenizer\": {\"type\": "
                                  "\"Sequence\", \"pretokenizers\": "
                                  "[{\"type\": \"Digits\"}, {\"type\": "
                                  "\"Whitespace\"}]},"),
                         "bad.json: pre_tokenizer.pretokenizers[1]: "
                         "pre-tokenizer type \"Whitespace\" is not "
                         "supported"},
        BadTokenizerJson{"unknown Split regex",
                         document(kBpe + "}",
                                  "\"pre_tokenizer\": {\"type\": \"Split\", "
                                  "\"pattern\": {\"Regex\": \"\\\\w+\"}, "
                                  "\"behavior\": \"Isolated\"},"),
                         "bad.json: pre_tokenizer.pattern: the Split regex "
                         "\"\\w+\" is not supported (only GPT-2's and Llama "
                         "3's)"},
        BadTokenizerJson{"inverted Split",
                         document(kBpe + "}",
                                  "\"pre_tokenizer\": {\"type\": \"Split\", "
                                  "\"pattern\": {\"String\": \" \"}, "
                                  "\"behavior\": \"Removed\", \"invert\": "
                                  "true},"),
                         "bad.json: pre_tokenizer.invert: an inverted Split "
                         "is not supported"},
        BadTokenizerJson{"unknown Split behavior",
                         document(kBpe + "}",
                                  "\"pre_tokenizer\": {\"type\": \"Split\", "
                                  "\"pattern\": {\"String\": \" \"}, "
                                  "\"behavior\": \"Sideways\"},"),
                         "bad.json: pre_tokenizer.behavior: unknown split "
                         "behavior \"Sideways\""},
        BadTokenizerJson{"Metaspace replacement of two characters",
                         document(kBpe + "}",
                                  "\"pre_tokenizer\": {\"type\": "
                                  "\"Metaspace\", \"replacement\": \"__\"},"),
                         "bad.json: pre_tokenizer.replacement: expected one "
                         "character"},
        BadTokenizerJson{
            "WordPiece decoder",
            document(kBpe + "}", "\"decoder\": {\"type\": \"WordPiece\"},"),
            "bad.json: decoder: decoder type \"WordPiece\" is "
            "not supported"},
        BadTokenizerJson{"decoder without type",
                         document(kBpe + "}", "\"decoder\": {},"),
                         "bad.json: decoder: missing \"type\""},
        BadTokenizerJson{"Strip at the end after Fuse",
                         document(kBpe + "}",
                                  "\"decoder\": {\"type\": \"Sequence\", "
                                  "\"decoders\": [{\"type\": \"Fuse\"}, "
                                  "{\"type\": \"Strip\", \"content\": \" \", "
                                  "\"start\": 0, \"stop\": 1}]},"),
                         "bad.json: decoder.decoders[1]: Strip at the end of "
                         "the decoded text (stop 1) is not supported (tokens "
                         "are decoded as a stream)"},
        BadTokenizerJson{"RobertaProcessing",
                         document(kBpe + "}", "\"post_processor\": {\"type\": "
                                              "\"RobertaProcessing\"},"),
                         "bad.json: post_processor: post-processor type "
                         "\"RobertaProcessing\" is not supported"},
        BadTokenizerJson{"template without the special token's ids",
                         document(kBpe + "}",
                                  "\"post_processor\": {\"type\": "
                                  "\"TemplateProcessing\", \"single\": "
                                  "[{\"SpecialToken\": {\"id\": \"<s>\"}}, "
                                  "{\"Sequence\": {\"id\": \"A\"}}], "
                                  "\"special_tokens\": {}},"),
                         "bad.json: post_processor.special_tokens: no ids "
                         "for special token \"<s>\""},
        BadTokenizerJson{"single_word added token",
                         document(kBpe + "}", "",
                                  "[{\"id\": 3, \"content\": \"<s>\", "
                                  "\"single_word\": true}]"),
                         "bad.json: added_tokens[0]: \"single_word\": true "
                         "is not supported"},
        BadTokenizerJson{
            "added token on another token's id",
            document(kBpe + "}", "", "[{\"id\": 0, \"content\": \"<s>\"}]"),
            "bad.json: added_tokens[0].id: id 0 is \"a\" in the "
            "vocabulary"},
        BadTokenizerJson{"added token without content",
                         document(kBpe + "}", "", "[{\"id\": 3}]"),
                         "bad.json: added_tokens[0]: missing \"content\""},
        BadTokenizerJson{"two added tokens on one id",
                         document(kBpe + "}", "",
                                  "[{\"id\": 3, \"content\": \"<s>\"}, "
                                  "{\"id\": 3, \"content\": \"</s>\"}]"),
                         "bad.json: added_tokens[1].id: id 3 is already an "
                         "added token"},
        BadTokenizerJson{
            "truncation",
            document(kBpe + "}", "\"truncation\": {\"max_length\": 512},"),
            "bad.json: truncation: truncating is not supported "
            "(set it to null)"}),
    [](const testing::TestParamInfo<BadTokenizerJson> &info) {
      std::string name;
      for (char c : std::string(info.param.what))
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

} // namespace

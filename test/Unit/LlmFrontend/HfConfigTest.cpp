//===- HfConfigTest.cpp - TransformerConfig from Hugging Face config.json -===//
//
// Inputs/hf-configs/* are config.json files of real models (SmolLM2-135M,
// Mistral 7B v0.3, Qwen2.5-0.5B, Gemma 3 270M and 4B) and minimal ones
// relying on defaults; Inputs/hf_config_expected.json is what transformers'
// AutoConfig makes of each (Inputs/make_hf_config_fixtures.py), compared
// field by field. Then generation_config.json, the agreement of the HF and
// GGUF configs of the same models, and every refusal, on configs written
// here.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufModel.h"
#include "frontends/llm/HfModel.h"

#include "LlmTestUtil.h"

#include "runtime/nibble_runtime.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

using namespace nibble;
using namespace nibble::llm;
using nibble::test::llmInput;
using nibble::test::TempDir;
using nibble::test::writeTextFile;
using testing::AllOf;
using testing::HasSubstr;

namespace {

std::string configDir(llvm::StringRef name) {
  return llmInput(("hf-configs/" + name).str());
}

TEST(HfConfig, MatchesTransformers) {
  auto buffer =
      llvm::MemoryBuffer::getFile(llmInput("hf_config_expected.json"));
  ASSERT_TRUE(bool(buffer));
  llvm::Expected<llvm::json::Value> root =
      llvm::json::parse((*buffer)->getBuffer());
  ASSERT_TRUE(bool(root)) << llvm::toString(root.takeError());
  const llvm::json::Object &configs =
      *root->getAsObject()->getObject("configs");
  EXPECT_EQ(configs.size(), 12u);
  for (const auto &entry : configs) {
    std::string name = entry.first.str();
    SCOPED_TRACE(name);
    const llvm::json::Object &want = *entry.second.getAsObject();
    llvm::Expected<TransformerConfig> got = readHfConfig(configDir(name));
    ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
    llvm::StringRef modelType = *want.getString("model_type");
    bool gemma = modelType == "gemma3_text";
    EXPECT_EQ(got->architecture,
              gemma ? Architecture::Gemma3 : Architecture::Llama);
    EXPECT_EQ(got->vocabSize, *want.getInteger("vocab_size"));
    EXPECT_EQ(got->hiddenSize, *want.getInteger("hidden_size"));
    EXPECT_EQ(got->intermediateSize, *want.getInteger("intermediate_size"));
    EXPECT_EQ(got->numLayers, *want.getInteger("num_hidden_layers"));
    EXPECT_EQ(got->numHeads, *want.getInteger("num_attention_heads"));
    EXPECT_EQ(got->numKvHeads, *want.getInteger("num_key_value_heads"));
    EXPECT_EQ(got->headDim, *want.getInteger("head_dim"));
    EXPECT_EQ(got->maxPositions, *want.getInteger("max_position_embeddings"));
    EXPECT_EQ(got->rmsNormEpsilon, *want.getNumber("rms_norm_eps"));
    EXPECT_EQ(got->tiedEmbeddings, *want.getBoolean("tie_word_embeddings"));
    EXPECT_EQ(got->attentionBias, modelType == "qwen2");
    EXPECT_EQ(got->activation, *want.getString("activation") == "silu"
                                   ? Activation::SiLU
                                   : Activation::GeluTanh);
    EXPECT_FALSE(got->ropeInterleaved);

    const llvm::json::Object &rope = *want.getObject("rope");
    EXPECT_EQ(got->ropeTheta, *rope.getNumber("rope_theta"));
    llvm::StringRef ropeType = *rope.getString("rope_type");
    RopeScaling::Kind kind = ropeType == "linear" ? RopeScaling::Kind::Linear
                             : ropeType == "dynamic"
                                 ? RopeScaling::Kind::Dynamic
                             : ropeType == "llama3" ? RopeScaling::Kind::Llama3
                                                    : RopeScaling::Kind::None;
    EXPECT_EQ(ropeType == "default" || kind != RopeScaling::Kind::None, true);
    EXPECT_EQ(got->ropeScaling.kind, kind);
    if (auto factor = rope.getNumber("factor")) {
      EXPECT_EQ(got->ropeScaling.factor, *factor);
    }
    if (kind == RopeScaling::Kind::Llama3) {
      EXPECT_EQ(got->ropeScaling.lowFreqFactor,
                *rope.getNumber("low_freq_factor"));
      EXPECT_EQ(got->ropeScaling.highFreqFactor,
                *rope.getNumber("high_freq_factor"));
      EXPECT_EQ(got->ropeScaling.originalMaxPositions,
                *rope.getInteger("original_max_position_embeddings"));
    }
    if (const llvm::json::Object *local = want.getObject("rope_local")) {
      EXPECT_EQ(got->ropeLocalTheta, *local->getNumber("rope_theta"));
      EXPECT_EQ(*local->getString("rope_type"), "default");
    } else {
      EXPECT_EQ(got->ropeLocalTheta, 0.0);
    }

    // Which layers use the window: layer_types, or all of them (Mistral).
    std::optional<int64_t> window = want.getInteger("sliding_window");
    const llvm::json::Array *layerTypes = want.getArray("layer_types");
    EXPECT_EQ(got->slidingWindow, window.value_or(0));
    for (int64_t layer = 0; layer < got->numLayers; ++layer) {
      bool sliding = window.has_value();
      if (layerTypes)
        sliding = sliding &&
                  *(*layerTypes)[layer].getAsString() == "sliding_attention";
      EXPECT_EQ(got->isSlidingLayer(layer), sliding) << "layer " << layer;
    }

    EXPECT_EQ(got->normWeightOffset, gemma ? 1.0f : 0.0f);
    EXPECT_EQ(got->scaleEmbeddings, gemma);
    EXPECT_EQ(got->queryKeyNorm, gemma);
    EXPECT_EQ(got->postNorms, gemma);
    if (gemma)
      EXPECT_EQ(got->queryPreAttentionScalar,
                *want.getNumber("query_pre_attn_scalar"));
    else
      EXPECT_EQ(got->queryPreAttentionScalar, 0.0);
  }
}

TEST(HfConfig, GenerationConfig) {
  llvm::Expected<std::optional<GenerationConfig>> gemma =
      readHfGenerationConfig(configDir("gemma3-270m"));
  ASSERT_TRUE(bool(gemma)) << llvm::toString(gemma.takeError());
  ASSERT_TRUE(gemma->has_value());
  const GenerationConfig &g = **gemma;
  EXPECT_EQ(g.eosTokenIds, (std::vector<int64_t>{1, 106}));
  EXPECT_EQ(g.bosTokenId, 2);
  EXPECT_EQ(g.padTokenId, 0);
  EXPECT_EQ(g.doSample, true);
  EXPECT_EQ(g.topK, 64);
  EXPECT_EQ(g.topP, 0.95);
  EXPECT_FALSE(g.temperature.has_value());
  EXPECT_FALSE(g.maxNewTokens.has_value());

  llvm::Expected<std::optional<GenerationConfig>> smol =
      readHfGenerationConfig(configDir("smollm2-135m"));
  ASSERT_TRUE(bool(smol)) << llvm::toString(smol.takeError());
  EXPECT_EQ((*smol)->eosTokenIds, (std::vector<int64_t>{2}));
  EXPECT_FALSE((*smol)->doSample.has_value());

  llvm::Expected<std::optional<GenerationConfig>> none =
      readHfGenerationConfig(configDir("llama-minimal"));
  ASSERT_TRUE(bool(none));
  EXPECT_FALSE(none->has_value());

  TempDir dir;
  writeTextFile(dir.file("generation_config.json"),
                R"({"eos_token_id": [1, "two"]})");
  llvm::Expected<std::optional<GenerationConfig>> bad =
      readHfGenerationConfig(dir.dir());
  ASSERT_FALSE(bool(bad));
  EXPECT_THAT(llvm::toString(bad.takeError()),
              AllOf(HasSubstr(dir.file("generation_config.json")),
                    HasSubstr("field 'eos_token_id': expected token ids")));
}

/// Reads the GGUF config of a real model, or nullopt if it is absent.
std::optional<TransformerConfig> realGgufConfig(const char *name) {
  std::string path = test::realModel(name);
  if (!test::fileExists(path))
    return std::nullopt;
  runtime::GgufFile file;
  EXPECT_EQ(file.open(path), NIBBLE_OK) << nibble_last_error();
  llvm::Expected<TransformerConfig> config = readGgufConfig(file, path);
  EXPECT_TRUE(bool(config)) << llvm::toString(config.takeError());
  return config ? std::optional<TransformerConfig>(*config) : std::nullopt;
}

/// Every field of `hf` and `gguf` but those the two formats store
/// differently, which the caller checks.
void expectSameModel(const TransformerConfig &hf,
                     const TransformerConfig &gguf) {
  EXPECT_EQ(hf.architecture, gguf.architecture);
  EXPECT_EQ(hf.vocabSize, gguf.vocabSize);
  EXPECT_EQ(hf.hiddenSize, gguf.hiddenSize);
  EXPECT_EQ(hf.intermediateSize, gguf.intermediateSize);
  EXPECT_EQ(hf.numLayers, gguf.numLayers);
  EXPECT_EQ(hf.numHeads, gguf.numHeads);
  EXPECT_EQ(hf.numKvHeads, gguf.numKvHeads);
  EXPECT_EQ(hf.headDim, gguf.headDim);
  EXPECT_EQ(hf.maxPositions, gguf.maxPositions);
  // GGUF stores epsilon as a float32; torch adds it to float32 data anyway.
  EXPECT_EQ(static_cast<float>(hf.rmsNormEpsilon),
            static_cast<float>(gguf.rmsNormEpsilon));
  EXPECT_EQ(hf.activation, gguf.activation);
  EXPECT_EQ(hf.ropeTheta, gguf.ropeTheta);
  EXPECT_EQ(hf.ropeLocalTheta, gguf.ropeLocalTheta);
  EXPECT_EQ(hf.ropeScaling.kind, gguf.ropeScaling.kind);
  EXPECT_EQ(hf.slidingWindow, gguf.slidingWindow);
  EXPECT_EQ(hf.slidingWindowPattern, gguf.slidingWindowPattern);
  EXPECT_EQ(hf.tiedEmbeddings, gguf.tiedEmbeddings);
  EXPECT_EQ(hf.attentionBias, gguf.attentionBias);
  EXPECT_EQ(hf.scaleEmbeddings, gguf.scaleEmbeddings);
  EXPECT_EQ(hf.queryKeyNorm, gguf.queryKeyNorm);
  EXPECT_EQ(hf.postNorms, gguf.postNorms);
  EXPECT_EQ(hf.queryPreAttentionScalar, gguf.queryPreAttentionScalar);
}

TEST(HfConfig, AgreesWithGgufOfTheSameModel) {
  std::optional<TransformerConfig> smolGguf =
      realGgufConfig("SmolLM2-135M-Instruct.Q4_1.gguf");
  std::optional<TransformerConfig> gemmaGguf =
      realGgufConfig("gemma-3-270m-q4_k_m.gguf");
  if (!smolGguf || !gemmaGguf)
    GTEST_SKIP() << "real models not found (scripts/fetch-models.sh)";
  llvm::Expected<TransformerConfig> smol =
      readHfConfig(configDir("smollm2-135m"));
  ASSERT_TRUE(bool(smol)) << llvm::toString(smol.takeError());
  expectSameModel(*smol, *smolGguf);
  EXPECT_FALSE(smol->ropeInterleaved); // llama.cpp permuted its q/k rows
  EXPECT_TRUE(smolGguf->ropeInterleaved);

  llvm::Expected<TransformerConfig> gemma =
      readHfConfig(configDir("gemma3-270m"));
  ASSERT_TRUE(bool(gemma)) << llvm::toString(gemma.takeError());
  expectSameModel(*gemma, *gemmaGguf);
  EXPECT_EQ(gemma->normWeightOffset, 1.0f); // the GGUF stores 1 + w
  EXPECT_EQ(gemmaGguf->normWeightOffset, 0.0f);
}

/// A minimal valid Llama config.json, plus `extraFields` (JSON members,
/// comma-separated) at the top level.
std::string llamaConfig(llvm::StringRef extraFields = "") {
  std::string text = R"({"model_type": "llama", "vocab_size": 64,
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4)";
  if (!extraFields.empty())
    text += ", " + extraFields.str();
  return text + "}";
}

/// readHfConfig's message for a directory whose config.json is `text`.
std::string configError(llvm::StringRef text, std::string *pathOut = nullptr) {
  TempDir dir;
  writeTextFile(dir.file("config.json"), text);
  if (pathOut)
    *pathOut = dir.file("config.json");
  llvm::Expected<TransformerConfig> config = readHfConfig(dir.dir());
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

TEST(HfConfig, ValidBaseline) {
  EXPECT_EQ(configError(llamaConfig()), "");
  EXPECT_EQ(configError(llamaConfig(R"("num_key_value_heads": null)")), "");
  // MistralModel puts its window on every layer whatever layer_types says.
  TempDir dir;
  writeTextFile(dir.file("config.json"), R"({"model_type": "mistral",
    "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 4, "sliding_window": 16,
    "layer_types": ["full_attention", "full_attention"]})");
  llvm::Expected<TransformerConfig> mistral = readHfConfig(dir.dir());
  ASSERT_TRUE(bool(mistral)) << llvm::toString(mistral.takeError());
  EXPECT_EQ(mistral->slidingWindow, 16);
  EXPECT_TRUE(mistral->isSlidingLayer(0) && mistral->isSlidingLayer(1));
}

TEST(HfConfig, RefusesMalformedFiles) {
  TempDir empty;
  llvm::Expected<TransformerConfig> missing = readHfConfig(empty.dir());
  ASSERT_FALSE(bool(missing));
  EXPECT_THAT(
      llvm::toString(missing.takeError()),
      AllOf(HasSubstr(empty.file("config.json")), HasSubstr("cannot read")));

  std::string path;
  std::string message = configError(R"({"model_type": "llama",)", &path);
  EXPECT_THAT(message, AllOf(HasSubstr(path), HasSubstr("invalid JSON")));
  EXPECT_THAT(configError(std::string(100, '[') + std::string(100, ']')),
              HasSubstr("JSON nests arrays or objects deeper than 32 levels"));
  EXPECT_THAT(configError("[1, 2]"),
              HasSubstr("expected a JSON object at the top level"));
  message = configError(R"({"vocab_size": 3})", &path);
  EXPECT_THAT(message, HasSubstr(path + ": field 'model_type': missing "
                                        "(required)"));
  EXPECT_THAT(configError(R"({"model_type": "gpt2"})"),
              HasSubstr("field 'model_type': unsupported model type 'gpt2'"));
  EXPECT_THAT(configError(R"({"model_type": "gemma3"})"),
              HasSubstr("field 'text_config': missing (required for "
                        "model_type 'gemma3')"));
}

TEST(HfConfig, RefusesMissingOrWrongFields) {
  std::string path;
  std::string message = configError(R"({"model_type": "llama",
    "vocab_size": 64, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4})",
                                    &path);
  EXPECT_THAT(message,
              HasSubstr(path + ": field 'hidden_size': missing (required)"));
  EXPECT_THAT(configError(R"({"model_type": "llama", "vocab_size": 64,
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": "two",
    "num_attention_heads": 4})"),
              HasSubstr("field 'num_hidden_layers': expected an integer, "
                        "found \"two\""));
  EXPECT_THAT(configError(llamaConfig(R"("num_key_value_heads": -2)")),
              HasSubstr("field 'num_key_value_heads': expected a positive "
                        "integer, found -2"));
  EXPECT_THAT(configError(llamaConfig(R"("num_key_value_heads": 3)")),
              HasSubstr("4 attention heads are not a multiple of 3 "
                        "key/value heads"));
  EXPECT_THAT(configError(R"({"model_type": "llama", "vocab_size": 64,
    "hidden_size": 30, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4})"),
              HasSubstr("field 'head_dim': missing, and hidden_size 30 is "
                        "not a multiple of num_attention_heads 4"));
  EXPECT_THAT(configError(llamaConfig(R"("rms_norm_eps": "small")")),
              HasSubstr("field 'rms_norm_eps': expected a number"));
  EXPECT_THAT(configError(llamaConfig(R"("tie_word_embeddings": 1)")),
              HasSubstr("field 'tie_word_embeddings': expected true or "
                        "false, found 1"));
  EXPECT_THAT(configError(R"({"model_type": "gemma3", "text_config": {
    "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 2, "head_dim": 16.5}})"),
              HasSubstr("field 'text_config.head_dim': expected an integer, "
                        "found 16.5"));
}

TEST(HfConfig, RefusesWhatItCannotBuild) {
  EXPECT_THAT(configError(llamaConfig(R"("rope_scaling": {"rope_type": "yarn",
          "factor": 4.0})")),
              HasSubstr("field 'rope_scaling.rope_type': unsupported RoPE type "
                        "'yarn' (nibble supports default, linear, dynamic and "
                        "llama3)"));
  EXPECT_THAT(
      configError(llamaConfig(R"("rope_scaling": {"type": "longrope"})")),
      HasSubstr("field 'rope_scaling.type': unsupported RoPE type "
                "'longrope'"));
  EXPECT_THAT(configError(llamaConfig(R"("rope_scaling": {"rope_type":
          "llama3", "factor": 8.0, "high_freq_factor": 4.0})")),
              HasSubstr("field 'rope_scaling.low_freq_factor': missing "
                        "(required by rope type 'llama3')"));
  EXPECT_THAT(configError(llamaConfig(R"("rope_parameters": {"rope_type":
          "linear", "rope_theta": 10000.0})")),
              HasSubstr("field 'rope_parameters.factor': missing (required "
                        "by rope type 'linear')"));
  EXPECT_THAT(configError(llamaConfig(R"("partial_rotary_factor": 0.5)")),
              HasSubstr("field 'partial_rotary_factor': partial rotary "
                        "embeddings are not supported (found 0.5)"));
  EXPECT_THAT(configError(llamaConfig(R"("rope_parameters": {
          "full_attention": {"rope_type": "default"}})")),
              HasSubstr("field 'rope_parameters': RoPE parameters per layer "
                        "type are only supported for Gemma 3"));
  EXPECT_THAT(configError(llamaConfig(R"("mlp_bias": true)")),
              HasSubstr("field 'mlp_bias': biases on the output projection "
                        "or MLP are not supported"));
  EXPECT_THAT(configError(llamaConfig(R"("attention_bias": true)")),
              HasSubstr("field 'attention_bias'"));
  EXPECT_THAT(configError(llamaConfig(R"("hidden_act": "gelu")")),
              HasSubstr("field 'hidden_act': unsupported activation 'gelu'"));
  // Qwen2 with the window on layers 1 and 2 of 3: no fixed pattern.
  EXPECT_THAT(configError(R"({"model_type": "qwen2", "vocab_size": 64,
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
    "num_attention_heads": 4, "num_key_value_heads": 2,
    "use_sliding_window": true, "max_window_layers": 1})"),
              HasSubstr("field 'layer_types': sliding-window and full layers "
                        "in an order nibble cannot express"));
  const char *gemma = R"({"model_type": "gemma3_text", "vocab_size": 64,
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 16)";
  EXPECT_EQ(configError(std::string(gemma) + "}"), "");
  EXPECT_THAT(
      configError(std::string(gemma) + R"(, "final_logit_softcapping": 30.0})"),
      HasSubstr("field 'final_logit_softcapping': logit soft-capping is not "
                "supported"));
  EXPECT_THAT(configError(std::string(gemma) +
                          R"(, "use_bidirectional_attention": true})"),
              HasSubstr("bidirectional attention is not supported"));
  EXPECT_THAT(configError(std::string(gemma) +
                          R"(, "layer_types": ["full_attention"]})"),
              HasSubstr("field 'layer_types': expected 2 entries (one per "
                        "layer), found 1"));
  EXPECT_THAT(configError(std::string(gemma) + R"(, "rope_parameters": {
      "full_attention": {"rope_type": "default"},
      "sliding_attention": {"rope_type": "linear", "factor": 2.0}}})"),
              HasSubstr("field 'rope_parameters.sliding_attention.rope_type': "
                        "scaled RoPE on sliding-window layers is not "
                        "supported"));
}

} // namespace

//===- GgufConfigTest.cpp - TransformerConfig from GGUF metadata ----------===//
//
// The two real models (scripts/fetch-models.sh; skipped when absent), whose
// expected values are what the PyPI gguf package (0.19) reads from the same
// files, the small fixtures of Inputs/make_llm_gguf_fixtures.py, llama.cpp's
// tensor names, and the files readGgufConfig must refuse.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufModel.h"

#include "LlmTestUtil.h"

#include "runtime/nibble_runtime.h"

#include "llvm/Support/raw_ostream.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

using namespace nibble;
using namespace nibble::llm;
using nibble::test::llmInput;
using nibble::test::realModel;
using testing::AllOf;
using testing::HasSubstr;

namespace {

/// Opens the GGUF at `path` and reads its config.
llvm::Expected<TransformerConfig> readConfig(const std::string &path) {
  runtime::GgufFile file;
  if (file.open(path) != NIBBLE_OK)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   nibble_last_error());
  return readGgufConfig(file, path);
}

/// The message readConfig fails with ("" if it succeeds).
std::string configError(const std::string &path) {
  llvm::Expected<TransformerConfig> config = readConfig(path);
  if (config)
    return "";
  return llvm::toString(config.takeError());
}

/// Prints `config` to the test's output (the report of both real models).
void print(const std::string &path, const TransformerConfig &config) {
  llvm::outs() << "== " << path << "\n";
  printTransformerConfig(llvm::outs(), config);
  llvm::outs().flush();
}

TEST(GgufConfig, SmolLM2) {
  std::string path = realModel("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!test::fileExists(path))
    GTEST_SKIP() << path << " not found (scripts/fetch-models.sh)";
  llvm::Expected<TransformerConfig> config = readConfig(path);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  print(path, *config);
  // gguf 0.19's GGUFReader on this file: general.architecture "llama",
  // llama.block_count 30, .embedding_length 576, .feed_forward_length 1536,
  // .attention.head_count 9, .head_count_kv 3, .rope.dimension_count 64,
  // .context_length 8192, .rope.freq_base 100000.0 (float32),
  // .attention.layer_norm_rms_epsilon float32(1e-5) = 9.999999747378752e-06,
  // 49152 tokenizer.ggml.tokens (= llama.vocab_size); tensors: no
  // output.weight, no attn_q.bias.
  EXPECT_EQ(config->architecture, Architecture::Llama);
  EXPECT_EQ(config->vocabSize, 49152);
  EXPECT_EQ(config->hiddenSize, 576);
  EXPECT_EQ(config->intermediateSize, 1536);
  EXPECT_EQ(config->numLayers, 30);
  EXPECT_EQ(config->numHeads, 9);
  EXPECT_EQ(config->numKvHeads, 3);
  EXPECT_EQ(config->headDim, 64);
  EXPECT_EQ(config->maxPositions, 8192);
  EXPECT_EQ(config->rmsNormEpsilon, static_cast<double>(1e-5f));
  EXPECT_EQ(config->ropeTheta, 100000.0);
  EXPECT_EQ(config->ropeScaling.kind, RopeScaling::Kind::None);
  EXPECT_TRUE(config->ropeScaling.frequencyFactors.empty());
  EXPECT_EQ(config->activation, Activation::SiLU);
  EXPECT_TRUE(config->ropeInterleaved);
  EXPECT_TRUE(config->tiedEmbeddings);
  EXPECT_FALSE(config->attentionBias);
  EXPECT_EQ(config->slidingWindow, 0);
  EXPECT_EQ(config->normWeightOffset, 0.0f);
  EXPECT_FALSE(config->scaleEmbeddings || config->queryKeyNorm ||
               config->postNorms);
}

TEST(GgufConfig, Gemma3) {
  std::string path = realModel("gemma-3-270m-q4_k_m.gguf");
  if (!test::fileExists(path))
    GTEST_SKIP() << path << " not found (scripts/fetch-models.sh)";
  llvm::Expected<TransformerConfig> config = readConfig(path);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  print(path, *config);
  // gguf 0.19's GGUFReader: gemma3.block_count 18, .embedding_length 640,
  // .feed_forward_length 2048, .attention.head_count 4, .head_count_kv 1,
  // .attention.key_length 256 (= value_length), .context_length 32768,
  // .rope.freq_base 1000000.0, .attention.sliding_window 512,
  // .attention.layer_norm_rms_epsilon float32(1e-6); 262144
  // tokenizer.ggml.tokens; no output.weight. llama.cpp's constants: pattern
  // 6, local base 10000, attention scale 1/sqrt(key_length) for 18 layers.
  EXPECT_EQ(config->architecture, Architecture::Gemma3);
  EXPECT_EQ(config->vocabSize, 262144);
  EXPECT_EQ(config->hiddenSize, 640);
  EXPECT_EQ(config->intermediateSize, 2048);
  EXPECT_EQ(config->numLayers, 18);
  EXPECT_EQ(config->numHeads, 4);
  EXPECT_EQ(config->numKvHeads, 1);
  EXPECT_EQ(config->headDim, 256);
  EXPECT_EQ(config->maxPositions, 32768);
  EXPECT_EQ(config->rmsNormEpsilon, static_cast<double>(1e-6f));
  EXPECT_EQ(config->ropeTheta, 1000000.0);
  EXPECT_EQ(config->ropeLocalTheta, 10000.0);
  EXPECT_EQ(config->ropeScaling.kind, RopeScaling::Kind::None);
  EXPECT_EQ(config->activation, Activation::GeluTanh);
  EXPECT_FALSE(config->ropeInterleaved);
  EXPECT_EQ(config->slidingWindow, 512);
  EXPECT_EQ(config->slidingWindowPattern, 6);
  EXPECT_TRUE(config->isSlidingLayer(0));
  EXPECT_FALSE(config->isSlidingLayer(5));
  EXPECT_FALSE(config->isSlidingLayer(11));
  EXPECT_FALSE(config->isSlidingLayer(17));
  EXPECT_TRUE(config->tiedEmbeddings);
  EXPECT_FALSE(config->attentionBias);
  EXPECT_EQ(config->normWeightOffset, 0.0f); // the file stores 1 + w
  EXPECT_TRUE(config->scaleEmbeddings);
  EXPECT_TRUE(config->queryKeyNorm);
  EXPECT_TRUE(config->postNorms);
  EXPECT_EQ(config->queryPreAttentionScalar, 256.0);
}

TEST(GgufConfig, TinyLlama) {
  llvm::Expected<TransformerConfig> config =
      readConfig(llmInput("tiny-llama.gguf"));
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->architecture, Architecture::Llama);
  EXPECT_EQ(config->vocabSize, 32);
  EXPECT_EQ(config->hiddenSize, 256);
  EXPECT_EQ(config->intermediateSize, 64);
  EXPECT_EQ(config->numLayers, 2);
  EXPECT_EQ(config->numHeads, 4);
  EXPECT_EQ(config->numKvHeads, 2);
  EXPECT_EQ(config->headDim, 16); // key_length, not 256 / 4
  EXPECT_EQ(config->maxPositions, 512);
  EXPECT_EQ(config->ropeTheta, 500000.0);
  EXPECT_TRUE(config->ropeInterleaved);
  EXPECT_FALSE(config->tiedEmbeddings); // output.weight is present
  // rope_freqs.weight: the script's factors.
  EXPECT_EQ(config->ropeScaling.kind, RopeScaling::Kind::None);
  ASSERT_EQ(config->ropeScaling.frequencyFactors.size(), 8u);
  EXPECT_EQ(config->ropeScaling.frequencyFactors[0], 1.0f);
  EXPECT_EQ(config->ropeScaling.frequencyFactors[7], 8.0f);
}

TEST(GgufConfig, TinyGemma3AndQwen2) {
  llvm::Expected<TransformerConfig> gemma =
      readConfig(llmInput("tiny-gemma3.gguf"));
  ASSERT_TRUE(bool(gemma)) << llvm::toString(gemma.takeError());
  EXPECT_EQ(gemma->architecture, Architecture::Gemma3);
  EXPECT_EQ(gemma->headDim, 32);
  EXPECT_EQ(gemma->queryPreAttentionScalar, 32.0);
  EXPECT_EQ(gemma->slidingWindow, 4);
  EXPECT_EQ(gemma->slidingWindowPattern, 6);
  EXPECT_EQ(gemma->vocabSize, 48);
  EXPECT_TRUE(gemma->tiedEmbeddings);

  llvm::Expected<TransformerConfig> qwen =
      readConfig(llmInput("tiny-qwen2.gguf"));
  ASSERT_TRUE(bool(qwen)) << llvm::toString(qwen.takeError());
  EXPECT_EQ(qwen->architecture, Architecture::Llama);
  EXPECT_TRUE(qwen->attentionBias);
  EXPECT_FALSE(qwen->ropeInterleaved); // Qwen2Model does not permute
  EXPECT_EQ(qwen->headDim, 16);
  EXPECT_EQ(qwen->ropeTheta, 1000000.0);
}

TEST(GgufConfig, RefusesWhatItCannotBuild) {
  auto error = [](const char *name) { return configError(llmInput(name)); };
  std::string arch = llmInput("bad-arch.gguf");
  EXPECT_THAT(error("bad-arch.gguf"),
              AllOf(HasSubstr(arch), HasSubstr("key 'general.architecture'"),
                    HasSubstr("unsupported architecture 'gpt2'")));
  EXPECT_THAT(error("bad-missing-key.gguf"),
              AllOf(HasSubstr(llmInput("bad-missing-key.gguf")),
                    HasSubstr("key 'qwen2.block_count': missing (required)")));
  EXPECT_THAT(error("bad-key-type.gguf"),
              HasSubstr("key 'qwen2.context_length': expected an integer, "
                        "found string"));
  EXPECT_THAT(error("bad-heads.gguf"),
              HasSubstr("2 attention heads are not a multiple of 3 key/value "
                        "heads"));
  EXPECT_THAT(error("bad-rope-scaling.gguf"),
              HasSubstr("key 'qwen2.rope.scaling.type': unsupported RoPE "
                        "scaling 'yarn'"));
}

TEST(GgufConfig, TensorNames) {
  struct Case {
    const char *gguf;
    Architecture architecture;
    const char *hf;
  };
  const Architecture llama = Architecture::Llama, gemma = Architecture::Gemma3;
  for (Case c : {
           Case{"token_embd.weight", llama, "model.embed_tokens.weight"},
           Case{"output_norm.weight", gemma, "model.norm.weight"},
           Case{"output.weight", llama, "lm_head.weight"},
           Case{"blk.0.attn_norm.weight", llama,
                "model.layers.0.input_layernorm.weight"},
           Case{"blk.12.attn_q.weight", llama,
                "model.layers.12.self_attn.q_proj.weight"},
           Case{"blk.1.attn_k.bias", llama,
                "model.layers.1.self_attn.k_proj.bias"},
           Case{"blk.1.attn_v.weight", gemma,
                "model.layers.1.self_attn.v_proj.weight"},
           Case{"blk.2.attn_output.weight", llama,
                "model.layers.2.self_attn.o_proj.weight"},
           Case{"blk.3.attn_q_norm.weight", gemma,
                "model.layers.3.self_attn.q_norm.weight"},
           Case{"blk.3.attn_k_norm.weight", gemma,
                "model.layers.3.self_attn.k_norm.weight"},
           Case{"blk.4.ffn_norm.weight", llama,
                "model.layers.4.post_attention_layernorm.weight"},
           Case{"blk.4.ffn_norm.weight", gemma,
                "model.layers.4.pre_feedforward_layernorm.weight"},
           Case{"blk.5.post_attention_norm.weight", gemma,
                "model.layers.5.post_attention_layernorm.weight"},
           Case{"blk.5.post_ffw_norm.weight", gemma,
                "model.layers.5.post_feedforward_layernorm.weight"},
           Case{"blk.6.ffn_gate.weight", llama,
                "model.layers.6.mlp.gate_proj.weight"},
           Case{"blk.6.ffn_up.weight", llama,
                "model.layers.6.mlp.up_proj.weight"},
           Case{"blk.6.ffn_down.weight", gemma,
                "model.layers.6.mlp.down_proj.weight"},
           // Not weights of the builder, or malformed.
           Case{"rope_freqs.weight", llama, ""},
           Case{"blk.5.post_ffw_norm.weight", llama, ""},
           Case{"blk.01.attn_q.weight", llama, ""},
           Case{"blk.x.attn_q.weight", llama, ""},
           Case{"blk.0.attn_q.scale", llama, ""},
           Case{"blk.0.ffn_gate_exps.weight", llama, ""},
       })
    EXPECT_EQ(hfTensorName(c.gguf, c.architecture), c.hf) << c.gguf;
}

} // namespace

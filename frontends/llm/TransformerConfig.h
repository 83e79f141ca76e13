//===- TransformerConfig.h - Hyper-parameters of a decoder-only LLM -*- C++ -*-===//
//
// What the transformer builder needs to know about a model, filled from a
// GGUF file's metadata (readGgufConfig, GgufModel.h) or a Hugging Face
// config.json (readHfConfig, HfModel.h). Field names follow Hugging Face's
// config.json where one exists. Plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_TRANSFORMERCONFIG_H
#define NIBBLE_FRONTENDS_LLM_TRANSFORMERCONFIG_H

#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace llm {

/// Architecture families the builder knows.
enum class Architecture {
  /// Llama 2/3, SmolLM/SmolLM2, Mistral, Qwen2 (q/k/v biases).
  Llama,
  /// Gemma 3: GeGLU, (1 + w) RMSNorm, pre- and post-norms, q/k norms,
  /// interleaved sliding-window and global layers, scaled embeddings.
  Gemma3,
};

/// The feed-forward gate activation.
enum class Activation {
  /// x · sigmoid(x) (SwiGLU).
  SiLU,
  /// GELU, tanh approximation (GeGLU; Hugging Face's gelu_pytorch_tanh).
  GeluTanh,
};

/// RoPE frequency scaling (Hugging Face's rope_scaling.rope_type).
struct RopeScaling {
  enum class Kind { None, Linear, Dynamic, Llama3 };
  Kind kind = Kind::None;
  double factor = 1.0;
  /// Llama 3.
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPositions = 8192;
  /// llama.cpp's rope_freqs tensor (how Llama 3.1+ GGUF files carry their
  /// llama3 scaling): inverse frequency i is divided by frequencyFactors[i]
  /// after `kind` is applied. Empty (the default): no factors.
  std::vector<float> frequencyFactors;
};

/// Hyper-parameters of a decoder-only transformer.
struct TransformerConfig {
  Architecture architecture = Architecture::Llama;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t headDim = 0;
  /// Longest context the model was trained for (max_position_embeddings).
  int64_t maxPositions = 0;
  double rmsNormEpsilon = 1e-5;
  Activation activation = Activation::SiLU;

  /// RoPE base of global layers, and of sliding-window layers (Gemma 3's
  /// rope_local_base_freq; 0 = the same as ropeTheta).
  double ropeTheta = 10000.0;
  double ropeLocalTheta = 0.0;
  /// The scaling of the layers that use ropeTheta. Layers that use
  /// ropeLocalTheta (when it is not 0) are not scaled: Gemma 3 scales its
  /// global layers only (rope_parameters.sliding_attention is "default").
  RopeScaling ropeScaling;
  /// Rotate features (2i, 2i + 1) instead of (i, i + d/2): llama.cpp's
  /// converter permutes the rows of Llama's q/k projections for this form,
  /// so weights read from a GGUF "llama" model use it.
  bool ropeInterleaved = false;

  /// Sliding-window attention: window size (0 = none) and which layers use
  /// it: layer i is global iff (i + 1) % slidingWindowPattern == 0
  /// (Gemma 3: 6); with pattern 0 every layer uses the window.
  int64_t slidingWindow = 0;
  int64_t slidingWindowPattern = 0;

  /// The LM head reads the embedding matrix (tie_word_embeddings).
  bool tiedEmbeddings = false;
  /// q/k/v projections have biases (Qwen2).
  bool attentionBias = false;
  /// RMSNorm multiplies by (normWeightOffset + w): 0, or 1 for Gemma.
  float normWeightOffset = 0.0f;
  /// Embeddings are multiplied by sqrt(hiddenSize) (Gemma).
  bool scaleEmbeddings = false;
  /// RMSNorm over each head of q and k before RoPE (Gemma 3).
  bool queryKeyNorm = false;
  /// RMSNorm after attention and after the MLP, before the residual add
  /// (Gemma 3's post_attention_layernorm / post_feedforward_layernorm).
  bool postNorms = false;
  /// Attention scale = queryPreAttentionScalar^-1/2 (Gemma's
  /// query_pre_attn_scalar); 0 = headDim.
  double queryPreAttentionScalar = 0.0;

  /// Whether layer `layer` attends through the sliding window.
  bool isSlidingLayer(int64_t layer) const {
    if (slidingWindow <= 0)
      return false;
    if (slidingWindowPattern <= 0)
      return true;
    return (layer + 1) % slidingWindowPattern != 0;
  }
};

/// The inverse frequencies inv_freq[i], i < rotaryDim / 2, of RoPE with base
/// `theta` and `scaling`, as Hugging Face's ROPE_INIT_FUNCTIONS compute them
/// in float32 (frontends/llm/RopeFrequencies.cpp), to within 2 ulp: torch's
/// powf (Sleef, 1 ulp) and the correctly rounded one here can differ by 1
/// ulp, and one float division after it can round that to 2.
///   None:    1 / theta^(2i / rotaryDim)
///   Linear:  the same / factor
///   Dynamic: NTK-aware, for sequences up to `maxPositions`
///            (max_position_embeddings), where Hugging Face's base
///            theta * (factor * seq / max - (factor - 1))^(d / (d - 2)) is
///            theta itself: the frequencies are None's. (Hugging Face
///            recomputes them once a sequence grows past maxPositions; a
///            compiled model's context never does.)
///   Llama3:  Llama 3.1's wavelength-dependent division by factor, smoothed
///            between originalMaxPositions / highFreqFactor and
///            originalMaxPositions / lowFreqFactor.
/// then each divided by scaling.frequencyFactors[i] when those are given
/// (which must then hold rotaryDim / 2 values). rotaryDim must be even and
/// positive.
std::vector<float> ropeInverseFrequencies(int64_t rotaryDim, double theta,
                                          const RopeScaling &scaling,
                                          int64_t maxPositions);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_TRANSFORMERCONFIG_H

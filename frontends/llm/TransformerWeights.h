//===- TransformerWeights.h - The f32 archive of an LLM ---------*- C++ -*-===//
//
// What the transformer builder reads: one safetensors archive of float32
// tensors under Hugging Face's names, in PyTorch's [out, in] layout, exactly
// the tensors expectedTensors() lists for the model's TransformerConfig:
//
//   model.embed_tokens.weight                          [vocab, hidden]
//   model.layers.N.input_layernorm.weight              [hidden]
//   model.layers.N.self_attn.q_proj.weight             [heads * headDim,
//   hidden] model.layers.N.self_attn.{k,v}_proj.weight         [kvHeads *
//   headDim, hidden] model.layers.N.self_attn.{q,k,v}_proj.bias (attentionBias)
//   model.layers.N.self_attn.o_proj.weight             [hidden, heads *
//   headDim] model.layers.N.self_attn.{q,k}_norm.weight         [headDim]
//   (queryKeyNorm) model.layers.N.post_attention_layernorm.weight     [hidden]
//   model.layers.N.{pre,post}_feedforward_layernorm.weight [hidden] (postNorms)
//   model.layers.N.mlp.{gate,up}_proj.weight           [intermediate, hidden]
//   model.layers.N.mlp.down_proj.weight                [hidden, intermediate]
//   model.norm.weight                                  [hidden]
//   lm_head.weight                                     [vocab, hidden] (untied)
//
// With postNorms (Gemma 3), post_attention_layernorm normalizes the attention
// output and pre_feedforward_layernorm the MLP input; without, (Llama)
// post_attention_layernorm is the MLP's input norm. The rows of q_proj and
// k_proj (and their biases and q/k norms) are in the order
// TransformerConfig::ropeInterleaved says.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_TRANSFORMERWEIGHTS_H
#define NIBBLE_FRONTENDS_LLM_TRANSFORMERWEIGHTS_H

#include "frontends/llm/PackedWeights.h"
#include "frontends/llm/TransformerConfig.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace llm {

/// One tensor of the archive: its Hugging Face name and row-major shape.
struct ExpectedTensor {
  std::string name;
  llvm::SmallVector<int64_t, 2> shape;
};

/// Every tensor the archive of a model with `config` holds, in model order
/// (embedding, layers, final norm, LM head).
std::vector<ExpectedTensor> expectedTensors(const TransformerConfig &config);

/// Whether the archive tensor `hfName` is the weight of a linear layer of a
/// model with `config`: the q/k/v/o and gate/up/down projections, and the
/// LM head (lm_head.weight, or the embedding when tied).
bool isLinearWeight(llvm::StringRef hfName, const TransformerConfig &config);

/// Checks the relations between `config`'s fields that the builder relies
/// on: positive sizes, numHeads a multiple of numKvHeads, an even headDim,
/// the frequency factors' count, a sliding pattern only with a window.
/// `source` (a file or directory) starts the message.
llvm::Error validateConfig(const TransformerConfig &config,
                           llvm::StringRef source);

/// Prints every field of `config`, one "name: value" line each, for tools
/// and tests.
void printTransformerConfig(llvm::raw_ostream &os,
                            const TransformerConfig &config);

/// How an archive is written.
struct ArchiveOptions {
  /// Where progress lines go (nullptr: nowhere).
  llvm::raw_ostream *progress = &llvm::errs();
  /// Report progress only for archives of more than this many bytes.
  uint64_t progressMinBytes = 256ull << 20;
};

/// What writing an archive did.
struct ArchiveSummary {
  /// Tensors written and their total size in bytes.
  size_t tensorCount = 0;
  uint64_t dataBytes = 0;
  /// The weights written in a packed form instead of (or, for a tied
  /// embedding, besides) float32.
  PackedWeights packedWeights;
  /// For GGUF sources: which ggml types were kept packed and which were
  /// dequantized, one line ("" when nothing was asked to be kept).
  std::string quantizationReport;
  /// Tensors of the source the archive does not need (e.g. a tied LM head,
  /// vision towers, llama.cpp's rope_freqs), by their name in the source.
  std::vector<std::string> ignoredTensors;
};

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_TRANSFORMERWEIGHTS_H

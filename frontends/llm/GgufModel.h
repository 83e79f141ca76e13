//===- GgufModel.h - Config and f32 weights from a GGUF file ----*- C++ -*-===//
//
// Reads what the transformer builder needs from a llama.cpp GGUF file: the
// hyper-parameters (general.architecture "llama" -- Llama 2/3, SmolLM2,
// Mistral --, "qwen2" or "gemma3") and every weight, dequantized to float32
// bit-exactly as ggml does and renamed to Hugging Face's names.
//
// What llama.cpp's converter (convert_hf_to_gguf.py) changed, and what
// llama.cpp's loader (src/llama-model.cpp) hard-codes instead of storing:
//  - "llama": q/k rows permuted for interleaved RoPE (LlamaModel.permute),
//    so the config says ropeInterleaved; Llama 3.1's scaling is the
//    rope_freqs tensor (RopeScaling::frequencyFactors).
//  - "gemma3": every *norm.weight stored as 1 + w (Gemma3Model.norm_shift),
//    so normWeightOffset is 0; the sliding-window pattern (6), the local
//    RoPE base (10000, unless <arch>.rope.freq_base_swa says otherwise) and
//    the attention scale (1/sqrt(headDim), 1/sqrt(hidden / heads) for the
//    62-layer 27B) are llama.cpp's constants; token_embd has the vocabulary's
//    rows only (out-of-vocabulary rows are cut).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_GGUFMODEL_H
#define NIBBLE_FRONTENDS_LLM_GGUFMODEL_H

#include "frontends/llm/TransformerConfig.h"
#include "frontends/llm/TransformerWeights.h"
#include "runtime/Gguf.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nibble {
namespace llm {

/// Reads the hyper-parameters of the model in `file` (opened from `path`,
/// which starts every message). Keys, with <arch> = general.architecture:
/// <arch>.block_count, .embedding_length, .feed_forward_length,
/// .attention.head_count, .context_length, .attention.layer_norm_rms_epsilon
/// (required); .attention.head_count_kv (default: head_count),
/// .attention.key_length (default: embedding_length / head_count; must
/// equal .attention.value_length and .rope.dimension_count when those are
/// given), .rope.freq_base (10000), .rope.scaling.type/.factor
/// (.rope.scale_linear), .attention.sliding_window (gemma3); the vocabulary
/// size from tokenizer.ggml.tokens, else <arch>.vocab_size; tiedEmbeddings
/// iff there is no output.weight; attentionBias iff blk.0.attn_q.bias
/// exists. Errors name the file and the key, what was expected and found.
llvm::Expected<TransformerConfig> readGgufConfig(const runtime::GgufFile &file,
                                                 llvm::StringRef path);

/// The Hugging Face name of llama.cpp's tensor `ggufName` in a model of
/// `architecture` ("blk.3.ffn_norm.weight" is
/// "model.layers.3.post_attention_layernorm.weight" for Llama and
/// "model.layers.3.pre_feedforward_layernorm.weight" for Gemma 3), or ""
/// for a name that has none.
std::string hfTensorName(llvm::StringRef ggufName, Architecture architecture);

/// Writes the archive of `config` (as readGgufConfig read it, possibly with
/// ropeInterleaved turned off) to `archivePath`: every tensor
/// expectedTensors(config) lists, dequantized with gguf::dequantizeRow and
/// renamed with hfTensorName, in the shape ggml's ne reversed (ne[0]
/// innermost: PyTorch's [out, in]). With `keepQuantization`, linear weights
/// (isLinearWeight) of a type packedLayoutForGgmlType knows are written in
/// their packed form instead (GgufPacking.h; a tied embedding in both
/// forms), listed in the summary's packedWeights and quantizationReport.
/// When config.ropeInterleaved differs from the file's layout ("llama"
/// files are interleaved, others are not), the q/k rows are put back in the
/// config's order. Errors name `path` and the tensors: missing ones (all
/// listed), wrong shapes, unknown types.
llvm::Expected<ArchiveSummary> writeFloatArchiveFromGguf(
    const runtime::GgufFile &file, llvm::StringRef path,
    const TransformerConfig &config, llvm::StringRef archivePath,
    const ArchiveOptions &options = {}, bool keepQuantization = false);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_GGUFMODEL_H

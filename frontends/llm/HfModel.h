//===- HfModel.h - Config and f32 weights from Hugging Face -----*- C++ -*-===//
//
// Reads a Hugging Face model directory: config.json (model_type "llama",
// "mistral", "qwen2", "gemma3_text", or "gemma3" with its text_config),
// generation_config.json, and the weights of model.safetensors or of the
// shards model.safetensors.index.json lists.
//
// Fields absent from config.json take the defaults of transformers' config
// classes (LlamaConfig, MistralConfig, Qwen2Config, Gemma3TextConfig), except
// the sizes that define the model -- vocab_size, hidden_size,
// intermediate_size, num_hidden_layers, num_attention_heads -- which are
// required (a 7B default for a file that forgot them helps nobody). RoPE
// parameters are read in both forms transformers accepts: rope_theta plus
// rope_scaling (older files) and rope_parameters (transformers 5; Gemma 3's
// nested per layer type).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_HFMODEL_H
#define NIBBLE_FRONTENDS_LLM_HFMODEL_H

#include "frontends/llm/TransformerConfig.h"
#include "frontends/llm/TransformerWeights.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace nibble {
namespace llm {

/// Reads `dir`/config.json. Errors name the file and the field (e.g.
/// "text_config.head_dim"), what was expected and found; a configuration
/// nibble cannot build (an unknown model_type or hidden_act, a RoPE type
/// other than default/linear/dynamic/llama3, partial rotary, MLP or output
/// biases, logit soft-capping, sliding layers out of a fixed pattern) is an
/// error that says so.
llvm::Expected<TransformerConfig> readHfConfig(llvm::StringRef dir);

/// What generation_config.json says (the fields nibble uses).
struct GenerationConfig {
  /// eos_token_id, a number or a list.
  std::vector<int64_t> eosTokenIds;
  std::optional<int64_t> bosTokenId;
  std::optional<int64_t> padTokenId;
  /// Sampling defaults.
  std::optional<bool> doSample;
  std::optional<double> temperature;
  std::optional<int64_t> topK;
  std::optional<double> topP;
  std::optional<double> repetitionPenalty;
  std::optional<int64_t> maxNewTokens;
};

/// Reads `dir`/generation_config.json; nullopt when the file does not exist.
/// Errors name the file and the field.
llvm::Expected<std::optional<GenerationConfig>>
readHfGenerationConfig(llvm::StringRef dir);

/// Writes the archive of `config` to `archivePath` from the weights of
/// `dir`: model.safetensors, or the shards of model.safetensors.index.json
/// (a shard that is missing or outside `dir`, a tensor the index lists but
/// its shard lacks, a tensor in two shards: errors naming the files). F32,
/// F16 and BF16 tensors convert exactly; other dtypes are an error naming
/// the tensor. Gemma 3 multimodal checkpoints' "model.language_model." and
/// "language_model.model." prefixes read as "model.". The rows of q/k are
/// reordered when config.ropeInterleaved is set (Hugging Face's are in the
/// rotate-half order).
llvm::Expected<ArchiveSummary>
writeFloatArchiveFromHf(llvm::StringRef dir, const TransformerConfig &config,
                        llvm::StringRef archivePath,
                        const ArchiveOptions &options = {});

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_HFMODEL_H

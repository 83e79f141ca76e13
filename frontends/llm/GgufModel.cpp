//===- GgufModel.cpp - Transformer config and f32 weights from GGUF -------===//
//
// Metadata keys and tensor names as llama.cpp writes and reads them
// (gguf-py/gguf/constants.py, src/llama-model.cpp, convert_hf_to_gguf.py);
// see GgufModel.h for what llama.cpp leaves out of the file.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufModel.h"

#include "frontends/gguf/GgmlDequantize.h"
#include "frontends/llm/FloatArchive.h"
#include "frontends/llm/GgufPacking.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <memory>
#include <optional>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using nibble::runtime::GgufFile;
using nibble::runtime::GgufTensorInfo;
using nibble::runtime::GgufType;
using nibble::runtime::GgufValue;

namespace nibble {
namespace llm {

namespace {

/// Typed access to a GGUF file's metadata with errors that name the file and
/// the key.
class Metadata {
public:
  Metadata(const GgufFile &file, StringRef path) : file(file), path(path) {}

  Error error(StringRef key, const llvm::Twine &message) const {
    return makeError(path + ": key '" + key + "': " + message);
  }

  /// A non-negative integer of any integer type, or nullopt when absent.
  Expected<std::optional<int64_t>> count(StringRef key) const {
    const GgufValue *value = file.find(key.str());
    if (!value)
      return std::nullopt;
    switch (value->type) {
    case GgufType::UInt8:
    case GgufType::UInt16:
    case GgufType::UInt32:
    case GgufType::UInt64:
      if (value->unsignedValue > static_cast<uint64_t>(INT64_MAX))
        return error(key,
                     llvm::formatv("{0} is too large", value->unsignedValue));
      return static_cast<int64_t>(value->unsignedValue);
    case GgufType::Int8:
    case GgufType::Int16:
    case GgufType::Int32:
    case GgufType::Int64:
      if (value->signedValue < 0)
        return error(key, llvm::formatv("expected a non-negative integer, "
                                        "found {0}",
                                        value->signedValue));
      return value->signedValue;
    default:
      return error(key, llvm::Twine("expected an integer, found ") +
                            runtime::ggufTypeName(value->type));
    }
  }

  /// A positive integer: `fallback` when absent (0: required).
  Expected<int64_t> positive(StringRef key, int64_t fallback = 0) const {
    Expected<std::optional<int64_t>> value = count(key);
    if (!value)
      return value.takeError();
    if (!*value) {
      if (fallback > 0)
        return fallback;
      return error(key, "missing (required)");
    }
    if (**value <= 0)
      return error(key, llvm::formatv("expected a positive integer, found {0}",
                                      **value));
    return **value;
  }

  /// A float32/float64 value, or nullopt when absent.
  Expected<std::optional<double>> number(StringRef key) const {
    const GgufValue *value = file.find(key.str());
    if (!value)
      return std::nullopt;
    if (value->type != GgufType::Float32 && value->type != GgufType::Float64)
      return error(key, llvm::Twine("expected a float, found ") +
                            runtime::ggufTypeName(value->type));
    return value->floatValue;
  }

  /// A string, or nullopt when absent.
  Expected<std::optional<std::string>> string(StringRef key) const {
    const GgufValue *value = file.find(key.str());
    if (!value)
      return std::nullopt;
    if (value->type != GgufType::String)
      return error(key, llvm::Twine("expected a string, found ") +
                            runtime::ggufTypeName(value->type));
    return value->stringValue;
  }

private:
  const GgufFile &file;
  std::string path;
};

/// Dequantizes all of `tensor` (a small one: rope_freqs, norms).
Expected<std::vector<float>> dequantizeAll(const GgufFile &file,
                                           const GgufTensorInfo &tensor,
                                           StringRef path) {
  std::vector<float> values(tensor.elements);
  if (!gguf::dequantizeRow(tensor.type, file.data(tensor), values.data(),
                           tensor.elements))
    return makeError(path + ": tensor '" + tensor.name +
                     "': cannot dequantize its type");
  return values;
}

/// Assigns `*out` from an Expected, returning its error.
template <typename T, typename U> Error assign(T &out, Expected<U> value) {
  if (!value)
    return value.takeError();
  out = std::move(*value);
  return Error::success();
}

} // namespace

Expected<TransformerConfig> readGgufConfig(const GgufFile &file,
                                           StringRef path) {
  Metadata metadata(file, path);
  Expected<std::optional<std::string>> archName =
      metadata.string("general.architecture");
  if (!archName)
    return archName.takeError();
  if (!*archName)
    return metadata.error("general.architecture", "missing (required)");
  std::string arch = **archName;

  TransformerConfig config;
  if (arch == "llama" || arch == "qwen2") {
    config.architecture = Architecture::Llama;
  } else if (arch == "gemma3") {
    config.architecture = Architecture::Gemma3;
  } else {
    return metadata.error("general.architecture",
                          "unsupported architecture '" + arch +
                              "' (nibble reads llama, qwen2 and gemma3)");
  }
  auto key = [&](StringRef suffix) { return arch + "." + suffix.str(); };

  if (Error err =
          assign(config.numLayers, metadata.positive(key("block_count"))))
    return std::move(err);
  if (Error err =
          assign(config.hiddenSize, metadata.positive(key("embedding_length"))))
    return std::move(err);
  if (Error err = assign(config.intermediateSize,
                         metadata.positive(key("feed_forward_length"))))
    return std::move(err);
  if (Error err = assign(config.numHeads,
                         metadata.positive(key("attention.head_count"))))
    return std::move(err);
  if (Error err = assign(
          config.numKvHeads,
          metadata.positive(key("attention.head_count_kv"), config.numHeads)))
    return std::move(err);
  if (Error err =
          assign(config.maxPositions, metadata.positive(key("context_length"))))
    return std::move(err);
  if (config.hiddenSize % config.numHeads != 0 &&
      !file.find(key("attention.key_length")))
    return metadata.error(key("attention.key_length"),
                          llvm::formatv("missing, and embedding_length {0} is "
                                        "not a multiple of head_count {1}",
                                        config.hiddenSize, config.numHeads));
  if (Error err =
          assign(config.headDim,
                 metadata.positive(key("attention.key_length"),
                                   config.hiddenSize /
                                       std::max<int64_t>(config.numHeads, 1))))
    return std::move(err);
  for (StringRef sameAsHeadDim : {StringRef("attention.value_length"),
                                  StringRef("rope.dimension_count")}) {
    Expected<std::optional<int64_t>> value = metadata.count(key(sameAsHeadDim));
    if (!value)
      return value.takeError();
    if (*value && **value != config.headDim)
      return metadata.error(
          key(sameAsHeadDim),
          llvm::formatv("expected the head dimension {0}, found {1} (nibble "
                        "supports full rotary and equal key/value head "
                        "dimensions only)",
                        config.headDim, **value));
  }
  Expected<std::optional<int64_t>> experts =
      metadata.count(key("expert_count"));
  if (!experts)
    return experts.takeError();
  if (*experts && **experts > 0)
    return metadata.error(key("expert_count"),
                          llvm::formatv("mixture-of-experts models are not "
                                        "supported (found {0} experts)",
                                        **experts));

  Expected<std::optional<double>> epsilon =
      metadata.number(key("attention.layer_norm_rms_epsilon"));
  if (!epsilon)
    return epsilon.takeError();
  if (!*epsilon)
    return metadata.error(key("attention.layer_norm_rms_epsilon"),
                          "missing (required)");
  config.rmsNormEpsilon = **epsilon;
  Expected<std::optional<double>> freqBase =
      metadata.number(key("rope.freq_base"));
  if (!freqBase)
    return freqBase.takeError();
  config.ropeTheta = freqBase->value_or(10000.0);

  // RoPE scaling as llama.cpp reads it: type (default "linear") and factor
  // from rope.scale_linear, else rope.scaling.factor (0 or 1: none).
  Expected<std::optional<std::string>> scalingType =
      metadata.string(key("rope.scaling.type"));
  if (!scalingType)
    return scalingType.takeError();
  double scalingFactor = 0;
  for (StringRef factorKey :
       {StringRef("rope.scale_linear"), StringRef("rope.scaling.factor")}) {
    Expected<std::optional<double>> factor = metadata.number(key(factorKey));
    if (!factor)
      return factor.takeError();
    if (scalingFactor == 0 && *factor)
      scalingFactor = **factor;
  }
  std::string type = scalingType->value_or("linear");
  if (type == "linear") {
    if (scalingFactor != 0 && scalingFactor != 1) {
      if (!(scalingFactor > 0))
        return metadata.error(key("rope.scaling.factor"),
                              llvm::formatv("expected a positive factor, "
                                            "found {0}",
                                            formatNumber(scalingFactor)));
      config.ropeScaling.kind = RopeScaling::Kind::Linear;
      config.ropeScaling.factor = scalingFactor;
    }
  } else if (type != "none") {
    return metadata.error(key("rope.scaling.type"),
                          "unsupported RoPE scaling '" + type +
                              "' (nibble supports none and linear)");
  }
  if (const GgufTensorInfo *factors = file.findTensor("rope_freqs.weight")) {
    Expected<std::vector<float>> values = dequantizeAll(file, *factors, path);
    if (!values)
      return values.takeError();
    if (static_cast<int64_t>(values->size()) != config.headDim / 2)
      return makeError(llvm::formatv(
          "{0}: tensor 'rope_freqs.weight': expected {1} factors (head "
          "dimension / 2), found {2}",
          path, config.headDim / 2, values->size()));
    config.ropeScaling.frequencyFactors = std::move(*values);
  }

  // The vocabulary: the tokenizer's tokens, else <arch>.vocab_size.
  if (const GgufValue *tokens = file.find("tokenizer.ggml.tokens")) {
    if (!tokens->isArray() || tokens->elementType != GgufType::String)
      return metadata.error("tokenizer.ggml.tokens",
                            "expected an array of strings");
    config.vocabSize = static_cast<int64_t>(tokens->arraySize());
  } else if (file.find(key("vocab_size"))) {
    if (Error err =
            assign(config.vocabSize, metadata.positive(key("vocab_size"))))
      return std::move(err);
  } else {
    return makeError(path +
                     ": no vocabulary size: neither "
                     "'tokenizer.ggml.tokens' nor '" +
                     key("vocab_size") + "' is present");
  }

  config.tiedEmbeddings = file.findTensor("output.weight") == nullptr;
  config.attentionBias = file.findTensor("blk.0.attn_q.bias") != nullptr;

  if (config.architecture == Architecture::Llama) {
    // convert_hf_to_gguf.py's LlamaModel permutes q/k rows for llama.cpp's
    // interleaved RoPE; Qwen2Model does not (NEOX RoPE).
    config.ropeInterleaved = arch == "llama";
    config.activation = Activation::SiLU;
  } else {
    // src/llama-model.cpp, LLM_ARCH_GEMMA3.
    config.activation = Activation::GeluTanh;
    config.ropeInterleaved = false;
    config.normWeightOffset = 0.0f; // stored as 1 + w
    config.scaleEmbeddings = true;
    config.queryKeyNorm = true;
    config.postNorms = true;
    config.slidingWindowPattern = 6;
    if (Error err = assign(config.slidingWindow,
                           metadata.positive(key("attention.sliding_window"))))
      return std::move(err);
    Expected<std::optional<double>> localBase =
        metadata.number(key("rope.freq_base_swa"));
    if (!localBase)
      return localBase.takeError();
    config.ropeLocalTheta = localBase->value_or(10000.0);
    // f_attention_scale: 1/sqrt(n_embd / n_head) for the 27B (62 layers),
    // else 1/sqrt(n_embd_head_k).
    config.queryPreAttentionScalar =
        config.numLayers == 62
            ? static_cast<double>(config.hiddenSize / config.numHeads)
            : static_cast<double>(config.headDim);
  }
  if (Error err = validateConfig(config, path))
    return std::move(err);
  return config;
}

std::string hfTensorName(StringRef ggufName, Architecture architecture) {
  if (ggufName == "token_embd.weight")
    return "model.embed_tokens.weight";
  if (ggufName == "output_norm.weight")
    return "model.norm.weight";
  if (ggufName == "output.weight")
    return "lm_head.weight";
  StringRef rest = ggufName;
  if (!rest.consume_front("blk."))
    return "";
  auto [layerText, tail] = rest.split('.');
  unsigned layer;
  if (layerText.empty() || layerText.getAsInteger(10, layer) ||
      (layerText.size() > 1 && layerText[0] == '0'))
    return "";
  StringRef suffix;
  if (tail.ends_with(".weight"))
    suffix = "weight";
  else if (tail.ends_with(".bias"))
    suffix = "bias";
  else
    return "";
  StringRef part = tail.drop_back(suffix.size() + 1);
  bool gemma = architecture == Architecture::Gemma3;
  StringRef hfPart =
      llvm::StringSwitch<StringRef>(part)
          .Case("attn_norm", "input_layernorm")
          .Case("attn_q", "self_attn.q_proj")
          .Case("attn_k", "self_attn.k_proj")
          .Case("attn_v", "self_attn.v_proj")
          .Case("attn_output", "self_attn.o_proj")
          .Case("attn_q_norm", "self_attn.q_norm")
          .Case("attn_k_norm", "self_attn.k_norm")
          .Case("ffn_norm", gemma ? "pre_feedforward_layernorm"
                                  : "post_attention_layernorm")
          .Case("post_attention_norm", gemma ? "post_attention_layernorm" : "")
          .Case("post_ffw_norm", gemma ? "post_feedforward_layernorm" : "")
          .Case("ffn_gate", "mlp.gate_proj")
          .Case("ffn_up", "mlp.up_proj")
          .Case("ffn_down", "mlp.down_proj")
          .Default("");
  if (hfPart.empty())
    return "";
  return ("model.layers." + llvm::Twine(layer) + "." + hfPart + "." + suffix)
      .str();
}

namespace {

/// "210 Q4_1, 1 Q8_0" from counts by ggml type name.
std::string formatTypeCounts(const std::map<std::string, int> &counts) {
  std::string text;
  for (const auto &[type, count] : counts)
    text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + type;
  return text.empty() ? "none" : text;
}

} // namespace

Expected<ArchiveSummary>
writeFloatArchiveFromGguf(const GgufFile &file, StringRef path,
                          const TransformerConfig &config,
                          StringRef archivePath, const ArchiveOptions &options,
                          bool keepQuantization) {
  const GgufValue *arch = file.find("general.architecture");
  bool fileInterleaved =
      arch && arch->type == GgufType::String && arch->stringValue == "llama";
  std::vector<FloatTensorSource> sources;
  std::vector<PackedTensorSource> packed;
  std::vector<std::string> ignored;
  std::map<std::string, int> keptTypes, dequantizedTypes;
  std::string pathText = path.str();
  for (const GgufTensorInfo &tensor : file.tensors()) {
    std::string name = hfTensorName(tensor.name, config.architecture);
    std::string origin = "'" + tensor.name + "' of " + pathText;
    if (name.empty()) {
      ignored.push_back(origin);
      continue;
    }
    const runtime::GgmlTypeTraits *typeTraits =
        runtime::findGgmlType(static_cast<uint32_t>(tensor.type));
    std::string typeName = typeTraits ? typeTraits->name : "?";
    std::optional<PackedWeightLayout> layout =
        keepQuantization && tensor.dims.size() == 2 &&
                isLinearWeight(name, config)
            ? packedLayoutForGgmlType(tensor.type)
            : std::nullopt;
    if (layout) {
      const GgufTensorInfo *info = &tensor;
      const GgufFile *gguf = &file;
      uint64_t rowElements = tensor.dims[0];
      uint64_t rowBytes =
          rowElements / typeTraits->blockElements * typeTraits->blockBytes;
      PackedTensorSource source;
      source.name = name;
      source.layout = *layout;
      // A tied embedding is also the gather's float table.
      source.alsoFloat = name == "model.embed_tokens.weight";
      source.readRows = [gguf, info, rowElements, rowBytes,
                         origin](int64_t first, int64_t count,
                                 PackedRows &out) -> Error {
        const uint8_t *bytes = gguf->data(*info) + first * rowBytes;
        if (!packGgmlRows(info->type, bytes, count,
                          static_cast<int64_t>(rowElements), out))
          return makeError(origin + ": cannot pack its type");
        return Error::success();
      };
      packed.push_back(std::move(source));
      keptTypes[typeName] += 1;
    } else if (keepQuantization) {
      dequantizedTypes[typeName] += 1;
    }
    FloatTensorSource source;
    source.name = name;
    std::vector<int64_t> shape = tensor.rowMajorShape();
    source.shape.assign(shape.begin(), shape.end());
    source.origin = origin;
    source.interleavedRope = fileInterleaved;
    const GgufTensorInfo *info = &tensor;
    const GgufFile *gguf = &file;
    if (shape.size() == 1) {
      // A vector is read whole once (a request for part of it need not
      // start on a block boundary).
      auto cache = std::make_shared<std::vector<float>>();
      source.readRows = [gguf, info, cache, origin](
                            int64_t first, int64_t count, float *out) -> Error {
        if (cache->empty()) {
          cache->resize(info->elements);
          if (!gguf::dequantizeRow(info->type, gguf->data(*info), cache->data(),
                                   info->elements))
            return makeError(origin + ": cannot dequantize its type");
        }
        std::copy(cache->begin() + first, cache->begin() + first + count, out);
        return Error::success();
      };
    } else {
      // Whole ggml rows (ne[0] elements, whole blocks) per archive row.
      const runtime::GgmlTypeTraits *traits =
          runtime::findGgmlType(static_cast<uint32_t>(tensor.type));
      uint64_t rowElements = tensor.elements / tensor.dims.back();
      uint64_t rowBytes =
          rowElements / traits->blockElements * traits->blockBytes;
      source.readRows = [gguf, info, rowElements, rowBytes, origin](
                            int64_t first, int64_t count, float *out) -> Error {
        const uint8_t *bytes = gguf->data(*info) + first * rowBytes;
        if (!gguf::dequantizeRow(info->type, bytes, out,
                                 static_cast<uint64_t>(count) * rowElements))
          return makeError(origin + ": cannot dequantize its type");
        return Error::success();
      };
    }
    sources.push_back(std::move(source));
  }
  Expected<ArchiveSummary> summary =
      writeFloatTensors(std::move(sources), config, path, archivePath, options,
                        std::move(ignored), std::move(packed));
  if (summary && keepQuantization) {
    summary->quantizationReport =
        pathText +
        ": kept quantized (nibble.qlinear): " + formatTypeCounts(keptTypes) +
        "; dequantized to f32: " + formatTypeCounts(dequantizedTypes);
    if (config.tiedEmbeddings &&
        summary->packedWeights.count("model.embed_tokens.weight"))
      summary->quantizationReport +=
          " (the tied embedding is kept for the LM head and also written as "
          "f32 for the lookup)";
  }
  return summary;
}

} // namespace llm
} // namespace nibble

//===- HfModel.cpp - Transformer config and f32 weights from Hugging Face -===//
//
// config.json as transformers 5.x's config classes read it (defaults from
// LlamaConfig, MistralConfig, Qwen2Config, Gemma3TextConfig and
// modeling_rope_utils' standardization), and the safetensors weights,
// single-file or sharded.
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/HfModel.h"

#include "frontends/gguf/GgmlDequantize.h"
#include "frontends/llm/FloatArchive.h"
#include "support/JsonDepth.h"
#include "support/SafeTensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

namespace nibble {
namespace llm {

namespace {

//===----------------------------------------------------------------------===//
// JSON files
//===----------------------------------------------------------------------===//

/// The deepest array/object nesting accepted in a JSON file: config.json
/// needs 4 (Gemma 3's text_config.rope_parameters.full_attention), an index
/// 2. llvm::json::parse recurses once per level, so deeper input is refused
/// before it runs.
constexpr int kMaxJsonNesting = 32;

/// The largest JSON file read (an index of a few thousand tensors is a few
/// hundred KB).
constexpr uint64_t kMaxJsonBytes = 64ull << 20;

/// Reads and parses the JSON object in `path`.
Expected<json::Object> readJsonObject(StringRef path) {
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return makeError(path + ": cannot read: " + ec.message());
  if (size > kMaxJsonBytes)
    return makeError(llvm::formatv("{0}: {1} bytes is too large for a JSON "
                                   "file (at most {2})",
                                   path, size, kMaxJsonBytes));
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  StringRef text = (*buffer)->getBuffer();
  if (jsonNestsDeeperThan(text, kMaxJsonNesting))
    return makeError(llvm::formatv("{0}: JSON nests arrays or objects deeper "
                                   "than {1} levels",
                                   path, kMaxJsonNesting));
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return makeError(path +
                     ": invalid JSON: " + llvm::toString(value.takeError()));
  json::Object *object = value->getAsObject();
  if (!object)
    return makeError(path + ": expected a JSON object at the top level");
  return std::move(*object);
}

/// The JSON kind of `value` as a word for messages.
StringRef kindName(const json::Value &value) {
  switch (value.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  return "a value";
}

/// `value` printed compactly, cut to a few dozen characters.
std::string snippet(const json::Value &value) {
  std::string text = llvm::formatv("{0}", value).str();
  if (text.size() > 40)
    text = text.substr(0, 40) + "...";
  return text;
}

/// Typed, defaulted access to the fields of one JSON object of a file;
/// errors name the file and the field's path ("text_config.head_dim"). A
/// field set to null counts as absent, as transformers' None does.
class Fields {
public:
  Fields(const json::Object &object, StringRef file, StringRef prefix = "")
      : object(&object), file(file.str()), prefix(prefix.str()) {}

  Error error(StringRef key, const llvm::Twine &message) const {
    return makeError(file + ": field '" + prefix + key + "': " + message);
  }

  /// The field, or nullptr when absent or null.
  const json::Value *get(StringRef key) const {
    const json::Value *value = object->get(key);
    if (!value || value->kind() == json::Value::Null)
      return nullptr;
    return value;
  }
  bool has(StringRef key) const { return get(key) != nullptr; }
  /// Whether the field is present and null (transformers' explicit None,
  /// which differs from a class default).
  bool isNull(StringRef key) const {
    const json::Value *value = object->get(key);
    return value && value->kind() == json::Value::Null;
  }

  Expected<std::optional<int64_t>> integer(StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return std::nullopt;
    std::optional<int64_t> number = value->getAsInteger();
    if (!number)
      return error(key, "expected an integer, found " + snippet(*value));
    return *number;
  }
  /// A positive integer; `fallback` when absent, and an error naming the
  /// field when it is absent and has no fallback.
  Expected<int64_t> positive(StringRef key,
                             std::optional<int64_t> fallback = {}) const {
    Expected<std::optional<int64_t>> number = integer(key);
    if (!number)
      return number.takeError();
    if (!*number) {
      if (fallback)
        return *fallback;
      return error(key, "missing (required)");
    }
    if (**number <= 0)
      return error(key, llvm::formatv("expected a positive integer, found {0}",
                                      **number));
    return **number;
  }
  Expected<std::optional<double>> number(StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return std::nullopt;
    std::optional<double> number = value->getAsNumber();
    if (!number)
      return error(key, "expected a number, found " + snippet(*value));
    return *number;
  }
  Expected<double> number(StringRef key, double fallback) const {
    Expected<std::optional<double>> value = number(key);
    if (!value)
      return value.takeError();
    return value->value_or(fallback);
  }
  Expected<bool> boolean(StringRef key, bool fallback) const {
    const json::Value *value = get(key);
    if (!value)
      return fallback;
    std::optional<bool> flag = value->getAsBoolean();
    if (!flag)
      return error(key, "expected true or false, found " + snippet(*value));
    return *flag;
  }
  Expected<std::optional<std::string>> string(StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return std::nullopt;
    std::optional<StringRef> text = value->getAsString();
    if (!text)
      return error(key, "expected a string, found " + snippet(*value));
    return text->str();
  }
  /// The object field, or nullptr when absent or null.
  Expected<const json::Object *> objectField(StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return nullptr;
    const json::Object *field = value->getAsObject();
    if (!field)
      return error(key, llvm::Twine("expected an object, found ") +
                            kindName(*value));
    return field;
  }
  /// The fields of the object field `key` (which must exist).
  Fields nested(const json::Object &field, StringRef key) const {
    return Fields(field, file, prefix + key.str() + ".");
  }

private:
  const json::Object *object;
  std::string file;
  std::string prefix;
};

/// Assigns `*out` from an Expected, returning its error.
template <typename T, typename U> Error assign(T &out, Expected<U> value) {
  if (!value)
    return value.takeError();
  out = std::move(*value);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// config.json
//===----------------------------------------------------------------------===//

enum class ModelType { Llama, Mistral, Qwen2, Gemma3 };

/// Refuses a partial_rotary_factor other than 1 in `fields`.
Error refusePartialRotary(const Fields &fields) {
  Expected<std::optional<double>> partial =
      fields.number("partial_rotary_factor");
  if (!partial)
    return partial.takeError();
  if (*partial && **partial != 1.0)
    return fields.error("partial_rotary_factor",
                        llvm::formatv("partial rotary embeddings are not "
                                      "supported (found {0})",
                                      formatNumber(**partial)));
  return Error::success();
}

/// The scaling of one RoPE parameter dictionary (rope_parameters,
/// rope_scaling or one of Gemma 3's per-layer-type dictionaries) read as
/// modeling_rope_utils reads it; `theta` is set from its rope_theta when
/// present.
Error readRopeDictionary(const Fields &dict, const Fields &top,
                         int64_t maxPositions, double &theta,
                         RopeScaling &scaling) {
  if (Error err = assign(theta, dict.number("rope_theta", theta)))
    return err;
  std::string type = "default";
  for (StringRef typeKey : {"rope_type", "type"}) {
    Expected<std::optional<std::string>> value = dict.string(typeKey);
    if (!value)
      return value.takeError();
    if (*value) {
      type = **value;
      break;
    }
  }
  if (Error err = refusePartialRotary(dict))
    return err;
  scaling = RopeScaling();
  if (type == "default")
    return Error::success();
  if (type != "linear" && type != "dynamic" && type != "llama3")
    return dict.error(dict.has("rope_type") ? "rope_type" : "type",
                      "unsupported RoPE type '" + type +
                          "' (nibble supports default, linear, dynamic and "
                          "llama3)");
  auto required = [&](StringRef key, double &out) -> Error {
    Expected<std::optional<double>> value = dict.number(key);
    if (!value)
      return value.takeError();
    if (!*value)
      return dict.error(key, "missing (required by rope type '" + type + "')");
    out = **value;
    return Error::success();
  };
  if (Error err = required("factor", scaling.factor))
    return err;
  if (type == "linear") {
    scaling.kind = RopeScaling::Kind::Linear;
  } else if (type == "dynamic") {
    scaling.kind = RopeScaling::Kind::Dynamic;
  } else {
    scaling.kind = RopeScaling::Kind::Llama3;
    if (Error err = required("low_freq_factor", scaling.lowFreqFactor))
      return err;
    if (Error err = required("high_freq_factor", scaling.highFreqFactor))
      return err;
    // A top-level original_max_position_embeddings wins (Phi-3's exception
    // in standardize_rope_params), then the dictionary's, then
    // max_position_embeddings.
    Expected<std::optional<int64_t>> topOriginal =
        top.integer("original_max_position_embeddings");
    if (!topOriginal)
      return topOriginal.takeError();
    Expected<std::optional<int64_t>> dictOriginal =
        dict.integer("original_max_position_embeddings");
    if (!dictOriginal)
      return dictOriginal.takeError();
    scaling.originalMaxPositions =
        topOriginal->value_or(dictOriginal->value_or(maxPositions));
  }
  return Error::success();
}

/// Whether `object` is keyed by layer type (Gemma 3's rope_parameters).
bool isNestedRope(const json::Object &object) {
  return object.get("full_attention") || object.get("sliding_attention");
}

/// RoPE of Llama, Mistral and Qwen2: rope_scaling, else rope_parameters,
/// with rope_theta from the dictionary, else the top level, else 10000.
Error readRope(const Fields &fields, TransformerConfig &config) {
  double theta = 10000.0;
  if (Error err = assign(theta, fields.number("rope_theta", theta)))
    return err;
  const json::Object *dict = nullptr;
  StringRef dictKey;
  for (StringRef key : {"rope_scaling", "rope_parameters"}) {
    Expected<const json::Object *> value = fields.objectField(key);
    if (!value)
      return value.takeError();
    if (*value && !(*value)->empty()) {
      dict = *value;
      dictKey = key;
      break;
    }
  }
  config.ropeTheta = theta;
  if (!dict)
    return Error::success();
  if (isNestedRope(*dict))
    return fields.error(dictKey, "RoPE parameters per layer type are only "
                                 "supported for Gemma 3");
  return readRopeDictionary(fields.nested(*dict, dictKey), fields,
                            config.maxPositions, config.ropeTheta,
                            config.ropeScaling);
}

/// Gemma 3's RoPE: global layers from rope_parameters.full_attention updated
/// by a legacy rope_scaling (theta: its rope_theta, else rope_theta, else
/// 1e6); sliding layers from rope_parameters.sliding_attention (theta: its
/// rope_theta, else rope_local_base_freq, else 1e4), which must be default.
Error readGemma3Rope(const Fields &fields, TransformerConfig &config) {
  Expected<const json::Object *> parameters =
      fields.objectField("rope_parameters");
  if (!parameters)
    return parameters.takeError();
  Expected<const json::Object *> legacy = fields.objectField("rope_scaling");
  if (!legacy)
    return legacy.takeError();
  const json::Object *full = nullptr, *sliding = nullptr;
  if (*parameters) {
    if (!isNestedRope(**parameters))
      return fields.error("rope_parameters",
                          "expected 'full_attention' and "
                          "'sliding_attention' entries for Gemma 3");
    Fields nested = fields.nested(**parameters, "rope_parameters");
    Expected<const json::Object *> value = nested.objectField("full_attention");
    if (!value)
      return value.takeError();
    full = *value;
    value = nested.objectField("sliding_attention");
    if (!value)
      return value.takeError();
    sliding = *value;
  }
  // transformers: rope_parameters["full_attention"].update(rope_scaling).
  json::Object fullMerged = full ? *full : json::Object();
  if (*legacy)
    for (const auto &entry : **legacy)
      fullMerged[entry.first] = entry.second;

  double globalTheta = 1000000.0, localTheta = 10000.0;
  if (Error err = assign(globalTheta, fields.number("rope_theta", globalTheta)))
    return err;
  if (Error err =
          assign(localTheta, fields.number("rope_local_base_freq", localTheta)))
    return err;
  Fields fullFields =
      full ? fields.nested(fullMerged, "rope_parameters.full_attention")
           : fields.nested(fullMerged, "rope_scaling");
  // fullFields must not outlive fullMerged: used right here only.
  if (Error err = readRopeDictionary(fullFields, fields, config.maxPositions,
                                     globalTheta, config.ropeScaling))
    return err;
  config.ropeTheta = globalTheta;
  if (sliding) {
    Fields slidingFields =
        fields.nested(*sliding, "rope_parameters.sliding_attention");
    RopeScaling slidingScaling;
    if (Error err =
            readRopeDictionary(slidingFields, fields, config.maxPositions,
                               localTheta, slidingScaling))
      return err;
    if (slidingScaling.kind != RopeScaling::Kind::None)
      return slidingFields.error("rope_type",
                                 "scaled RoPE on sliding-window layers is not "
                                 "supported");
  }
  config.ropeLocalTheta = localTheta;
  return Error::success();
}

/// Sets slidingWindow/slidingWindowPattern from the per-layer list
/// `sliding` (true: the layer uses the window).
Error fitSlidingPattern(const Fields &fields, StringRef field,
                        const std::vector<bool> &sliding, int64_t window,
                        TransformerConfig &config) {
  size_t count = std::count(sliding.begin(), sliding.end(), true);
  if (window <= 0 || count == 0) {
    config.slidingWindow = 0;
    config.slidingWindowPattern = 0;
    return Error::success();
  }
  config.slidingWindow = window;
  if (count == sliding.size()) {
    config.slidingWindowPattern = 0;
    return Error::success();
  }
  for (size_t pattern = 2; pattern <= sliding.size(); ++pattern) {
    bool fits = true;
    for (size_t i = 0; i < sliding.size() && fits; ++i)
      fits = sliding[i] == ((i + 1) % pattern != 0);
    if (fits) {
      config.slidingWindowPattern = static_cast<int64_t>(pattern);
      return Error::success();
    }
  }
  return fields.error(field, "sliding-window and full layers in an order "
                             "nibble cannot express (layer i must be full "
                             "iff (i + 1) % pattern == 0)");
}

/// The layer types of `layer_types` (true: sliding), or nullopt if absent.
Expected<std::optional<std::vector<bool>>> readLayerTypes(const Fields &fields,
                                                          int64_t numLayers) {
  const json::Value *value = fields.get("layer_types");
  if (!value)
    return std::nullopt;
  const json::Array *array = value->getAsArray();
  if (!array)
    return fields.error("layer_types",
                        llvm::Twine("expected an array, found ") +
                            kindName(*value));
  if (static_cast<int64_t>(array->size()) != numLayers)
    return fields.error("layer_types",
                        llvm::formatv("expected {0} entries (one per layer), "
                                      "found {1}",
                                      numLayers, array->size()));
  std::vector<bool> sliding;
  for (const json::Value &entry : *array) {
    std::optional<StringRef> type = entry.getAsString();
    if (type == StringRef("sliding_attention"))
      sliding.push_back(true);
    else if (type == StringRef("full_attention"))
      sliding.push_back(false);
    else
      return fields.error("layer_types",
                          "expected 'sliding_attention' or 'full_attention', "
                          "found " +
                              snippet(entry));
  }
  return sliding;
}

} // namespace

Expected<TransformerConfig> readHfConfig(StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "config.json");
  Expected<json::Object> root = readJsonObject(path);
  if (!root)
    return root.takeError();
  Fields top(*root, path);
  Expected<std::optional<std::string>> modelTypeName = top.string("model_type");
  if (!modelTypeName)
    return modelTypeName.takeError();
  if (!*modelTypeName)
    return top.error("model_type", "missing (required)");
  std::string typeName = **modelTypeName;

  ModelType modelType;
  Fields fields = top;
  const json::Object *textConfig = nullptr;
  if (typeName == "llama") {
    modelType = ModelType::Llama;
  } else if (typeName == "mistral") {
    modelType = ModelType::Mistral;
  } else if (typeName == "qwen2") {
    modelType = ModelType::Qwen2;
  } else if (typeName == "gemma3_text") {
    modelType = ModelType::Gemma3;
  } else if (typeName == "gemma3") {
    modelType = ModelType::Gemma3;
    Expected<const json::Object *> text = top.objectField("text_config");
    if (!text)
      return text.takeError();
    if (!*text)
      return top.error("text_config", "missing (required for model_type "
                                      "'gemma3')");
    textConfig = *text;
    fields = top.nested(*textConfig, "text_config");
  } else {
    return top.error("model_type",
                     "unsupported model type '" + typeName +
                         "' (nibble reads llama, mistral, qwen2, gemma3_text "
                         "and gemma3)");
  }
  bool gemma = modelType == ModelType::Gemma3;

  TransformerConfig config;
  config.architecture = gemma ? Architecture::Gemma3 : Architecture::Llama;
  if (Error err = assign(config.vocabSize, fields.positive("vocab_size")))
    return std::move(err);
  if (Error err = assign(config.hiddenSize, fields.positive("hidden_size")))
    return std::move(err);
  if (Error err =
          assign(config.intermediateSize, fields.positive("intermediate_size")))
    return std::move(err);
  if (Error err =
          assign(config.numLayers, fields.positive("num_hidden_layers")))
    return std::move(err);
  if (Error err =
          assign(config.numHeads, fields.positive("num_attention_heads")))
    return std::move(err);
  // Class defaults: Mistral 8, Qwen2 32, Gemma 3 4; Llama (and an explicit
  // null anywhere, which __post_init__ replaces) the attention head count.
  int64_t kvDefault = config.numHeads;
  if (!fields.isNull("num_key_value_heads")) {
    if (modelType == ModelType::Mistral)
      kvDefault = 8;
    else if (modelType == ModelType::Qwen2)
      kvDefault = 32;
    else if (modelType == ModelType::Gemma3)
      kvDefault = 4;
  }
  if (Error err = assign(config.numKvHeads,
                         fields.positive("num_key_value_heads", kvDefault)))
    return std::move(err);
  if (gemma) {
    if (Error err = assign(config.headDim, fields.positive("head_dim", 256)))
      return std::move(err);
  } else {
    if (!fields.has("head_dim") && config.hiddenSize % config.numHeads != 0)
      return fields.error("head_dim",
                          llvm::formatv("missing, and hidden_size {0} is not "
                                        "a multiple of num_attention_heads "
                                        "{1}",
                                        config.hiddenSize, config.numHeads));
    if (Error err = assign(
            config.headDim,
            fields.positive("head_dim", config.hiddenSize / config.numHeads)))
      return std::move(err);
  }
  int64_t maxDefault = modelType == ModelType::Llama     ? 2048
                       : modelType == ModelType::Mistral ? 4096 * 32
                       : modelType == ModelType::Qwen2   ? 32768
                                                         : 131072;
  if (Error err =
          assign(config.maxPositions,
                 fields.positive("max_position_embeddings", maxDefault)))
    return std::move(err);
  if (Error err =
          assign(config.rmsNormEpsilon, fields.number("rms_norm_eps", 1e-6)))
    return std::move(err);

  // Tied embeddings: a multimodal Gemma 3 model reads the flag of the
  // top-level Gemma3Config (default true), not text_config's.
  bool tied = gemma;
  const Fields &tieFields = textConfig ? top : fields;
  if (Error err = assign(tied, tieFields.boolean("tie_word_embeddings", tied)))
    return std::move(err);
  config.tiedEmbeddings = tied;

  // The activation.
  StringRef activationKey = gemma ? "hidden_activation" : "hidden_act";
  Expected<std::optional<std::string>> activation =
      fields.string(activationKey);
  if (!activation)
    return activation.takeError();
  std::string activationName =
      activation->value_or(gemma ? "gelu_pytorch_tanh" : "silu");
  if (activationName == "silu" || activationName == "swish")
    config.activation = Activation::SiLU;
  else if (activationName == "gelu_pytorch_tanh" ||
           activationName == "gelu_new")
    config.activation = Activation::GeluTanh;
  else
    return fields.error(activationKey,
                        "unsupported activation '" + activationName +
                            "' (nibble supports silu and gelu_pytorch_tanh)");

  // Biases: Qwen2 has q/k/v biases; Llama's attention_bias also gives o_proj
  // one, and mlp_bias the MLP, which nibble does not build.
  for (StringRef biasKey : {"attention_bias", "mlp_bias"}) {
    Expected<bool> bias = fields.boolean(biasKey, false);
    if (!bias)
      return bias.takeError();
    if (*bias)
      return fields.error(biasKey, "biases on the output projection or MLP "
                                   "are not supported");
  }
  config.attentionBias = modelType == ModelType::Qwen2;

  // RoPE.
  if (Error err = refusePartialRotary(fields))
    return std::move(err);
  if (gemma) {
    if (Error err = readGemma3Rope(fields, config))
      return std::move(err);
  } else if (Error err = readRope(fields, config)) {
    return std::move(err);
  }

  // Sliding windows.
  Expected<std::optional<std::vector<bool>>> layerTypes =
      readLayerTypes(fields, config.numLayers);
  if (!layerTypes)
    return layerTypes.takeError();
  switch (modelType) {
  case ModelType::Llama:
    break;
  case ModelType::Mistral: {
    // MistralConfig's default 4096, on every layer (MistralModel ignores
    // layer_types); an explicit null: no window.
    int64_t window = 0;
    if (!fields.isNull("sliding_window"))
      if (Error err = assign(window, fields.positive("sliding_window", 4096)))
        return std::move(err);
    std::vector<bool> sliding(config.numLayers, true);
    if (Error err =
            fitSlidingPattern(fields, "layer_types", sliding, window, config))
      return std::move(err);
    break;
  }
  case ModelType::Qwen2: {
    Expected<bool> useSliding = fields.boolean("use_sliding_window", false);
    if (!useSliding)
      return useSliding.takeError();
    if (!*useSliding)
      break;
    int64_t window = 0;
    if (Error err = assign(window, fields.positive("sliding_window", 4096)))
      return std::move(err);
    Expected<std::optional<int64_t>> maxWindowLayers =
        fields.integer("max_window_layers");
    if (!maxWindowLayers)
      return maxWindowLayers.takeError();
    int64_t firstSlidingLayer = maxWindowLayers->value_or(28);
    if (firstSlidingLayer < 0)
      return fields.error("max_window_layers",
                          llvm::formatv("expected a non-negative integer, "
                                        "found {0}",
                                        firstSlidingLayer));
    std::vector<bool> sliding(config.numLayers);
    for (int64_t i = 0; i < config.numLayers; ++i)
      sliding[i] = i >= firstSlidingLayer;
    if (*layerTypes)
      sliding = **layerTypes;
    if (Error err =
            fitSlidingPattern(fields, "layer_types", sliding, window, config))
      return std::move(err);
    break;
  }
  case ModelType::Gemma3: {
    Expected<bool> bidirectional =
        fields.boolean("use_bidirectional_attention", false);
    if (!bidirectional)
      return bidirectional.takeError();
    if (*bidirectional)
      return fields.error("use_bidirectional_attention",
                          "bidirectional attention is not supported");
    for (StringRef capKey :
         {"final_logit_softcapping", "attn_logit_softcapping"})
      if (fields.has(capKey))
        return fields.error(capKey, "logit soft-capping is not supported");
    int64_t window = 0, pattern = 6;
    if (!fields.isNull("sliding_window"))
      if (Error err = assign(window, fields.positive("sliding_window", 4096)))
        return std::move(err);
    if (Error err =
            assign(pattern, fields.positive("sliding_window_pattern", 6)))
      return std::move(err);
    std::vector<bool> sliding(config.numLayers);
    for (int64_t i = 0; i < config.numLayers; ++i)
      sliding[i] = (i + 1) % pattern != 0;
    if (*layerTypes)
      sliding = **layerTypes;
    if (Error err =
            fitSlidingPattern(fields, "layer_types", sliding, window, config))
      return std::move(err);
    config.normWeightOffset = 1.0f;
    config.scaleEmbeddings = true;
    config.queryKeyNorm = true;
    config.postNorms = true;
    if (Error err = assign(config.queryPreAttentionScalar,
                           fields.number("query_pre_attn_scalar", 256.0)))
      return std::move(err);
    break;
  }
  }
  if (Error err = validateConfig(config, path))
    return std::move(err);
  return config;
}

Expected<std::optional<GenerationConfig>>
readHfGenerationConfig(StringRef dir) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "generation_config.json");
  if (!llvm::sys::fs::exists(path))
    return std::nullopt;
  Expected<json::Object> root = readJsonObject(path);
  if (!root)
    return root.takeError();
  Fields fields(*root, path);
  GenerationConfig generation;
  if (const json::Value *eos = fields.get("eos_token_id")) {
    if (const json::Array *ids = eos->getAsArray()) {
      for (const json::Value &id : *ids) {
        std::optional<int64_t> number = id.getAsInteger();
        if (!number || *number < 0)
          return fields.error("eos_token_id",
                              "expected token ids, found " + snippet(*eos));
        generation.eosTokenIds.push_back(*number);
      }
    } else {
      std::optional<int64_t> number = eos->getAsInteger();
      if (!number || *number < 0)
        return fields.error("eos_token_id",
                            "expected a token id or a list of them, found " +
                                snippet(*eos));
      generation.eosTokenIds.push_back(*number);
    }
  }
  auto readId = [&](StringRef key, std::optional<int64_t> &out) -> Error {
    Expected<std::optional<int64_t>> value = fields.integer(key);
    if (!value)
      return value.takeError();
    if (*value && **value < 0)
      return fields.error(key, llvm::formatv("expected a non-negative "
                                             "integer, found {0}",
                                             **value));
    out = *value;
    return Error::success();
  };
  auto readNumber = [&](StringRef key, std::optional<double> &out) -> Error {
    return assign(out, fields.number(key));
  };
  if (Error err = readId("bos_token_id", generation.bosTokenId))
    return std::move(err);
  if (Error err = readId("pad_token_id", generation.padTokenId))
    return std::move(err);
  if (Error err = readId("top_k", generation.topK))
    return std::move(err);
  if (Error err = readId("max_new_tokens", generation.maxNewTokens))
    return std::move(err);
  if (Error err = readNumber("temperature", generation.temperature))
    return std::move(err);
  if (Error err = readNumber("top_p", generation.topP))
    return std::move(err);
  if (Error err =
          readNumber("repetition_penalty", generation.repetitionPenalty))
    return std::move(err);
  if (fields.has("do_sample")) {
    Expected<bool> doSample = fields.boolean("do_sample", false);
    if (!doSample)
      return doSample.takeError();
    generation.doSample = *doSample;
  }
  return generation;
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

namespace {

/// The name a checkpoint tensor has in the archive: Gemma 3 multimodal
/// checkpoints keep the text model under model.language_model. (transformers
/// >= 4.52) or language_model.model. (earlier).
std::string archiveName(StringRef name) {
  if (name.consume_front("model.language_model."))
    return ("model." + name).str();
  if (name.consume_front("language_model.model."))
    return ("model." + name).str();
  if (name.consume_front("language_model.lm_head."))
    return ("lm_head." + name).str();
  return name.str();
}

/// The safetensors files of a checkpoint and where each tensor is.
struct Checkpoint {
  std::vector<std::unique_ptr<SafeTensorsFile>> files;
  /// Tensor name -> (file, view), over all files.
  std::map<std::string, std::pair<const SafeTensorsFile *, const TensorView *>>
      tensors;
};

/// Whether `name` (from an index) is a relative path that stays in its
/// directory.
bool isSafeShardName(StringRef name) {
  if (name.empty() || llvm::sys::path::is_absolute(name))
    return false;
  for (auto it = llvm::sys::path::begin(name), end = llvm::sys::path::end(name);
       it != end; ++it)
    if (*it == "..")
      return false;
  return true;
}

Expected<Checkpoint> openCheckpoint(StringRef dir) {
  Checkpoint checkpoint;
  llvm::SmallString<256> indexPath(dir), singlePath(dir);
  llvm::sys::path::append(indexPath, "model.safetensors.index.json");
  llvm::sys::path::append(singlePath, "model.safetensors");
  // Shard name -> the tensors the index puts there.
  std::map<std::string, std::vector<std::string>> shards;
  bool sharded = llvm::sys::fs::exists(indexPath);
  if (sharded) {
    Expected<json::Object> index = readJsonObject(indexPath);
    if (!index)
      return index.takeError();
    Fields fields(*index, indexPath);
    Expected<const json::Object *> weightMap = fields.objectField("weight_map");
    if (!weightMap)
      return weightMap.takeError();
    if (!*weightMap)
      return fields.error("weight_map", "missing (required)");
    for (const auto &entry : **weightMap) {
      std::optional<StringRef> shard = entry.second.getAsString();
      if (!shard)
        return fields.error("weight_map",
                            "tensor '" + entry.first.str() +
                                "': expected a file name, found " +
                                snippet(entry.second));
      if (!isSafeShardName(*shard))
        return fields.error("weight_map", "tensor '" + entry.first.str() +
                                              "': shard '" + *shard +
                                              "' is not a file inside " + dir);
      shards[shard->str()].push_back(entry.first.str());
    }
    if (shards.empty())
      return fields.error("weight_map", "lists no tensors");
  } else if (llvm::sys::fs::exists(singlePath)) {
    shards["model.safetensors"];
  } else {
    return makeError(dir + ": neither model.safetensors nor "
                           "model.safetensors.index.json exists");
  }

  for (const auto &[shardName, listed] : shards) {
    llvm::SmallString<256> shardPath(dir);
    llvm::sys::path::append(shardPath, shardName);
    if (sharded && !llvm::sys::fs::exists(shardPath))
      return makeError(llvm::formatv("{0}: shard '{1}' ({2} tensors, e.g. "
                                     "'{3}') does not exist: {4}",
                                     indexPath, shardName, listed.size(),
                                     listed.front(), shardPath));
    Expected<std::unique_ptr<SafeTensorsFile>> file =
        SafeTensorsFile::open(shardPath);
    if (!file)
      return file.takeError();
    const SafeTensorsFile *opened = file->get();
    checkpoint.files.push_back(std::move(*file));
    for (const std::string &name : listed)
      if (!opened->lookup(name))
        return makeError(indexPath + ": tensor '" + name + "' is listed in '" +
                         shardName + "', which has no such tensor (" +
                         opened->path() + ")");
    for (const TensorView &tensor : opened->tensors()) {
      auto [it, inserted] =
          checkpoint.tensors.try_emplace(tensor.name, opened, &tensor);
      if (!inserted)
        return makeError(dir + ": tensor '" + tensor.name + "' is in both " +
                         it->second.first->path() + " and " + opened->path());
    }
  }
  return checkpoint;
}

} // namespace

Expected<ArchiveSummary>
writeFloatArchiveFromHf(StringRef dir, const TransformerConfig &config,
                        StringRef archivePath, const ArchiveOptions &options) {
  Expected<Checkpoint> checkpoint = openCheckpoint(dir);
  if (!checkpoint)
    return checkpoint.takeError();
  llvm::StringMap<bool> needed;
  for (const ExpectedTensor &tensor : expectedTensors(config))
    needed[tensor.name] = true;

  std::vector<FloatTensorSource> sources;
  for (const auto &[name, location] : checkpoint->tensors) {
    const auto [file, view] = location;
    FloatTensorSource source;
    source.name = archiveName(name);
    source.shape.assign(view->shape.begin(), view->shape.end());
    source.origin = "'" + name + "' of " + file->path().str();
    source.interleavedRope = false;
    DType dtype = view->dtype;
    if (needed.count(source.name) && dtype != DType::F32 &&
        dtype != DType::F16 && dtype != DType::BF16)
      return makeError(source.origin + ": dtype " + safetensorsName(dtype) +
                       " is not a float type nibble converts (F32, F16, "
                       "BF16)");
    int64_t rowElements = 1;
    for (size_t i = 1; i < view->shape.size(); ++i)
      rowElements *= view->shape[i];
    const uint8_t *bytes = view->bytes.data();
    source.readRows = [bytes, dtype, rowElements](int64_t first, int64_t count,
                                                  float *out) -> Error {
      size_t begin = static_cast<size_t>(first * rowElements);
      size_t elements = static_cast<size_t>(count * rowElements);
      namespace endian = llvm::support::endian;
      switch (dtype) {
      case DType::F32:
        for (size_t i = 0; i < elements; ++i) {
          uint32_t bits = endian::read32le(bytes + 4 * (begin + i));
          std::memcpy(&out[i], &bits, sizeof bits);
        }
        break;
      case DType::F16:
        for (size_t i = 0; i < elements; ++i)
          out[i] = gguf::halfToFloat(endian::read16le(bytes + 2 * (begin + i)));
        break;
      case DType::BF16:
        for (size_t i = 0; i < elements; ++i)
          out[i] =
              gguf::bfloat16ToFloat(endian::read16le(bytes + 2 * (begin + i)));
        break;
      default:
        return makeError("dtype " + safetensorsName(dtype) +
                         " is not converted");
      }
      return Error::success();
    };
    sources.push_back(std::move(source));
  }
  return writeFloatTensors(std::move(sources), config, dir, archivePath,
                           options);
}

} // namespace llm
} // namespace nibble

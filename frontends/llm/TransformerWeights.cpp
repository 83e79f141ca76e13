//===- TransformerWeights.cpp - Expected tensors and the archive writer ---===//
//
// expectedTensors/validateConfig (TransformerWeights.h) and the streaming
// writer GGUF files and Hugging Face directories share (FloatArchive.h).
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/TransformerWeights.h"
#include "frontends/llm/FloatArchive.h"

#include "support/SafeTensors.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace nibble {
namespace llm {

Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message.str());
}

std::string formatNumber(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value || value != value)
      break;
  }
  return text;
}

namespace {

/// Whether `name` is a tensor whose rows follow the RoPE feature order:
/// q/k projections, their biases and their per-head norms.
bool hasRopeRows(StringRef name) {
  for (StringRef suffix :
       {"self_attn.q_proj.weight", "self_attn.q_proj.bias",
        "self_attn.k_proj.weight", "self_attn.k_proj.bias",
        "self_attn.q_norm.weight", "self_attn.k_norm.weight"})
    if (name.ends_with(suffix))
      return true;
  return false;
}

/// The source row of archive row `row` when the archive's RoPE order differs
/// from the source's. Within a head, rotate-half pairs feature j with
/// j + headDim / 2, interleaved pairs 2j with 2j + 1 (llama.cpp's
/// convert_hf_to_gguf.py LlamaModel.permute: reshape(heads, 2, headDim / 2)
/// then swap the two inner axes).
int64_t sourceRopeRow(int64_t row, int64_t headDim, bool toInterleaved) {
  int64_t head = row / headDim, feature = row % headDim, half = headDim / 2;
  int64_t source;
  if (toInterleaved) // archive 2j + h <- source h * half + j
    source = (feature % 2) * half + feature / 2;
  else // archive h * half + j <- source 2j + h
    source = 2 * (feature % half) + feature / half;
  return head * headDim + source;
}

/// Progress of one archive, reported as lines on the options' stream.
struct ProgressReport {
  llvm::raw_ostream *stream = nullptr;
  std::string archive;
  size_t tensorsDone = 0, tensorCount = 0;
  uint64_t bytesDone = 0, totalBytes = 0;
  int lastTenth = -1;

  void tensorDone(uint64_t bytes) {
    ++tensorsDone;
    bytesDone += bytes;
    if (!stream)
      return;
    int tenth = static_cast<int>(10 * tensorsDone / tensorCount);
    if (tenth == lastTenth)
      return;
    lastTenth = tenth;
    *stream << llvm::formatv("nibble: writing {0}: {1}/{2} tensors, {3} of "
                             "{4} MiB\n",
                             archive, tensorsDone, tensorCount, bytesDone >> 20,
                             totalBytes >> 20);
    stream->flush();
  }
};

} // namespace

std::vector<ExpectedTensor> expectedTensors(const TransformerConfig &config) {
  int64_t hidden = config.hiddenSize, headDim = config.headDim;
  int64_t queryRows = config.numHeads * headDim;
  int64_t kvRows = config.numKvHeads * headDim;
  std::vector<ExpectedTensor> tensors;
  auto add = [&](std::string name, llvm::ArrayRef<int64_t> shape) {
    tensors.push_back({std::move(name), {shape.begin(), shape.end()}});
  };
  add("model.embed_tokens.weight", {config.vocabSize, hidden});
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    add(prefix + "input_layernorm.weight", {hidden});
    add(prefix + "self_attn.q_proj.weight", {queryRows, hidden});
    add(prefix + "self_attn.k_proj.weight", {kvRows, hidden});
    add(prefix + "self_attn.v_proj.weight", {kvRows, hidden});
    if (config.attentionBias) {
      add(prefix + "self_attn.q_proj.bias", {queryRows});
      add(prefix + "self_attn.k_proj.bias", {kvRows});
      add(prefix + "self_attn.v_proj.bias", {kvRows});
    }
    add(prefix + "self_attn.o_proj.weight", {hidden, queryRows});
    if (config.queryKeyNorm) {
      add(prefix + "self_attn.q_norm.weight", {headDim});
      add(prefix + "self_attn.k_norm.weight", {headDim});
    }
    add(prefix + "post_attention_layernorm.weight", {hidden});
    if (config.postNorms) {
      add(prefix + "pre_feedforward_layernorm.weight", {hidden});
      add(prefix + "post_feedforward_layernorm.weight", {hidden});
    }
    add(prefix + "mlp.gate_proj.weight", {config.intermediateSize, hidden});
    add(prefix + "mlp.up_proj.weight", {config.intermediateSize, hidden});
    add(prefix + "mlp.down_proj.weight", {hidden, config.intermediateSize});
  }
  add("model.norm.weight", {hidden});
  if (!config.tiedEmbeddings)
    add("lm_head.weight", {config.vocabSize, hidden});
  return tensors;
}

bool isLinearWeight(StringRef hfName, const TransformerConfig &config) {
  if (hfName == "lm_head.weight")
    return !config.tiedEmbeddings;
  if (hfName == "model.embed_tokens.weight")
    return config.tiedEmbeddings;
  if (!hfName.starts_with("model.layers."))
    return false;
  for (StringRef suffix :
       {".self_attn.q_proj.weight", ".self_attn.k_proj.weight",
        ".self_attn.v_proj.weight", ".self_attn.o_proj.weight",
        ".mlp.gate_proj.weight", ".mlp.up_proj.weight",
        ".mlp.down_proj.weight"})
    if (hfName.ends_with(suffix))
      return true;
  return false;
}

void printTransformerConfig(llvm::raw_ostream &os,
                            const TransformerConfig &config) {
  auto flag = [](bool value) { return value ? "true" : "false"; };
  auto number = [](double value) { return llvm::format("%.17g", value); };
  const RopeScaling &scaling = config.ropeScaling;
  StringRef scalingKind = "none";
  switch (scaling.kind) {
  case RopeScaling::Kind::None:
    break;
  case RopeScaling::Kind::Linear:
    scalingKind = "linear";
    break;
  case RopeScaling::Kind::Dynamic:
    scalingKind = "dynamic";
    break;
  case RopeScaling::Kind::Llama3:
    scalingKind = "llama3";
    break;
  }
  os << "architecture: "
     << (config.architecture == Architecture::Llama ? "llama" : "gemma3")
     << "\n";
  os << "vocabSize: " << config.vocabSize << "\n";
  os << "hiddenSize: " << config.hiddenSize << "\n";
  os << "intermediateSize: " << config.intermediateSize << "\n";
  os << "numLayers: " << config.numLayers << "\n";
  os << "numHeads: " << config.numHeads << "\n";
  os << "numKvHeads: " << config.numKvHeads << "\n";
  os << "headDim: " << config.headDim << "\n";
  os << "maxPositions: " << config.maxPositions << "\n";
  os << "rmsNormEpsilon: " << number(config.rmsNormEpsilon) << "\n";
  os << "activation: "
     << (config.activation == Activation::SiLU ? "silu" : "gelu_tanh") << "\n";
  os << "ropeTheta: " << number(config.ropeTheta) << "\n";
  os << "ropeLocalTheta: " << number(config.ropeLocalTheta) << "\n";
  os << "ropeScaling: " << scalingKind;
  if (scaling.kind != RopeScaling::Kind::None)
    os << " factor " << number(scaling.factor);
  if (scaling.kind == RopeScaling::Kind::Llama3)
    os << " low " << number(scaling.lowFreqFactor) << " high "
       << number(scaling.highFreqFactor) << " original "
       << scaling.originalMaxPositions;
  if (!scaling.frequencyFactors.empty())
    os << " frequencyFactors[" << scaling.frequencyFactors.size() << "]";
  os << "\n";
  os << "ropeInterleaved: " << flag(config.ropeInterleaved) << "\n";
  os << "slidingWindow: " << config.slidingWindow << "\n";
  os << "slidingWindowPattern: " << config.slidingWindowPattern << "\n";
  os << "tiedEmbeddings: " << flag(config.tiedEmbeddings) << "\n";
  os << "attentionBias: " << flag(config.attentionBias) << "\n";
  os << "normWeightOffset: " << number(config.normWeightOffset) << "\n";
  os << "scaleEmbeddings: " << flag(config.scaleEmbeddings) << "\n";
  os << "queryKeyNorm: " << flag(config.queryKeyNorm) << "\n";
  os << "postNorms: " << flag(config.postNorms) << "\n";
  os << "queryPreAttentionScalar: " << number(config.queryPreAttentionScalar)
     << "\n";
}

Error validateConfig(const TransformerConfig &config, StringRef source) {
  auto error = [&](const llvm::Twine &message) {
    return makeError(source + ": " + message);
  };
  struct Size {
    const char *name;
    int64_t value;
  };
  for (Size size : {Size{"vocabulary size", config.vocabSize},
                    Size{"hidden size", config.hiddenSize},
                    Size{"intermediate size", config.intermediateSize},
                    Size{"layer count", config.numLayers},
                    Size{"attention head count", config.numHeads},
                    Size{"key/value head count", config.numKvHeads},
                    Size{"head dimension", config.headDim},
                    Size{"context length", config.maxPositions}})
    if (size.value <= 0)
      return error(llvm::formatv("the {0} must be positive, found {1}",
                                 size.name, size.value));
  if (config.numHeads % config.numKvHeads != 0)
    return error(llvm::formatv("{0} attention heads are not a multiple of "
                               "{1} key/value heads",
                               config.numHeads, config.numKvHeads));
  if (config.headDim % 2 != 0)
    return error(llvm::formatv("RoPE needs an even head dimension, found {0}",
                               config.headDim));
  if (!(config.rmsNormEpsilon > 0))
    return error(llvm::formatv("the RMSNorm epsilon must be positive, found "
                               "{0}",
                               formatNumber(config.rmsNormEpsilon)));
  if (!(config.ropeTheta > 0) || config.ropeLocalTheta < 0)
    return error(llvm::formatv("RoPE bases must be positive, found {0} and "
                               "{1}",
                               formatNumber(config.ropeTheta),
                               formatNumber(config.ropeLocalTheta)));
  const RopeScaling &scaling = config.ropeScaling;
  if (scaling.kind != RopeScaling::Kind::None && !(scaling.factor > 0))
    return error(llvm::formatv("the RoPE scaling factor must be positive, "
                               "found {0}",
                               formatNumber(scaling.factor)));
  if (scaling.kind == RopeScaling::Kind::Llama3 &&
      (!(scaling.highFreqFactor > scaling.lowFreqFactor) ||
       !(scaling.lowFreqFactor > 0) || scaling.originalMaxPositions <= 0))
    return error(llvm::formatv("llama3 RoPE scaling needs 0 < "
                               "low_freq_factor < high_freq_factor and a "
                               "positive original context, found {0}, {1}, "
                               "{2}",
                               formatNumber(scaling.lowFreqFactor),
                               formatNumber(scaling.highFreqFactor),
                               scaling.originalMaxPositions));
  if (!scaling.frequencyFactors.empty() &&
      static_cast<int64_t>(scaling.frequencyFactors.size()) !=
          config.headDim / 2)
    return error(llvm::formatv("{0} RoPE frequency factors for a head "
                               "dimension of {1} (expected {2})",
                               scaling.frequencyFactors.size(), config.headDim,
                               config.headDim / 2));
  for (float factor : scaling.frequencyFactors)
    if (!(factor > 0) || !std::isfinite(factor))
      return error(llvm::formatv("RoPE frequency factor {0} is not a "
                                 "positive number",
                                 formatNumber(factor)));
  if (config.slidingWindow < 0 || config.slidingWindowPattern < 0)
    return error(llvm::formatv("sliding window {0} and pattern {1} must not "
                               "be negative",
                               config.slidingWindow,
                               config.slidingWindowPattern));
  if (config.queryPreAttentionScalar < 0)
    return error(llvm::formatv("query_pre_attn_scalar must not be negative, "
                               "found {0}",
                               formatNumber(config.queryPreAttentionScalar)));
  return Error::success();
}

namespace {

/// Adds the packed tensors of `source` ([rows, cols] as floats) to `writer`
/// as generated tensors, rows reordered like the float tensor's when
/// `reorder`, and records the layout in the metadata and `summary`.
Error addPackedTensors(SafeTensorsWriter &writer,
                       const PackedTensorSource &source, int64_t rows,
                       int64_t cols, bool reorder, bool toInterleaved,
                       int64_t headDim, ArchiveSummary &summary) {
  const PackedWeightLayout &layout = source.layout;
  int64_t groups = cols / layout.groupSize;
  int64_t scaleBytes = layout.f16Scales ? 2 : 4;
  DType scaleType = layout.f16Scales ? DType::F16 : DType::F32;
  struct Part {
    const char *suffix;
    DType dtype;
    int64_t rowBytes;
    std::vector<uint8_t> PackedRows::*bytes;
  };
  llvm::SmallVector<Part, 3> parts = {
      {"qweight", DType::I8, cols * layout.containerBits() / 8,
       &PackedRows::codes},
      {"scales", scaleType, groups * scaleBytes, &PackedRows::scales}};
  if (layout.hasMins)
    parts.push_back(
        {"mins", scaleType, groups * scaleBytes, &PackedRows::mins});
  const PackedTensorSource *packed = &source;
  for (const Part &part : parts) {
    int64_t width =
        part.dtype == DType::I8 ? part.rowBytes : part.rowBytes / scaleBytes;
    auto generate = [packed, part, rows, reorder, toInterleaved,
                     headDim](SafeTensorsWriter::ByteSink emit) -> Error {
      // About 1 MiB of codes at a time; one row at a time when reordering.
      int64_t chunkRows =
          reorder
              ? 1
              : std::max<int64_t>(1, (int64_t(1) << 20) /
                                         std::max<int64_t>(1, part.rowBytes));
      PackedRows buffer;
      for (int64_t row = 0; row < rows; row += chunkRows) {
        int64_t count = std::min(chunkRows, rows - row);
        int64_t sourceRow =
            reorder ? sourceRopeRow(row, headDim, toInterleaved) : row;
        if (Error err = packed->readRows(sourceRow, count, buffer))
          return err;
        const std::vector<uint8_t> &bytes = buffer.*(part.bytes);
        if (static_cast<int64_t>(bytes.size()) != count * part.rowBytes)
          return makeError(llvm::formatv(
              "{0}: packed {1} of {2} rows has {3} bytes, expected {4}",
              packed->name, part.suffix, count, bytes.size(),
              count * part.rowBytes));
        emit(bytes);
      }
      return Error::success();
    };
    if (Error err = writer.addGeneratedTensor(
            packedTensorName(source.name, part.suffix), part.dtype,
            {rows, width}, generate))
      return err;
    summary.dataBytes += static_cast<uint64_t>(rows * part.rowBytes);
    ++summary.tensorCount;
  }
  writer.setMetadata((kPackedMetadataPrefix + source.name).str(),
                     layout.encode());
  summary.packedWeights[source.name] = layout;
  return Error::success();
}

} // namespace

Expected<ArchiveSummary>
writeFloatTensors(std::vector<FloatTensorSource> sources,
                  const TransformerConfig &config, StringRef sourceName,
                  StringRef archivePath, const ArchiveOptions &options,
                  std::vector<std::string> alreadyIgnored,
                  std::vector<PackedTensorSource> packed) {
  llvm::StringMap<size_t> sourceIndex;
  for (size_t i = 0; i < sources.size(); ++i)
    if (!sourceIndex.try_emplace(sources[i].name, i).second)
      return makeError(sourceName + ": two tensors map to '" + sources[i].name +
                       "': " + sources[sourceIndex[sources[i].name]].origin +
                       " and " + sources[i].origin);

  std::vector<ExpectedTensor> expected = expectedTensors(config);
  std::vector<std::string> missing, wrongShapes;
  llvm::StringMap<bool> needed;
  for (const ExpectedTensor &tensor : expected) {
    needed[tensor.name] = true;
    auto found = sourceIndex.find(tensor.name);
    if (found == sourceIndex.end()) {
      missing.push_back(tensor.name);
      continue;
    }
    const FloatTensorSource &source = sources[found->second];
    if (llvm::ArrayRef<int64_t>(source.shape) !=
        llvm::ArrayRef<int64_t>(tensor.shape))
      wrongShapes.push_back(source.origin + " (" + tensor.name +
                            "): expected shape " + formatShape(tensor.shape) +
                            ", found " + formatShape(source.shape));
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string &name : missing)
      list += (list.empty() ? "" : ", ") + name;
    return makeError(llvm::formatv("{0}: {1} of the {2} tensors the model "
                                   "needs are missing: {3}",
                                   sourceName, missing.size(), expected.size(),
                                   list));
  }
  if (!wrongShapes.empty()) {
    std::string list;
    for (const std::string &line : wrongShapes)
      list += "\n  " + line;
    return makeError(sourceName + ": tensors with the wrong shape:" + list);
  }

  // Packed tensors: matrices of the archive whose rows are whole groups.
  llvm::StringMap<const PackedTensorSource *> packedIndex;
  for (const PackedTensorSource &source : packed) {
    auto found = sourceIndex.find(source.name);
    if (!needed.count(source.name) || found == sourceIndex.end())
      return makeError(sourceName + ": tensor '" + source.name +
                       "' is to be kept packed but the model has no such "
                       "weight");
    const FloatTensorSource &floatSource = sources[found->second];
    const PackedWeightLayout &layout = source.layout;
    int64_t cols = floatSource.shape.size() == 2 ? floatSource.shape[1] : 0;
    if (cols == 0 || layout.groupSize <= 0 || cols % layout.groupSize != 0 ||
        (cols * layout.containerBits()) % 8 != 0)
      return makeError(floatSource.origin + " (" + source.name +
                       "): cannot be kept packed as " + layout.encode() +
                       ": expected a matrix whose rows are whole groups, "
                       "found shape " +
                       formatShape(floatSource.shape));
    if (!packedIndex.try_emplace(source.name, &source).second)
      return makeError(sourceName + ": tensor '" + source.name +
                       "' is to be kept packed twice");
  }

  ArchiveSummary summary;
  summary.ignoredTensors = std::move(alreadyIgnored);
  for (const FloatTensorSource &source : sources)
    if (!needed.count(source.name))
      summary.ignoredTensors.push_back(source.origin);

  ProgressReport progress;
  progress.archive = archivePath.str();
  progress.tensorCount = expected.size();
  // Progress counts the float tensors (packed ones are a fraction of them).
  for (const ExpectedTensor &tensor : expected) {
    auto packedSource = packedIndex.find(tensor.name);
    if (packedSource != packedIndex.end() && !packedSource->second->alsoFloat) {
      --progress.tensorCount;
      continue;
    }
    int64_t elements = 1;
    for (int64_t dim : tensor.shape)
      elements *= dim;
    progress.totalBytes += static_cast<uint64_t>(elements) * sizeof(float);
  }
  if (progress.totalBytes > options.progressMinBytes)
    progress.stream = options.progress;

  SafeTensorsWriter writer;
  writer.setMetadata("format", "pt");
  for (const ExpectedTensor &tensor : expected) {
    const FloatTensorSource *source = &sources[sourceIndex[tensor.name]];
    int64_t rows = tensor.shape[0];
    int64_t rowElements = 1;
    for (size_t i = 1; i < tensor.shape.size(); ++i)
      rowElements *= tensor.shape[i];
    bool reorder = hasRopeRows(tensor.name) &&
                   source->interleavedRope != config.ropeInterleaved;
    if (reorder && rows % config.headDim != 0)
      return makeError(source->origin + ": " + std::to_string(rows) +
                       " rows are not whole heads of " +
                       std::to_string(config.headDim));
    bool toInterleaved = config.ropeInterleaved;
    int64_t headDim = config.headDim;
    auto packedSource = packedIndex.find(tensor.name);
    if (packedSource != packedIndex.end()) {
      if (Error err =
              addPackedTensors(writer, *packedSource->second, rows, rowElements,
                               reorder, toInterleaved, headDim, summary))
        return err;
      if (!packedSource->second->alsoFloat)
        continue;
    }
    auto generate = [source, rows, rowElements, reorder, toInterleaved, headDim,
                     &progress](SafeTensorsWriter::ByteSink emit) -> Error {
      // About 4 MiB of rows at a time; one row at a time when reordering.
      int64_t chunkRows =
          reorder ? 1 : std::max<int64_t>(1, (int64_t(1) << 20) / rowElements);
      std::vector<float> buffer(
          static_cast<size_t>(std::min(chunkRows, rows) * rowElements));
      for (int64_t row = 0; row < rows; row += chunkRows) {
        int64_t count = std::min(chunkRows, rows - row);
        int64_t sourceRow =
            reorder ? sourceRopeRow(row, headDim, toInterleaved) : row;
        if (Error err = source->readRows(sourceRow, count, buffer.data()))
          return err;
        emit(llvm::ArrayRef<uint8_t>(
            reinterpret_cast<const uint8_t *>(buffer.data()),
            static_cast<size_t>(count * rowElements) * sizeof(float)));
      }
      progress.tensorDone(static_cast<uint64_t>(rows * rowElements) *
                          sizeof(float));
      return Error::success();
    };
    if (Error err = writer.addGeneratedTensor(tensor.name, DType::F32,
                                              tensor.shape, generate))
      return err;
    summary.dataBytes +=
        static_cast<uint64_t>(rows * rowElements) * sizeof(float);
    ++summary.tensorCount;
  }
  if (Error err = writer.write(archivePath))
    return std::move(err);
  return summary;
}

} // namespace llm
} // namespace nibble

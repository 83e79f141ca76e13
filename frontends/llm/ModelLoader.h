//===- ModelLoader.h - GGUF or HF model to config and archive ---*- C++ -*-===//
//
// One call for drivers: recognize the input (a GGUF file or a Hugging Face
// model directory), read its TransformerConfig and write its float32 weight
// archive under Hugging Face's names (TransformerWeights.h).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_MODELLOADER_H
#define NIBBLE_FRONTENDS_LLM_MODELLOADER_H

#include "frontends/llm/HfModel.h"
#include "frontends/llm/TransformerConfig.h"
#include "frontends/llm/TransformerWeights.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace nibble {
namespace llm {

/// How loadModel reads a model.
struct LoadOptions {
  /// For GGUF "llama" files, whose q/k rows llama.cpp permuted for
  /// interleaved RoPE: put them back in Hugging Face's rotate-half order
  /// (config.ropeInterleaved = false), so the archive equals the original
  /// checkpoint's tensors up to quantization. Other inputs are rotate-half
  /// already.
  bool rotateHalfRope = false;
  /// For GGUF files: write linear weights whose ggml type nibble's schemes
  /// represent exactly (GgufPacking.h) in their packed form, so the builder
  /// makes them nibble.qlinear over the file's own codes (the summary's
  /// packedWeights and quantizationReport, printed to archive.progress, say
  /// which). An error for a Hugging Face directory: it has nothing to keep.
  bool keepQuantization = false;
  ArchiveOptions archive;
};

/// A model read by loadModel.
struct LoadedModel {
  enum class Format { Gguf, HfDirectory };
  Format format = Format::Gguf;
  /// The GGUF file or the directory, as given.
  std::string sourcePath;
  TransformerConfig config;
  /// The archive written.
  std::string archivePath;
  /// Where the tokenizer is: the GGUF file itself (tokenizer.ggml.* keys) or
  /// <dir>/tokenizer.json ("" when the directory has none).
  std::string tokenizerPath;
  /// generation_config.json of a directory, when present.
  std::optional<GenerationConfig> generation;
  /// What writing the archive did (archive.packedWeights: the weights kept
  /// packed, for BuildOptions::packedWeights).
  ArchiveSummary archive;
};

/// Reads the model at `pathToGgufOrHfDir` (a directory: Hugging Face; a file
/// starting with "GGUF": GGUF) and writes its archive to `archiveOutPath`.
/// Errors name the input and what is wrong (see readGgufConfig,
/// readHfConfig and the writeFloatArchiveFrom* functions).
llvm::Expected<LoadedModel> loadModel(llvm::StringRef pathToGgufOrHfDir,
                                      llvm::StringRef archiveOutPath,
                                      const LoadOptions &options = {});

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_MODELLOADER_H

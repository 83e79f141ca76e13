//===- ModelLoader.cpp - A GGUF file or HF directory to config + archive --===//

#include "frontends/llm/ModelLoader.h"

#include "frontends/llm/FloatArchive.h"
#include "frontends/llm/GgufModel.h"
#include "runtime/Gguf.h"
#include "runtime/nibble_runtime.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace nibble {
namespace llm {

namespace {

/// Whether the file at `path` starts with GGUF's magic.
Expected<bool> startsWithGgufMagic(StringRef path) {
  Expected<llvm::sys::fs::file_t> file =
      llvm::sys::fs::openNativeFileForRead(path);
  if (!file)
    return makeError(path +
                     ": cannot open: " + llvm::toString(file.takeError()));
  char magic[4] = {};
  Expected<size_t> read = llvm::sys::fs::readNativeFile(
      *file, llvm::MutableArrayRef<char>(magic, sizeof magic));
  llvm::sys::fs::closeFile(*file);
  if (!read)
    return makeError(path +
                     ": cannot read: " + llvm::toString(read.takeError()));
  return *read == 4 && StringRef(magic, 4) == "GGUF";
}

} // namespace

Expected<LoadedModel> loadModel(StringRef pathToGgufOrHfDir,
                                StringRef archiveOutPath,
                                const LoadOptions &options) {
  LoadedModel model;
  model.sourcePath = pathToGgufOrHfDir.str();
  model.archivePath = archiveOutPath.str();
  if (llvm::sys::fs::is_directory(pathToGgufOrHfDir)) {
    if (options.keepQuantization)
      return makeError(pathToGgufOrHfDir +
                       ": keeping the quantization needs a GGUF file; a "
                       "Hugging Face directory's weights are float (quantize "
                       "them with a scheme instead)");
    model.format = LoadedModel::Format::HfDirectory;
    Expected<TransformerConfig> config = readHfConfig(pathToGgufOrHfDir);
    if (!config)
      return config.takeError();
    model.config = std::move(*config);
    Expected<std::optional<GenerationConfig>> generation =
        readHfGenerationConfig(pathToGgufOrHfDir);
    if (!generation)
      return generation.takeError();
    model.generation = std::move(*generation);
    llvm::SmallString<256> tokenizer(pathToGgufOrHfDir);
    llvm::sys::path::append(tokenizer, "tokenizer.json");
    if (llvm::sys::fs::exists(tokenizer))
      model.tokenizerPath = tokenizer.str().str();
    Expected<ArchiveSummary> summary = writeFloatArchiveFromHf(
        pathToGgufOrHfDir, model.config, archiveOutPath, options.archive);
    if (!summary)
      return summary.takeError();
    model.archive = std::move(*summary);
    return model;
  }

  if (!llvm::sys::fs::exists(pathToGgufOrHfDir))
    return makeError(pathToGgufOrHfDir + ": no such file or directory");
  Expected<bool> isGguf = startsWithGgufMagic(pathToGgufOrHfDir);
  if (!isGguf)
    return isGguf.takeError();
  if (!*isGguf)
    return makeError(pathToGgufOrHfDir +
                     ": neither a GGUF file (no 'GGUF' magic) nor a Hugging "
                     "Face model directory");
  model.format = LoadedModel::Format::Gguf;
  model.tokenizerPath = model.sourcePath;
  runtime::GgufFile file;
  if (file.open(model.sourcePath) != NIBBLE_OK)
    return makeError(nibble_last_error());
  Expected<TransformerConfig> config = readGgufConfig(file, pathToGgufOrHfDir);
  if (!config)
    return config.takeError();
  model.config = std::move(*config);
  if (options.rotateHalfRope)
    model.config.ropeInterleaved = false;
  Expected<ArchiveSummary> summary = writeFloatArchiveFromGguf(
      file, pathToGgufOrHfDir, model.config, archiveOutPath, options.archive,
      options.keepQuantization);
  if (!summary)
    return summary.takeError();
  model.archive = std::move(*summary);
  if (options.archive.progress && !model.archive.quantizationReport.empty()) {
    *options.archive.progress << "nibble: " << model.archive.quantizationReport
                              << "\n";
    options.archive.progress->flush();
  }
  return model;
}

} // namespace llm
} // namespace nibble

//===- LlmCommands.cpp - nibble-run's LLM subcommands ---------------------===//
//
//   nibble-run generate MODEL --prompt TEXT [--chat] [sampling options]
//   nibble-run perplexity MODEL TEXT... [--ctx 512] [--windows N]
//   nibble-run logits MODEL --tokens 1,2,3 -o logits.npy
//   nibble-run chat MODEL [sampling options]      (one message per line)
//   nibble-run bench MODEL [--threads 1,2] [--prefill 32,128,512]
//                          [--decode-at 128,1024]
//
//===----------------------------------------------------------------------===//

#include "tools/nibble-run/LlmCommands.h"

#include "compiler/Driver/JitLanguageModel.h"
#include "compiler/Driver/ModelLibrary.h"
#include "compiler/Target/Target.h"
#include "dialects/NibbleOps.h"
#include "frontends/llm/GgufModel.h"
#include "frontends/llm/ModelLoader.h"
#include "frontends/llm/TransformerBuilder.h"
#include "passes/Passes.h"
#include "passes/WeightStore.h"
#include "runtime/ChatSession.h"
#include "runtime/ChatTemplate.h"
#include "runtime/Generation.h"
#include "runtime/LanguageModelBench.h"
#include "runtime/LibraryLanguageModel.h"
#include "runtime/Tokenizer.h"
#include "support/Npy.h"
#include "support/OutputFiles.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <unistd.h>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::SubCommand generateCommand("generate",
                               "Generate text from a prompt (streamed), then "
                               "print prefill and decode tokens/s");
cl::SubCommand
    perplexityCommand("perplexity",
                      "Perplexity of a text in llama.cpp's windows (the second "
                      "half of each window of --ctx tokens is scored)");
cl::SubCommand benchCommand("bench",
                            "Prefill and decode tokens/s, as llama-bench "
                            "measures them");
cl::SubCommand chatCommand("chat",
                           "Chat with the model in its chat template (one "
                           "user turn per line of stdin)");
cl::SubCommand logitsCommand("logits",
                             "Write the logits of every position of a token "
                             "sequence to an .npy file");

// Options every LLM subcommand takes.
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model.gguf | hf-directory | "
                                        "model.mlir | model.so>"),
                               cl::sub(generateCommand),
                               cl::sub(perplexityCommand),
                               cl::sub(logitsCommand), cl::sub(benchCommand),
                               cl::sub(chatCommand));
cl::opt<std::string>
    tokenizerPath("tokenizer",
                  cl::desc("Tokenizer (GGUF or tokenizer.json) of a .mlir "
                           "model, or instead of the one a .so names"),
                  cl::value_desc("file"), cl::sub(generateCommand),
                  cl::sub(chatCommand), cl::sub(perplexityCommand));
cl::opt<int64_t> capacity("capacity",
                          cl::desc("KV cache capacity in tokens (the longest "
                                   "context)"),
                          cl::init(2048), cl::sub(generateCommand),
                          cl::sub(perplexityCommand), cl::sub(logitsCommand),
                          cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<unsigned> llmThreads("num-threads",
                             cl::desc("Threads (0: $NIBBLE_NUM_THREADS, else "
                                      "every CPU)"),
                             cl::init(0), cl::sub(generateCommand),
                             cl::sub(perplexityCommand), cl::sub(logitsCommand),
                             cl::sub(benchCommand), cl::sub(chatCommand));

cl::opt<std::string> dumpModule(
    "dump-module",
    cl::desc("Write the model's nibble IR (before lowering) to this file"),
    cl::value_desc("file.mlir"), cl::sub(generateCommand),
    cl::sub(perplexityCommand), cl::sub(logitsCommand), cl::sub(benchCommand),
    cl::sub(chatCommand));

cl::opt<std::string> quantScheme(
    "scheme",
    cl::desc("Quantize every linear with RTN as this #nibble.scheme body "
             "says before compiling, e.g. \"w8, channel\" or \"w4, group = "
             "128\" (packed weights cached next to the float archive)"),
    cl::sub(generateCommand), cl::sub(perplexityCommand),
    cl::sub(logitsCommand), cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<bool> keepQuantization(
    "keep-quantization",
    cl::desc("GGUF models: keep the file's quantized linear weights (Q4_0, "
             "Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K) as nibble.qlinear over "
             "their own codes instead of dequantizing them to f32 (archive "
             "cached apart from the float one)"),
    cl::sub(generateCommand), cl::sub(perplexityCommand),
    cl::sub(logitsCommand), cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<bool> int8Activations(
    "int8-activations",
    cl::desc("With --keep-quantization: the kept linears quantize their "
             "input to int8 with one scale per 32 values (act = int8_dynamic, "
             "act_group = 32, as llama.cpp's Q8_0 blocks), so integer codes "
             "run on 8-bit dot products; changes the numbers"),
    cl::sub(generateCommand), cl::sub(perplexityCommand),
    cl::sub(logitsCommand), cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<nibble::KernelChoice>
    llmKernels("kernels", cl::desc("Lowering of linear layers"),
               cl::init(nibble::KernelChoice::Fast),
               nibble::kernelChoiceValues(), cl::sub(generateCommand),
               cl::sub(perplexityCommand), cl::sub(logitsCommand),
               cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<bool> interleaveWeights(
    "interleave-weights",
    cl::desc("Compiled models (not --jit): lay out the quantized weights "
             "for the kernels at compile time (nibble-cpu-interleave-weights; "
             "--kernels=fast); the library then reads them from a file next "
             "to it"),
    cl::init(true), cl::sub(generateCommand), cl::sub(perplexityCommand),
    cl::sub(logitsCommand), cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<bool> useJit(
    "jit",
    cl::desc("GGUF and Hugging Face models: run through the in-process JIT "
             "(compiled on every run) instead of a library compiled once and "
             "cached"),
    cl::sub(generateCommand), cl::sub(perplexityCommand),
    cl::sub(logitsCommand), cl::sub(benchCommand), cl::sub(chatCommand));
cl::opt<int64_t> layerLimit(
    "layers",
    cl::desc("Build only the first N decoder layers (for debugging the "
             "compiler; the output is not the model's)"),
    cl::init(0), cl::Hidden, cl::sub(generateCommand),
    cl::sub(perplexityCommand), cl::sub(logitsCommand), cl::sub(benchCommand),
    cl::sub(chatCommand));

// generate.
cl::opt<std::string> prompt("prompt", cl::desc("The prompt"),
                            cl::sub(generateCommand), cl::Required);
cl::opt<bool> chat("chat",
                   cl::desc("Wrap the prompt in the model's chat template "
                            "as one user turn"),
                   cl::sub(generateCommand));
cl::opt<std::string> chatTemplateName(
    "chat-template",
    cl::desc("Chat template when the model declares none: chatml or gemma"),
    cl::sub(generateCommand), cl::sub(chatCommand));
cl::opt<std::string> systemPrompt("system",
                                  cl::desc("System prompt (with --chat)"),
                                  cl::sub(generateCommand),
                                  cl::sub(chatCommand));
cl::opt<int64_t> maxTokens("max-tokens", cl::desc("Tokens to generate"),
                           cl::init(128), cl::sub(generateCommand),
                           cl::sub(chatCommand));
cl::opt<float> temperature("temperature",
                           cl::desc("Sampling temperature (0: greedy)"),
                           cl::init(0.0f), cl::sub(generateCommand),
                           cl::sub(chatCommand));
cl::opt<int64_t> topK("top-k", cl::desc("Keep the k most likely (0: all)"),
                      cl::init(40), cl::sub(generateCommand),
                      cl::sub(chatCommand));
cl::opt<float> topP("top-p", cl::desc("Nucleus sampling mass"), cl::init(0.95f),
                    cl::sub(generateCommand), cl::sub(chatCommand));
cl::opt<float> minP("min-p",
                    cl::desc("Minimum probability relative to the "
                             "most likely token"),
                    cl::init(0.05f), cl::sub(generateCommand),
                    cl::sub(chatCommand));
cl::opt<float> repeatPenalty("repeat-penalty",
                             cl::desc("Repetition penalty (1: none)"),
                             cl::init(1.0f), cl::sub(generateCommand),
                             cl::sub(chatCommand));
cl::opt<uint64_t> seed("seed", cl::desc("Random seed"), cl::init(0),
                       cl::sub(generateCommand), cl::sub(chatCommand));
cl::list<std::string> stopStrings("stop", cl::desc("Stop at this text"),
                                  cl::sub(generateCommand),
                                  cl::sub(chatCommand));

// chat.
cl::opt<bool> chatReprefill(
    "reprefill",
    cl::desc("Prefill the whole conversation every turn instead of only "
             "what the KV cache does not hold (for checking)"),
    cl::Hidden, cl::sub(chatCommand));

// bench.
cl::list<int64_t> benchThreads(
    "threads",
    cl::desc("Thread counts to measure, e.g. 1,2 (default: --num-threads)"),
    cl::CommaSeparated, cl::sub(benchCommand));
cl::list<int64_t>
    benchPrefill("prefill",
                 cl::desc("Prompt lengths to prefill (default 32,128,512)"),
                 cl::CommaSeparated, cl::sub(benchCommand));
cl::list<int64_t>
    benchDecodeAt("decode-at",
                  cl::desc("Contexts to decode after (default 128,1024)"),
                  cl::CommaSeparated, cl::sub(benchCommand));
cl::opt<int64_t> benchDecodeTokens("decode-tokens",
                                   cl::desc("Decode steps timed per context"),
                                   cl::init(32), cl::sub(benchCommand));
cl::opt<int> benchRepetitions("repetitions",
                              cl::desc("Repetitions (the median is kept)"),
                              cl::init(3), cl::sub(benchCommand));

// perplexity.
cl::list<std::string> textFiles(cl::Positional, cl::OneOrMore,
                                cl::desc("<text files, concatenated>"),
                                cl::sub(perplexityCommand));
cl::opt<int64_t> contextSize("ctx", cl::desc("Tokens per window"),
                             cl::init(512), cl::sub(perplexityCommand));
cl::opt<bool> printWindows("print-windows",
                           cl::desc("Print each window's summed negative "
                                    "log-likelihood"),
                           cl::sub(perplexityCommand));
cl::opt<int64_t> windowLimit("windows",
                             cl::desc("Score at most this many windows (-1: "
                                      "all)"),
                             cl::init(-1), cl::sub(perplexityCommand));

// logits.
cl::list<int32_t> tokenIds("tokens",
                           cl::desc("Token ids: write every position's logits"),
                           cl::CommaSeparated, cl::sub(logitsCommand));
cl::opt<std::string> tokensFile(
    "tokens-file",
    cl::desc("Sequences of token ids, one comma-separated line each: write "
             "each one's last-position logits (a row of -o)"),
    cl::value_desc("file"), cl::sub(logitsCommand));
cl::opt<int64_t> greedyTokens(
    "greedy",
    cl::desc("With --tokens-file: also continue each sequence greedily for "
             "N tokens (argmax, not stopping at EOS), ids to --greedy-output"),
    cl::init(0), cl::sub(logitsCommand));
cl::opt<std::string> greedyOutput("greedy-output",
                                  cl::desc("Greedy continuations (.npy, "
                                           "int32 [sequences, N])"),
                                  cl::sub(logitsCommand));
cl::opt<std::string> logitsOutput("o", cl::desc("Output .npy file"),
                                  cl::Required, cl::sub(logitsCommand));

int toolFailure(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "nibble-run") << message << "\n";
  return 1;
}

/// A model ready to run, and its tokenizer.
struct OpenedModel {
  std::unique_ptr<nibble::runtime::LanguageModel> model;
  nibble::runtime::Tokenizer tokenizer;
  bool hasTokenizer = false;
};

/// The directory of nibble-run's caches: $NIBBLE_CACHE_DIR, else
/// ~/.cache/nibble, else /tmp/nibble-cache.
std::string cacheDirectory() {
  if (std::optional<std::string> cache =
          llvm::sys::Process::GetEnv("NIBBLE_CACHE_DIR"))
    return *cache;
  llvm::SmallString<256> dir;
  if (std::optional<std::string> home = llvm::sys::Process::GetEnv("HOME"))
    llvm::sys::path::append(dir, *home, ".cache", "nibble");
  else
    dir = "/tmp/nibble-cache";
  return std::string(dir);
}

/// "size-mtime" of `path` ("0-0" if it cannot be read).
std::string fileStamp(StringRef path) {
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status))
    return "0-0";
  return std::to_string(status.getSize()) + "-" +
         std::to_string(
             status.getLastModificationTime().time_since_epoch().count());
}

/// Where the float archive of `source` is cached: keyed by the source's
/// name, size and modification time (of config.json for a directory).
std::string cachedArchivePath(StringRef source) {
  llvm::SmallString<256> dir(cacheDirectory());
  llvm::sys::path::append(dir, "archives");
  llvm::SmallString<256> key(source);
  if (llvm::sys::fs::is_directory(source))
    llvm::sys::path::append(key, "config.json");
  std::string name = llvm::sys::path::filename(
                         llvm::sys::path::remove_leading_dotslash(source))
                         .str();
  llvm::sys::path::append(dir,
                          name + "-" + fileStamp(key) + ".f32.safetensors");
  return std::string(dir);
}

/// Compiles `module` (in place) into a library in the cache, keyed by
/// `archive` (the weights it reads in place, whose name already encodes the
/// source) and everything else that shapes the code (capacity, layers, this
/// nibble-run), or finds it compiled already. Returns the library's path.
llvm::Expected<std::string> compiledLibrary(ModuleOp module, StringRef archive,
                                            StringRef tokenizerSource) {
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  llvm::SmallString<256> absoluteArchive(archive);
  if (std::error_code ec = llvm::sys::fs::make_absolute(absoluteArchive))
    return error("cannot resolve " + archive + ": " + ec.message());
  bool interleaving =
      interleaveWeights && llmKernels == nibble::KernelChoice::Fast;
  std::string self =
      llvm::sys::fs::getMainExecutable("nibble-run", (void *)&cacheDirectory);
  std::string key = std::string(absoluteArchive) + "|" + fileStamp(archive) +
                    "|capacity=" + std::to_string(capacity) +
                    "|layers=" + std::to_string(layerLimit) +
                    "|kernels=" + std::to_string(int(llmKernels.getValue())) +
                    "|int8-activations=" + std::to_string(int8Activations) +
                    "|interleave-weights=" + std::to_string(interleaving) +
                    "|" + self + "|" + fileStamp(self);
  llvm::SmallString<256> dir(cacheDirectory());
  llvm::sys::path::append(
      dir, "compiled",
      llvm::sys::path::stem(archive) + "-" +
          llvm::utohexstr(llvm::xxh3_64bits(StringRef(key))));
  llvm::SmallString<256> library(dir);
  llvm::sys::path::append(library, "model.so");
  if (llvm::sys::fs::exists(library))
    return std::string(library);

  // Built in a private directory, renamed into place when complete.
  llvm::errs() << "nibble-run: compiling " << modelPath << " (cached in " << dir
               << ")\n";
  llvm::SmallString<256> building(dir);
  building += ".tmp-" + std::to_string(llvm::sys::Process::getProcessId());
  if (std::error_code ec = llvm::sys::fs::create_directories(building))
    return error("cannot create " + building + ": " + ec.message());
  llvm::Expected<nibble::TargetSpec> target =
      nibble::resolveTarget("host", "", "");
  if (!target)
    return target.takeError();
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      nibble::createTargetMachine(*target);
  if (!machine)
    return machine.takeError();
  nibble::ScratchDirectory scratch("nibble-run");
  nibble::LibraryOutput output;
  llvm::SmallString<256> stem(building);
  llvm::sys::path::append(stem, "model");
  output.stem = std::string(stem);
  nibble::ModelSpec spec;
  spec.modelName = llvm::sys::path::stem(modelPath).str();
  // The library reads the archive in place, or the interleaved weights,
  // written once as its sidecar.
  spec.weightsFile = std::string(absoluteArchive);
  if (interleaving) {
    FailureOr<bool> moved = nibble::interleaveWeights(
        module, **machine, output.stem + ".weights.safetensors");
    if (failed(moved)) {
      llvm::sys::fs::remove_directories(building);
      return error("interleaving the weights of " + modelPath + " failed");
    }
    if (*moved)
      spec.weightsFile.clear();
  }
  spec.tokenizerSource = tokenizerSource.str();
  spec.kernels = llmKernels;
  output.path = output.stem + ".so";
  output.target = *target;
  output.runtimeLibDir = nibble::runtimeLibraryDir("nibble-run", *target);
  output.runtimeIncludeDir = NIBBLE_RUNTIME_INCLUDE_DIR;
  if (llvm::Error built =
          nibble::buildModelLibrary(module, spec, output, **machine, scratch)) {
    llvm::sys::fs::remove_directories(building);
    return std::move(built);
  }
  // Another run may have put its library in place first: keep that one.
  if (llvm::sys::fs::rename(building, dir))
    llvm::sys::fs::remove_directories(building);
  return std::string(library);
}

/// Runs nibble-rtn with --scheme, writing the packed weights to
/// `archivePath`.
LogicalResult quantizeModule(ModuleOp module, StringRef archivePath) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  nibble::NibbleRTNOptions options;
  options.schemeText = quantScheme;
  options.outputWeights = archivePath.str();
  pm.addPass(nibble::createNibbleRTN(options));
  return pm.run(module);
}

/// The config of `source` whose archive `archive` was written before.
llvm::Expected<nibble::llm::LoadedModel> loadCachedModel(StringRef source,
                                                         StringRef archive) {
  nibble::llm::LoadedModel loaded;
  loaded.sourcePath = source.str();
  loaded.archivePath = archive.str();
  if (llvm::sys::fs::is_directory(source)) {
    llvm::Expected<nibble::llm::TransformerConfig> config =
        nibble::llm::readHfConfig(source);
    if (!config)
      return config.takeError();
    loaded.format = nibble::llm::LoadedModel::Format::HfDirectory;
    loaded.config = *config;
    llvm::SmallString<256> tokenizer(source);
    llvm::sys::path::append(tokenizer, "tokenizer.json");
    if (llvm::sys::fs::exists(tokenizer))
      loaded.tokenizerPath = std::string(tokenizer);
    return std::move(loaded);
  }
  nibble::runtime::GgufFile file;
  if (file.open(source.str()) != NIBBLE_OK)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   nibble_last_error());
  llvm::Expected<nibble::llm::TransformerConfig> config =
      nibble::llm::readGgufConfig(file, source);
  if (!config)
    return config.takeError();
  loaded.config = *config;
  loaded.tokenizerPath = source.str();
  return std::move(loaded);
}

/// Opens a model compiled by nibblec (model.so) and the tokenizer it names
/// (or --tokenizer).
llvm::Expected<OpenedModel> openCompiledModel() {
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  for (const llvm::cl::Option *option :
       {static_cast<const llvm::cl::Option *>(&capacity),
        static_cast<const llvm::cl::Option *>(&quantScheme),
        static_cast<const llvm::cl::Option *>(&dumpModule),
        static_cast<const llvm::cl::Option *>(&layerLimit),
        static_cast<const llvm::cl::Option *>(&keepQuantization),
        static_cast<const llvm::cl::Option *>(&int8Activations),
        static_cast<const llvm::cl::Option *>(&useJit)})
    if (option->getNumOccurrences())
      return error("--" + option->ArgStr +
                   " applies when nibble-run compiles the model; " + modelPath +
                   " is compiled already (give it to nibblec)");
  if (llmThreads > 0 &&
      nibble_set_num_threads(static_cast<int32_t>(llmThreads)) != NIBBLE_OK)
    return error(nibble_last_error());
  std::unique_ptr<nibble::runtime::LibraryLanguageModel> library;
  if (nibble::runtime::LibraryLanguageModel::open(modelPath, library) !=
      NIBBLE_OK)
    return error(nibble_last_error());
  OpenedModel opened;
  std::string tokenizerSource =
      tokenizerPath.empty() ? library->tokenizerPath() : tokenizerPath;
  if (!tokenizerSource.empty()) {
    if (opened.tokenizer.open(tokenizerSource) != NIBBLE_OK)
      return error(nibble_last_error());
    opened.hasTokenizer = true;
  }
  opened.model = std::move(library);
  return std::move(opened);
}

llvm::Expected<OpenedModel> openModel(MLIRContext &context) {
  auto error = [](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  };
  if (StringRef(modelPath).ends_with(".so"))
    return openCompiledModel();
  OpenedModel opened;
  nibble::JitOptions jitOptions;
  jitOptions.numThreads = llmThreads;
  jitOptions.kernels = llmKernels;
  OwningOpRef<ModuleOp> module;
  std::string tokenizerSource = tokenizerPath;
  if (StringRef(modelPath).ends_with(".mlir")) {
    if (!quantScheme.empty())
      return error("--scheme quantizes GGUF and Hugging Face models; quantize "
                   "a module with nibble-opt --nibble-rtn first");
    if (keepQuantization)
      return error("--keep-quantization applies to GGUF models");
    if (int8Activations)
      return error("--int8-activations applies to GGUF models");
    llvm::SourceMgr sourceMgr;
    module = parseSourceFile<ModuleOp>(modelPath, sourceMgr, {&context});
    if (!module)
      return error("cannot parse " + modelPath);
  } else {
    std::string archive = cachedArchivePath(modelPath);
    if (int8Activations && !keepQuantization)
      return error("--int8-activations applies to the linears "
                   "--keep-quantization keeps");
    if (keepQuantization) {
      // Packed weights: cached under their own name.
      StringRef base(archive);
      base.consume_back(".f32.safetensors");
      archive = (base + ".kept.safetensors").str();
    }
    if (std::error_code ec = llvm::sys::fs::create_directories(
            llvm::sys::path::parent_path(archive)))
      return error("cannot create " + llvm::sys::path::parent_path(archive) +
                   ": " + ec.message());
    // The archive is rewritten only when the source changed.
    bool cached = llvm::sys::fs::exists(archive);
    nibble::llm::LoadOptions loadOptions;
    loadOptions.keepQuantization = keepQuantization;
    llvm::Expected<nibble::llm::LoadedModel> loaded =
        cached ? loadCachedModel(modelPath, archive)
               : nibble::llm::loadModel(modelPath, archive, loadOptions);
    if (!loaded)
      return loaded.takeError();
    if (layerLimit > 0 && layerLimit < loaded->config.numLayers)
      loaded->config.numLayers = layerLimit;
    if (keepQuantization && cached) {
      llvm::Expected<nibble::llm::PackedWeights> packed =
          nibble::llm::readPackedWeights(archive);
      if (!packed)
        return packed.takeError();
      loaded->archive.packedWeights = std::move(*packed);
    }
    llvm::Expected<OwningOpRef<ModuleOp>> built = nibble::llm::buildLoadedModel(
        context, *loaded, capacity,
        int8Activations ? nibble::ActivationScheme::Int8Dynamic
                        : nibble::ActivationScheme::None);
    if (!built)
      return built.takeError();
    module = std::move(*built);
    if (!quantScheme.empty()) {
      std::string tag;
      for (char c : std::string(quantScheme))
        tag += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      // name.f32.<tag>.safetensors, or name.kept.<tag>.safetensors.
      StringRef base(archive);
      base.consume_back(".safetensors");
      std::string packed = (base + "." + tag + ".safetensors").str();
      if (failed(quantizeModule(*module, packed)))
        return error("quantizing with --scheme='" + quantScheme + "' failed");
    }
    if (tokenizerSource.empty())
      tokenizerSource = loaded->tokenizerPath;
  }
  if (!dumpModule.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dumpModule, ec);
    if (ec)
      return error("cannot write " + dumpModule + ": " + ec.message());
    module->print(os);
  }
  if (!tokenizerSource.empty()) {
    if (opened.tokenizer.open(tokenizerSource) != NIBBLE_OK)
      return error(nibble_last_error());
    opened.hasTokenizer = true;
  }
  if (!useJit && !StringRef(modelPath).ends_with(".mlir")) {
    auto archive =
        (*module)->getAttrOfType<StringAttr>(nibble::kWeightsAttrName);
    if (!archive)
      return error("the built module names no weights archive");
    llvm::Expected<std::string> library =
        compiledLibrary(*module, archive.getValue(), tokenizerSource);
    if (!library)
      return library.takeError();
    if (llmThreads > 0 &&
        nibble_set_num_threads(static_cast<int32_t>(llmThreads)) != NIBBLE_OK)
      return error(nibble_last_error());
    std::unique_ptr<nibble::runtime::LibraryLanguageModel> compiled;
    if (nibble::runtime::LibraryLanguageModel::open(*library, compiled) !=
        NIBBLE_OK)
      return error(nibble_last_error());
    opened.model = std::move(compiled);
    return std::move(opened);
  }
  llvm::Expected<std::unique_ptr<nibble::JitLanguageModel>> model =
      nibble::JitLanguageModel::create(*module, jitOptions);
  if (!model)
    return model.takeError();
  opened.model = std::move(*model);
  return std::move(opened);
}

/// The chat template: --chat-template, else the one the tokenizer declares.
nibble_status selectChatTemplate(const OpenedModel &opened,
                                 nibble::runtime::ChatTemplate &result) {
  return chatTemplateName.empty()
             ? nibble::runtime::detectChatTemplate(
                   opened.tokenizer.chatTemplate(), result)
             : nibble::runtime::chatTemplateByName(chatTemplateName, result);
}

/// The generation options the sampling flags give.
nibble::runtime::GenerateOptions generateOptions() {
  nibble::runtime::GenerateOptions options;
  options.sampler.temperature = temperature;
  options.sampler.topK = topK;
  options.sampler.topP = topP;
  options.sampler.minP = minP;
  options.sampler.repetitionPenalty = repeatPenalty;
  options.sampler.seed = seed;
  options.maxTokens = maxTokens;
  options.stopStrings.assign(stopStrings.begin(), stopStrings.end());
  return options;
}

/// "prefill: ... decode: ..." for `stats`, on stderr.
void printSpeed(const nibble::runtime::GenerateStats &stats) {
  auto rate = [](int64_t tokens, double seconds) {
    return seconds > 0 ? double(tokens) / seconds : 0.0;
  };
  llvm::errs() << llvm::format(
      "prefill: %lld tokens in %.2f s (%.2f tokens/s); decode: %lld tokens "
      "in %.2f s (%.2f tokens/s); stopped: %s\n",
      static_cast<long long>(stats.promptTokens), stats.prefillSeconds,
      rate(stats.promptTokens, stats.prefillSeconds),
      static_cast<long long>(stats.generatedTokens), stats.decodeSeconds,
      rate(stats.generatedTokens, stats.decodeSeconds),
      stats.stopReason.c_str());
}

/// Streams text to stdout as it comes.
void printPiece(const std::string &piece) {
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

int runChat(OpenedModel &opened) {
  nibble::runtime::ChatTemplate chatTemplate;
  if (selectChatTemplate(opened, chatTemplate) != NIBBLE_OK)
    return toolFailure(nibble_last_error());
  nibble::runtime::ChatSession session(*opened.model, opened.tokenizer,
                                       chatTemplate, generateOptions(),
                                       systemPrompt);
  session.setReuseCache(!chatReprefill);
  bool interactive = ::isatty(STDIN_FILENO);
  if (interactive)
    llvm::errs() << "chat ("
                 << nibble::runtime::chatTemplateName(chatTemplate.kind)
                 << " template): one message per line, /reset forgets the "
                    "conversation, end with Ctrl-D\n";
  std::string line;
  for (;;) {
    if (interactive)
      llvm::errs() << "> ";
    line.clear();
    int c;
    while ((c = std::getchar()) != EOF && c != '\n')
      line += static_cast<char>(c);
    if (c == EOF && line.empty())
      break;
    if (StringRef(line).trim().empty())
      continue;
    if (StringRef(line).trim() == "/reset") {
      session.reset();
      continue;
    }
    nibble::runtime::GenerateStats stats;
    if (session.reply(line, printPiece, stats) != NIBBLE_OK)
      return toolFailure(nibble_last_error());
    std::printf("\n");
    std::fflush(stdout);
    printSpeed(stats);
  }
  return 0;
}

int runGenerate(OpenedModel &opened) {
  nibble::runtime::GenerateOptions options = generateOptions();
  std::string text = prompt;
  if (chat) {
    nibble::runtime::ChatTemplate chatTemplate;
    if (selectChatTemplate(opened, chatTemplate) != NIBBLE_OK)
      return toolFailure(nibble_last_error());
    std::vector<nibble::runtime::ChatMessage> messages;
    if (!systemPrompt.empty())
      messages.push_back({"system", systemPrompt});
    messages.push_back({"user", prompt});
    if (nibble::runtime::renderChat(chatTemplate, messages,
                                    /*addGenerationPrompt=*/true,
                                    text) != NIBBLE_OK)
      return toolFailure(nibble_last_error());
    int32_t endOfTurn = opened.tokenizer.findToken(
        nibble::runtime::chatEndOfTurn(chatTemplate.kind));
    if (endOfTurn >= 0)
      options.endOfTurnIds.push_back(endOfTurn);
  }
  nibble::runtime::GenerateStats stats;
  nibble_status status = nibble::runtime::generate(
      *opened.model, opened.tokenizer, text, options, printPiece, stats);
  std::printf("\n");
  std::fflush(stdout);
  if (status != NIBBLE_OK)
    return toolFailure(nibble_last_error());
  printSpeed(stats);
  return 0;
}

int runPerplexity(OpenedModel &opened) {
  std::string text;
  for (const std::string &path : textFiles) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return toolFailure("cannot read " + path + ": " +
                         buffer.getError().message());
    text += (*buffer)->getBuffer().str();
  }
  nibble::runtime::PerplexityResult result;
  nibble_status status = nibble::runtime::computePerplexity(
      *opened.model, opened.tokenizer, text, contextSize, windowLimit,
      [](int64_t done, int64_t total, double running) {
        llvm::errs() << llvm::format("\rwindow %lld/%lld: perplexity %.4f",
                                     static_cast<long long>(done),
                                     static_cast<long long>(total), running);
      },
      result);
  llvm::errs() << "\n";
  if (status != NIBBLE_OK)
    return toolFailure(nibble_last_error());
  if (printWindows)
    for (auto [index, nll] : llvm::enumerate(result.windowNll))
      std::printf("window %zu: nll sum %.4f\n", index, nll);
  std::printf("perplexity: %.4f +/- %.4f over %lld windows of %lld tokens "
              "(%lld tokens scored, text %lld tokens, %.1f s)\n",
              result.perplexity, result.error,
              static_cast<long long>(result.windows),
              static_cast<long long>(static_cast<int64_t>(contextSize)),
              static_cast<long long>(result.scoredTokens),
              static_cast<long long>(result.textTokens), result.seconds);
  return 0;
}

int runBench(OpenedModel &opened) {
  std::vector<int64_t> threads(benchThreads.begin(), benchThreads.end());
  if (threads.empty())
    threads.push_back(llmThreads > 0 ? int64_t(llmThreads)
                                     : int64_t(nibble_get_num_threads()));
  std::vector<int64_t> prefill(benchPrefill.begin(), benchPrefill.end());
  if (prefill.empty())
    prefill = {32, 128, 512};
  std::vector<int64_t> decodeAt(benchDecodeAt.begin(), benchDecodeAt.end());
  if (decodeAt.empty())
    decodeAt = {128, 1024};
  nibble::runtime::LanguageModel &model = *opened.model;
  llvm::errs() << llvm::format("%-8s %-8s %8s %8s %10s %12s\n", "threads",
                               "test", "tokens", "context", "seconds",
                               "tokens/s");
  // One line per measurement: a human table on stderr, key=value on stdout.
  auto report = [&](int64_t threadCount, const char *test, int64_t tokens,
                    int64_t context,
                    const nibble::runtime::BenchTiming &timing) {
    llvm::errs() << llvm::format("%-8lld %-8s %8lld %8lld %10.4f %12.2f\n",
                                 static_cast<long long>(threadCount), test,
                                 static_cast<long long>(tokens),
                                 static_cast<long long>(context),
                                 timing.seconds, timing.tokensPerSecond);
    std::printf("bench threads=%lld test=%s tokens=%lld context=%lld "
                "seconds=%.4f tokens_per_s=%.2f\n",
                static_cast<long long>(threadCount), test,
                static_cast<long long>(tokens), static_cast<long long>(context),
                timing.seconds, timing.tokensPerSecond);
    std::fflush(stdout);
  };
  for (int64_t threadCount : threads) {
    if (nibble_set_num_threads(static_cast<int32_t>(threadCount)) != NIBBLE_OK)
      return toolFailure(nibble_last_error());
    for (int64_t tokens : prefill) {
      nibble::runtime::BenchTiming timing;
      if (nibble::runtime::benchPrefill(model, tokens, benchRepetitions,
                                        timing) != NIBBLE_OK)
        return toolFailure(nibble_last_error());
      report(threadCount, "prefill", tokens, 0, timing);
    }
    for (int64_t context : decodeAt) {
      nibble::runtime::BenchTiming timing;
      if (nibble::runtime::benchDecode(model, context, benchDecodeTokens,
                                       benchRepetitions, timing) != NIBBLE_OK)
        return toolFailure(nibble_last_error());
      report(threadCount, "decode", benchDecodeTokens, context, timing);
    }
  }
  return 0;
}

/// Reads --tokens-file: one comma-separated sequence of ids per line.
llvm::Expected<std::vector<std::vector<int32_t>>> readSequences() {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(tokensFile);
  if (!buffer)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot read " + tokensFile + ": " +
                                       buffer.getError().message());
  std::vector<std::vector<int32_t>> sequences;
  llvm::SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (auto [lineIndex, line] : llvm::enumerate(lines)) {
    std::vector<int32_t> ids;
    llvm::SmallVector<StringRef> fields;
    line.trim().split(fields, ',', -1, /*KeepEmpty=*/false);
    for (StringRef field : fields) {
      int32_t id;
      if (field.trim().getAsInteger(10, id))
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       tokensFile + ":" +
                                           llvm::Twine(lineIndex + 1) + ": '" +
                                           field + "' is not a token id");
      ids.push_back(id);
    }
    if (!ids.empty())
      sequences.push_back(std::move(ids));
  }
  return std::move(sequences);
}

int runLogits(OpenedModel &opened) {
  int64_t vocab = opened.model->vocabSize();
  nibble::NpyArray logits;
  logits.dtype = nibble::DType::F32;
  if (tokensFile.empty()) {
    // Every position of one sequence.
    std::vector<int32_t> tokens(tokenIds.begin(), tokenIds.end());
    int64_t count = static_cast<int64_t>(tokens.size());
    if (count == 0)
      return toolFailure("give --tokens or --tokens-file");
    logits.shape = {count, vocab};
    logits.data.resize(static_cast<size_t>(count * vocab) * sizeof(float));
    if (opened.model->run(tokens.data(), count, 0, /*allLogits=*/true,
                          reinterpret_cast<float *>(logits.data.data())) !=
        NIBBLE_OK)
      return toolFailure(nibble_last_error());
  } else {
    llvm::Expected<std::vector<std::vector<int32_t>>> sequences =
        readSequences();
    if (!sequences)
      return toolFailure(llvm::toString(sequences.takeError()));
    auto count = static_cast<int64_t>(sequences->size());
    logits.shape = {count, vocab};
    logits.data.resize(static_cast<size_t>(count * vocab) * sizeof(float));
    nibble::NpyArray greedy;
    greedy.dtype = nibble::DType::I32;
    greedy.shape = {count, greedyTokens};
    greedy.data.resize(static_cast<size_t>(count * greedyTokens) *
                       sizeof(int32_t));
    std::vector<float> row(static_cast<size_t>(vocab));
    for (int64_t s = 0; s < count; ++s) {
      std::vector<int32_t> &ids = (*sequences)[s];
      auto length = static_cast<int64_t>(ids.size());
      if (opened.model->run(ids.data(), length, 0, /*allLogits=*/false,
                            row.data()) != NIBBLE_OK)
        return toolFailure(nibble_last_error());
      std::copy(row.begin(), row.end(),
                reinterpret_cast<float *>(logits.data.data()) + s * vocab);
      auto *out =
          reinterpret_cast<int32_t *>(greedy.data.data()) + s * greedyTokens;
      for (int64_t step = 0; step < greedyTokens; ++step) {
        auto next = static_cast<int32_t>(
            std::max_element(row.begin(), row.end()) - row.begin());
        out[step] = next;
        if (step + 1 < greedyTokens &&
            opened.model->run(&next, 1, length + step, /*allLogits=*/false,
                              row.data()) != NIBBLE_OK)
          return toolFailure(nibble_last_error());
      }
    }
    if (greedyTokens > 0) {
      if (greedyOutput.empty())
        return toolFailure("--greedy needs --greedy-output");
      if (llvm::Error error = nibble::writeNpy(greedyOutput, greedy))
        return toolFailure(llvm::toString(std::move(error)));
    }
  }
  if (llvm::Error error = nibble::writeNpy(logitsOutput, logits))
    return toolFailure(llvm::toString(std::move(error)));
  return 0;
}

} // namespace

namespace nibble {

bool llmSubcommandChosen() {
  return generateCommand || perplexityCommand || logitsCommand ||
         benchCommand || chatCommand;
}

int runLlmSubcommand(MLIRContext &context) {
  llvm::Expected<OpenedModel> opened = openModel(context);
  if (!opened)
    return toolFailure(llvm::toString(opened.takeError()));
  if ((generateCommand || chatCommand || perplexityCommand) &&
      !opened->hasTokenizer)
    return toolFailure("no tokenizer: give --tokenizer");
  if (generateCommand)
    return runGenerate(*opened);
  if (chatCommand)
    return runChat(*opened);
  if (benchCommand)
    return runBench(*opened);
  if (perplexityCommand)
    return runPerplexity(*opened);
  return runLogits(*opened);
}

} // namespace nibble

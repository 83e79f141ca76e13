//===- nibblec.cpp - The nibble ahead-of-time compiler --------------------===//
//
// nibblec model.onnx|model.mlir|model.gguf|hf-dir [--scheme=w4a16]
//         [--target=aarch64 --mattr=+neon] [--emit=mlir|llvm|asm|obj|lib|exe]
//         [--entry=name,...] [--onnx-dim=name=size,...]
//         [--bind-input=name=file.npy]... [--capacity=N] [--keep-quantization]
//         -o out
//
// Imports a model (ONNX; nibble IR; a GGUF file or a Hugging Face model
// directory, built as a decoder-only LLM with forward / prefill / decode
// entry points over a KV cache), quantizes it (optionally) and compiles its
// entry points to a native shared library (run through the nibble runtime)
// or a standalone executable (reads .npy inputs, writes .npy outputs). Each
// --emit level stops at that stage, in pipeline order, as Toy's toyc does.
// After import and quantization everything is the registered pipeline
// `nibble-compile-model` (compiler/Pipelines/Pipelines.h), which nibble-opt
// runs too; --emit=mlir output says how to continue with it.
//
// Exit status: 0 on success, 1 on an error (bad input, bad option, a failed
// step), 3 when the input is valid but uses something nibble does not
// support yet (kExitUnsupported; e.g. an ONNX operator outside the list).
//
// Files: nibblec writes only its outputs (the -o file, the weights sidecar,
// an LLM's tokenizer next to it, and with --emit=mlir the archive the IR
// names), each atomically (to a temporary next to it, then renamed), and
// never over one of its inputs. Intermediate files live in a private
// temporary directory that is removed when nibblec exits.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/CodeGen.h"
#include "compiler/Driver/ModelLibrary.h"
#include "compiler/Passes.h"
#include "compiler/Target/Target.h"
#include "compiler/Transforms/ModelAbi.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"
#include "frontends/llm/ModelLoader.h"
#include "frontends/llm/TransformerBuilder.h"
#include "frontends/onnx/OnnxImporter.h"
#include "passes/Passes.h"
#include "passes/WeightStore.h"
#include "passes/WeightSummary.h"
#include "support/OutputFiles.h"
#include "support/SafeTensors.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
/// How far nibblec goes, in pipeline order.
enum class EmitAction { MLIR, LLVM, Assembly, Object, Library, Executable };
} // namespace

static cl::OptionCategory category("nibblec options");
static cl::opt<std::string>
    inputFile(cl::Positional, cl::Required,
              cl::desc("<model.onnx | model.mlir | model.gguf | hf-dir>"),
              cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"),
                                       cl::cat(category));
static cl::opt<EmitAction> emitAction(
    "emit", cl::desc("What to produce"), cl::init(EmitAction::Library),
    cl::values(clEnumValN(EmitAction::MLIR, "mlir",
                          "nibble IR after quantization"),
               clEnumValN(EmitAction::LLVM, "llvm", "LLVM IR"),
               clEnumValN(EmitAction::Assembly, "asm", "assembly"),
               clEnumValN(EmitAction::Object, "obj", "an object file"),
               clEnumValN(EmitAction::Library, "lib",
                          "a shared library for the nibble runtime (default)"),
               clEnumValN(EmitAction::Executable, "exe",
                          "a standalone executable (.npy in, .npy out)")),
    cl::cat(category));
static cl::opt<std::string>
    targetName("target", cl::desc("host, x86_64, aarch64 or a target triple"),
               cl::init("host"), cl::cat(category));
static cl::opt<std::string> cpu("mcpu", cl::desc("Target CPU (or host)"),
                                cl::cat(category));
static cl::opt<std::string>
    features("mattr",
             cl::desc("Target features, e.g. +avx2,+fma or +neon,+dotprod"),
             cl::cat(category));
static cl::list<std::string>
    entries("entry",
            cl::desc("Entry points to compile (default: every public "
                     "function)"),
            cl::CommaSeparated, cl::cat(category));
static cl::opt<int64_t>
    capacity("capacity",
             cl::desc("KV cache capacity in tokens of an LLM (GGUF or "
                      "Hugging Face input): the longest context"),
             cl::init(2048), cl::cat(category));
static cl::opt<bool> keepQuantization(
    "keep-quantization",
    cl::desc("GGUF input: keep the file's own quantized linear weights as "
             "nibble.qlinear (see docs/LLM.md for the types kept) instead of "
             "dequantizing them to float"),
    cl::cat(category));
static cl::opt<bool> int8Activations(
    "int8-activations",
    cl::desc("With --keep-quantization: the kept linears quantize their "
             "input to int8 with one scale per 32 values (act = int8_dynamic, "
             "act_group = 32, as llama.cpp's Q8_0 blocks), so integer codes "
             "run on 8-bit dot products; changes the numbers"),
    cl::cat(category));
static cl::opt<std::string>
    scheme("scheme",
           cl::desc("Quantize every nibble.linear without a scheme of its "
                    "own with RTN as this #nibble.scheme body says, e.g. "
                    "w4a16 or \"w4, group = 32, asym\""),
           cl::cat(category));
static cl::opt<bool> weightSummary(
    "weight-summary",
    cl::desc("Print the linear layers' parameters, bytes and bits per weight "
             "(scales included) after quantization"),
    cl::cat(category));
static cl::opt<std::string> search("search",
                                   cl::desc("RTN scale search: absmax or mse"),
                                   cl::init("absmax"), cl::cat(category));
static cl::opt<nibble::KernelChoice>
    kernels("kernels", cl::desc("Lowering of linear layers"),
            cl::init(nibble::KernelChoice::Fast), nibble::kernelChoiceValues(),
            cl::cat(category));
static cl::opt<bool> interleave(
    "interleave-weights",
    cl::desc("Lay out the quantized weights for the kernels at compile time "
             "(nibble-cpu-interleave-weights; --kernels=fast)"),
    cl::init(true), cl::cat(category));
static cl::opt<bool> embedWeights(
    "embed-weights",
    cl::desc("Put the weights into the binary instead of a sidecar "
             "<output>.weights.safetensors"),
    cl::cat(category));
static cl::list<std::string> onnxDims(
    "onnx-dim",
    cl::desc("Bind symbolic ONNX input dimensions, e.g. "
             "--onnx-dim=batch=1,seq=128 (models compile with static shapes)"),
    cl::value_desc("name=size"), cl::CommaSeparated, cl::cat(category));
static cl::list<std::string> bindInputs(
    "bind-input",
    cl::desc("Import ONNX graph input <name> as a constant holding the "
             "value in <file.npy> (it leaves the compiled function's "
             "signature); repeatable"),
    cl::value_desc("name=file.npy"), cl::cat(category));

/// Exit statuses (documented in the file comment and the README).
constexpr int kExitError = 1;
constexpr int kExitUnsupported = 3;

/// Prints `message` as an error and returns the tool's failure code.
static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "nibblec") << message << "\n";
  return kExitError;
}

/// The input without trailing slashes (a directory may be given as "dir/").
static StringRef inputName() {
  StringRef name(inputFile);
  return name.size() > 1 ? name.rtrim('/') : name;
}

/// The output path: -o, or the input's stem with the action's extension
/// ("-" = stdout for textual outputs).
static std::string outputPath() {
  if (!outputFile.empty())
    return outputFile;
  llvm::SmallString<256> path(inputName());
  llvm::sys::path::replace_extension(path, "");
  switch (emitAction) {
  case EmitAction::MLIR:
  case EmitAction::LLVM:
  case EmitAction::Assembly:
    return "-";
  case EmitAction::Object:
    return (path + ".o").str();
  case EmitAction::Library:
    return (path + ".so").str();
  case EmitAction::Executable:
    return std::string(path);
  }
  llvm_unreachable("unknown emit action");
}

/// `output` without its extension, for files written next to it (the
/// input's name in the working directory when writing to stdout).
static std::string outputStem(StringRef output) {
  llvm::SmallString<256> path(
      output == "-" ? llvm::sys::path::filename(inputName()) : output);
  if (output == "-" || emitAction != EmitAction::Executable)
    llvm::sys::path::replace_extension(path, "");
  return std::string(path);
}

/// Runs nibble-rtn with --scheme for the linears without a scheme of their
/// own, writing the packed weights to `archivePath`.
static LogicalResult quantize(ModuleOp module, StringRef archivePath) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  nibble::NibbleRTNOptions options;
  options.schemeText = scheme;
  options.scaleSearch = search;
  options.outputWeights = archivePath.str();
  pm.addPass(nibble::createNibbleRTN(options));
  return pm.run(module);
}

/// An LLM read from a GGUF file or a Hugging Face directory.
struct ImportedLlm {
  OwningOpRef<ModuleOp> module;
  /// Where its tokenizer is (the GGUF itself or tokenizer.json; "" if none).
  std::string tokenizerPath;
};

/// Reads the GGUF file or Hugging Face directory `inputFile`, writing its
/// float weights to `archivePath`, and builds its module.
static llvm::Expected<ImportedLlm> importLlm(MLIRContext &context,
                                             StringRef archivePath) {
  nibble::llm::LoadOptions load;
  load.keepQuantization = keepQuantization;
  llvm::Expected<nibble::llm::LoadedModel> loaded =
      nibble::llm::loadModel(inputName(), archivePath, load);
  if (!loaded)
    return loaded.takeError();
  llvm::Expected<OwningOpRef<ModuleOp>> module = nibble::llm::buildLoadedModel(
      context, *loaded, capacity,
      int8Activations ? nibble::ActivationScheme::Int8Dynamic
                      : nibble::ActivationScheme::None);
  if (!module)
    return module.takeError();
  return ImportedLlm{std::move(*module), loaded->tokenizerPath};
}

/// The command line, for the header of --emit=mlir output.
static std::string commandLine(int argc, char **argv) {
  std::string text;
  for (int i = 0; i < argc; ++i)
    text += (i ? " " : "") + std::string(argv[i]);
  return text;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAllPasses();
  nibble::registerNibblePasses();
  nibble::registerNibbleCompilerPasses();
  nibble::registerNibbleCpuPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "nibblec: the nibble ahead-of-time compiler\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<nibble::NibbleDialect>();
  nibble::registerKernelCallBufferization(registry);
  nibble::registerOnnxImporterDialects(registry);
  MLIRContext context(registry);
  // A diagnostic names the op and its location; printing the whole op
  // (a function of a real model) would bury it under megabytes.
  context.printOpOnDiagnostic(false);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);

  // Check the target first: a typo should not cost a compilation.
  llvm::Expected<nibble::TargetSpec> targetSpec =
      nibble::resolveTarget(targetName, cpu, features);
  if (!targetSpec)
    return fail(llvm::toString(targetSpec.takeError()));
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      nibble::createTargetMachine(*targetSpec);
  if (!machine)
    return fail(llvm::toString(machine.takeError()));

  std::string output = outputPath();
  std::string stem = outputStem(output);
  // With --emit=mlir the archives are outputs (the IR names them) and sit
  // next to it; otherwise they are intermediates.
  nibble::ScratchDirectory scratch("nibblec");
  OwningOpRef<ModuleOp> module;
  bool emitsIR = emitAction == EmitAction::MLIR;
  auto intermediate = [&](StringRef suffix) -> llvm::Expected<std::string> {
    if (emitsIR)
      return (stem + suffix).str();
    return scratch.file(("model" + suffix).str());
  };
  // Outputs must never replace an input.
  auto checkNotAnInput = [&](StringRef path) -> llvm::Error {
    llvm::SmallVector<std::string> inputs = {inputFile};
    for (const std::string &binding : bindInputs)
      inputs.push_back(StringRef(binding).split('=').second.str());
    if (module)
      if (auto archive =
              (*module)->getAttrOfType<StringAttr>(nibble::kWeightsAttrName))
        inputs.push_back(archive.str());
    for (const std::string &input : inputs)
      if (nibble::isSameFile(path, input))
        return llvm::createStringError("output " + path +
                                       " would overwrite the input " + input +
                                       "; choose another -o");
    return llvm::Error::success();
  };
  // The output is checked before any work, and again once the module names
  // its archive.
  if (output != "-")
    if (llvm::Error error = checkNotAnInput(output))
      return fail(llvm::toString(std::move(error)));
  std::string tokenizerSource;
  bool isLlm = llvm::sys::fs::is_directory(inputFile) ||
               llvm::sys::path::extension(inputName()) == ".gguf";
  if (keepQuantization && llvm::sys::path::extension(inputName()) != ".gguf")
    return fail("--keep-quantization applies to GGUF files");
  if (int8Activations && !keepQuantization)
    return fail("--int8-activations applies to the linears --keep-quantization "
                "keeps (for other weights, give the scheme an act = "
                "int8_dynamic)");
  if (llvm::sys::path::extension(inputFile) == ".onnx") {
    nibble::OnnxImportOptions options;
    llvm::Expected<std::string> archive = intermediate(".onnx.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    options.weightsPath = *archive;
    if (entries.size() > 1)
      return fail("an ONNX model has one entry point; --entry names " +
                  llvm::Twine(entries.size()));
    if (!entries.empty())
      options.functionName = entries.front();
    for (const std::string &binding : onnxDims)
      if (llvm::Error error = nibble::addDimBinding(options, binding))
        return fail(llvm::toString(std::move(error)));
    for (const std::string &binding : bindInputs)
      if (llvm::Error error = nibble::addInputBinding(options, binding))
        return fail(llvm::toString(std::move(error)));
    nibble::OnnxImportFailure why = nibble::OnnxImportFailure::None;
    FailureOr<OwningOpRef<ModuleOp>> imported =
        nibble::importOnnxModel(inputFile, context, options, &why);
    if (failed(imported))
      return why == nibble::OnnxImportFailure::Unsupported ? kExitUnsupported
                                                           : kExitError;
    module = std::move(*imported);
  } else if (isLlm) {
    llvm::Expected<std::string> archive = intermediate(".f32.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    llvm::Expected<ImportedLlm> imported = importLlm(context, *archive);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    module = std::move(imported->module);
    tokenizerSource = imported->tokenizerPath;
  } else {
    module = parseSourceFile<ModuleOp>(inputFile, sourceMgr, {&context});
    if (!module)
      return fail("cannot parse " + inputFile);
  }

  if (output != "-")
    if (llvm::Error error = checkNotAnInput(output))
      return fail(llvm::toString(std::move(error)));
  for (const std::string &name : entries)
    if (!module->lookupSymbol<func::FuncOp>(name))
      return fail("no function '" + name + "' in " + inputFile);
  if (!scheme.empty()) {
    llvm::Expected<std::string> archive = intermediate(".rtn.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    if (failed(quantize(*module, *archive)))
      return kExitError;
  }

  if (weightSummary)
    llvm::errs() << "nibblec: " << nibble::summarizeWeights(*module).describe()
                 << "\n";
  bool interleaved = false;
  if (interleave && kernels == nibble::KernelChoice::Fast) {
    llvm::Expected<std::string> archive =
        intermediate(".interleaved.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    FailureOr<bool> moved =
        nibble::interleaveWeights(*module, **machine, *archive);
    if (failed(moved))
      return kExitError;
    interleaved = *moved;
  }

  // Everything from here on is the registered pipeline nibble-compile-model,
  // then LLVM and the linker.
  nibble::ModelSpec spec;
  spec.entries.assign(entries.begin(), entries.end());
  spec.modelName = llvm::sys::path::stem(inputName()).str();
  spec.embedWeights = embedWeights;
  spec.kernels = kernels;
  bool linking =
      emitAction == EmitAction::Library || emitAction == EmitAction::Executable;
  if (linking)
    spec.tokenizerSource = tokenizerSource;
  if (emitsIR) {
    std::string text =
        "// " + commandLine(argc, argv) + "\n// nibble IR after import" +
        (scheme.empty() ? std::string()
                        : " and nibble-rtn=\"scheme='" + scheme +
                              "' search=" + search + "\"") +
        (interleaved ? " and nibble-cpu-interleave-weights=\"triple=" +
                           (*machine)->getTargetTriple().str() + " features=" +
                           (*machine)->getTargetFeatureString().str() + "\""
                     : std::string()) +
        "; nibblec compiles it with\n//   nibble-opt "
        "--nibble-compile-model='" +
        (entries.empty() ? std::string()
                         : "entries=" + llvm::join(entries, ",") + " ") +
        "model-name=" + spec.modelName + " weights-file=" +
        llvm::sys::path::filename(stem + ".weights.safetensors").str() +
        (embedWeights ? " embed-weights" : "") +
        (kernels == nibble::KernelChoice::Reference ? " kernels=reference"
                                                    : "") +
        "'\n";
    llvm::raw_string_ostream body(text);
    module->print(body);
    if (llvm::Error error = nibble::writeFileAtomically(output, text))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }

  if (linking) {
    nibble::LibraryOutput library;
    library.path = output;
    library.stem = stem;
    library.sharedLibrary = emitAction == EmitAction::Library;
    library.target = *targetSpec;
    library.runtimeLibDir = nibble::runtimeLibraryDir(argv[0], *targetSpec);
    library.runtimeIncludeDir = NIBBLE_RUNTIME_INCLUDE_DIR;
    library.checkOutput = checkNotAnInput;
    if (llvm::Error error = nibble::buildModelLibrary(*module, spec, library,
                                                      **machine, scratch))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }

  llvm::LLVMContext llvmContext;
  llvm::Expected<nibble::LoweredModel> lowered =
      nibble::lowerModel(*module, spec, stem, llvmContext, **machine);
  if (!lowered)
    return fail(llvm::toString(lowered.takeError()));
  if (emitAction == EmitAction::LLVM) {
    std::string text;
    llvm::raw_string_ostream os(text);
    lowered->module->print(os, nullptr);
    if (llvm::Error error = nibble::writeFileAtomically(output, text))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }
  llvm::SmallString<0> machineCode;
  {
    llvm::raw_svector_ostream os(machineCode);
    if (llvm::Error error =
            nibble::emitMachineCode(*lowered->module, **machine,
                                    emitAction == EmitAction::Assembly, os))
      return fail(llvm::toString(std::move(error)));
  }
  if (llvm::Error error = nibble::writeFileAtomically(output, machineCode))
    return fail(llvm::toString(std::move(error)));
  return 0;
}

//===- nibblec.cpp - The nibble ahead-of-time compiler --------------------===//
//
// nibblec model.onnx|model.mlir [--scheme=w4a16] [--target=aarch64
// --mattr=+neon]
//         [--emit=mlir|llvm|asm|obj|lib|exe] [--onnx-dim=name=size,...]
//         [--bind-input=name=file.npy]... -o out
//
// Quantizes (optionally) and compiles the entry function of a model to a
// native shared library (run through the nibble runtime) or a standalone
// executable (reads .npy inputs, writes .npy outputs). Each --emit level
// stops the pipeline at that stage, in pipeline order, as Toy's toyc does.
//
// Exit status: 0 on success, 1 on an error (bad input, bad option, a failed
// step), 3 when the input is valid but uses something nibble does not
// support yet (kExitUnsupported; e.g. an ONNX operator outside the list).
//
// Files: nibblec writes only its outputs (the -o file, the weights sidecar,
// and with --emit=mlir the archive the IR names), each atomically (to a
// temporary next to it, then renamed), and never over one of its inputs.
// Intermediate files live in a private temporary directory that is removed
// when nibblec exits.
//
//===----------------------------------------------------------------------===//

#include "compiler/CodeGen.h"
#include "compiler/Linker.h"
#include "compiler/ModelAbi.h"
#include "compiler/Passes.h"
#include "compiler/Target.h"
#include "dialects/NibbleOps.h"
#include "frontends/onnx/OnnxImporter.h"
#include "passes/Passes.h"
#include "passes/WeightStore.h"
#include "support/OutputFiles.h"
#include "support/SafeTensors.h"

#include "mlir/AsmParser/AsmParser.h"
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
static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx|model.mlir>"),
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
static cl::opt<std::string> entry("entry", cl::desc("Function to compile"),
                                  cl::init("main"), cl::cat(category));
static cl::opt<std::string>
    scheme("scheme",
           cl::desc("Quantize every nibble.linear without a scheme of its "
                    "own with RTN as this #nibble.scheme body says, e.g. "
                    "w4a16 or \"w4, group = 32, asym\""),
           cl::cat(category));
static cl::opt<std::string> search("search",
                                   cl::desc("RTN scale search: absmax or mse"),
                                   cl::init("absmax"), cl::cat(category));
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

/// The output path: -o, or the input's stem with the action's extension
/// ("-" = stdout for textual outputs).
static std::string outputPath() {
  if (!outputFile.empty())
    return outputFile;
  llvm::SmallString<256> path(inputFile);
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
      output == "-" ? llvm::sys::path::filename(inputFile) : output);
  if (output == "-" || emitAction != EmitAction::Executable)
    llvm::sys::path::replace_extension(path, "");
  return std::string(path);
}

/// Sets `scheme` on every linear that has none and runs nibble-rtn, which
/// writes the packed weights to `archivePath`.
static LogicalResult quantize(ModuleOp module, StringRef archivePath) {
  Attribute parsed =
      parseAttribute("#nibble.scheme<" + scheme + ">", module.getContext());
  auto schemeAttr = dyn_cast_or_null<nibble::SchemeAttr>(parsed);
  if (!schemeAttr)
    return module.emitError("--scheme='") << scheme << "' is not a scheme";
  module.walk([&](nibble::LinearOp linear) {
    if (!linear.getSchemeAttr())
      linear.setSchemeAttr(schemeAttr);
  });
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  nibble::NibbleRTNOptions options;
  options.scaleSearch = search;
  options.outputWeights = archivePath.str();
  pm.addPass(nibble::createNibbleRTN(options));
  return pm.run(module);
}

/// Writes the archive of the compiled model's params: each param's tensor
/// copied from the module's archive.
static LogicalResult writeSidecar(ModuleOp module,
                                  const nibble::ModelInterface &model,
                                  StringRef path) {
  FailureOr<std::string> archivePath =
      nibble::WeightStore::getArchivePath(module);
  if (failed(archivePath))
    return failure();
  nibble::WeightStore store;
  FailureOr<const nibble::SafeTensorsFile *> archive =
      store.open(*archivePath, module.getLoc());
  if (failed(archive))
    return failure();
  nibble::SafeTensorsWriter writer;
  for (const nibble::AbiTensor &param : model.params) {
    llvm::Expected<const nibble::TensorView *> tensor =
        (*archive)->get(param.name);
    if (!tensor)
      return module.emitError(llvm::toString(tensor.takeError()));
    if (llvm::Error error = writer.addTensor(
            param.name, (*tensor)->dtype, (*tensor)->shape, (*tensor)->bytes))
      return module.emitError(llvm::toString(std::move(error)));
  }
  writer.setMetadata("producer", "nibblec");
  if (llvm::Error error = writer.write(path))
    return module.emitError(llvm::toString(std::move(error)));
  return success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAllPasses();
  nibble::registerNibblePasses();
  nibble::registerNibbleCompilerPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "nibblec: the nibble ahead-of-time compiler\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<nibble::NibbleDialect>();
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
  if (llvm::sys::path::extension(inputFile) == ".onnx") {
    nibble::OnnxImportOptions options;
    llvm::Expected<std::string> archive = intermediate(".onnx.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    options.weightsPath = *archive;
    options.functionName = entry;
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
  } else {
    module = parseSourceFile<ModuleOp>(inputFile, sourceMgr, {&context});
    if (!module)
      return fail("cannot parse " + inputFile);
  }

  if (output != "-")
    if (llvm::Error error = checkNotAnInput(output))
      return fail(llvm::toString(std::move(error)));
  if (!scheme.empty()) {
    llvm::Expected<std::string> archive = intermediate(".rtn.safetensors");
    if (!archive)
      return fail(llvm::toString(archive.takeError()));
    if (llvm::Error error = checkNotAnInput(*archive))
      return fail(llvm::toString(std::move(error)));
    if (failed(quantize(*module, *archive)))
      return kExitError;
  }
  if (emitsIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    if (llvm::Error error = nibble::writeFileAtomically(output, text))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }

  // Weights become arguments the runtime fills from a sidecar archive, or
  // constants inside the binary.
  auto func = module->lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return fail("no function '" + entry + "' in " + inputFile);
  if (!embedWeights) {
    PassManager pm(&context, ModuleOp::getOperationName());
    nibble::NibbleParamsToArgumentsOptions options;
    options.entry = entry;
    pm.addPass(nibble::createNibbleParamsToArguments(options));
    if (failed(pm.run(*module)))
      return kExitError;
  }
  FailureOr<nibble::ModelInterface> model = nibble::describeModel(func);
  if (failed(model))
    return kExitError;
  // The interface is recorded; LLVM has no use for the argument names.
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
    func.removeArgAttr(i, nibble::kParamArgAttrName);
    func.removeArgAttr(i, nibble::kInputNameAttrName);
    func.removeArgAttr(i, nibble::kUnsignedAttrName);
  }
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
    func.removeResultAttr(i,
                          StringAttr::get(&context, nibble::kUnsignedAttrName));
  bool linking =
      emitAction == EmitAction::Library || emitAction == EmitAction::Executable;
  if (linking && !model->params.empty()) {
    std::string sidecar = stem + ".weights.safetensors";
    if (llvm::Error error = checkNotAnInput(sidecar))
      return fail(llvm::toString(std::move(error)));
    model->weightsFile = llvm::sys::path::filename(sidecar).str();
    if (failed(writeSidecar(*module, *model, sidecar)))
      return kExitError;
  }

  nibble::prefixModelSymbols(*module);
  PassManager pm(&context, ModuleOp::getOperationName());
  nibble::buildLowerToLLVMPipeline(pm, nibble::LowerToLLVMOptions());
  if (failed(pm.run(*module)))
    return fail("lowering to LLVM failed");
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      nibble::translateToLLVMIR(*module, llvmContext, **machine);
  if (!llvmModule)
    return fail(llvm::toString(llvmModule.takeError()));
  if (emitAction == EmitAction::LLVM) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*llvmModule)->print(os, nullptr);
    if (llvm::Error error = nibble::writeFileAtomically(output, text))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }

  // Machine code: the output itself, or an intermediate object to link.
  llvm::SmallString<0> machineCode;
  {
    llvm::raw_svector_ostream os(machineCode);
    if (llvm::Error error = nibble::emitMachineCode(
            **llvmModule, **machine, emitAction == EmitAction::Assembly, os))
      return fail(llvm::toString(std::move(error)));
  }
  if (!linking) {
    if (llvm::Error error = nibble::writeFileAtomically(output, machineCode))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }
  llvm::Expected<std::string> objectPath = scratch.file("model.o");
  if (!objectPath)
    return fail(llvm::toString(objectPath.takeError()));
  if (llvm::Error error = nibble::writeFileAtomically(*objectPath, machineCode))
    return fail(llvm::toString(std::move(error)));
  llvm::Expected<std::string> abiSource = scratch.file("model.abi.c");
  if (!abiSource)
    return fail(llvm::toString(abiSource.takeError()));
  if (llvm::Error error = nibble::writeFileAtomically(
          *abiSource, nibble::generateAbiSource(*model)))
    return fail(llvm::toString(std::move(error)));
  nibble::LinkJob job;
  job.target = *targetSpec;
  job.inputs = {*objectPath, *abiSource};
  job.output = output;
  job.sharedLibrary = emitAction == EmitAction::Library;
  job.runtimeIncludeDir = NIBBLE_RUNTIME_INCLUDE_DIR;
  // The runtime libraries sit in lib/ next to bin/nibblec (lib/aarch64/ for
  // AArch64).
  llvm::SmallString<256> libDir(llvm::sys::path::parent_path(
      llvm::sys::fs::getMainExecutable(argv[0], (void *)&fail)));
  llvm::sys::path::append(libDir, "..", "lib");
  if (!targetSpec->isHost && targetSpec->isAArch64())
    llvm::sys::path::append(libDir, "aarch64");
  job.runtimeLibDir = std::string(libDir);
  if (llvm::Error linked = nibble::linkModel(job))
    return fail(llvm::toString(std::move(linked)));
  return 0;
}

//===- ModelLibrary.cpp - Compile a module into a model library -----------===//

#include "compiler/Driver/ModelLibrary.h"
#include "compiler/Driver/CodeGen.h"
#include "compiler/Driver/Linker.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/cpu/CpuTarget.h"
#include "compiler/cpu/Passes.h"
#include "dialects/NibbleOps.h"
#include "frontends/gguf/GgufMetadataWriter.h"
#include "passes/WeightStore.h"
#include "support/OutputFiles.h"
#include "support/SafeTensors.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace nibble {
namespace {

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Writes the archive of the compiled model's weights to `path`: each
/// weight's tensor copied from the module's archive `archivePath`.
llvm::Error writeSidecar(Location loc, StringRef archivePath,
                         const ModelInterface &model, StringRef path) {
  WeightStore store;
  FailureOr<const SafeTensorsFile *> archive = store.open(archivePath, loc);
  if (failed(archive))
    return error("cannot open the weights archive " + archivePath);
  SafeTensorsWriter writer;
  for (const AbiTensor &weight : model.weights) {
    llvm::Expected<const TensorView *> tensor = (*archive)->get(weight.name);
    if (!tensor)
      return tensor.takeError();
    if (llvm::Error failure = writer.addTensor(
            weight.name, (*tensor)->dtype, (*tensor)->shape, (*tensor)->bytes))
      return failure;
  }
  writer.setMetadata("producer", "nibblec");
  return writer.write(path);
}

} // namespace

std::string tokenizerFileName(StringRef source, StringRef stem) {
  return (llvm::sys::path::filename(stem) +
          (source.ends_with(".json") ? ".tokenizer.json" : ".tokenizer.gguf"))
      .str();
}

llvm::Error writeTokenizer(StringRef source, StringRef path) {
  if (source.ends_with(".json")) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
        llvm::MemoryBuffer::getFile(source);
    if (!text)
      return error("cannot read " + source + ": " + text.getError().message());
    return writeFileAtomically(path, (*text)->getBuffer());
  }
  runtime::GgufFile file;
  if (file.open(source.str()) != NIBBLE_OK)
    return error(nibble_last_error());
  std::string bytes =
      gguf::serializeGgufMetadata(file, [](const std::string &key) {
        return StringRef(key).starts_with("tokenizer.") ||
               key == "general.architecture" || key == "general.name";
      });
  return writeFileAtomically(path, bytes);
}

FailureOr<bool> interleaveWeights(ModuleOp module, llvm::TargetMachine &machine,
                                  StringRef archivePath) {
  FailureOr<int64_t> interleaved = interleaveModuleWeights(
      module,
      CpuTarget::fromFeatures(machine.getTargetTriple().str(),
                              machine.getTargetFeatureString()),
      archivePath);
  if (failed(interleaved))
    return failure();
  return *interleaved > 0;
}

llvm::Expected<LoweredModel> lowerModel(ModuleOp module, const ModelSpec &spec,
                                        StringRef stem,
                                        llvm::LLVMContext &llvmContext,
                                        llvm::TargetMachine &machine) {
  if (spec.embedWeights && !module.getOps<GlobalOp>().empty())
    return error("embedding weights: the model's nibble.global weights are "
                 "bound at run time from the weights archive and cannot be "
                 "embedded");
  CompileModelOptions options;
  options.entries = spec.entries;
  options.modelName = spec.modelName;
  options.weightsFile =
      !spec.weightsFile.empty()
          ? spec.weightsFile
          : llvm::sys::path::filename((stem + ".weights.safetensors").str())
                .str();
  options.embedWeights = spec.embedWeights;
  // Kernels are chosen for the machine the code is generated for.
  options.kernels = spec.kernels;
  options.targetTriple = machine.getTargetTriple().str();
  options.targetFeatures = machine.getTargetFeatureString().str();
  if (!spec.tokenizerSource.empty())
    options.properties.push_back("tokenizer=" +
                                 tokenizerFileName(spec.tokenizerSource, stem));
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  buildCompileModelPipeline(pm, options);
  if (failed(pm.run(module)))
    return error("compiling the model failed");
  FailureOr<ModelInterface> interface = decodeModelInterface(module);
  if (failed(interface))
    return error("the compiled model does not describe its interface");
  module->removeAttr(kModelAbiAttrName);
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      translateToLLVMIR(module, llvmContext, machine);
  if (!llvmModule)
    return llvmModule.takeError();
  return LoweredModel{std::move(*llvmModule), std::move(*interface)};
}

llvm::Error buildModelLibrary(ModuleOp module, const ModelSpec &spec,
                              const LibraryOutput &output,
                              llvm::TargetMachine &machine,
                              ScratchDirectory &scratch) {
  auto check = [&](StringRef path) -> llvm::Error {
    return output.checkOutput ? output.checkOutput(path)
                              : llvm::Error::success();
  };
  // The archive the weights come from, read before lowering consumes the
  // module's attributes.
  std::string archivePath;
  if (module->hasAttr(kWeightsAttrName)) {
    FailureOr<std::string> path = WeightStore::getArchivePath(module);
    if (failed(path))
      return error("the module's weights archive is not usable");
    archivePath = *path;
  }
  llvm::LLVMContext llvmContext;
  llvm::Expected<LoweredModel> lowered =
      lowerModel(module, spec, output.stem, llvmContext, machine);
  if (!lowered)
    return lowered.takeError();
  const ModelInterface &interface = lowered->interface;
  if (!spec.weightsFile.empty() && !interface.weights.empty()) {
    if (!llvm::sys::path::is_absolute(spec.weightsFile) ||
        !nibble::isSameFile(spec.weightsFile, archivePath))
      return error("the model can read its weights in place only from its "
                   "own archive " +
                   archivePath + " given as an absolute path, not " +
                   spec.weightsFile);
  } else if (!interface.weights.empty()) {
    std::string sidecar = output.stem + ".weights.safetensors";
    if (llvm::Error failure = check(sidecar))
      return failure;
    if (archivePath.empty())
      return error("the model has weights but names no archive (" +
                   kWeightsAttrName + ")");
    // An archive written where the sidecar goes (nibble-run's interleaved
    // weights) is the sidecar already.
    if (!nibble::isSameFile(archivePath, sidecar))
      if (llvm::Error failure =
              writeSidecar(module.getLoc(), archivePath, interface, sidecar))
        return failure;
  }

  llvm::SmallString<0> machineCode;
  {
    llvm::raw_svector_ostream os(machineCode);
    if (llvm::Error failure = emitMachineCode(*lowered->module, machine,
                                              /*assembly=*/false, os))
      return failure;
  }
  llvm::Expected<std::string> objectPath = scratch.file("model.o");
  if (!objectPath)
    return objectPath.takeError();
  llvm::Expected<std::string> abiPath = scratch.file("model.abi.c");
  if (!abiPath)
    return abiPath.takeError();
  if (llvm::Error failure = writeFileAtomically(*objectPath, machineCode))
    return failure;
  if (llvm::Error failure =
          writeFileAtomically(*abiPath, generateAbiSource(interface)))
    return failure;
  LinkJob job;
  job.target = output.target;
  job.inputs = {*objectPath, *abiPath};
  job.output = output.path;
  job.sharedLibrary = output.sharedLibrary;
  job.runtimeIncludeDir = output.runtimeIncludeDir;
  job.runtimeLibDir = output.runtimeLibDir;
  if (llvm::Error failure = linkModel(job))
    return failure;
  if (!spec.tokenizerSource.empty()) {
    llvm::SmallString<256> path(llvm::sys::path::parent_path(output.stem));
    llvm::sys::path::append(
        path, tokenizerFileName(spec.tokenizerSource, output.stem));
    if (llvm::Error failure = check(path))
      return failure;
    if (llvm::Error failure = writeTokenizer(spec.tokenizerSource, path))
      return failure;
  }
  return llvm::Error::success();
}

std::string runtimeLibraryDir(const char *argv0, const TargetSpec &target) {
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(
      llvm::sys::fs::getMainExecutable(argv0, (void *)&runtimeLibraryDir)));
  llvm::sys::path::append(dir, "..", "lib");
  if (!target.isHost && target.isAArch64())
    llvm::sys::path::append(dir, "aarch64");
  return std::string(dir);
}

} // namespace nibble

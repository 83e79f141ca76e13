//===- nibble-translate.cpp - Import models into nibble IR ----------------===//
//
// An mlir-translate-style tool:
//
//   nibble-translate --import-onnx model.onnx -o model.mlir
//       [--onnx-weights=model.safetensors] [--onnx-inline-limit=1024]
//       [--onnx-function=main] [--onnx-dim=name=size,...]
//       [--bind-input=name=file.npy]...
//
// The initializers that become nibble.param are written to the safetensors
// archive given by --onnx-weights, by default the output path with the
// extension replaced by ".safetensors". Both files are written atomically
// (to a temporary next to them, renamed once complete). Exit status: 0, 1 on
// an error, 3 when the model is valid but uses something nibble does not
// support yet (as nibblec).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"

#include "support/OutputFiles.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::init("-"));
static cl::opt<std::string> outputFile("o", cl::desc("Output file"),
                                       cl::value_desc("file"), cl::init("-"));
static cl::opt<bool> importOnnx("import-onnx",
                                cl::desc("Import an ONNX model (.onnx) into "
                                         "nibble IR"));

static cl::OptionCategory onnxCategory("ONNX import options");
static cl::opt<std::string> onnxWeights(
    "onnx-weights",
    cl::desc("Safetensors archive for the model's initializers (default: the "
             "output path with extension .safetensors)"),
    cl::value_desc("file.safetensors"), cl::init(""), cl::cat(onnxCategory));
static cl::opt<int64_t> onnxInlineLimit(
    "onnx-inline-limit",
    cl::desc("Initializers of at most this many bytes stay inline as "
             "arith.constant (linear weights are always params)"),
    cl::init(1024), cl::cat(onnxCategory));
static cl::opt<std::string>
    onnxFunction("onnx-function",
                 cl::desc("Name of the imported function ('' = the graph's "
                          "name)"),
                 cl::init("main"), cl::cat(onnxCategory));

static cl::list<std::string> onnxDims(
    "onnx-dim",
    cl::desc("Bind symbolic input dimensions, e.g. --onnx-dim=batch=1,seq=128 "
             "(nibble imports static shapes)"),
    cl::value_desc("name=size"), cl::CommaSeparated, cl::cat(onnxCategory));
static cl::list<std::string> bindInputs(
    "bind-input",
    cl::desc("Import graph input <name> as a constant holding the value in "
             "<file.npy> (it leaves the function's signature); repeatable"),
    cl::value_desc("name=file.npy"), cl::cat(onnxCategory));

/// The archive path: --onnx-weights, else derived from -o.
static std::string weightsPath() {
  if (!onnxWeights.empty())
    return onnxWeights;
  if (outputFile.empty() || outputFile == "-")
    return "";
  llvm::SmallString<256> result(outputFile);
  llvm::sys::path::replace_extension(result, ".safetensors");
  return std::string(result);
}

/// Imports the model in `buffer`; returns the exit status.
static int importModel(const llvm::MemoryBuffer &buffer, MLIRContext &context) {
  nibble::OnnxImportOptions options;
  options.weightsPath = weightsPath();
  options.inlineConstantMaxBytes = onnxInlineLimit;
  options.functionName = onnxFunction;
  for (const std::string &binding : onnxDims) {
    if (llvm::Error error = nibble::addDimBinding(options, binding)) {
      emitError(UnknownLoc::get(&context)) << llvm::toString(std::move(error));
      return 1;
    }
  }
  for (const std::string &binding : bindInputs) {
    if (llvm::Error error = nibble::addInputBinding(options, binding)) {
      emitError(UnknownLoc::get(&context)) << llvm::toString(std::move(error));
      return 1;
    }
  }
  if (options.weightsPath.empty()) {
    emitError(UnknownLoc::get(&context))
        << "give --onnx-weights=<file.safetensors> (or -o <file>, next to "
           "which the archive is written)";
    return 1;
  }
  if (inputFile != "-" &&
      (nibble::isSameFile(options.weightsPath, inputFile) ||
       (outputFile != "-" && nibble::isSameFile(outputFile, inputFile)))) {
    emitError(UnknownLoc::get(&context))
        << "an output would overwrite the input " << inputFile;
    return 1;
  }
  nibble::OnnxImportFailure why = nibble::OnnxImportFailure::None;
  FailureOr<OwningOpRef<ModuleOp>> module = nibble::importOnnxModelFromBytes(
      buffer.getBuffer(), buffer.getBufferIdentifier(), context, options, &why);
  if (failed(module))
    return why == nibble::OnnxImportFailure::Unsupported ? 3 : 1;
  std::string text;
  llvm::raw_string_ostream os(text);
  (*module)->print(os);
  if (llvm::Error error = nibble::writeFileAtomically(outputFile, text)) {
    emitError(UnknownLoc::get(&context)) << llvm::toString(std::move(error));
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "nibble translation tool\n");
  if (!importOnnx) {
    llvm::errs() << "nibble-translate: error: nothing to do: give "
                    "--import-onnx\n";
    return 1;
  }
  DialectRegistry registry;
  nibble::registerOnnxImporterDialects(registry);
  MLIRContext context(registry);
  // A diagnostic names the op and its location; printing the whole op
  // (a function of a real model) would bury it under megabytes.
  context.printOpOnDiagnostic(false);
  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFile, &errorMessage);
  if (!input) {
    llvm::errs() << "nibble-translate: error: " << errorMessage << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  const llvm::MemoryBuffer &buffer = *input;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  return importModel(buffer, context);
}

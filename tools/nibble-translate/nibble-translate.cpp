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
// extension replaced by ".safetensors".
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
namespace cl = llvm::cl;

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
  auto &options = cl::getRegisteredOptions();
  auto it = options.find("o");
  if (it == options.end())
    return "";
  auto *output = static_cast<cl::opt<std::string> *>(it->second);
  std::string path = output->getValue();
  if (path.empty() || path == "-")
    return "";
  llvm::SmallString<256> result(path);
  llvm::sys::path::replace_extension(result, ".safetensors");
  return std::string(result);
}

static OwningOpRef<Operation *> importOnnx(llvm::SourceMgr &sourceMgr,
                                           MLIRContext *context) {
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  nibble::OnnxImportOptions options;
  options.weightsPath = weightsPath();
  options.inlineConstantMaxBytes = onnxInlineLimit;
  options.functionName = onnxFunction;
  for (const std::string &binding : onnxDims) {
    if (llvm::Error error = nibble::addDimBinding(options, binding)) {
      emitError(UnknownLoc::get(context)) << llvm::toString(std::move(error));
      return nullptr;
    }
  }
  for (const std::string &binding : bindInputs) {
    if (llvm::Error error = nibble::addInputBinding(options, binding)) {
      emitError(UnknownLoc::get(context)) << llvm::toString(std::move(error));
      return nullptr;
    }
  }
  if (options.weightsPath.empty()) {
    emitError(UnknownLoc::get(context))
        << "give --onnx-weights=<file.safetensors> (or -o <file>, next to "
           "which the archive is written)";
    return nullptr;
  }
  FailureOr<OwningOpRef<ModuleOp>> module = nibble::importOnnxModelFromBytes(
      buffer->getBuffer(), buffer->getBufferIdentifier(), *context, options);
  if (failed(module))
    return nullptr;
  return OwningOpRef<Operation *>(module->release());
}

int main(int argc, char **argv) {
  TranslateToMLIRRegistration importOnnxRegistration(
      "import-onnx", "Import an ONNX model (.onnx) into nibble IR", importOnnx,
      [](DialectRegistry &registry) {
        nibble::registerOnnxImporterDialects(registry);
      });
  return failed(mlirTranslateMain(argc, argv, "nibble translation tool"));
}

//===- ModelLibrary.h - Compile a module into a model library ---*- C++ -*-===//
//
// The ahead-of-time driver shared by nibblec and nibble-run (which compiles
// GGUF and Hugging Face models into a cached library): runs the
// `nibble-compile-model` pipeline, translates to LLVM IR, writes the weights
// sidecar and the tokenizer next to the output, generates the ABI source and
// links the shared library or executable.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_DRIVER_MODELLIBRARY_H
#define NIBBLE_COMPILER_DRIVER_MODELLIBRARY_H

#include "compiler/Pipelines/KernelChoice.h"
#include "compiler/Target/Target.h"
#include "compiler/Transforms/ModelAbi.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nibble {

class ScratchDirectory;

/// What a compiled model is called and what it exports.
struct ModelSpec {
  /// Entry points (empty: every public function).
  std::vector<std::string> entries;
  /// The model's name (for messages).
  std::string modelName = "model";
  /// Params become constants in the code instead of sidecar weights.
  bool embedWeights = false;
  /// The weights file the model names: empty for a sidecar
  /// `<stem>.weights.safetensors` written next to the output (holding just
  /// the model's weights; not written when the module's archive is that file
  /// already), or the absolute path of the module's own archive,
  /// read in place by the runtime (nothing is copied; the archive must stay
  /// where it is).
  std::string weightsFile;
  /// The tokenizer (a GGUF file or tokenizer.json) to put next to the
  /// compiled model and name in its `tokenizer` property ("" = none).
  std::string tokenizerSource;
  /// Generated kernels for the target machine, or the reference lowering.
  KernelChoice kernels = KernelChoice::Fast;
};

/// The module lowered to LLVM IR and the interface it exports.
struct LoweredModel {
  std::unique_ptr<llvm::Module> module;
  ModelInterface interface;
};

/// The file name of the tokenizer written next to the compiled model whose
/// path without extension is `stem`: `<stem>.tokenizer.json` (a copy of a
/// tokenizer.json) or `<stem>.tokenizer.gguf` (a GGUF's tokenizer.*
/// metadata).
std::string tokenizerFileName(llvm::StringRef source, llvm::StringRef stem);

/// Writes the tokenizer at `source` to `path`, as tokenizerFileName says.
llvm::Error writeTokenizer(llvm::StringRef source, llvm::StringRef path);

/// Does what nibble-cpu-interleave-weights does to `module` (in place) for the
/// target of `machine`: the weights of linears whose kernels read blocks of
/// rows laid out for them, written with every other weight to the archive
/// `archivePath`.
/// Returns whether any linear now reads interleaved weights (only then is
/// `archivePath` written, when they came from the module's archive).
mlir::FailureOr<bool> interleaveWeights(mlir::ModuleOp module,
                                        llvm::TargetMachine &machine,
                                        llvm::StringRef archivePath);

/// Runs nibble-compile-model on `module` (in place) for an output whose path
/// without extension is `stem`, and translates it to LLVM IR for
/// `machine`. Diagnostics go to the module's context; the error says which
/// step failed.
llvm::Expected<LoweredModel>
lowerModel(mlir::ModuleOp module, const ModelSpec &spec, llvm::StringRef stem,
           llvm::LLVMContext &llvmContext, llvm::TargetMachine &machine);

/// How to link a compiled model.
struct LibraryOutput {
  /// The shared library or executable to write.
  std::string path;
  /// Its path without extension: the sidecar is `<stem>.weights.safetensors`.
  std::string stem;
  /// A shared library (else a standalone executable).
  bool sharedLibrary = true;
  TargetSpec target;
  /// Where libnibble_runtime.a and libnibble_model_main.a for the target
  /// are (runtimeLibraryDir).
  std::string runtimeLibDir;
  /// Where nibble_model_abi.h is.
  std::string runtimeIncludeDir;
  /// Called on every path about to be written; an error stops the build
  /// (nibblec refuses to overwrite its inputs).
  std::function<llvm::Error(llvm::StringRef)> checkOutput;
};

/// Compiles `module` (in place) into `output`: lowers it, writes the
/// weights sidecar (from the module's archive, `nibble.weights`), emits the
/// object into `scratch`, links it with the generated ABI source, then
/// writes the tokenizer. Every file is written atomically.
llvm::Error buildModelLibrary(mlir::ModuleOp module, const ModelSpec &spec,
                              const LibraryOutput &output,
                              llvm::TargetMachine &machine,
                              ScratchDirectory &scratch);

/// The directory of the runtime libraries for `target` next to the running
/// tool `argv0` (bin/../lib, or lib/aarch64 for a cross target).
std::string runtimeLibraryDir(const char *argv0, const TargetSpec &target);

} // namespace nibble

#endif // NIBBLE_COMPILER_DRIVER_MODELLIBRARY_H

//===- Pipelines.h - nibble lowering pipelines ------------------*- C++ -*-===//
//
// The pipelines that take nibble IR on tensors to the LLVM dialect, built
// from the passes of compiler/Transforms, compiler/Conversion/Reference,
// compiler/Conversion/LLVM and upstream MLIR. The pipelines name passes as
// text: register them first (registerNibbleCompilerPasses() in
// compiler/Passes.h, and mlir::registerAllPasses()).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_PIPELINES_PIPELINES_H
#define NIBBLE_COMPILER_PIPELINES_PIPELINES_H

#include "compiler/Pipelines/KernelChoice.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace nibble {

/// Options shared by the pipelines that generate code: the kernels and the
/// target they are chosen for.
#define NIBBLE_KERNEL_OPTIONS                                                  \
  Option<KernelChoice> kernels{                                                \
      *this, "kernels", llvm::cl::desc("Lowering of linears"),                 \
      llvm::cl::init(KernelChoice::Fast), kernelChoiceValues()};               \
  Option<std::string> targetTriple{                                            \
      *this, "target-triple",                                                  \
      llvm::cl::desc("Target triple kernels are chosen for (empty: the "       \
                     "host)")};                                                \
  Option<std::string> targetFeatures{                                          \
      *this, "target-features",                                                \
      llvm::cl::desc("LLVM target features kernels are chosen for (with an "   \
                     "empty triple: the host's)")};

/// Options of the lowering pipeline to the LLVM dialect.
struct LowerToLLVMOptions
    : public mlir::PassPipelineOptions<LowerToLLVMOptions> {
  Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("Weight archive to use instead of nibble.weights")};
  Option<int64_t> parallelMinWork{
      *this, "parallel-min-work",
      llvm::cl::desc("Smallest estimated loop-nest work run on several "
                     "threads (nibble-outline-parallel-loops min-work)"),
      llvm::cl::init(65536)};
  NIBBLE_KERNEL_OPTIONS
};

/// nibble (tensors) -> LLVM dialect, through the CPU kernel provider (with
/// kernels=fast), the reference lowering for the rest, one-shot
/// bufferization and the upstream conversions. Every function gets a
/// C interface (`_mlir_ciface_<name>`) taking memref descriptors, with
/// results as trailing out-params.
void buildLowerToLLVMPipeline(mlir::OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// Options of the ahead-of-time pipeline (nibblec's, from nibble IR on
/// tensors to the LLVM dialect of a compiled model).
struct CompileModelOptions
    : public mlir::PassPipelineOptions<CompileModelOptions> {
  ListOption<std::string> entries{
      *this, "entries",
      llvm::cl::desc("Entry points (default: every public function)")};
  Option<std::string> modelName{*this, "model-name",
                                llvm::cl::desc("The model's name"),
                                llvm::cl::init("model")};
  Option<std::string> weightsFile{
      *this, "weights-file",
      llvm::cl::desc("File name of the weights archive next to the compiled "
                     "model")};
  ListOption<std::string> properties{*this, "properties",
                                     llvm::cl::desc("Properties as key=value")};
  Option<bool> embedWeights{
      *this, "embed-weights",
      llvm::cl::desc("Put params into the code as constants instead of "
                     "passing them from the weights archive")};
  Option<int64_t> parallelMinWork{
      *this, "parallel-min-work",
      llvm::cl::desc("Smallest estimated loop-nest work run on several "
                     "threads"),
      llvm::cl::init(65536)};
  NIBBLE_KERNEL_OPTIONS
};

/// nibble IR -> the LLVM dialect of a compiled model:
/// nibble-params-to-arguments (unless embed-weights), nibble-export-model-abi
/// and nibble-lower-to-llvm. What nibblec runs after import and
/// quantization; nibble-opt reproduces it as `nibble-compile-model`.
void buildCompileModelPipeline(mlir::OpPassManager &pm,
                               const CompileModelOptions &options);

/// Registers the `nibble-lower-to-llvm` and `nibble-compile-model` pipelines
/// (the passes are registered by registerNibbleCompilerPasses(), in
/// compiler/Passes.h).
void registerNibbleCompilerPipelines();

} // namespace nibble

#endif // NIBBLE_COMPILER_PIPELINES_PIPELINES_H

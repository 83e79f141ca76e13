//===- Pipelines.cpp - nibble lowering pipelines --------------------------===//

#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Conversion/Reference/Passes.h"
#include "compiler/Transforms/Passes.h"
#include "compiler/cpu/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nibble {

void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options) {
  NibbleMaterializeParamsOptions materialize;
  materialize.weights = options.weights;
  pm.addPass(createNibbleMaterializeParams(materialize));
  if (options.kernels == KernelChoice::Fast) {
    NibbleCpuSelectKernelsOptions select;
    select.triple = options.targetTriple;
    select.features = options.targetFeatures;
    pm.addPass(createNibbleCpuSelectKernels(select));
  }
  pm.addPass(createNibbleLowerToLinalg());
  if (options.kernels == KernelChoice::Fast)
    pm.addPass(createNibbleCpuApproximateMath());
  // The path from tensors to the LLVM dialect, upstream passes plus the two
  // that make large parallel loops multi-threaded. Written as text: it is the
  // same pipeline a user would type into nibble-opt.
  std::string upstream =
      "canonicalize,"
      "nibble-globals-to-buffers,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "nibble-drop-in-place-results,"
      "buffer-results-to-out-params{modify-public-functions "
      "hoist-static-allocs},"
      "buffer-deallocation-pipeline,"
      // Intrinsics of generated kernels, where deallocation no longer looks.
      "nibble-cpu-use-intrinsics,"
      "convert-bufferization-to-memref,"
      "nibble-strided-copies-to-linalg,"
      "func.func(convert-linalg-to-parallel-loops),"
      // C interfaces for the model's functions, requested before libm
      // declarations and parallel bodies exist (those stay plain calls).
      "func.func(llvm-request-c-wrappers),"
      "nibble-outline-parallel-loops{min-work=" +
      std::to_string(options.parallelMinWork) +
      "},"
      "expand-strided-metadata,"
      "lower-affine,"
      "convert-scf-to-cf,"
      // Generated kernels: vectors to LLVM vectors (tree reductions; the
      // panels' 16 x 16 transposes as AVX-512-friendly shuffles).
      "convert-vector-to-llvm{reassociate-fp-reductions "
      "vector-transpose-lowering=shuffle16x16},"
      // LLVM intrinsics where LLVM has them; calls into libm (erff, tanhf,
      // ...) for the rest.
      "convert-math-to-llvm,"
      "convert-math-to-libm,"
      "convert-arith-to-llvm,"
      "convert-cf-to-llvm,"
      "convert-index-to-llvm,"
      "finalize-memref-to-llvm,"
      "convert-func-to-llvm,"
      "nibble-globals-to-llvm,"
      "reconcile-unrealized-casts,"
      "nibble-parallel-calls-to-runtime";
  if (failed(parsePassPipeline(upstream, pm, llvm::errs())))
    llvm::report_fatal_error("nibble: the built-in lowering pipeline does not "
                             "parse; were the upstream passes registered?");
}

void buildCompileModelPipeline(OpPassManager &pm,
                               const CompileModelOptions &options) {
  if (!options.embedWeights) {
    NibbleParamsToArgumentsOptions params;
    params.entry = options.entries.size() == 1 ? options.entries[0] : "";
    pm.addPass(createNibbleParamsToArguments(params));
  }
  NibbleExportModelAbiOptions abi;
  abi.entries.assign(options.entries.begin(), options.entries.end());
  abi.modelName = options.modelName;
  abi.weightsFile = options.weightsFile;
  abi.properties.assign(options.properties.begin(), options.properties.end());
  pm.addPass(createNibbleExportModelAbi(abi));
  LowerToLLVMOptions lower;
  lower.parallelMinWork = options.parallelMinWork;
  lower.kernels = options.kernels;
  lower.targetTriple = options.targetTriple;
  lower.targetFeatures = options.targetFeatures;
  buildLowerToLLVMPipeline(pm, lower);
}

void registerNibbleCompilerPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "nibble-lower-to-llvm",
      "Lower nibble (on tensors) to the LLVM dialect through the reference "
      "lowering",
      buildLowerToLLVMPipeline);
  PassPipelineRegistration<CompileModelOptions>(
      "nibble-compile-model",
      "Compile a model ahead of time: params to arguments, record the model "
      "ABI (nibble-export-model-abi), lower to the LLVM dialect (what "
      "nibblec runs after import and quantization)",
      buildCompileModelPipeline);
}

} // namespace nibble

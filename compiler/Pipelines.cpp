//===- Pipelines.cpp - nibble lowering pipelines --------------------------===//

#include "compiler/Passes.h"

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
  pm.addPass(createNibbleLowerToLinalg());
  // The upstream path from tensors to the LLVM dialect. Written as text: it
  // is the same pipeline a user would type into nibble-opt.
  static constexpr llvm::StringLiteral upstream =
      "canonicalize,"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-results-to-out-params{modify-public-functions "
      "hoist-static-allocs},"
      "buffer-deallocation-pipeline,"
      "convert-bufferization-to-memref,"
      "func.func(convert-linalg-to-loops),"
      "expand-strided-metadata,"
      "lower-affine,"
      "convert-scf-to-cf,"
      // C interfaces for the model's functions, requested before libm
      // declarations exist (those must stay plain C calls).
      "func.func(llvm-request-c-wrappers),"
      // LLVM intrinsics where LLVM has them; calls into libm (erff, tanhf,
      // ...) for the rest.
      "convert-math-to-llvm,"
      "convert-math-to-libm,"
      "convert-arith-to-llvm,"
      "convert-cf-to-llvm,"
      "convert-index-to-llvm,"
      "finalize-memref-to-llvm,"
      "convert-func-to-llvm,"
      "reconcile-unrealized-casts";
  if (failed(parsePassPipeline(upstream, pm, llvm::errs())))
    llvm::report_fatal_error("nibble: the built-in lowering pipeline does not "
                             "parse; were the upstream passes registered?");
}

void registerNibbleCompilerPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "nibble-lower-to-llvm",
      "Lower nibble (on tensors) to the LLVM dialect through the reference "
      "lowering",
      buildLowerToLLVMPipeline);
}

} // namespace nibble

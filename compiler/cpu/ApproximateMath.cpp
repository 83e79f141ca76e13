//===- ApproximateMath.cpp - Vectorizable exp, tanh and erf ---------------===//
//
// Rewrites the elementwise transcendental functions of the model (SiLU's
// exp, GeLU's tanh or erf) into polynomial approximations, so that their
// loops vectorize instead of calling libm once per element.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSwitch.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLECPUAPPROXIMATEMATH
#include "compiler/cpu/Passes.h.inc"
} // namespace nibble

using namespace mlir;

namespace {

struct ApproximateMathPass
    : public nibble::impl::NibbleCpuApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return llvm::StringSwitch<bool>(name)
          .Cases({"math.exp", "math.tanh", "math.erf"}, true)
          .Default(false);
    });
    // Ops left over (a non-f32 type) keep their libm lowering.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace

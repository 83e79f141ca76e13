//===- MaterializeParams.cpp - nibble.param -> arith.constant -------------===//

#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleOps.h"
#include "passes/WeightStore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEMATERIALIZEPARAMS
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct MaterializeParamsPass
    : public nibble::impl::NibbleMaterializeParamsBase<MaterializeParamsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!weights.empty())
      module->setAttr(kWeightsAttrName,
                      StringAttr::get(&getContext(), weights));
    WeightStore store;
    WalkResult result = module.walk([&](ParamOp param) {
      FailureOr<const TensorView *> tensor = store.resolve(param);
      if (failed(tensor))
        return WalkResult::interrupt();
      OpBuilder builder(param);
      auto constant = arith::ConstantOp::create(
          builder, param.getLoc(),
          WeightStore::toAttribute(**tensor, param.getResult().getType()));
      param.getResult().replaceAllUsesWith(constant.getResult());
      param.erase();
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace

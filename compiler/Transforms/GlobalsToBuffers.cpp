//===- GlobalsToBuffers.cpp - nibble.global_load -> global buffers --------===//
//
// Before bufferization, module-level weights become read-only buffers:
// nibble.global_load @g becomes bufferization.to_tensor of
// nibble.global_buffer @g, marked restrict (nothing else aliases it).
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEGLOBALSTOBUFFERS
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct GlobalsToBuffersPass
    : public nibble::impl::NibbleGlobalsToBuffersBase<GlobalsToBuffersPass> {
  void runOnOperation() override {
    SmallVector<GlobalLoadOp> loads;
    getOperation().walk([&](GlobalLoadOp load) { loads.push_back(load); });
    for (GlobalLoadOp load : loads) {
      OpBuilder builder(load);
      auto tensorType = cast<RankedTensorType>(load.getResult().getType());
      auto memrefType =
          MemRefType::get(tensorType.getShape(), tensorType.getElementType());
      Value buffer = GlobalBufferOp::create(builder, load.getLoc(), memrefType,
                                            load.getGlobalAttr());
      auto tensor = bufferization::ToTensorOp::create(
          builder, load.getLoc(), tensorType, buffer, /*restrict=*/true,
          /*writable=*/false);
      load.getResult().replaceAllUsesWith(tensor.getResult());
      load.erase();
    }
  }
};
} // namespace

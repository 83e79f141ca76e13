//===- UseIntrinsics.cpp - Calls of intrinsic stubs to LLVM intrinsics ----===//

#include "compiler/cpu/KernelFunction.h"
#include "compiler/cpu/Passes.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLECPUUSEINTRINSICS
#include "compiler/cpu/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {

struct UseIntrinsicsPass
    : public nibble::impl::NibbleCpuUseIntrinsicsBase<UseIntrinsicsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> stubs;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kLlvmIntrinsicAttrName))
        stubs.push_back(func);
    if (stubs.empty())
      return;
    module.walk([&](func::CallOp call) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (!callee)
        return;
      auto intrinsic =
          callee->getAttrOfType<StringAttr>(kLlvmIntrinsicAttrName);
      if (!intrinsic)
        return;
      OpBuilder b(call);
      auto replacement = LLVM::CallIntrinsicOp::create(
          b, call.getLoc(), call.getResultTypes().front(), intrinsic,
          call.getOperands());
      call.replaceAllUsesWith(replacement->getResults());
      call.erase();
    });
    for (func::FuncOp stub : stubs)
      if (SymbolTable::symbolKnownUseEmpty(stub, module))
        stub.erase();
  }
};

} // namespace

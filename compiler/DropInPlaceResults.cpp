//===- DropInPlaceResults.cpp - Results that are their own arguments ------===//
//
// An entry point whose bufferized body returns one of its own arguments
// (a state updated in place, an output written in destination-passing
// style) loses that result: the caller already owns the buffer.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEDROPINPLACERESULTS
#include "compiler/Passes.h.inc"
} // namespace nibble

using namespace mlir;

namespace {
struct DropInPlaceResultsPass
    : public nibble::impl::NibbleDropInPlaceResultsBase<
          DropInPlaceResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() ||
          !SymbolTable::symbolKnownUseEmpty(func, module))
        continue;
      SmallVector<func::ReturnOp> returns;
      func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
      if (returns.size() != 1)
        continue;
      func::ReturnOp ret = returns.front();
      llvm::BitVector drop(func.getNumResults());
      for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
        auto argument = dyn_cast<BlockArgument>(value);
        if (argument && argument.getOwner() == &func.getBody().front() &&
            isa<BaseMemRefType>(value.getType()))
          drop.set(index);
      }
      if (drop.none())
        continue;
      SmallVector<Value> kept;
      for (auto [index, value] : llvm::enumerate(ret.getOperands()))
        if (!drop.test(index))
          kept.push_back(value);
      OpBuilder builder(ret);
      func::ReturnOp::create(builder, ret.getLoc(), kept);
      ret.erase();
      if (failed(func.eraseResults(drop)))
        return signalPassFailure();
    }
  }
};
} // namespace

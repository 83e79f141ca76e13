//===- DropInPlaceResults.cpp - Results that are their own arguments ------===//
//
// After bufferization, an entry point returns the buffers of its state
// (`nibble.state`) and output (`nibble.output`) arguments as its trailing
// results. They are dropped: the caller owns those buffers. If bufferization
// could not update one in place (it returned a copy), the entry point would
// silently lose its update, so that is an error naming the argument. The
// state and output markers are removed once checked.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEDROPINPLACERESULTS
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;

namespace {
/// The arguments of `func` marked nibble.state or nibble.output, in order.
SmallVector<unsigned> inPlaceArguments(func::FuncOp func) {
  SmallVector<unsigned> indices;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (func.getArgAttr(i, nibble::kStateArgAttrName) ||
        func.getArgAttr(i, nibble::kOutputArgAttrName))
      indices.push_back(i);
  return indices;
}

struct DropInPlaceResultsPass
    : public nibble::impl::NibbleDropInPlaceResultsBase<
          DropInPlaceResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>()) {
      SmallVector<unsigned> arguments = inPlaceArguments(func);
      if (func.isExternal() || arguments.empty())
        continue;
      if (!SymbolTable::symbolKnownUseEmpty(func, module)) {
        func.emitOpError("has state or output arguments but is called "
                         "inside the module; only entry points may");
        return signalPassFailure();
      }
      SmallVector<func::ReturnOp> returns;
      func.walk([&](func::ReturnOp ret) { returns.push_back(ret); });
      if (returns.size() != 1 ||
          returns.front().getNumOperands() < arguments.size()) {
        func.emitOpError("must return its ")
            << arguments.size()
            << " state and output arguments last, from one return";
        return signalPassFailure();
      }
      func::ReturnOp ret = returns.front();
      unsigned first = ret.getNumOperands() - arguments.size();
      Block &entry = func.getBody().front();
      for (auto [offset, argIndex] : llvm::enumerate(arguments)) {
        Value returned = ret.getOperand(first + offset);
        if (returned != entry.getArgument(argIndex)) {
          func.emitOpError("argument ")
              << argIndex
              << " (state or output) is not updated in place: bufferization "
                 "returned another buffer for result "
              << first + offset;
          return signalPassFailure();
        }
      }
      llvm::BitVector drop(func.getNumResults());
      drop.set(first, func.getNumResults());
      OpBuilder builder(ret);
      func::ReturnOp::create(builder, ret.getLoc(),
                             ret.getOperands().take_front(first));
      ret.erase();
      if (failed(func.eraseResults(drop)))
        return signalPassFailure();
      // Their role is played out: the markers would only trouble the LLVM
      // dialect's functions (the ABI was read before lowering).
      for (unsigned argIndex : arguments) {
        func.removeArgAttr(argIndex, nibble::kStateArgAttrName);
        func.removeArgAttr(argIndex, nibble::kOutputArgAttrName);
      }
    }
  }
};
} // namespace

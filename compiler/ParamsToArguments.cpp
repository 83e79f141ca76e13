//===- ParamsToArguments.cpp - nibble.param -> function arguments ---------===//

#include "compiler/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEPARAMSTOARGUMENTS
#include "compiler/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct ParamsToArgumentsPass
    : public nibble::impl::NibbleParamsToArgumentsBase<ParamsToArgumentsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func) {
      module.emitError("nibble-params-to-arguments: no function '")
          << entry << "'";
      return signalPassFailure();
    }
    WalkResult outside = module.walk([&](ParamOp param) {
      if (param->getParentOfType<func::FuncOp>() == func)
        return WalkResult::advance();
      param.emitOpError("is outside the entry function '")
          << entry << "'; only its params can become arguments";
      return WalkResult::interrupt();
    });
    if (outside.wasInterrupted())
      return signalPassFailure();

    llvm::StringMap<BlockArgument> arguments;
    SmallVector<ParamOp> params;
    func.walk([&](ParamOp param) { params.push_back(param); });
    Block &body = func.getBody().front();
    for (ParamOp param : params) {
      auto it = arguments.find(param.getName());
      if (it == arguments.end()) {
        unsigned index = func.getNumArguments();
        Type type = param.getResult().getType();
        if (failed(func.insertArgument(
                index, type,
                DictionaryAttr::get(
                    &getContext(),
                    {NamedAttribute(
                        StringAttr::get(&getContext(), kParamArgAttrName),
                        param.getNameAttr())}),
                param.getLoc()))) {
          param.emitOpError("cannot become an argument of '") << entry << "'";
          return signalPassFailure();
        }
        it = arguments.try_emplace(param.getName(), body.getArgument(index))
                 .first;
      }
      param.getResult().replaceAllUsesWith(it->second);
      param.erase();
    }
  }
};
} // namespace

//===- ParamsToArguments.cpp - nibble.param -> function arguments ---------===//

#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEPARAMSTOARGUMENTS
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct ParamsToArgumentsPass
    : public nibble::impl::NibbleParamsToArgumentsBase<ParamsToArgumentsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (entry.empty()) {
      // Every public function: its params become its arguments.
      WalkResult result = module.walk([&](ParamOp param) {
        auto func = param->getParentOfType<func::FuncOp>();
        if (func && func.isPublic())
          return WalkResult::advance();
        param.emitOpError("is in a private function; only params of public "
                          "functions can become arguments");
        return WalkResult::interrupt();
      });
      if (result.wasInterrupted())
        return signalPassFailure();
      for (auto func : module.getOps<func::FuncOp>())
        if (failed(convert(func)))
          return signalPassFailure();
      return;
    }
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
    if (outside.wasInterrupted() || failed(convert(func)))
      return signalPassFailure();
  }

  /// Makes the params of `func` its trailing arguments.
  LogicalResult convert(func::FuncOp func) {
    llvm::StringMap<BlockArgument> arguments;
    SmallVector<ParamOp> params;
    func.walk([&](ParamOp param) { params.push_back(param); });
    if (params.empty())
      return success();
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
                param.getLoc())))
          return param.emitOpError("cannot become an argument of '")
                 << func.getSymName() << "'";
        it = arguments.try_emplace(param.getName(), body.getArgument(index))
                 .first;
      }
      param.getResult().replaceAllUsesWith(it->second);
      param.erase();
    }
    return success();
  }
};
} // namespace

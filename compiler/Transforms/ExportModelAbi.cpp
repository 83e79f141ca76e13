//===- ExportModelAbi.cpp - Record a model's interface before lowering ----===//

#include "compiler/Transforms/ModelAbi.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLEEXPORTMODELABI
#include "compiler/Transforms/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

namespace {
struct ExportModelAbiPass
    : public nibble::impl::NibbleExportModelAbiBase<ExportModelAbiPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<std::string> names(entries.begin(), entries.end());
    FailureOr<ModelInterface> model = describeModel(module, names);
    if (failed(model))
      return signalPassFailure();
    model->name = modelName;
    model->weightsFile = weightsFile;
    if (model->weights.empty())
      model->weightsFile.clear();
    else if (model->weightsFile.empty()) {
      module.emitError("the model has ")
          << model->weights.size()
          << " weights outside its code; give their archive's file name "
             "(weights-file)";
      return signalPassFailure();
    }
    for (const std::string &property : properties) {
      auto [key, value] = StringRef(property).split('=');
      if (key.empty() || key.size() == property.size()) {
        module.emitError("property '") << property << "' is not key=value";
        return signalPassFailure();
      }
      model->properties.emplace_back(key.str(), value.str());
    }

    // Globals come first in the weight table, in module order.
    Builder builder(&getContext());
    for (auto [index, global] : llvm::enumerate(module.getOps<GlobalOp>()))
      global->setAttr(kWeightIndexAttrName,
                      builder.getI64IntegerAttr(static_cast<int64_t>(index)));
    // What only the interface needed goes; the state and output markers
    // stay for bufferization (nibble-drop-in-place-results removes them).
    for (auto func : module.getOps<func::FuncOp>()) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
        func.removeArgAttr(i, kParamArgAttrName);
        func.removeArgAttr(i, kInputNameAttrName);
        func.removeArgAttr(i, kUnsignedAttrName);
      }
      for (unsigned i = 0, e = func.getNumResults(); i < e; ++i) {
        func.removeResultAttr(i, builder.getStringAttr(kInputNameAttrName));
        func.removeResultAttr(i, builder.getStringAttr(kUnsignedAttrName));
      }
    }
    prefixModelSymbols(module);
    module->setAttr(kModelAbiAttrName,
                    encodeModelInterface(&getContext(), *model));
  }
};
} // namespace

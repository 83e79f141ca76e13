//===- WeightSummary.cpp - How much a model's weights take ----------------===//

#include "passes/WeightSummary.h"
#include "dialects/NibbleOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace nibble {
namespace {

/// Bytes of a tensor of `type` as stored (sub-byte element types rounded up
/// per tensor).
int64_t tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return 0;
  int64_t bits = tensor.getElementTypeBitWidth();
  return (tensor.getNumElements() * bits + 7) / 8;
}

/// The weight tensor `value` reads: its name, or "" if it is not a weight.
std::string weightName(Value value) {
  Operation *def = value.getDefiningOp();
  if (auto load = dyn_cast_or_null<GlobalLoadOp>(def))
    return ("global:" + load.getGlobal()).str();
  if (auto param = dyn_cast_or_null<ParamOp>(def))
    return ("param:" + param.getName()).str();
  return "";
}

} // namespace

double WeightSummary::bitsPerWeight() const {
  return linearParameters > 0 ? 8.0 * static_cast<double>(linearBytes) /
                                    static_cast<double>(linearParameters)
                              : 0.0;
}

std::string WeightSummary::describe() const {
  constexpr double MiB = 1024.0 * 1024.0;
  return llvm::formatv("linear layers: {0} ({1} quantized), {2:f1} M "
                       "parameters in {3:f1} MiB ({4:f2} bits per weight, "
                       "scales included); all weights {5:f1} MiB",
                       linears, quantizedLinears, linearParameters / 1e6,
                       linearBytes / MiB, bitsPerWeight(), totalBytes / MiB)
      .str();
}

WeightSummary summarizeWeights(ModuleOp module) {
  WeightSummary summary;
  llvm::StringSet<> counted;
  auto countOperands = [&](Operation *op, unsigned firstWeightOperand) {
    for (Value operand : op->getOperands().drop_front(firstWeightOperand)) {
      std::string name = weightName(operand);
      if (!name.empty() && counted.insert(name).second)
        summary.linearBytes += tensorBytes(operand.getType());
    }
  };
  // A layer whose weight several entry points read counts once.
  llvm::StringSet<> layers;
  module.walk([&](Operation *op) {
    auto linear = dyn_cast<LinearOp>(op);
    auto qlinear = dyn_cast<QLinearOp>(op);
    if (!linear && !qlinear)
      return;
    std::string weight = weightName(op->getOperand(1));
    if (!weight.empty() && !layers.insert(weight).second)
      return;
    ++summary.linears;
    if (linear) {
      summary.linearParameters +=
          cast<RankedTensorType>(linear.getWeight().getType()).getNumElements();
    } else {
      ++summary.quantizedLinears;
      auto input = cast<RankedTensorType>(qlinear.getInput().getType());
      auto result = cast<RankedTensorType>(qlinear.getResult().getType());
      summary.linearParameters +=
          input.getShape().back() * result.getShape().back();
    }
    countOperands(op, 1);
  });
  for (GlobalOp global : module.getOps<GlobalOp>())
    summary.totalBytes += tensorBytes(global.getType());
  llvm::StringSet<> params;
  module.walk([&](ParamOp param) {
    if (params.insert(param.getName()).second)
      summary.totalBytes += tensorBytes(param.getResult().getType());
  });
  return summary;
}

} // namespace nibble

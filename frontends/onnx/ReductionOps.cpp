//===- ReductionOps.cpp - ONNX reductions ---------------------------------===//
//
// ReduceSum, ReduceMean, ReduceMax and ReduceMin as linalg.generic
// reductions: axes from the attribute (opsets before 18; ReduceSum before
// 13) or the second input, keepdims, noop_with_empty_axes.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

using namespace mlir;

namespace nibble {
namespace onnx_import {

template <ReduceKind Kind>
static LogicalResult convertReduce(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  if (failed(type))
    return failure();
  int64_t rank = type->getRank();
  SmallVector<int64_t> axes;
  bool axesGiven = false;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> a = ctx.constantInts(1);
    if (failed(a))
      return failure();
    axes = *a;
    axesGiven = true;
  } else if (std::optional<SmallVector<int64_t>> a = ctx.intsAttr("axes")) {
    axes = *a;
    axesGiven = true;
  }
  FailureOr<Value> input = ctx.input(0);
  if (failed(input))
    return failure();
  if (axes.empty()) {
    if (axesGiven || ctx.intAttr("noop_with_empty_axes", 0)) {
      if (ctx.intAttr("noop_with_empty_axes", 0))
        return ctx.setOutput(0, *input);
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  SmallVector<bool> seen(rank, false);
  for (int64_t &axis : axes) {
    FailureOr<int64_t> a = normalizeAxis(ctx, axis, rank);
    if (failed(a))
      return failure();
    if (seen[*a])
      return ctx.emitError() << "axis " << axis << " appears twice";
    seen[*a] = true;
    axis = *a;
  }
  bool keepDims = ctx.intAttr("keepdims", 1);
  return ctx.setOutput(0, buildReduce(ctx.getBuilder(), ctx.loc(), *input, axes,
                                      Kind, keepDims));
}

void registerReductionOps(ConverterTable &table) {
  constexpr int64_t kLatest = 21;
  table.add("ReduceSum", 13, kLatest, convertReduce<ReduceKind::Sum>);
  table.add("ReduceMean", 13, kLatest, convertReduce<ReduceKind::Mean>);
  table.add("ReduceMax", 13, kLatest, convertReduce<ReduceKind::Max>);
  table.add("ReduceMin", 13, kLatest, convertReduce<ReduceKind::Min>);
}

} // namespace onnx_import
} // namespace nibble

//===- NormalizationOps.cpp - ONNX Softmax, LogSoftmax, LayerNormalization ===//
//
// Composite operators built from reductions and broadcasting elementwise
// generics: softmax subtracts the row maximum before exponentiating; layer
// normalization computes the mean and the biased variance over the trailing
// axes from `axis` on.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace nibble {
namespace onnx_import {

/// Softmax (or LogSoftmax) over one axis (opset 13 semantics).
template <bool IsLog> static LogicalResult convertSoftmax(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<Value> input = ctx.input(0);
  if (failed(type) || failed(input))
    return failure();
  if (!isa<FloatType>(type->getElementType()))
    return ctx.emitError() << "dtype mismatch: expected a float tensor, found "
                           << *type;
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, ctx.intAttr("axis", -1), type->getRank());
  if (failed(axis))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  ArrayRef<int64_t> shape = type->getShape();
  Type elementTy = type->getElementType();
  Value max = buildReduce(b, loc, *input, {*axis}, ReduceKind::Max, true);
  Value shifted =
      buildElementwise(b, loc, ValueRange{*input, max}, shape, elementTy,
                       [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return arith::SubFOp::create(nb, nl, a[0], a[1]);
                       });
  Value exp =
      buildElementwise(b, loc, ValueRange{shifted}, shape, elementTy,
                       [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return math::ExpOp::create(nb, nl, a[0]);
                       });
  Value sum = buildReduce(b, loc, exp, {*axis}, ReduceKind::Sum, true);
  Value result;
  if (IsLog)
    result =
        buildElementwise(b, loc, ValueRange{shifted, sum}, shape, elementTy,
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           Value log = math::LogOp::create(nb, nl, a[1]);
                           return arith::SubFOp::create(nb, nl, a[0], log);
                         });
  else
    result =
        buildElementwise(b, loc, ValueRange{exp, sum}, shape, elementTy,
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           return arith::DivFOp::create(nb, nl, a[0], a[1]);
                         });
  return ctx.setOutput(0, result);
}

static LogicalResult convertLayerNormalization(ImportContext &ctx) {
  FailureOr<RankedTensorType> type = ctx.inputType(0);
  FailureOr<Value> input = ctx.input(0);
  if (failed(type) || failed(input))
    return failure();
  Type elementTy = type->getElementType();
  if (!isa<FloatType>(elementTy))
    return ctx.emitError() << "dtype mismatch: expected a float tensor, found "
                           << *type;
  int64_t rank = type->getRank();
  FailureOr<int64_t> axis = normalizeAxis(ctx, ctx.intAttr("axis", -1), rank);
  if (failed(axis))
    return failure();
  if (ctx.intAttr("stash_type", 1) != 1)
    return ctx.emitError() << "only stash_type = 1 (float32) is supported";
  float epsilon = ctx.floatAttr("epsilon", 1e-5f);
  ArrayRef<int64_t> shape = type->getShape();
  // Scale and bias broadcast to the normalized (trailing) shape.
  for (unsigned i = 1; i <= 2; ++i) {
    if (!ctx.hasInput(i))
      continue;
    FailureOr<RankedTensorType> paramType = ctx.inputType(i);
    if (failed(paramType))
      return failure();
    if (paramType->getElementType() != elementTy)
      return ctx.emitError() << "dtype mismatch: input " << i << " is "
                             << *paramType << ", the input is " << *type;
    FailureOr<SmallVector<int64_t>> broadcast =
        broadcastShapes(ctx, {shape, paramType->getShape()});
    if (failed(broadcast))
      return failure();
    if (ArrayRef<int64_t>(*broadcast) != shape)
      return ctx.emitError()
             << "shape mismatch: input " << i << " " << *paramType
             << " does not broadcast to " << *type;
  }
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < rank; ++d)
    axes.push_back(d);
  Value mean = buildReduce(b, loc, *input, axes, ReduceKind::Mean, true);
  Value centered =
      buildElementwise(b, loc, ValueRange{*input, mean}, shape, elementTy,
                       [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return arith::SubFOp::create(nb, nl, a[0], a[1]);
                       });
  Value squared =
      buildElementwise(b, loc, ValueRange{centered}, shape, elementTy,
                       [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return arith::MulFOp::create(nb, nl, a[0], a[0]);
                       });
  Value variance = buildReduce(b, loc, squared, axes, ReduceKind::Mean, true);
  auto reducedShape = cast<RankedTensorType>(variance.getType()).getShape();
  Value invStdDev =
      buildElementwise(b, loc, ValueRange{variance}, reducedShape, elementTy,
                       [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         Value eps = buildScalar(nb, nl, elementTy, epsilon);
                         Value sum = arith::AddFOp::create(nb, nl, a[0], eps);
                         Value one = buildScalar(nb, nl, elementTy, 1.0);
                         return arith::DivFOp::create(
                             nb, nl, one, math::SqrtOp::create(nb, nl, sum));
                       });
  SmallVector<Value> operands = {centered, invStdDev};
  bool hasScale = ctx.hasInput(1), hasBias = ctx.hasInput(2);
  for (unsigned i = 1; i <= 2; ++i) {
    if (!ctx.hasInput(i))
      continue;
    FailureOr<Value> value = ctx.input(i);
    if (failed(value))
      return failure();
    operands.push_back(*value);
  }
  Value result =
      buildElementwise(b, loc, operands, shape, elementTy,
                       [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         Value y = arith::MulFOp::create(nb, nl, a[0], a[1]);
                         unsigned next = 2;
                         if (hasScale)
                           y = arith::MulFOp::create(nb, nl, y, a[next++]);
                         if (hasBias)
                           y = arith::AddFOp::create(nb, nl, y, a[next++]);
                         return y;
                       });
  if (failed(ctx.setOutput(0, result)) || failed(ctx.setOutput(1, mean)))
    return failure();
  return ctx.setOutput(2, invStdDev);
}

void registerNormalizationOps(ConverterTable &table) {
  constexpr int64_t kLatest = 21;
  table.add("Softmax", 13, kLatest, convertSoftmax<false>);
  table.add("LogSoftmax", 13, kLatest, convertSoftmax<true>);
  table.add("LayerNormalization", 17, kLatest, convertLayerNormalization);
}

} // namespace onnx_import
} // namespace nibble

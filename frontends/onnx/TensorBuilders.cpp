//===- TensorBuilders.cpp - IR building helpers for the ONNX converters ---===//
//
// Broadcasting elementwise linalg.generic ops, reshapes, transposes and
// reductions on static-shaped tensors, shared by the converter files.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;

namespace nibble {
namespace onnx_import {

FailureOr<SmallVector<int64_t>>
broadcastShapes(ImportContext &ctx, ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> shape : shapes)
    rank = std::max(rank, shape.size());
  SmallVector<int64_t> result(rank, 1);
  for (ArrayRef<int64_t> shape : shapes) {
    for (size_t i = 0; i < shape.size(); ++i) {
      int64_t &dim = result[rank - shape.size() + i];
      if (shape[i] == dim || shape[i] == 1)
        continue;
      if (dim == 1) {
        dim = shape[i];
        continue;
      }
      InFlightDiagnostic diag = ctx.emitError() << "shape mismatch: shapes";
      for (ArrayRef<int64_t> s : shapes)
        diag << " " << formatShape(s);
      diag << " do not broadcast";
      return diag;
    }
  }
  return result;
}

Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       ArrayRef<int64_t> shape, Type resultElementType,
                       ScalarBodyFn body) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    ArrayRef<int64_t> inShape =
        cast<RankedTensorType>(input.getType()).getShape();
    int64_t offset = rank - inShape.size();
    SmallVector<AffineExpr> exprs;
    for (size_t i = 0; i < inShape.size(); ++i)
      exprs.push_back(inShape[i] == 1 && shape[offset + i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(offset + i, ctx));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Value init = tensor::EmptyOp::create(b, loc, shape, resultElementType);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

Value buildReshape(OpBuilder &b, Location loc, Value value,
                   ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type.getRank() > target.getRank()) {
    if (std::optional<SmallVector<ReassociationIndices>> groups =
            getReassociationIndicesForReshape(type, target))
      return tensor::CollapseShapeOp::create(b, loc, target, value, *groups);
  } else if (type.getRank() < target.getRank()) {
    if (std::optional<SmallVector<ReassociationIndices>> groups =
            getReassociationIndicesForReshape(target, type))
      return tensor::ExpandShapeOp::create(b, loc, target, value, *groups);
  }
  // General case: through 1-D (or from a scalar / to a scalar).
  int64_t count = type.getNumElements();
  auto flatType = RankedTensorType::get({count}, type.getElementType());
  Value flat = value;
  if (type.getRank() == 0) {
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, value,
                                         ArrayRef<ReassociationIndices>{});
  } else if (type.getRank() != 1) {
    ReassociationIndices all =
        llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()));
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, value,
                                           ArrayRef<ReassociationIndices>{all});
  }
  if (target.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, target, flat,
                                           ArrayRef<ReassociationIndices>{});
  if (target.getRank() == 1)
    return flat;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, target.getRank()));
  return tensor::ExpandShapeOp::create(b, loc, target, flat,
                                       ArrayRef<ReassociationIndices>{all});
}

Value buildTranspose(OpBuilder &b, Location loc, Value value,
                     ArrayRef<int64_t> perm) {
  auto type = cast<RankedTensorType>(value.getType());
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return value;
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  Value init = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
  return linalg::TransposeOp::create(b, loc, value, init, perm).getResult()[0];
}

Value buildScalar(OpBuilder &b, Location loc, Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, value));
  return arith::ConstantOp::create(b, loc,
                                   b.getIntegerAttr(type, (int64_t)value));
}

/// The identity of a reduction over `type`.
static TypedAttr reductionIdentity(OpBuilder &b, Type type, ReduceKind kind) {
  auto floatType = dyn_cast<FloatType>(type);
  unsigned width = type.getIntOrFloatBitWidth();
  switch (kind) {
  case ReduceKind::Sum:
  case ReduceKind::Mean:
    return floatType ? TypedAttr(b.getFloatAttr(type, 0.0))
                     : TypedAttr(b.getIntegerAttr(type, 0));
  case ReduceKind::Max:
    return floatType ? TypedAttr(b.getFloatAttr(
                           type, APFloat::getInf(floatType.getFloatSemantics(),
                                                 /*Negative=*/true)))
                     : TypedAttr(b.getIntegerAttr(
                           type, APInt::getSignedMinValue(width)));
  case ReduceKind::Min:
    return floatType ? TypedAttr(b.getFloatAttr(
                           type, APFloat::getInf(floatType.getFloatSemantics(),
                                                 /*Negative=*/false)))
                     : TypedAttr(b.getIntegerAttr(
                           type, APInt::getSignedMaxValue(width)));
  }
  llvm_unreachable("unknown reduction");
}

Value buildReduce(OpBuilder &b, Location loc, Value value,
                  ArrayRef<int64_t> axes, ReduceKind kind, bool keepDims) {
  MLIRContext *ctx = b.getContext();
  auto type = cast<RankedTensorType>(value.getType());
  Type elementTy = type.getElementType();
  int64_t rank = type.getRank();
  SmallVector<bool> reduced(rank, false);
  for (int64_t axis : axes)
    reduced[axis] = true;
  SmallVector<int64_t> outShape, keptShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      count *= type.getDimSize(d);
      keptShape.push_back(1);
      iterators.push_back(utils::IteratorType::reduction);
    } else {
      outShape.push_back(type.getDimSize(d));
      keptShape.push_back(type.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
      iterators.push_back(utils::IteratorType::parallel);
    }
  }
  Value init = tensor::EmptyOp::create(b, loc, outShape, elementTy);
  Value identity =
      arith::ConstantOp::create(b, loc, reductionIdentity(b, elementTy, kind));
  Value filled =
      linalg::FillOp::create(b, loc, ValueRange{identity}, ValueRange{init})
          .getResult(0);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  bool isFloat = isa<FloatType>(elementTy);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{filled.getType()}, ValueRange{value},
      ValueRange{filled}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value result;
        switch (kind) {
        case ReduceKind::Sum:
        case ReduceKind::Mean:
          result = isFloat
                       ? Value(arith::AddFOp::create(nb, nl, args[0], args[1]))
                       : Value(arith::AddIOp::create(nb, nl, args[0], args[1]));
          break;
        case ReduceKind::Max:
          result =
              isFloat
                  ? Value(arith::MaximumFOp::create(nb, nl, args[0], args[1]))
                  : Value(arith::MaxSIOp::create(nb, nl, args[0], args[1]));
          break;
        case ReduceKind::Min:
          result =
              isFloat
                  ? Value(arith::MinimumFOp::create(nb, nl, args[0], args[1]))
                  : Value(arith::MinSIOp::create(nb, nl, args[0], args[1]));
          break;
        }
        linalg::YieldOp::create(nb, nl, result);
      });
  Value result = generic.getResult(0);
  if (kind == ReduceKind::Mean) {
    Value divisor = buildScalar(b, loc, elementTy, (double)count);
    result = buildElementwise(
        b, loc, ValueRange{result}, outShape, elementTy,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          if (isFloat)
            return arith::DivFOp::create(nb, nl, args[0], divisor);
          return arith::DivSIOp::create(nb, nl, args[0], divisor);
        });
  }
  if (keepDims)
    result = buildReshape(b, loc, result, keptShape);
  return result;
}

FailureOr<int64_t> normalizeAxis(ImportContext &ctx, int64_t axis,
                                 int64_t rank) {
  if (axis < -rank || axis >= rank)
    return ctx.emitError() << "axis " << axis << " is out of range for rank "
                           << rank;
  return axis < 0 ? axis + rank : axis;
}

SmallVector<int64_t> attrToInts(DenseElementsAttr attr) {
  SmallVector<int64_t> result;
  for (const APInt &value : attr.getValues<APInt>())
    result.push_back(attr.getElementType().isInteger(1) ? value.getZExtValue()
                                                        : value.getSExtValue());
  return result;
}

DenseElementsAttr intsToAttr(MLIRContext *ctx, ArrayRef<int64_t> shape,
                             ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get(shape, IntegerType::get(ctx, 64));
  return DenseElementsAttr::get(type, values);
}

} // namespace onnx_import
} // namespace nibble

//===- LinearOps.cpp - ONNX MatMul and Gemm -------------------------------===//
//
// A MatMul or Gemm whose weight is an initializer becomes nibble.linear over
// a nibble.param in PyTorch's [N, K] layout (MatMul's [K, N] initializer is
// transposed when written to the archive). A bias that is an initializer of
// shape [N] folds into the linear: Gemm's C (alpha = beta = 1), or the Add
// that is the only consumer of a MatMul. Products of two activations become
// a batched, broadcasting linalg.generic.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ImportContext.h"

#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace nibble {
namespace onnx_import {

/// Whether `init` can be the weight of a linear on inputs of `inputType`:
/// a 2-D float tensor of the input's element type.
static bool isLinearWeight(const Initializer *init,
                           RankedTensorType inputType) {
  return init && init->type.getRank() == 2 &&
         isa<FloatType>(inputType.getElementType()) &&
         init->type.getElementType() == inputType.getElementType() &&
         inputType.getRank() >= 1;
}

/// The shape of x·Wᵀ for x of `inputType` and N outputs.
static RankedTensorType linearResultType(RankedTensorType inputType,
                                         int64_t n) {
  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(n);
  return RankedTensorType::get(shape, inputType.getElementType());
}

FailureOr<Value> buildMatMul(ImportContext &ctx, Value a, Value b) {
  OpBuilder &builder = ctx.getBuilder();
  Location loc = ctx.loc();
  MLIRContext *mctx = ctx.getContext();
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(b.getType());
  if (aType.getElementType() != bType.getElementType())
    return ctx.emitError() << "dtype mismatch: " << aType << " times " << bType;
  if (aType.getRank() == 0 || bType.getRank() == 0)
    return ctx.emitError() << "MatMul operands must have rank >= 1";
  bool aVector = aType.getRank() == 1, bVector = bType.getRank() == 1;
  if (aVector)
    a = buildReshape(builder, loc, a, {1, aType.getDimSize(0)});
  if (bVector)
    b = buildReshape(builder, loc, b, {bType.getDimSize(0), 1});
  ArrayRef<int64_t> aShape = cast<RankedTensorType>(a.getType()).getShape();
  ArrayRef<int64_t> bShape = cast<RankedTensorType>(b.getType()).getShape();
  int64_t m = aShape[aShape.size() - 2], k = aShape.back();
  int64_t n = bShape.back();
  if (bShape[bShape.size() - 2] != k)
    return ctx.emitError() << "shape mismatch: " << aType << " times " << bType
                           << " (K differs)";
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes(ctx, {aShape.drop_back(2), bShape.drop_back(2)});
  if (failed(batch))
    return failure();
  int64_t nb = batch->size();
  // Loops: batch..., m, n, k.
  auto operandMap = [&](ArrayRef<int64_t> shape, int64_t row, int64_t col) {
    SmallVector<AffineExpr> exprs;
    int64_t offset = nb - (shape.size() - 2);
    for (size_t i = 0; i + 2 < shape.size(); ++i)
      exprs.push_back(shape[i] == 1 && (*batch)[offset + i] != 1
                          ? getAffineConstantExpr(0, mctx)
                          : getAffineDimExpr(offset + i, mctx));
    exprs.push_back(getAffineDimExpr(row, mctx));
    exprs.push_back(getAffineDimExpr(col, mctx));
    return AffineMap::get(nb + 3, 0, exprs, mctx);
  };
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < nb + 2; ++i)
    outExprs.push_back(getAffineDimExpr(i, mctx));
  SmallVector<AffineMap> maps = {operandMap(aShape, nb, nb + 2),
                                 operandMap(bShape, nb + 2, nb + 1),
                                 AffineMap::get(nb + 3, 0, outExprs, mctx)};
  SmallVector<utils::IteratorType> iterators(nb + 2,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  SmallVector<int64_t> outShape(*batch);
  outShape.push_back(m);
  outShape.push_back(n);
  Type elementTy = aType.getElementType();
  Value init = tensor::EmptyOp::create(builder, loc, outShape, elementTy);
  Value zero = buildScalar(builder, loc, elementTy, 0.0);
  Value filled =
      linalg::FillOp::create(builder, loc, ValueRange{zero}, ValueRange{init})
          .getResult(0);
  bool isFloat = isa<FloatType>(elementTy);
  Value result =
      linalg::GenericOp::create(
          builder, loc, TypeRange{filled.getType()}, ValueRange{a, b},
          ValueRange{filled}, maps, iterators,
          [&](OpBuilder &nb2, Location nl, ValueRange args) {
            Value product, sum;
            if (isFloat) {
              product = arith::MulFOp::create(nb2, nl, args[0], args[1]);
              sum = arith::AddFOp::create(nb2, nl, args[2], product);
            } else {
              product = arith::MulIOp::create(nb2, nl, args[0], args[1]);
              sum = arith::AddIOp::create(nb2, nl, args[2], product);
            }
            linalg::YieldOp::create(nb2, nl, sum);
          })
          .getResult(0);
  if (aVector || bVector) {
    SmallVector<int64_t> shape(*batch);
    if (!aVector)
      shape.push_back(m);
    if (!bVector)
      shape.push_back(n);
    result = buildReshape(builder, loc, result, shape);
  }
  return result;
}

std::pair<const onnx::NodeProto *, const Initializer *>
findFoldableBiasAdd(ImportContext &ctx, int64_t n, Type elementTy) {
  const std::string &output = ctx.node().output(0);
  ArrayRef<const onnx::NodeProto *> users = ctx.consumers(output);
  if (users.size() != 1 || ctx.isGraphOutput(output))
    return {nullptr, nullptr};
  const onnx::NodeProto *add = users[0];
  if (add->op_type() != "Add" ||
      !(add->domain().empty() || add->domain() == "ai.onnx") ||
      add->input_size() != 2 || add->output_size() != 1)
    return {nullptr, nullptr};
  int other = add->input(0) == output ? 1 : 0;
  if (add->input(1 - other) != output || add->input(other) == output)
    return {nullptr, nullptr};
  // Find the initializer through the context by temporarily looking it up
  // as an input of the Add.
  const onnx::NodeProto &self = ctx.node();
  Location loc = ctx.loc();
  ctx.setCurrentNode(add, loc);
  const Initializer *bias = ctx.initializerInput(other);
  ctx.setCurrentNode(&self, loc);
  if (!bias || bias->type.getRank() != 1 || bias->type.getDimSize(0) != n ||
      bias->type.getElementType() != elementTy)
    return {nullptr, nullptr};
  return {add, bias};
}

static LogicalResult convertMatMul(ImportContext &ctx) {
  if (const QuantizedWeight *weight = ctx.quantizedWeightInput(1))
    return convertQuantizedMatMul(ctx, *weight);
  FailureOr<RankedTensorType> aType = ctx.inputType(0);
  FailureOr<RankedTensorType> bType = ctx.inputType(1);
  if (failed(aType) || failed(bType))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  const Initializer *weight = ctx.initializerInput(1);
  if (isLinearWeight(weight, *aType)) {
    int64_t k = weight->type.getDimSize(0), n = weight->type.getDimSize(1);
    if (aType->getShape().back() != k)
      return ctx.emitError()
             << "shape mismatch: input " << *aType << " times weight '"
             << weight->name << "' " << weight->type << " (K differs)";
    FailureOr<Value> a = ctx.input(0);
    FailureOr<Value> w = ctx.paramFor(*weight, /*transpose=*/true);
    if (failed(a) || failed(w))
      return failure();
    auto [add, biasInit] = findFoldableBiasAdd(ctx, n, aType->getElementType());
    Value bias;
    if (biasInit) {
      FailureOr<Value> param = ctx.paramFor(*biasInit, /*transpose=*/false);
      if (failed(param))
        return failure();
      bias = *param;
    }
    Value result = LinearOp::create(b, ctx.loc(), linearResultType(*aType, n),
                                    *a, *w, bias, /*scheme=*/nullptr,
                                    /*name=*/nullptr);
    if (add) {
      ctx.absorb(add, add->output(0), result);
      return success();
    }
    return ctx.setOutput(0, result);
  }
  FailureOr<Value> a = ctx.input(0), bValue = ctx.input(1);
  if (failed(a) || failed(bValue))
    return failure();
  FailureOr<Value> result = buildMatMul(ctx, *a, *bValue);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result);
}

static LogicalResult convertGemm(ImportContext &ctx) {
  FailureOr<RankedTensorType> aType = ctx.inputType(0);
  FailureOr<RankedTensorType> bType = ctx.inputType(1);
  if (failed(aType) || failed(bType))
    return failure();
  if (aType->getRank() != 2 || bType->getRank() != 2)
    return ctx.emitError() << "shape mismatch: Gemm needs 2-D A and B, found "
                           << *aType << " and " << *bType;
  if (!isa<FloatType>(aType->getElementType()) ||
      aType->getElementType() != bType->getElementType())
    return ctx.emitError() << "dtype mismatch: Gemm needs float A and B of "
                              "the same type, found "
                           << *aType << " and " << *bType;
  bool transA = ctx.intAttr("transA", 0), transB = ctx.intAttr("transB", 0);
  float alpha = ctx.floatAttr("alpha", 1.0f),
        beta = ctx.floatAttr("beta", 1.0f);
  OpBuilder &b = ctx.getBuilder();
  Location loc = ctx.loc();
  FailureOr<Value> a = ctx.input(0);
  if (failed(a))
    return failure();
  Value lhs = transA ? buildTranspose(b, loc, *a, {1, 0}) : *a;
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  int64_t k = lhsType.getDimSize(1);
  int64_t bK = bType->getDimSize(transB ? 1 : 0);
  int64_t n = bType->getDimSize(transB ? 0 : 1);
  if (bK != k)
    return ctx.emitError() << "shape mismatch: A " << *aType
                           << (transA ? " (transposed)" : "") << " times B "
                           << *bType << (transB ? " (transposed)" : "")
                           << " (K differs)";
  Type elementTy = aType->getElementType();
  Value result;
  bool biasFolded = false;
  const Initializer *weight = ctx.initializerInput(1);
  if (isLinearWeight(weight, lhsType)) {
    FailureOr<Value> w = ctx.paramFor(*weight, /*transpose=*/!transB);
    if (failed(w))
      return failure();
    Value bias;
    const Initializer *c = ctx.initializerInput(2);
    if (c && alpha == 1.0f && beta == 1.0f && c->type.getRank() == 1 &&
        c->type.getDimSize(0) == n && c->type.getElementType() == elementTy) {
      FailureOr<Value> param = ctx.paramFor(*c, /*transpose=*/false);
      if (failed(param))
        return failure();
      bias = *param;
      biasFolded = true;
    }
    result = LinearOp::create(b, loc, linearResultType(lhsType, n), lhs, *w,
                              bias, /*scheme=*/nullptr, /*name=*/nullptr);
  } else {
    FailureOr<Value> bValue = ctx.input(1);
    if (failed(bValue))
      return failure();
    Value rhs = transB ? buildTranspose(b, loc, *bValue, {1, 0}) : *bValue;
    FailureOr<Value> product = buildMatMul(ctx, lhs, rhs);
    if (failed(product))
      return failure();
    result = *product;
  }
  SmallVector<int64_t> shape = {lhsType.getDimSize(0), n};
  if (alpha != 1.0f) {
    result = buildElementwise(
        b, loc, ValueRange{result}, shape, elementTy,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value s = buildScalar(nb, nl, elementTy, alpha);
          return arith::MulFOp::create(nb, nl, args[0], s);
        });
  }
  if (ctx.hasInput(2) && !biasFolded) {
    FailureOr<RankedTensorType> cType = ctx.inputType(2);
    FailureOr<Value> c = ctx.input(2);
    if (failed(cType) || failed(c))
      return failure();
    FailureOr<SmallVector<int64_t>> outShape =
        broadcastShapes(ctx, {ArrayRef<int64_t>(shape), cType->getShape()});
    if (failed(outShape))
      return failure();
    if (ArrayRef<int64_t>(*outShape) != ArrayRef<int64_t>(shape))
      return ctx.emitError() << "shape mismatch: C " << *cType
                             << " does not broadcast to the product's shape "
                             << formatShape(shape);
    result = buildElementwise(
        b, loc, ValueRange{result, *c}, shape, elementTy,
        [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value scaled = args[1];
          if (beta != 1.0f)
            scaled = arith::MulFOp::create(
                nb, nl, scaled, buildScalar(nb, nl, elementTy, beta));
          return arith::AddFOp::create(nb, nl, args[0], scaled);
        });
  }
  return ctx.setOutput(0, result);
}

void registerLinearOps(ConverterTable &table) {
  table.add("MatMul", 13, 21, convertMatMul);
  table.add("Gemm", 13, 21, convertGemm);
}

} // namespace onnx_import
} // namespace nibble

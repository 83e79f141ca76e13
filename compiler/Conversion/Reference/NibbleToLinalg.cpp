//===- NibbleToLinalg.cpp - Reference lowering of nibble ops --------------===//
//
// Lowers nibble ops to linalg.generic over tensors, in the plainest form:
// quantized weights are unpacked and dequantized element by element into a
// float tensor, activations are fake-quantized (quantized and dequantized in
// float), then a float x·Wᵀ + b follows. Every faster lowering is checked
// against this one.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Reference/Passes.h"
#include "dialects/NibbleOps.h"
#include "passes/QuantSpec.h"
#include "passes/numerics/Formats.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace nibble {
#define GEN_PASS_DEF_NIBBLELOWERTOLINALG
#include "compiler/Conversion/Reference/Passes.h.inc"
} // namespace nibble

using namespace mlir;
using namespace nibble;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// An index constant.
Value indexConst(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// An i32 constant.
Value i32Const(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), value);
}

/// An f32 constant.
Value f32Const(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// A tensor.empty of `type`; dynamic dimension i takes its size from
/// dimension i of `like` (which must have the same rank).
Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type, Value like) {
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::EmptyOp::create(b, loc, type, dynamicSizes);
}

/// The identity map and the parallel iterators of a rank-`rank` loop nest.
SmallVector<utils::IteratorType> parallelIterators(int64_t rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

/// A map of a `rank`-loop nest that drops its last loop.
AffineMap dropLastDimMap(MLIRContext *ctx, int64_t rank) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i + 1 < rank; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// Converts float `value` to float type `type` (extension, truncation or
/// nothing).
Value castFloat(OpBuilder &b, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  if (value.getType().getIntOrFloatBitWidth() < type.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, type, value);
  return arith::TruncFOp::create(b, loc, type, value);
}

/// Casts a float value to f32 (no-op for f32).
Value toF32(OpBuilder &b, Location loc, Value value) {
  return castFloat(b, loc, value, b.getF32Type());
}

/// Casts an f32 value to `type` (no-op for f32).
Value fromF32(OpBuilder &b, Location loc, Value value, Type type) {
  return castFloat(b, loc, value, type);
}

/// A constant f32 table of the values of every code of a code-book format.
Value codebookTable(OpBuilder &b, Location loc, WeightFormat format) {
  std::vector<float> values = numerics::codebookLevels(toElementFormat(format));
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getF32Type());
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

/// Rounds f32 `value` to the nearest FP8 E4M3 value (ties to even),
/// saturating at ±448: the step of the e4m3 grid at |value| is 2^(e - 3)
/// with e = max(exponent(|value|), -6).
Value roundToE4M3(OpBuilder &b, Location loc, Value value) {
  Type i32 = b.getI32Type();
  Value magnitude = math::AbsFOp::create(b, loc, value);
  magnitude =
      arith::MinimumFOp::create(b, loc, magnitude, f32Const(b, loc, 448));
  Value bits = arith::BitcastOp::create(b, loc, i32, magnitude);
  Value exponent = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, i32Const(b, loc, 23)),
      i32Const(b, loc, 127));
  exponent = arith::MaxSIOp::create(b, loc, exponent, i32Const(b, loc, -6));
  // step = 2^(exponent - 3), built from its exponent field.
  Value stepBits = arith::ShLIOp::create(
      b, loc, arith::AddIOp::create(b, loc, exponent, i32Const(b, loc, 124)),
      i32Const(b, loc, 23));
  Value step = arith::BitcastOp::create(b, loc, b.getF32Type(), stepBits);
  Value rounded = arith::MulFOp::create(
      b, loc,
      math::RoundEvenOp::create(b, loc,
                                arith::DivFOp::create(b, loc, magnitude, step)),
      step);
  return math::CopySignOp::create(b, loc, rounded, value);
}

/// The FP8 E4M3FN byte of `value`, an f32 that is exactly representable in
/// e4m3 (the output of roundToE4M3).
Value encodeE4M3(OpBuilder &b, Location loc, Value value) {
  Type i32 = b.getI32Type();
  Value bits = arith::BitcastOp::create(b, loc, i32, value);
  Value sign = arith::ShLIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, i32Const(b, loc, 31)),
      i32Const(b, loc, 7));
  Value magnitude = math::AbsFOp::create(b, loc, value);
  Value magnitudeBits = arith::BitcastOp::create(b, loc, i32, magnitude);
  Value exponent = arith::SubIOp::create(
      b, loc,
      arith::ShRUIOp::create(b, loc, magnitudeBits, i32Const(b, loc, 23)),
      i32Const(b, loc, 127));
  // Normal: exponent field (e + 7), 3 mantissa bits.
  Value normal = arith::OrIOp::create(
      b, loc,
      arith::ShLIOp::create(
          b, loc, arith::AddIOp::create(b, loc, exponent, i32Const(b, loc, 7)),
          i32Const(b, loc, 3)),
      arith::AndIOp::create(
          b, loc,
          arith::ShRUIOp::create(b, loc, magnitudeBits, i32Const(b, loc, 20)),
          i32Const(b, loc, 7)));
  // Subnormal (and zero): magnitude = m * 2^-9.
  Value subnormal = arith::FPToUIOp::create(
      b, loc, i32,
      arith::MulFOp::create(b, loc, magnitude, f32Const(b, loc, 512)));
  Value isNormal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                         exponent, i32Const(b, loc, -6));
  Value field = arith::SelectOp::create(b, loc, isNormal, normal, subnormal);
  Value byte = arith::TruncIOp::create(
      b, loc, b.getI8Type(), arith::OrIOp::create(b, loc, sign, field));
  return arith::BitcastOp::create(b, loc, b.getType<Float8E4M3FNType>(), byte);
}

/// Per-token absolute maximum of `input` over its last dimension, as f32
/// (rank = input rank - 1).
Value emitRowAbsMax(OpBuilder &b, Location loc, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  auto resultType =
      RankedTensorType::get(type.getShape().drop_back(), b.getF32Type());
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i + 1 < rank; ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, input, i));
  Value init = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  init = linalg::FillOp::create(b, loc, f32Const(b, loc, 0), init).result();
  SmallVector<utils::IteratorType> iterators = parallelIterators(rank);
  iterators.back() = utils::IteratorType::reduction;
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 dropLastDimMap(ctx, rank)};
  return linalg::GenericOp::create(
             b, loc, resultType, input, init, maps, iterators,
             [](OpBuilder &nb, Location nloc, ValueRange args) {
               Value magnitude =
                   math::AbsFOp::create(nb, nloc, toF32(nb, nloc, args[0]));
               Value max =
                   arith::MaximumFOp::create(nb, nloc, args[1], magnitude);
               linalg::YieldOp::create(nb, nloc, max);
             })
      .getResult(0);
}

/// Quantizes and dequantizes `x` (f32) with scale `scale`: int8 rounds to
/// [-127, 127], fp8 to the e4m3 grid. A zero scale gives zero.
Value fakeQuantize(OpBuilder &b, Location loc, Value x, Value scale,
                   ActivationScheme scheme) {
  Value scaled = arith::DivFOp::create(b, loc, x, scale);
  Value q;
  if (scheme == ActivationScheme::FP8Dynamic) {
    q = roundToE4M3(b, loc, scaled);
  } else {
    q = math::RoundEvenOp::create(b, loc, scaled);
    q = arith::MinimumFOp::create(b, loc, q, f32Const(b, loc, 127));
    q = arith::MaximumFOp::create(b, loc, q, f32Const(b, loc, -127));
  }
  Value result = arith::MulFOp::create(b, loc, q, scale);
  Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, scale,
                                       f32Const(b, loc, 0));
  return arith::SelectOp::create(b, loc, isZero, f32Const(b, loc, 0), result);
}

/// The largest code magnitude of an activation scheme (127 or 448).
float activationMax(ActivationScheme scheme) {
  return scheme == ActivationScheme::FP8Dynamic ? 448.0f : 127.0f;
}

/// `input` quantized and dequantized as `scheme` says (a no-op for none),
/// with one scale per `group` values along the last dimension (0: one per
/// row).
Value emitFakeQuantizedActivation(OpBuilder &b, Location loc, Value input,
                                  ActivationScheme scheme, Value inputScale,
                                  int64_t group = 0) {
  if (scheme == ActivationScheme::None)
    return input;
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  int64_t k = type.getShape().back();
  if (group > 0 && group < k) {
    // [..., K] as [..., K / group, group]: each group is a row.
    SmallVector<int64_t> shape(type.getShape());
    shape.back() = k / group;
    shape.push_back(group);
    SmallVector<ReassociationIndices> split;
    for (int64_t i = 0; i + 1 < rank; ++i)
      split.push_back({i});
    split.push_back({rank - 1, rank});
    Value groups = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), input,
        split);
    Value quantized =
        emitFakeQuantizedActivation(b, loc, groups, scheme, inputScale);
    return tensor::CollapseShapeOp::create(b, loc, type, quantized, split);
  }
  MLIRContext *ctx = b.getContext();
  Value init = emptyLike(b, loc, type, input);
  SmallVector<Value> inputs = {input};
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx)};
  if (scheme != ActivationScheme::Int8Static) {
    inputs.push_back(emitRowAbsMax(b, loc, input));
    maps.push_back(dropLastDimMap(ctx, rank));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  Type elementType = type.getElementType();
  return linalg::GenericOp::create(
             b, loc, type, inputs, init, maps, parallelIterators(rank),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               Value scale;
               if (scheme == ActivationScheme::Int8Static)
                 scale = tensor::ExtractOp::create(
                     nb, nloc, inputScale, ValueRange{indexConst(nb, nloc, 0)});
               else
                 scale = arith::DivFOp::create(
                     nb, nloc, args[1],
                     f32Const(nb, nloc, activationMax(scheme)));
               Value x = toF32(nb, nloc, args[0]);
               Value y = fakeQuantize(nb, nloc, x, scale, scheme);
               linalg::YieldOp::create(nb, nloc,
                                       fromF32(nb, nloc, y, elementType));
             })
      .getResult(0);
}

/// A generic that applies `castFloat` to every element of `input`, giving
/// `type` (same shape).
Value emitCastTensor(OpBuilder &b, Location loc, Value input,
                     RankedTensorType type) {
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  Value init = emptyLike(b, loc, type, input);
  SmallVector<AffineMap> maps(2, AffineMap::getMultiDimIdentityMap(rank, ctx));
  return linalg::GenericOp::create(
             b, loc, type, input, init, maps, parallelIterators(rank),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nloc,
                   castFloat(nb, nloc, args[0], type.getElementType()));
             })
      .getResult(0);
}

/// y = x·Wᵀ + b for x [..., K], W [N, K], b [N]. Products are accumulated in
/// f32 for narrower float types (as fast kernels do), then rounded once.
Value emitLinear(OpBuilder &b, Location loc, Value input, Value weight,
                 Value bias, RankedTensorType resultType) {
  MLIRContext *ctx = b.getContext();
  int64_t rank = resultType.getRank();
  Type elementType = resultType.getElementType();
  Type accType =
      elementType.getIntOrFloatBitWidth() < 32 ? b.getF32Type() : elementType;
  auto accTensorType = RankedTensorType::get(resultType.getShape(), accType);
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i))
      continue;
    if (i + 1 < rank)
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, input, i));
    else
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, weight, 0));
  }
  Value init = tensor::EmptyOp::create(b, loc, accTensorType, dynamicSizes);

  // Loops: batch dims (rank - 1), n, k.
  SmallVector<AffineExpr> batch;
  for (int64_t i = 0; i + 1 < rank; ++i)
    batch.push_back(getAffineDimExpr(i, ctx));
  AffineExpr n = getAffineDimExpr(rank - 1, ctx);
  AffineExpr k = getAffineDimExpr(rank, ctx);
  auto withLast = [&](AffineExpr last) {
    SmallVector<AffineExpr> exprs(batch);
    exprs.push_back(last);
    return exprs;
  };
  if (bias) {
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, {getAffineDimExpr(rank - 1, ctx)}, ctx),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    init = linalg::GenericOp::create(
               b, loc, accTensorType, bias, init, maps, parallelIterators(rank),
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 linalg::YieldOp::create(nb, nloc,
                                         castFloat(nb, nloc, args[0], accType));
               })
               .getResult(0);
  } else {
    Value zero =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(accType, 0.0));
    init = linalg::FillOp::create(b, loc, zero, init).result();
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, withLast(k), ctx),
                                 AffineMap::get(rank + 1, 0, {n, k}, ctx),
                                 AffineMap::get(rank + 1, 0, withLast(n), ctx)};
  SmallVector<utils::IteratorType> iterators = parallelIterators(rank + 1);
  iterators.back() = utils::IteratorType::reduction;
  Value result =
      linalg::GenericOp::create(
          b, loc, accTensorType, ValueRange{input, weight}, init, maps,
          iterators,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            Value product = arith::MulFOp::create(
                nb, nloc, castFloat(nb, nloc, args[0], accType),
                castFloat(nb, nloc, args[1], accType));
            linalg::YieldOp::create(
                nb, nloc,
                arith::AddFOp::create(nb, nloc, args[2], product).getResult());
          })
          .getResult(0);
  if (accType == elementType)
    return result;
  return emitCastTensor(b, loc, result, resultType);
}

/// The indices into the scale (and zero-point) matrix of weight element
/// (row, col): row 0 for per-tensor schemes, column col / group for grouped
/// ones.
std::pair<Value, Value> scaleIndices(OpBuilder &b, Location loc,
                                     SchemeAttr scheme, Value row, Value col) {
  Value scaleRow = scheme.getGranularity() == Granularity::Tensor
                       ? indexConst(b, loc, 0)
                       : row;
  Value scaleCol =
      scheme.getGranularity() == Granularity::Group
          ? arith::DivUIOp::create(b, loc, col,
                                   indexConst(b, loc, scheme.getGroupSize()))
                .getResult()
          : indexConst(b, loc, 0);
  return {scaleRow, scaleCol};
}

/// The scale at (scaleRow, scaleCol) of `op`'s scale matrix as f32.
Value emitWeightScale(OpBuilder &b, Location loc, QLinearOp op, Value scaleRow,
                      Value scaleCol) {
  SchemeAttr scheme = op.getScheme();
  Value scale = tensor::ExtractOp::create(b, loc, op.getScales(),
                                          ValueRange{scaleRow, scaleCol});
  if (!scheme.hasDoubleQuant())
    return toF32(b, loc, scale);
  // Double quantization: unsigned 8-bit code times its super-group's scale.
  Value code = arith::UIToFPOp::create(b, loc, b.getF32Type(), scale);
  int64_t groups = scheme.getGroupsPerRow(op.getReductionSize());
  Value flat = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, scaleRow, indexConst(b, loc, groups)),
      scaleCol);
  Value superIndex = arith::DivUIOp::create(
      b, loc, flat, indexConst(b, loc, scheme.getDoubleQuantGroup()));
  Value superScale = tensor::ExtractOp::create(b, loc, op.getScaleScales(),
                                               ValueRange{superIndex});
  return arith::MulFOp::create(b, loc, code, superScale);
}

/// The dequantized weight of `op` as an [N, K] tensor of `floatType`.
Value emitDequantizedWeight(OpBuilder &b, Location loc, QLinearOp op,
                            Type floatType) {
  SchemeAttr scheme = op.getScheme();
  RankedTensorType packedType = op.getWeight().getType();
  auto type = RankedTensorType::get(
      {packedType.getDimSize(0), op.getReductionSize()}, floatType);
  Value init = emptyLike(b, loc, type, op.getWeight());
  Value table;
  if (scheme.getFormat() != WeightFormat::Int)
    table = codebookTable(b, loc, scheme.getFormat());
  unsigned container = scheme.getContainerBits();
  MLIRContext *ctx = b.getContext();
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{}, init,
             AffineMap::getMultiDimIdentityMap(2, ctx), parallelIterators(2),
             [&](OpBuilder &nb, Location nloc, ValueRange) {
               Value row = linalg::IndexOp::create(nb, nloc, 0);
               Value col = linalg::IndexOp::create(nb, nloc, 1);
               // Unpack the code: byte col / perByte, bits
               // (col % perByte) * container upwards.
               Value perByte = indexConst(nb, nloc, 8 / container);
               Value byteCol = arith::DivUIOp::create(nb, nloc, col, perByte);
               Value shift = arith::MulIOp::create(
                   nb, nloc, arith::RemUIOp::create(nb, nloc, col, perByte),
                   indexConst(nb, nloc, container));
               Value byte = tensor::ExtractOp::create(nb, nloc, op.getWeight(),
                                                      ValueRange{row, byteCol});
               Value word =
                   arith::ExtUIOp::create(nb, nloc, nb.getI32Type(), byte);
               Value code = arith::AndIOp::create(
                   nb, nloc,
                   arith::ShRUIOp::create(
                       nb, nloc, word,
                       arith::IndexCastOp::create(nb, nloc, nb.getI32Type(),
                                                  shift)),
                   i32Const(nb, nloc, (1 << container) - 1));
               auto [scaleRow, scaleCol] =
                   scaleIndices(nb, nloc, scheme, row, col);
               Value scale = emitWeightScale(nb, nloc, op, scaleRow, scaleCol);
               Value level;
               if (scheme.hasMins()) {
                 // Unsigned codes, offset by the min after scaling.
                 level =
                     arith::SIToFPOp::create(nb, nloc, nb.getF32Type(), code);
               } else if (scheme.getFormat() == WeightFormat::Int) {
                 Value zero;
                 if (scheme.getSymmetric()) {
                   zero = i32Const(nb, nloc, 1 << (scheme.getBits() - 1));
                 } else {
                   Value zeroCode = tensor::ExtractOp::create(
                       nb, nloc, op.getZeroPoints(),
                       ValueRange{scaleRow, scaleCol});
                   zero = arith::ExtUIOp::create(nb, nloc, nb.getI32Type(),
                                                 zeroCode);
                 }
                 level = arith::SIToFPOp::create(
                     nb, nloc, nb.getF32Type(),
                     arith::SubIOp::create(nb, nloc, code, zero));
               } else {
                 Value index = arith::IndexCastOp::create(
                     nb, nloc, nb.getIndexType(), code);
                 level = tensor::ExtractOp::create(nb, nloc, table,
                                                   ValueRange{index});
               }
               Value value = arith::MulFOp::create(nb, nloc, level, scale);
               if (scheme.hasMins()) {
                 // float(u) * scale + min, two roundings as ggml's
                 // dequantizers (no fastmath flags: never fused).
                 Value min = tensor::ExtractOp::create(
                     nb, nloc, op.getMins(), ValueRange{scaleRow, scaleCol});
                 value = arith::AddFOp::create(nb, nloc, value,
                                               toF32(nb, nloc, min));
               }
               linalg::YieldOp::create(nb, nloc,
                                       fromF32(nb, nloc, value, floatType));
             })
      .getResult(0);
}

/// A map for a tensor of shape `scaleShape` broadcast over a loop nest of
/// rank `rank`: size-1 dimensions (or a [1] tensor) read index 0.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> scaleShape,
                       ArrayRef<int64_t> shape) {
  int64_t rank = shape.size();
  SmallVector<AffineExpr> exprs;
  if (int64_t(scaleShape.size()) != rank) {
    exprs.push_back(getAffineConstantExpr(0, ctx));
  } else {
    for (int64_t i = 0; i < rank; ++i)
      exprs.push_back(scaleShape[i] == 1 && shape[i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct LowerLinear : public OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, emitLinear(rewriter, op.getLoc(), op.getInput(),
                                      op.getWeight(), op.getBias(),
                                      op.getResult().getType()));
    return success();
  }
};

struct LowerQLinear : public OpRewritePattern<QLinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QLinearOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type floatType = op.getInput().getType().getElementType();
    Value input = emitFakeQuantizedActivation(
        rewriter, loc, op.getInput(), op.getScheme().getActivation(),
        op.getInputScale(), op.getScheme().getActivationGroup());
    Value weight = emitDequantizedWeight(rewriter, loc, op, floatType);
    rewriter.replaceOp(op, emitLinear(rewriter, loc, input, weight,
                                      op.getBias(), op.getResult().getType()));
    return success();
  }
};

struct LowerObserve : public OpRewritePattern<ObserveOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ObserveOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, op.getInput());
    return success();
  }
};

struct LowerQuantize : public OpRewritePattern<QuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    ActivationScheme mode = op.getMode();
    RankedTensorType inputType = op.getInput().getType();
    int64_t rank = inputType.getRank();
    RankedTensorType resultType = op.getResult().getType();
    RankedTensorType scaleType = op.getResultScale().getType();

    Value scale = op.getScale();
    if (mode != ActivationScheme::Int8Static) {
      // Per-token scale = absmax / qmax, shaped [..., 1].
      Value absMax = emitRowAbsMax(rewriter, loc, op.getInput());
      Value init = emptyLike(rewriter, loc, scaleType, op.getInput());
      float qmax = activationMax(mode);
      scale = linalg::GenericOp::create(
                  rewriter, loc, scaleType, absMax, init,
                  SmallVector<AffineMap>{
                      dropLastDimMap(ctx, rank),
                      AffineMap::getMultiDimIdentityMap(rank, ctx)},
                  parallelIterators(rank),
                  [&](OpBuilder &nb, Location nloc, ValueRange args) {
                    linalg::YieldOp::create(
                        nb, nloc,
                        arith::DivFOp::create(nb, nloc, args[0],
                                              f32Const(nb, nloc, qmax))
                            .getResult());
                  })
                  .getResult(0);
    }
    Value init = emptyLike(rewriter, loc, resultType, op.getInput());
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, ctx),
        broadcastMap(ctx, cast<RankedTensorType>(scale.getType()).getShape(),
                     inputType.getShape()),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    Value codes =
        linalg::GenericOp::create(
            rewriter, loc, resultType, ValueRange{op.getInput(), scale}, init,
            maps, parallelIterators(rank),
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              // A zero scale means an all-zero token: divide by 1 instead.
              Value isZero =
                  arith::CmpFOp::create(nb, nloc, arith::CmpFPredicate::OEQ,
                                        args[1], f32Const(nb, nloc, 0));
              Value safeScale = arith::SelectOp::create(
                  nb, nloc, isZero, f32Const(nb, nloc, 1), args[1]);
              Value scaled = arith::DivFOp::create(
                  nb, nloc, toF32(nb, nloc, args[0]), safeScale);
              Value result;
              if (mode == ActivationScheme::FP8Dynamic) {
                result = encodeE4M3(nb, nloc, roundToE4M3(nb, nloc, scaled));
              } else {
                Value code = math::RoundEvenOp::create(nb, nloc, scaled);
                code = arith::MinimumFOp::create(nb, nloc, code,
                                                 f32Const(nb, nloc, 127));
                code = arith::MaximumFOp::create(nb, nloc, code,
                                                 f32Const(nb, nloc, -127));
                result =
                    arith::FPToSIOp::create(nb, nloc, nb.getI8Type(), code);
              }
              linalg::YieldOp::create(nb, nloc, result);
            })
            .getResult(0);
    rewriter.replaceOp(op, {codes, scale});
    return success();
  }
};

struct LowerDequantize : public OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType inputType = op.getInput().getType();
    RankedTensorType resultType = op.getResult().getType();
    int64_t rank = inputType.getRank();
    bool isFp8 = isa<Float8E4M3FNType>(inputType.getElementType());
    Value table;
    if (isFp8)
      table = codebookTable(rewriter, loc, WeightFormat::FP8E4M3);
    Value init = emptyLike(rewriter, loc, resultType, op.getInput());
    SmallVector<AffineMap> maps = {
        AffineMap::getMultiDimIdentityMap(rank, ctx),
        broadcastMap(ctx, op.getScale().getType().getShape(),
                     inputType.getShape()),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    Type elementType = resultType.getElementType();
    Value result =
        linalg::GenericOp::create(
            rewriter, loc, resultType, ValueRange{op.getInput(), op.getScale()},
            init, maps, parallelIterators(rank),
            [&](OpBuilder &nb, Location nloc, ValueRange args) {
              Value level;
              if (isFp8) {
                Value byte =
                    arith::BitcastOp::create(nb, nloc, nb.getI8Type(), args[0]);
                Value index = arith::IndexCastUIOp::create(
                    nb, nloc, nb.getIndexType(), byte);
                level = tensor::ExtractOp::create(nb, nloc, table,
                                                  ValueRange{index});
              } else {
                level =
                    arith::SIToFPOp::create(nb, nloc, nb.getF32Type(), args[0]);
              }
              Value value = arith::MulFOp::create(nb, nloc, level, args[1]);
              linalg::YieldOp::create(nb, nloc,
                                      fromF32(nb, nloc, value, elementType));
            })
            .getResult(0);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct NibbleLowerToLinalgPass
    : public nibble::impl::NibbleLowerToLinalgBase<NibbleLowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Weights in a compile-time layout (nibble-cpu-interleave-weights) come
    // back to their operand's layout through a transpose.
    SmallVector<linalg::UnPackOp> unpacks;
    getOperation()->walk(
        [&](linalg::UnPackOp unpack) { unpacks.push_back(unpack); });
    IRRewriter rewriter(ctx);
    for (linalg::UnPackOp unpack : unpacks) {
      rewriter.setInsertionPoint(unpack);
      if (failed(
              linalg::lowerUnPack(rewriter, unpack,
                                  /*lowerUnpadLikeWithExtractSlice=*/false))) {
        unpack.emitOpError("cannot be decomposed into a transpose");
        return signalPassFailure();
      }
    }
    ConversionTarget target(*ctx);
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect>();
    target
        .addIllegalOp<LinearOp, QLinearOp, ObserveOp, QuantizeOp, DequantizeOp,
                      RmsNormOp, RopeOp, EmbeddingOp, AttentionOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateNibbleToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void nibble::populateNibbleToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerLinear, LowerQLinear, LowerObserve, LowerQuantize,
               LowerDequantize>(patterns.getContext());
  populateTransformerToLinalgPatterns(patterns);
}

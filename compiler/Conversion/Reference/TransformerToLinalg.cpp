//===- TransformerToLinalg.cpp - Reference lowering of transformer ops ----===//
//
// Lowers nibble.rms_norm, nibble.rope, nibble.embedding and nibble.attention
// to linalg.generic over tensors, in the plainest form that follows the
// Hugging Face computations step by step (f32 throughout). It is the oracle
// for faster lowerings, not the fast path. Attention slices the cache to the
// positions below start + T before touching it, so its cost follows the
// context, not the capacity.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/Reference/Passes.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

using namespace mlir;
using namespace nibble;

namespace {

/// `rank` parallel iterators, the last `reductions` of them reductions.
SmallVector<utils::IteratorType> iterators(int64_t rank,
                                           int64_t reductions = 0) {
  SmallVector<utils::IteratorType> result(rank, utils::IteratorType::parallel);
  for (int64_t i = rank - reductions; i < rank; ++i)
    result[i] = utils::IteratorType::reduction;
  return result;
}

/// The affine map from `rank` loops to the loop dimensions `dims`.
AffineMap loopsTo(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> dims) {
  SmallVector<AffineExpr> exprs;
  for (int64_t dim : dims)
    exprs.push_back(getAffineDimExpr(dim, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// An f32 constant.
Value f32Const(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// A tensor.empty of shape `shape` (f32 unless `elementType` is given) whose
/// dynamic dimensions take their sizes from `dynamicSizes` in order.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  ValueRange dynamicSizes, Type elementType = {}) {
  if (!elementType)
    elementType = b.getF32Type();
  return tensor::EmptyOp::create(
      b, loc, RankedTensorType::get(shape, elementType), dynamicSizes);
}

/// A tensor.empty like `empty` filled with `value`.
Value filled(OpBuilder &b, Location loc, Value empty, float value) {
  return linalg::FillOp::create(b, loc, f32Const(b, loc, value), empty)
      .result();
}

/// The sizes of the dynamic dimensions of `value` (a ranked tensor).
SmallVector<Value> dynamicDims(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(tensor::DimOp::create(b, loc, value, i));
  return sizes;
}

/// One linalg.generic with a single result of type `resultType` (an empty
/// `init` of that type is made), over `rank` loops.
Value generic(OpBuilder &b, Location loc, Value init, ValueRange inputs,
              ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iters,
              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  return linalg::GenericOp::create(b, loc, init.getType(), inputs, init, maps,
                                   iters, body)
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// nibble.rms_norm
//===----------------------------------------------------------------------===//

struct LowerRmsNorm : public OpRewritePattern<RmsNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RmsNormOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    SmallVector<int64_t> rows(type.getShape().drop_back());
    SmallVector<Value> rowSizes;
    for (int64_t i = 0; i + 1 < rank; ++i)
      if (type.isDynamicDim(i))
        rowSizes.push_back(tensor::DimOp::create(b, loc, x, i));
    SmallVector<int64_t> rowDims;
    for (int64_t i = 0; i + 1 < rank; ++i)
      rowDims.push_back(i);
    AffineMap all = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap row = loopsTo(ctx, rank, rowDims);
    AffineMap feature = loopsTo(ctx, rank, {rank - 1});

    // Σ x² per row.
    Value sumSquares = generic(
        b, loc, filled(b, loc, emptyTensor(b, loc, rows, rowSizes), 0.0f), x,
        {all, row}, iterators(rank, 1),
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value square = arith::MulFOp::create(nb, nloc, args[0], args[0]);
          linalg::YieldOp::create(
              nb, nloc,
              arith::AddFOp::create(nb, nloc, args[1], square).getResult());
        });
    // 1 / sqrt(mean + epsilon) per row.
    float size = static_cast<float>(type.getShape().back());
    Value sizeValue = ShapedType::isDynamic(type.getShape().back())
                          ? Value()
                          : f32Const(b, loc, size);
    if (!sizeValue) {
      Value dim = tensor::DimOp::create(b, loc, x, rank - 1);
      Value dim64 =
          arith::IndexCastOp::create(b, loc, b.getI64Type(), dim).getResult();
      sizeValue = arith::SIToFPOp::create(b, loc, b.getF32Type(), dim64);
    }
    Value epsilon = f32Const(b, loc, op.getEpsilon().convertToFloat());
    AffineMap rowIdentity = AffineMap::getMultiDimIdentityMap(rank - 1, ctx);
    Value inverseRms = generic(
        b, loc, emptyTensor(b, loc, rows, rowSizes), sumSquares,
        {rowIdentity, rowIdentity}, iterators(rank - 1),
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value mean = arith::DivFOp::create(nb, nloc, args[0], sizeValue);
          Value shifted = arith::AddFOp::create(nb, nloc, mean, epsilon);
          linalg::YieldOp::create(
              nb, nloc, math::RsqrtOp::create(nb, nloc, shifted).getResult());
        });
    // y = (x · inverse RMS) · (offset + w).
    Value offset = f32Const(b, loc, op.getOffset().convertToFloat());
    bool hasOffset = !op.getOffset().isZero();
    Value result = generic(
        b, loc, emptyTensor(b, loc, type.getShape(), dynamicDims(b, loc, x)),
        ValueRange{x, inverseRms, op.getWeight()}, {all, row, feature, all},
        iterators(rank), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value normalized = arith::MulFOp::create(nb, nloc, args[0], args[1]);
          Value scale = args[2];
          if (hasOffset)
            scale = arith::AddFOp::create(nb, nloc, offset, scale);
          linalg::YieldOp::create(
              nb, nloc,
              arith::MulFOp::create(nb, nloc, normalized, scale).getResult());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nibble.rope
//===----------------------------------------------------------------------===//

struct LowerRope : public OpRewritePattern<RopeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RopeOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value x = op.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t heads = type.getDimSize(1);
    int64_t headSize = type.getDimSize(2);
    int64_t pairs = static_cast<int64_t>(op.getInvFreq().size());
    int64_t rotary = 2 * pairs;
    SmallVector<Value> tokenSizes = dynamicDims(b, loc, x);
    int64_t tokens = type.getDimSize(0);

    // The rotated features as [T, H, 2, R/2] (rotate-half: element (s, i) is
    // feature s·R/2 + i) or [T, H, R/2, 2] (interleaved: feature 2i + s).
    Value rotatedPart = x;
    if (rotary < headSize) {
      SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes = {
          tokenSizes.empty() ? OpFoldResult(b.getIndexAttr(tokens))
                             : OpFoldResult(tokenSizes[0]),
          b.getIndexAttr(heads), b.getIndexAttr(rotary)};
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      rotatedPart = tensor::ExtractSliceOp::create(b, loc, rotatedPart, offsets,
                                                   sizes, strides);
    }
    bool interleaved = op.getInterleaved();
    SmallVector<int64_t> pairShape =
        interleaved ? SmallVector<int64_t>{tokens, heads, pairs, 2}
                    : SmallVector<int64_t>{tokens, heads, 2, pairs};
    SmallVector<ReassociationIndices> split = {{0}, {1}, {2, 3}};
    Value paired = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(pairShape, b.getF32Type()), rotatedPart,
        split);

    // Loops (t, h, a, c) over the pair view; the member s of the pair and
    // the frequency index i are a, c (rotate-half) or c, a (interleaved).
    int64_t sDim = interleaved ? 3 : 2;
    int64_t iDim = interleaved ? 2 : 3;
    AffineExpr t = getAffineDimExpr(0, ctx), h = getAffineDimExpr(1, ctx);
    AffineExpr s = getAffineDimExpr(sDim, ctx);
    SmallVector<AffineExpr> partner = {t, h, getAffineDimExpr(2, ctx),
                                       getAffineDimExpr(3, ctx)};
    partner[sDim] = s * -1 + 1;
    AffineMap all = AffineMap::getMultiDimIdentityMap(4, ctx);
    AffineMap partnerMap = AffineMap::get(4, 0, partner, ctx);
    auto freqType = RankedTensorType::get({pairs}, b.getF32Type());
    Value invFreq = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(freqType, ArrayRef<float>(op.getInvFreq())));
    // cos θ and sin θ per token and frequency, shared by all heads:
    // θ = f32(position) · inv_freq, as Hugging Face computes it.
    SmallVector<int64_t> tableShape = {tokens, pairs};
    AffineMap tableAll = AffineMap::getMultiDimIdentityMap(2, ctx);
    Type f32 = b.getF32Type();
    auto tables = linalg::GenericOp::create(
        b, loc,
        TypeRange{RankedTensorType::get(tableShape, f32),
                  RankedTensorType::get(tableShape, f32)},
        ValueRange{op.getPositions(), invFreq},
        ValueRange{emptyTensor(b, loc, tableShape, tokenSizes),
                   emptyTensor(b, loc, tableShape, tokenSizes)},
        ArrayRef<AffineMap>{loopsTo(ctx, 2, {0}), loopsTo(ctx, 2, {1}),
                            tableAll, tableAll},
        iterators(2), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value position = arith::SIToFPOp::create(nb, nloc, f32, args[0]);
          Value angle = arith::MulFOp::create(nb, nloc, position, args[1]);
          linalg::YieldOp::create(
              nb, nloc,
              ValueRange{math::CosOp::create(nb, nloc, angle),
                         math::SinOp::create(nb, nloc, angle)});
        });
    AffineMap tableMap = loopsTo(ctx, 4, {0, iDim});
    Value rotated = generic(
        b, loc, emptyTensor(b, loc, pairShape, tokenSizes),
        ValueRange{paired, paired, tables.getResult(0), tables.getResult(1)},
        {all, partnerMap, tableMap, tableMap, all}, iterators(4),
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value cos = args[2], sin = args[3];
          // Member 0 gets −partner·sin, member 1 +partner·sin.
          Value member = linalg::IndexOp::create(nb, nloc, sDim);
          Value zero = arith::ConstantIndexOp::create(nb, nloc, 0);
          Value first = arith::CmpIOp::create(
              nb, nloc, arith::CmpIPredicate::eq, member, zero);
          Value negated = arith::NegFOp::create(nb, nloc, args[1]);
          Value signedPartner =
              arith::SelectOp::create(nb, nloc, first, negated, args[1]);
          Value own = arith::MulFOp::create(nb, nloc, args[0], cos);
          Value other = arith::MulFOp::create(nb, nloc, signedPartner, sin);
          linalg::YieldOp::create(
              nb, nloc,
              arith::AddFOp::create(nb, nloc, own, other).getResult());
        });
    Value result = tensor::CollapseShapeOp::create(
        b, loc, cast<RankedTensorType>(rotatedPart.getType()), rotated, split);
    if (rotary < headSize) {
      // Features from R on pass through unchanged.
      SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, result);
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      result = tensor::InsertSliceOp::create(b, loc, result, x, offsets, sizes,
                                             strides);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nibble.embedding
//===----------------------------------------------------------------------===//

struct LowerEmbedding : public OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    Value table = op.getTable();
    auto tableType = cast<RankedTensorType>(table.getType());
    auto resultType = op.getResult().getType();
    Value vocab = tensor::DimOp::create(b, loc, table, 0);
    Value result = generic(
        b, loc,
        emptyTensor(b, loc, resultType.getShape(),
                    dynamicDims(b, loc, op.getIds()),
                    tableType.getElementType()),
        op.getIds(), {loopsTo(ctx, 2, {0}), loopsTo(ctx, 2, {0, 1})},
        iterators(2), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          // Ids outside [0, V) read row 0 (the runtime rejects them first).
          Value id =
              arith::IndexCastOp::create(nb, nloc, nb.getIndexType(), args[0]);
          Value zero = arith::ConstantIndexOp::create(nb, nloc, 0);
          Value inRange = arith::AndIOp::create(
              nb, nloc,
              arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::sge, id,
                                    zero),
              arith::CmpIOp::create(nb, nloc, arith::CmpIPredicate::slt, id,
                                    vocab));
          Value row = arith::SelectOp::create(nb, nloc, inRange, id, zero);
          Value column = linalg::IndexOp::create(nb, nloc, 1);
          linalg::YieldOp::create(nb, nloc,
                                  tensor::ExtractOp::create(
                                      nb, nloc, table, ValueRange{row, column})
                                      .getResult());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nibble.attention
//===----------------------------------------------------------------------===//

struct LowerAttention : public OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    OpBuilder &b = rewriter;
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto queryType = cast<RankedTensorType>(op.getQuery().getType());
    auto keysType = cast<RankedTensorType>(op.getKeys().getType());
    auto valuesType = cast<RankedTensorType>(op.getValues().getType());
    int64_t tokens = queryType.getDimSize(0);
    int64_t queryHeads = queryType.getDimSize(1);
    int64_t headSize = queryType.getDimSize(2);
    int64_t kvHeads = keysType.getDimSize(1);
    int64_t group = queryHeads / kvHeads;
    int64_t valueSize = valuesType.getDimSize(2);
    auto window = static_cast<int64_t>(op.getWindow());
    constexpr int64_t dyn = ShapedType::kDynamic;

    // The cache positions any query of this call may see: [first, end).
    Value start = op.getStart();
    SmallVector<Value> tokenSizes = dynamicDims(b, loc, op.getQuery());
    Value tokenCount =
        tokenSizes.empty()
            ? arith::ConstantIndexOp::create(b, loc, tokens).getResult()
            : tokenSizes[0];
    Value end = arith::AddIOp::create(b, loc, start, tokenCount);
    Value first = arith::ConstantIndexOp::create(b, loc, 0);
    if (window > 0) {
      Value reach = arith::SubIOp::create(
          b, loc, start, arith::ConstantIndexOp::create(b, loc, window - 1));
      first = arith::MaxSIOp::create(b, loc, reach, first);
    }
    Value span = arith::SubIOp::create(b, loc, end, first);
    auto sliceCache = [&](Value cache, int64_t features) -> Value {
      SmallVector<OpFoldResult> offsets = {first, b.getIndexAttr(0),
                                           b.getIndexAttr(0)};
      SmallVector<OpFoldResult> sizes = {span, b.getIndexAttr(kvHeads),
                                         b.getIndexAttr(features)};
      SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
      return tensor::ExtractSliceOp::create(
          b, loc,
          RankedTensorType::get({dyn, kvHeads, features}, b.getF32Type()),
          cache, offsets, sizes, strides);
    };
    Value keys = sliceCache(op.getKeys(), headSize);
    Value values = sliceCache(op.getValues(), valueSize);

    // Queries as [T, Hkv, G, D]: query head h = kv · G + g uses KV head kv.
    Value query = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({tokens, kvHeads, group, headSize},
                              b.getF32Type()),
        op.getQuery(), ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});

    // Scores [T, Hkv, G, L] = q · k over D; loops (t, kv, g, j, d).
    SmallVector<int64_t> scoreShape = {tokens, kvHeads, group, dyn};
    SmallVector<Value> scoreSizes(tokenSizes);
    scoreSizes.push_back(span);
    Value dots = generic(
        b, loc, filled(b, loc, emptyTensor(b, loc, scoreShape, scoreSizes), 0),
        ValueRange{query, keys},
        {loopsTo(ctx, 5, {0, 1, 2, 4}), loopsTo(ctx, 5, {3, 1, 4}),
         loopsTo(ctx, 5, {0, 1, 2, 3})},
        iterators(5, 1), [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value product = arith::MulFOp::create(nb, nloc, args[0], args[1]);
          linalg::YieldOp::create(
              nb, nloc,
              arith::AddFOp::create(nb, nloc, args[2], product).getResult());
        });

    // Scaled scores, −inf where the query may not look (the future, and
    // beyond the sliding window).
    AffineMap all4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    Value scale = f32Const(b, loc, op.getScale().convertToFloat());
    Value minusInfinity =
        f32Const(b, loc, -std::numeric_limits<float>::infinity());
    Value masked = generic(
        b, loc, emptyTensor(b, loc, scoreShape, scoreSizes), dots, {all4, all4},
        iterators(4), [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value t = linalg::IndexOp::create(nb, nloc, 0);
          Value j = linalg::IndexOp::create(nb, nloc, 3);
          Value queryPosition = arith::AddIOp::create(nb, nloc, start, t);
          Value keyPosition = arith::AddIOp::create(nb, nloc, first, j);
          Value visible = arith::CmpIOp::create(
              nb, nloc, arith::CmpIPredicate::sle, keyPosition, queryPosition);
          if (window > 0) {
            Value oldest = arith::SubIOp::create(
                nb, nloc, queryPosition,
                arith::ConstantIndexOp::create(nb, nloc, window));
            Value inWindow = arith::CmpIOp::create(
                nb, nloc, arith::CmpIPredicate::sgt, keyPosition, oldest);
            visible = arith::AndIOp::create(nb, nloc, visible, inWindow);
          }
          Value scaled = arith::MulFOp::create(nb, nloc, args[0], scale);
          linalg::YieldOp::create(
              nb, nloc,
              arith::SelectOp::create(nb, nloc, visible, scaled, minusInfinity)
                  .getResult());
        });

    // Softmax over j: subtract the row maximum, exponentiate, normalize.
    SmallVector<int64_t> rowShape = {tokens, kvHeads, group};
    AffineMap rowOf4 = loopsTo(ctx, 4, {0, 1, 2});
    Value maximum =
        generic(b, loc,
                filled(b, loc, emptyTensor(b, loc, rowShape, tokenSizes),
                       -std::numeric_limits<float>::infinity()),
                masked, {all4, rowOf4}, iterators(4, 1),
                [](OpBuilder &nb, Location nloc, ValueRange args) {
                  linalg::YieldOp::create(
                      nb, nloc,
                      arith::MaximumFOp::create(nb, nloc, args[0], args[1])
                          .getResult());
                });
    Value exponentials = generic(
        b, loc, emptyTensor(b, loc, scoreShape, scoreSizes),
        ValueRange{masked, maximum}, {all4, rowOf4, all4}, iterators(4),
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value shifted = arith::SubFOp::create(nb, nloc, args[0], args[1]);
          linalg::YieldOp::create(
              nb, nloc, math::ExpOp::create(nb, nloc, shifted).getResult());
        });
    Value sums = generic(
        b, loc, filled(b, loc, emptyTensor(b, loc, rowShape, tokenSizes), 0),
        exponentials, {all4, rowOf4}, iterators(4, 1),
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          linalg::YieldOp::create(
              nb, nloc,
              arith::AddFOp::create(nb, nloc, args[1], args[0]).getResult());
        });
    Value probabilities = generic(
        b, loc, emptyTensor(b, loc, scoreShape, scoreSizes),
        ValueRange{exponentials, sums}, {all4, rowOf4, all4}, iterators(4),
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          linalg::YieldOp::create(
              nb, nloc,
              arith::DivFOp::create(nb, nloc, args[0], args[1]).getResult());
        });

    // Output [T, Hkv, G, Dv] = Σ_j p · v; loops (t, kv, g, e, j).
    SmallVector<int64_t> outShape = {tokens, kvHeads, group, valueSize};
    Value weighted = generic(
        b, loc, filled(b, loc, emptyTensor(b, loc, outShape, tokenSizes), 0),
        ValueRange{probabilities, values},
        {loopsTo(ctx, 5, {0, 1, 2, 4}), loopsTo(ctx, 5, {4, 1, 3}),
         loopsTo(ctx, 5, {0, 1, 2, 3})},
        iterators(5, 1), [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value product = arith::MulFOp::create(nb, nloc, args[0], args[1]);
          linalg::YieldOp::create(
              nb, nloc,
              arith::AddFOp::create(nb, nloc, args[2], product).getResult());
        });
    Value result = tensor::CollapseShapeOp::create(
        b, loc,
        RankedTensorType::get({tokens, queryHeads, valueSize}, b.getF32Type()),
        weighted, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
    if (result.getType() != op.getResult().getType())
      result = tensor::CastOp::create(b, loc, op.getResult().getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void nibble::populateTransformerToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRmsNorm, LowerRope, LowerEmbedding, LowerAttention>(
      patterns.getContext());
}

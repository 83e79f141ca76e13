//===- AttentionKernel.cpp - Fused attention kernels for CPUs -------------===//
//
// For each (token t, query head h) in parallel, with p = start + t, keys
// j in [first, p] (first = max(0, p - window + 1) with a window, else 0), V
// lanes, D / Dv head sizes:
//
//   q = query[t, h] · scale                           (D / V vectors)
//   m = -inf, l = 0, acc = 0                          (Dv / V vectors)
//   for j0 = first; j0 <= p; j0 += V:
//     s[i] = q · keys[j0 + i, h / G]   (-inf past p)  (one vector of scores)
//     m' = max(m, max(s)); c = exp(m - m')
//     e = exp(s - m'); l = l·c + sum(e)
//     acc = acc·c + Σ_i e[i] · values[j0 + i, h / G]
//     m = m'
//   result[t, h] = acc / l
//
// Exponentials are polynomial approximations in vector registers
// (math-polynomial-approximation), accurate to a few ulp; the reference
// lowering calls libm.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/AttentionKernel.h"
#include "compiler/cpu/KernelFunction.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

using namespace mlir;
using namespace nibble;

namespace {

/// Emits the body of one attention kernel.
class AttentionKernelEmitter {
public:
  AttentionKernelEmitter(AttentionOp op, unsigned lanes, func::FuncOp func)
      : lanes(lanes), scale(op.getScale().convertToFloat()),
        window(static_cast<int64_t>(op.getWindow())) {
    auto queryType = cast<RankedTensorType>(op.getQuery().getType());
    auto keysType = cast<RankedTensorType>(op.getKeys().getType());
    auto valuesType = cast<RankedTensorType>(op.getValues().getType());
    queryHeads = queryType.getDimSize(1);
    headSize = queryType.getDimSize(2);
    group = queryHeads / keysType.getDimSize(1);
    valueSize = valuesType.getDimSize(2);
    query = func.getArgument(0);
    keys = func.getArgument(1);
    values = func.getArgument(2);
    start = func.getArgument(3);
    result = func.getArgument(4);
  }

  void emit(OpBuilder &b, Location loc);

private:
  Value index(OpBuilder &b, Location loc, int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value f32(OpBuilder &b, Location loc, float value) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
  }
  VectorType vectorType(OpBuilder &b) {
    return VectorType::get({lanes}, b.getF32Type());
  }
  /// One query (token t, head h).
  void emitQuery(OpBuilder &b, Location loc, Value t, Value h);
  /// One block of keys from j0: the new (m, l, acc...).
  SmallVector<Value> emitKeyBlock(OpBuilder &b, Location loc, Value j0,
                                  Value end, Value kvHead,
                                  ArrayRef<Value> scaledQuery,
                                  ValueRange state);

  int64_t lanes;
  float scale;
  int64_t window;
  int64_t queryHeads = 0, headSize = 0, group = 1, valueSize = 0;
  Value query, keys, values, start, result;
};

void AttentionKernelEmitter::emit(OpBuilder &b, Location loc) {
  Value tokens = memref::DimOp::create(b, loc, query, 0);
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  scf::ParallelOp::create(b, loc, ValueRange{zero, zero},
                          ValueRange{tokens, index(b, loc, queryHeads)},
                          ValueRange{one, one},
                          [&](OpBuilder &b, Location loc, ValueRange ivs) {
                            emitQuery(b, loc, ivs[0], ivs[1]);
                          });
  func::ReturnOp::create(b, loc);
}

void AttentionKernelEmitter::emitQuery(OpBuilder &b, Location loc, Value t,
                                       Value h) {
  VectorType type = vectorType(b);
  Value kvHead = arith::DivUIOp::create(b, loc, h, index(b, loc, group));
  Value position = arith::AddIOp::create(b, loc, start, t);
  Value end = arith::AddIOp::create(b, loc, position, index(b, loc, 1));
  Value first = index(b, loc, 0);
  if (window > 0)
    first = arith::MaxSIOp::create(
        b, loc, first,
        arith::SubIOp::create(b, loc, position, index(b, loc, window - 1)));

  Value scaleVector =
      vector::BroadcastOp::create(b, loc, type, f32(b, loc, scale));
  SmallVector<Value> scaledQuery;
  for (int64_t d = 0; d < headSize; d += lanes)
    scaledQuery.push_back(arith::MulFOp::create(
        b, loc,
        vector::LoadOp::create(b, loc, type, query,
                               ValueRange{t, h, index(b, loc, d)}),
        scaleVector));

  Value zeroVector = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0)));
  SmallVector<Value> init = {
      f32(b, loc, -std::numeric_limits<float>::infinity()), f32(b, loc, 0)};
  for (int64_t d = 0; d < valueSize; d += lanes)
    init.push_back(zeroVector);
  auto keyLoop = scf::ForOp::create(
      b, loc, first, end, index(b, loc, lanes), init,
      [&](OpBuilder &b, Location loc, Value j0, ValueRange state) {
        scf::YieldOp::create(
            b, loc, emitKeyBlock(b, loc, j0, end, kvHead, scaledQuery, state));
      });

  Value sum = vector::BroadcastOp::create(b, loc, type, keyLoop.getResult(1));
  for (int64_t d = 0, i = 2; d < valueSize; d += lanes, ++i) {
    Value normalized = arith::DivFOp::create(b, loc, keyLoop.getResult(i), sum);
    vector::StoreOp::create(b, loc, normalized, result,
                            ValueRange{t, h, index(b, loc, d)});
  }
}

SmallVector<Value> AttentionKernelEmitter::emitKeyBlock(
    OpBuilder &b, Location loc, Value j0, Value end, Value kvHead,
    ArrayRef<Value> scaledQuery, ValueRange state) {
  VectorType type = vectorType(b);
  Value minusInfinity = f32(b, loc, -std::numeric_limits<float>::infinity());
  Value last = arith::SubIOp::create(b, loc, end, index(b, loc, 1));

  // Scores of keys j0 .. j0 + lanes - 1; keys past the query are -inf (their
  // rows are read at the last valid key instead, so every load is in bounds).
  Value scores = vector::BroadcastOp::create(b, loc, type, minusInfinity);
  SmallVector<Value> rows;
  for (int64_t i = 0; i < lanes; ++i) {
    Value j = arith::AddIOp::create(b, loc, j0, index(b, loc, i));
    Value row = arith::MinSIOp::create(b, loc, j, last);
    rows.push_back(row);
    Value dot;
    for (int64_t d = 0, v = 0; d < headSize; d += lanes, ++v) {
      Value key = vector::LoadOp::create(
          b, loc, type, keys, ValueRange{row, kvHead, index(b, loc, d)});
      dot =
          dot ? vector::FMAOp::create(b, loc, scaledQuery[v], key, dot)
                    .getResult()
              : arith::MulFOp::create(b, loc, scaledQuery[v], key).getResult();
    }
    Value score =
        vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, dot);
    Value visible =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, j, end);
    score = arith::SelectOp::create(b, loc, visible, score, minusInfinity);
    scores = vector::InsertOp::create(b, loc, score, scores, i);
  }

  // Online softmax: rescale what was accumulated to the new maximum.
  Value oldMax = state[0], oldSum = state[1];
  Value blockMax = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::MAXIMUMF, scores);
  Value newMax = arith::MaximumFOp::create(b, loc, oldMax, blockMax);
  Value correction = math::ExpOp::create(
      b, loc, arith::SubFOp::create(b, loc, oldMax, newMax));
  Value weights = math::ExpOp::create(
      b, loc,
      arith::SubFOp::create(b, loc, scores,
                            vector::BroadcastOp::create(b, loc, type, newMax)));
  Value newSum = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, oldSum, correction),
      vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, weights));
  Value correctionVector =
      vector::BroadcastOp::create(b, loc, type, correction);
  SmallVector<Value> next = {newMax, newSum};
  for (int64_t d = 0, v = 2; d < valueSize; d += lanes, ++v) {
    Value acc = arith::MulFOp::create(b, loc, state[v], correctionVector);
    for (int64_t i = 0; i < lanes; ++i) {
      Value weight = vector::BroadcastOp::create(
          b, loc, type, vector::ExtractOp::create(b, loc, weights, i));
      Value value = vector::LoadOp::create(
          b, loc, type, values, ValueRange{rows[i], kvHead, index(b, loc, d)});
      acc = vector::FMAOp::create(b, loc, weight, value, acc);
    }
    next.push_back(acc);
  }
  return next;
}

/// A name for the kernel of `op` with `lanes`.
std::string kernelName(AttentionOp op, unsigned lanes) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keysType = cast<RankedTensorType>(op.getKeys().getType());
  auto valuesType = cast<RankedTensorType>(op.getValues().getType());
  std::string name = "__nibble_kernel_attention";
  for (int64_t size :
       {queryType.getDimSize(1), keysType.getDimSize(0), keysType.getDimSize(1),
        queryType.getDimSize(2), valuesType.getDimSize(2)})
    name += "_" + std::to_string(size);
  name += "_w" + std::to_string(op.getWindow());
  // The scale, bit for bit.
  llvm::APInt bits = op.getScaleAttr().getValue().bitcastToAPInt();
  name += "_s" + llvm::utohexstr(bits.getZExtValue());
  name += "_v" + std::to_string(lanes);
  return name;
}

} // namespace

FailureOr<unsigned> nibble::chooseAttentionKernel(AttentionOp op,
                                                  const CpuTarget &target,
                                                  std::string &whyNot) {
  auto queryType = cast<RankedTensorType>(op.getQuery().getType());
  auto keysType = cast<RankedTensorType>(op.getKeys().getType());
  auto valuesType = cast<RankedTensorType>(op.getValues().getType());
  if (ShapedType::isDynamicShape(queryType.getShape().drop_front()) ||
      !keysType.hasStaticShape() || !valuesType.hasStaticShape()) {
    whyNot = "heads, head sizes and the cache capacity must be static";
    return failure();
  }
  int64_t headSize = queryType.getDimSize(2);
  int64_t valueSize = valuesType.getDimSize(2);
  for (unsigned lanes = std::max(4u, target.f32Lanes()); lanes >= 4; lanes /= 2)
    if (headSize % lanes == 0 && valueSize % lanes == 0)
      return lanes;
  whyNot = "head sizes " + std::to_string(headSize) + " / " +
           std::to_string(valueSize) + " are not multiples of 4";
  return failure();
}

func::FuncOp nibble::getOrCreateAttentionKernel(ModuleOp module,
                                                SymbolTable &symbols,
                                                AttentionOp op,
                                                unsigned lanes) {
  std::string name = kernelName(op, lanes);
  if (auto existing = symbols.lookup<func::FuncOp>(name))
    return existing;
  auto shapeOf = [](Value value) {
    return cast<RankedTensorType>(value.getType()).getShape();
  };
  Type f32 = Float32Type::get(module.getContext());
  SmallVector<Type> argTypes = {kernelBufferType(shapeOf(op.getQuery()), f32),
                                kernelBufferType(shapeOf(op.getKeys()), f32),
                                kernelBufferType(shapeOf(op.getValues()), f32),
                                IndexType::get(module.getContext()),
                                kernelBufferType(shapeOf(op.getResult()), f32)};
  // The kernel serves any number of tokens.
  for (int i : {0, 4}) {
    auto type = cast<MemRefType>(argTypes[i]);
    SmallVector<int64_t> shape(type.getShape());
    shape[0] = ShapedType::kDynamic;
    argTypes[i] = kernelBufferType(shape, f32);
  }
  func::FuncOp func =
      createKernelFunction(module, symbols, name, argTypes, op.getLoc());
  auto b = OpBuilder::atBlockBegin(&func.front());
  AttentionKernelEmitter(op, lanes, func).emit(b, op.getLoc());

  // Exponentials in vector registers.
  RewritePatternSet patterns(module.getContext());
  populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
    return name == math::ExpOp::getOperationName();
  });
  (void)applyPatternsGreedily(func, std::move(patterns));
  return func;
}

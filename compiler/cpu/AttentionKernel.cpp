//===- AttentionKernel.cpp - Fused attention kernels for CPUs -------------===//
//
// For each (token t, query head h) in parallel, with p = start + t, keys
// j in [first, p] (first = max(0, p - window + 1) with a window, else 0), V
// lanes, D / Dv head sizes:
//
//   q = query[t, h] · scale                           (D / V vectors)
//   m = -inf, l = 0 (vectors), acc = 0                (Dv / V vectors)
//   for j0 = first; j0 <= p; j0 += V:
//     s[i] = q · keys[j0 + i, h / G]   (-inf past p)  (one vector of scores)
//     m' = max(m, max over lanes of s); c = exp(m - m')
//     e = exp(s - m'); l = l·c + e                    (per lane)
//     acc = acc·c + Σ_i e[i] · values[j0 + i, h / G]
//     m = m'
//   result[t, h] = acc / (sum over lanes of l)
//
// Full blocks of V keys run without masks, read rows at fixed offsets from
// j0 and prefetch the rows kBlocksAhead blocks on; the last, partial block
// clamps its rows to p and masks its scores. A block's V dot products (V
// vectors of V partial sums) are summed into one vector of scores by a tree
// of pairwise shuffles and adds (log2 V levels), not V separate horizontal
// reductions; the maximum over lanes is a butterfly that leaves it in every
// lane, so m, c and l stay in vectors; the values are accumulated in two
// chains of FMAs (even and odd keys) per vector of the result.
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
#include "llvm/Support/MathExtras.h"

#include <cassert>
#include <limits>

using namespace mlir;
using namespace nibble;

namespace {

/// How many blocks of keys ahead of the one it reads a full block
/// prefetches. The cache's rows of one KV head are pieces of D floats every
/// Hkv · D floats, read by dozens of load instructions per block: strided
/// streams that the hardware prefetchers may not follow.
constexpr int64_t kBlocksAhead = 2;

/// The vector whose lane i is the sum of the lanes of `vectors[i]` (as many
/// vectors as lanes, a power of two). A tree of pairwise steps: each step
/// takes two vectors whose lanes hold segments of S partial sums of earlier
/// operands, and adds the first halves of their segments (interleaved: the
/// first operand's, then the second's) to the second halves, leaving segments
/// of S / 2. On AVX-512 each shuffle is one instruction (vinsertf64x4,
/// vshuff64x2, vpermt2pd, vunpcklpd / vunpckhpd, vshufps in the compiled
/// kernels). The operands are ordered up front so that the sums come out in
/// lane order.
Value emitLaneSums(OpBuilder &b, Location loc, ArrayRef<Value> vectors) {
  int64_t lanes = static_cast<int64_t>(vectors.size());
  assert(llvm::isPowerOf2_64(lanes) &&
         cast<VectorType>(vectors.front().getType()).getNumElements() == lanes);
  // Which operand's partial sums each lane holds, for operands in order.
  SmallVector<SmallVector<int64_t>> owners;
  for (int64_t i = 0; i < lanes; ++i)
    owners.push_back(SmallVector<int64_t>(lanes, i));
  SmallVector<SmallVector<int64_t>> lowMasks, highMasks;
  for (int64_t segment = lanes; segment > 1; segment /= 2) {
    SmallVector<int64_t> low, high;
    for (int64_t start = 0; start < lanes; start += segment)
      for (int64_t operand : {0, 1})
        for (int64_t l = 0; l < segment / 2; ++l) {
          low.push_back(operand * lanes + start + l);
          high.push_back(operand * lanes + start + segment / 2 + l);
        }
    SmallVector<SmallVector<int64_t>> next;
    for (size_t pair = 0; pair < owners.size(); pair += 2) {
      SmallVector<int64_t> owner;
      for (int64_t lane : low)
        owner.push_back(owners[pair + lane / lanes][lane % lanes]);
      next.push_back(owner);
    }
    owners = next;
    lowMasks.push_back(low);
    highMasks.push_back(high);
  }
  // Lane l ends up with the sum of operand owners[0][l]: give that operand
  // vectors[l].
  SmallVector<int64_t> laneOfOperand(lanes);
  for (int64_t l = 0; l < lanes; ++l)
    laneOfOperand[owners[0][l]] = l;
  SmallVector<Value> level(vectors);
  for (int64_t operand = 0; operand < lanes; ++operand)
    level[operand] = vectors[laneOfOperand[operand]];
  // Each step halves the vectors in place: pair (2p, 2p + 1) becomes p.
  for (size_t step = 0; step < lowMasks.size(); ++step) {
    size_t pairs = level.size() / 2;
    for (size_t pair = 0; pair < pairs; ++pair) {
      Value first = level[2 * pair], second = level[2 * pair + 1];
      Value low =
          vector::ShuffleOp::create(b, loc, first, second, lowMasks[step]);
      Value high =
          vector::ShuffleOp::create(b, loc, first, second, highMasks[step]);
      level[pair] = arith::AddFOp::create(b, loc, low, high);
    }
    level.truncate(pairs);
  }
  assert(level.size() == 1 && "the tree ends in one vector");
  return level[0];
}

/// The maximum of the lanes of `vector` (maxnumf: NaN lanes are ignored)
/// in every lane: log2(lanes) butterfly steps, each a shuffle that swaps
/// halves of ever smaller segments and a maximum.
Value emitLaneMax(OpBuilder &b, Location loc, Value vector) {
  int64_t lanes = cast<VectorType>(vector.getType()).getNumElements();
  for (int64_t distance = lanes / 2; distance >= 1; distance /= 2) {
    SmallVector<int64_t> swapped;
    for (int64_t lane = 0; lane < lanes; ++lane)
      swapped.push_back(lane ^ distance);
    vector = arith::MaxNumFOp::create(
        b, loc, vector,
        vector::ShuffleOp::create(b, loc, vector, vector, swapped));
  }
  return vector;
}

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
                                  ArrayRef<Value> scaledQuery, ValueRange state,
                                  bool partial);

  /// Prefetches the key and value rows of the block kBlocksAhead blocks
  /// after the one at j0 (clamped to end: the addresses stay in the visible
  /// cache), every cache line of them.
  void emitPrefetches(OpBuilder &b, Location loc, Value j0, Value end,
                      Value kvHead);

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
  // The running maximum (in every lane), the running sum of the weights
  // (per lane: summed across lanes once at the end) and the accumulators.
  SmallVector<Value> init = {
      vector::BroadcastOp::create(
          b, loc, type, f32(b, loc, -std::numeric_limits<float>::infinity())),
      zeroVector};
  for (int64_t d = 0; d < valueSize; d += lanes)
    init.push_back(zeroVector);
  // Full blocks, then the partial block (if any) with its masks.
  Value step = index(b, loc, lanes);
  Value fullEnd = arith::AddIOp::create(
      b, loc, first,
      arith::MulIOp::create(
          b, loc,
          arith::DivUIOp::create(
              b, loc, arith::SubIOp::create(b, loc, end, first), step),
          step));
  auto fullLoop = scf::ForOp::create(
      b, loc, first, fullEnd, step, init,
      [&](OpBuilder &b, Location loc, Value j0, ValueRange state) {
        scf::YieldOp::create(b, loc,
                             emitKeyBlock(b, loc, j0, end, kvHead, scaledQuery,
                                          state, /*partial=*/false));
      });
  auto keyLoop = scf::ForOp::create(
      b, loc, fullEnd, end, step, fullLoop.getResults(),
      [&](OpBuilder &b, Location loc, Value j0, ValueRange state) {
        scf::YieldOp::create(b, loc,
                             emitKeyBlock(b, loc, j0, end, kvHead, scaledQuery,
                                          state, /*partial=*/true));
      });

  Value sum = vector::BroadcastOp::create(
      b, loc, type,
      vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                  keyLoop.getResult(1)));
  for (int64_t d = 0, i = 2; d < valueSize; d += lanes, ++i) {
    Value normalized = arith::DivFOp::create(b, loc, keyLoop.getResult(i), sum);
    vector::StoreOp::create(b, loc, normalized, result,
                            ValueRange{t, h, index(b, loc, d)});
  }
}

SmallVector<Value> AttentionKernelEmitter::emitKeyBlock(
    OpBuilder &b, Location loc, Value j0, Value end, Value kvHead,
    ArrayRef<Value> scaledQuery, ValueRange state, bool partial) {
  VectorType type = vectorType(b);
  Value last =
      partial ? arith::SubIOp::create(b, loc, end, index(b, loc, 1)) : Value();

  // The dot products of keys j0 .. j0 + lanes - 1 as vectors of partial
  // sums. In a partial block, keys past the query read the last valid row
  // (every load stays in bounds) and their scores become -inf below.
  SmallVector<Value> rows, dots;
  for (int64_t i = 0; i < lanes; ++i) {
    Value row = arith::AddIOp::create(b, loc, j0, index(b, loc, i));
    if (partial)
      row = arith::MinSIOp::create(b, loc, row, last);
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
    dots.push_back(dot);
  }
  if (!partial)
    emitPrefetches(b, loc, j0, end, kvHead);
  Value scores = emitLaneSums(b, loc, dots);
  if (partial) {
    // Lanes i < end - j0 are visible.
    Value visible = vector::CreateMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ValueRange{arith::SubIOp::create(b, loc, end, j0)});
    Value minusInfinity = vector::BroadcastOp::create(
        b, loc, type, f32(b, loc, -std::numeric_limits<float>::infinity()));
    scores = arith::SelectOp::create(b, loc, visible, scores, minusInfinity);
  }

  // Online softmax: rescale what was accumulated to the new maximum. All
  // in vectors: no horizontal step but the maximum's butterfly.
  Value oldMax = state[0], oldSum = state[1];
  Value newMax =
      arith::MaxNumFOp::create(b, loc, oldMax, emitLaneMax(b, loc, scores));
  Value correctionVector = math::ExpOp::create(
      b, loc, arith::SubFOp::create(b, loc, oldMax, newMax));
  Value weights = math::ExpOp::create(
      b, loc, arith::SubFOp::create(b, loc, scores, newMax));
  Value newSum =
      vector::FMAOp::create(b, loc, oldSum, correctionVector, weights);
  SmallVector<Value> next = {newMax, newSum};
  // Two chains of FMAs per vector of the result (even and odd keys), so the
  // block's latency is half as many dependent FMAs.
  for (int64_t d = 0, v = 2; d < valueSize; d += lanes, ++v) {
    Value chains[2] = {
        arith::MulFOp::create(b, loc, state[v], correctionVector), Value()};
    for (int64_t i = 0; i < lanes; ++i) {
      Value weight = vector::BroadcastOp::create(
          b, loc, type, vector::ExtractOp::create(b, loc, weights, i));
      Value value = vector::LoadOp::create(
          b, loc, type, values, ValueRange{rows[i], kvHead, index(b, loc, d)});
      Value &chain = chains[i % 2];
      chain =
          chain
              ? vector::FMAOp::create(b, loc, weight, value, chain).getResult()
              : arith::MulFOp::create(b, loc, weight, value).getResult();
    }
    next.push_back(arith::AddFOp::create(b, loc, chains[0], chains[1]));
  }
  return next;
}

void AttentionKernelEmitter::emitPrefetches(OpBuilder &b, Location loc,
                                            Value j0, Value end, Value kvHead) {
  constexpr int64_t lineFloats = 16; // 64-byte lines.
  // The first of the block's rows ahead, so that all its rows are < end
  // (near the end this prefetches rows already read: harmless).
  Value first = arith::MinSIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, j0, index(b, loc, kBlocksAhead * lanes)),
      arith::SubIOp::create(b, loc, end, index(b, loc, lanes)));
  for (int64_t i = 0; i < lanes; ++i) {
    Value row = arith::AddIOp::create(b, loc, first, index(b, loc, i));
    for (auto [buffer, size] :
         {std::pair(keys, headSize), std::pair(values, valueSize)})
      for (int64_t d = 0; d < size; d += lineFloats)
        memref::PrefetchOp::create(b, loc, buffer,
                                   ValueRange{row, kvHead, index(b, loc, d)},
                                   /*isWrite=*/false, /*localityHint=*/3,
                                   /*isDataCache=*/true);
  }
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

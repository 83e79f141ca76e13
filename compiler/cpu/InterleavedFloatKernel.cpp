//===- InterleavedFloatKernel.cpp - Float kernels on interleaved weights --===//
//
// Float linear kernels (float or dequantized activations times quantized
// weights) on weights interleaved at compile time (InterleavedWeights.h)
// with R = the f32 lanes: lane r of a vector of words is four bytes of row
// n0 + r, so the code at bit c·j of word i of every lane is the weight of
// k = 4·P·i + j (P codes of c bits per byte) of R rows at once.
//
// For each block of R rows and each block of T tokens, a group's loop turns
// the code at each position of each word into the rows' levels (a table
// lookup of the code, vpermps on AVX-512, or an integer conversion) and adds
// level · x[t][k] to each token's partial sum (T FMAs per vector of levels,
// x broadcast). At the end of the group, acc_t += s ⊙ partial_t (min
// schemes: + m ⊙ X_t, X_t the token's sum of x over the group), and y = acc
// (+ b) with no horizontal sums. Single tokens (decode) spread the FMAs over
// four partial sums so that they do not wait on each other.
//
// Levels are the reference's (code book value, code - offset, code - zero
// point: exact), so the products differ from the reference's Ŵ·x only by
// when the scale is applied: each y is within γ_{K+1}·|x|·|Ŵ|ᵀ of the exact
// value. Min schemes round s·Σ u·x and m·X separately: within
// γ_{K+1}·|x|·(|u·s| + |m|)ᵀ.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/InterleavedWeights.h"
#include "compiler/cpu/LinearKernelEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <numeric>

using namespace mlir;
using namespace nibble;

Value LinearKernelEmitter::emitLevels(OpBuilder &b, Location loc, Value codes,
                                      Value zeros) {
  VectorType f32Type = f32Vector(b);
  auto i32Type = cast<VectorType>(codes.getType());
  SchemeAttr scheme = sig.scheme;
  if (scheme.getFormat() != WeightFormat::Int) {
    Value all = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({lanes}, b.getI1Type()), true));
    Value none = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
    return vector::GatherOp::create(b, loc, f32Type, codebook,
                                    ValueRange{index(b, loc, 0)}, codes, all,
                                    none, IntegerAttr());
  }
  if (!sig.hasMins) {
    Value offset =
        zeros ? zeros
              : arith::ConstantOp::create(
                    b, loc,
                    DenseElementsAttr::get(
                        i32Type,
                        b.getI32IntegerAttr(1 << (scheme.getBits() - 1))));
    codes = arith::SubIOp::create(b, loc, codes, offset);
  }
  return arith::SIToFPOp::create(b, loc, f32Type, codes);
}

Value LinearKernelEmitter::emitInputGroupSums(OpBuilder &b, Location loc,
                                              Value source, Value tokens) {
  int64_t groupSize = sig.groupSize();
  int64_t groups = sig.reduction / groupSize;
  auto type = MemRefType::get({ShapedType::kDynamic, groups}, b.getF32Type());
  Value sums = memref::AllocOp::create(b, loc, type, ValueRange{tokens});
  VectorType f32Type = f32Vector(b);
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  Value zeroVector = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
  // Float kernels' lanes divide their scale groups.
  scf::ForOp::create(
      b, loc, zero, tokens, one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value m, ValueRange) {
        scf::ForOp::create(
            b, loc, zero, index(b, loc, groups), one, ValueRange{},
            [&](OpBuilder &b, Location loc, Value g, ValueRange) {
              Value start =
                  arith::MulIOp::create(b, loc, g, index(b, loc, groupSize));
              auto loop = scf::ForOp::create(
                  b, loc, start,
                  arith::AddIOp::create(b, loc, start,
                                        index(b, loc, groupSize)),
                  index(b, loc, lanes), ValueRange{zeroVector},
                  [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
                    Value values = vector::LoadOp::create(
                        b, loc, f32Type, source, ValueRange{m, k});
                    scf::YieldOp::create(b, loc,
                                         ValueRange{arith::AddFOp::create(
                                             b, loc, acc.front(), values)});
                  });
              Value sum = vector::ReductionOp::create(
                  b, loc, vector::CombiningKind::ADD, loop.getResult(0));
              memref::StoreOp::create(b, loc, sum, sums, ValueRange{m, g});
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
  return sums;
}

void LinearKernelEmitter::emitInterleavedFloatBlock(OpBuilder &b, Location loc,
                                                    Value source,
                                                    Value inputSums,
                                                    Value block, Value n0,
                                                    Value m0, int64_t tokens) {
  SchemeAttr scheme = sig.scheme;
  VectorType f32Type = f32Vector(b);
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  auto bytesType = VectorType::get({4 * lanes}, b.getI8Type());
  int64_t container = scheme.getContainerBits();
  int64_t codesPerWord = kInterleavedWordBytes * perByte;
  int64_t groupSize = sig.groupSize();
  int64_t groups = sig.reduction / groupSize;
  int64_t wordsPerGroup = groupSize / codesPerWord;
  // About 16 codes per iteration of a group's loop.
  int64_t unroll =
      std::gcd(wordsPerGroup, std::max<int64_t>(1, 16 / codesPerWord));
  // Partial sums per token: a single token's FMAs go round four of them.
  int64_t partials = std::max<int64_t>(1, 4 / tokens);
  SmallVector<Value> tokenIndex = indicesFrom(b, loc, m0, 0, tokens);
  Value zeroF32 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
  auto i32Splat = [&](int64_t value) -> Value {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(i32Type, b.getI32IntegerAttr(value)));
  };
  // Levels by a table lookup of codes (at most 4 bits, no zero points per
  // row): the table of codes 0..15.
  Value table;
  if (config.tableLookup && !sig.hasZeroPoints) {
    SmallVector<int32_t> codes(lanes);
    std::iota(codes.begin(), codes.end(), 0);
    table = emitLevels(
        b, loc,
        arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(i32Type, ArrayRef<int32_t>(codes))),
        Value());
  }
  // A vector of group `g`'s factors of the block's rows from `buffer`.
  auto loadFactors = [&](OpBuilder &b, Location loc, Value buffer, Value g,
                         Type type) {
    return emitInterleavedFactors(b, loc, buffer, block, g, index(b, loc, 0),
                                  VectorType::get({lanes}, type));
  };

  SmallVector<Value> init(tokens, zeroF32);
  auto groupLoop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, groups), index(b, loc, 1), init,
      [&](OpBuilder &b, Location loc, Value g, ValueRange accs) {
        Value scale = loadFactors(b, loc, scales, g, b.getF32Type());
        Value zeros = sig.hasZeroPoints
                          ? loadFactors(b, loc, zeroPoints, g, b.getI32Type())
                          : Value();
        Value firstWord =
            arith::MulIOp::create(b, loc, g, index(b, loc, wordsPerGroup));
        SmallVector<Value> partialInit(tokens * partials, zeroF32);
        auto wordLoop = scf::ForOp::create(
            b, loc, firstWord,
            arith::AddIOp::create(b, loc, firstWord,
                                  index(b, loc, wordsPerGroup)),
            index(b, loc, unroll), partialInit,
            [&](OpBuilder &b, Location loc, Value w0, ValueRange sums) {
              SmallVector<Value> next(sums.begin(), sums.end());
              Value k0 = arith::MulIOp::create(b, loc, w0,
                                               index(b, loc, codesPerWord));
              int64_t fma = 0;
              for (int64_t u = 0; u < unroll; ++u) {
                Value words = vector::BitCastOp::create(
                    b, loc, i32Type,
                    vector::LoadOp::create(
                        b, loc, bytesType, weight,
                        ValueRange{
                            block,
                            arith::AddIOp::create(b, loc, w0, index(b, loc, u)),
                            index(b, loc, 0)}));
                for (int64_t j = 0; j < codesPerWord; ++j) {
                  // The codes at bit c·j (the table reads the low 4 bits).
                  Value codes = words;
                  if (j > 0)
                    codes = arith::ShRUIOp::create(b, loc, codes,
                                                   i32Splat(j * container));
                  bool lastPosition = (j + 1) * container == 32;
                  if (!lastPosition && !(table && container == 4))
                    codes = arith::AndIOp::create(
                        b, loc, codes, i32Splat((1 << container) - 1));
                  Value levels = table ? emitTableLookup(b, loc, table, codes)
                                       : emitLevels(b, loc, codes, zeros);
                  Value k = arith::AddIOp::create(
                      b, loc, k0, index(b, loc, u * codesPerWord + j));
                  int64_t partial = fma++ % partials;
                  for (int64_t t = 0; t < tokens; ++t) {
                    Value xs = splat(
                        b, loc,
                        memref::LoadOp::create(b, loc, source,
                                               ValueRange{tokenIndex[t], k}));
                    Value &sum = next[t * partials + partial];
                    sum = vector::FMAOp::create(b, loc, levels, xs, sum);
                  }
                }
              }
              scf::YieldOp::create(b, loc, next);
            });
        Value minimums = sig.hasMins
                             ? loadFactors(b, loc, mins, g, b.getF32Type())
                             : Value();
        SmallVector<Value> next(accs.begin(), accs.end());
        for (int64_t t = 0; t < tokens; ++t) {
          Value sum = wordLoop.getResult(t * partials);
          for (int64_t p = 1; p < partials; ++p)
            sum = arith::AddFOp::create(b, loc, sum,
                                        wordLoop.getResult(t * partials + p));
          next[t] = vector::FMAOp::create(b, loc, sum, scale, next[t]);
          if (minimums)
            next[t] = vector::FMAOp::create(
                b, loc, minimums,
                splat(b, loc,
                      memref::LoadOp::create(b, loc, inputSums,
                                             ValueRange{tokenIndex[t], g})),
                next[t]);
        }
        scf::YieldOp::create(b, loc, next);
      });

  Value biasVector = emitBiasVector(b, loc, n0);
  for (int64_t t = 0; t < tokens; ++t) {
    Value sum = groupLoop.getResult(t);
    if (biasVector)
      sum = arith::AddFOp::create(b, loc, sum, biasVector);
    vector::StoreOp::create(b, loc, sum, y, ValueRange{tokenIndex[t], n0});
  }
}

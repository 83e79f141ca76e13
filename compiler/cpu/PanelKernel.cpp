//===- PanelKernel.cpp - Prefill blocks of a float linear kernel ----------===//
//
// The prefill path of float linear kernels (float weights, and quantized
// weights with float or dequantized activations): an outer-product
// microkernel over a packed panel, the structure of BLAS GEMM kernels.
//
// For each tile of input rows with at least `panelTokens` (MR) of them and
// each block of `panelRows` (NR) output rows, the block's weights are
// dequantized once, exactly as the reference lowering does, into a panel
// [K, NR] (k-major: the NR weights of one k are contiguous; blocks of
// lanes × lanes values are transposed in registers). The microkernel then
// keeps MR × NR/lanes vector accumulators: for each k, NR/lanes vector loads
// of the panel and MR broadcasts of x[m][k] feed MR × NR/lanes FMAs, and the
// accumulators are y[m][n0 .. n0 + NR) (+ b) with no horizontal sums. Each
// y is the sum over k in order, as in the reference (error γ_{K+1}).
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/LinearKernelEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace nibble;

Value LinearKernelEmitter::emitPanel(OpBuilder &b, Location loc, Value n0) {
  int64_t panelRows = config.panelRows;
  auto type = MemRefType::get({sig.reduction, panelRows}, b.getF32Type());
  Value panel = memref::AllocOp::create(b, loc, type, b.getI64IntegerAttr(64));
  int64_t groupSize = sig.groupSize();
  int64_t groups = sig.reduction / groupSize;
  auto squareType = VectorType::get({lanes, lanes}, b.getF32Type());
  Value zeroSquare = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(squareType, b.getF32FloatAttr(0)));

  // lanes rows starting at `first` (a panel column), one chunk at `k`.
  auto chunkStep = [&](OpBuilder &b, Location loc, int64_t column,
                       ArrayRef<Value> rows, ArrayRef<RowFactors> factors,
                       Value k) {
    SmallVector<SmallVector<Value>> vectors;
    for (int64_t r = 0; r < lanes; ++r)
      vectors.push_back(emitWeightVectors(b, loc, rows[r], k, factors[r]));
    // Vector p of a row holds the weights at k + P * j + p (j = lane).
    for (int64_t p = 0; p < perByte; ++p) {
      Value square = zeroSquare;
      for (int64_t r = 0; r < lanes; ++r)
        square = vector::InsertOp::create(b, loc, vectors[r][p], square,
                                          ArrayRef<int64_t>{r});
      Value transposed =
          vector::TransposeOp::create(b, loc, square, ArrayRef<int64_t>{1, 0});
      for (int64_t j = 0; j < lanes; ++j) {
        Value weights =
            vector::ExtractOp::create(b, loc, transposed, ArrayRef<int64_t>{j});
        Value row =
            arith::AddIOp::create(b, loc, k, index(b, loc, perByte * j + p));
        vector::StoreOp::create(b, loc, weights, panel,
                                ValueRange{row, index(b, loc, column)});
      }
    }
  };

  for (int64_t column = 0; column < panelRows; column += lanes) {
    SmallVector<Value> rows = indicesFrom(b, loc, n0, column, lanes);
    scf::ForOp::create(
        b, loc, index(b, loc, 0), index(b, loc, groups), index(b, loc, 1),
        ValueRange{}, [&](OpBuilder &b, Location loc, Value g, ValueRange) {
          SmallVector<RowFactors> factors;
          for (int64_t r = 0; r < lanes; ++r)
            factors.push_back(emitRowFactors(b, loc, rows[r], g));
          Value groupStart =
              arith::MulIOp::create(b, loc, g, index(b, loc, groupSize));
          scf::ForOp::create(
              b, loc, index(b, loc, 0), index(b, loc, groupSize),
              index(b, loc, chunk), ValueRange{},
              [&](OpBuilder &b, Location loc, Value offset, ValueRange) {
                Value k = arith::AddIOp::create(b, loc, groupStart, offset);
                chunkStep(b, loc, column, rows, factors, k);
                scf::YieldOp::create(b, loc);
              });
          scf::YieldOp::create(b, loc);
        });
  }
  return panel;
}

void LinearKernelEmitter::emitPanelBlock(OpBuilder &b, Location loc,
                                         Value panel, Value source, Value n0,
                                         Value m0) {
  int64_t tokens = config.panelTokens;
  int64_t vectorsPerRow = config.panelRows / lanes;
  VectorType f32Type = f32Vector(b);
  Value zeroVector = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
  SmallVector<Value> tokenIndex = indicesFrom(b, loc, m0, 0, tokens);
  SmallVector<Value> init(tokens * vectorsPerRow, zeroVector);
  auto loop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, sig.reduction), index(b, loc, 1),
      init, [&](OpBuilder &b, Location loc, Value k, ValueRange accs) {
        SmallVector<Value> weights;
        for (int64_t v = 0; v < vectorsPerRow; ++v)
          weights.push_back(vector::LoadOp::create(
              b, loc, f32Type, panel, ValueRange{k, index(b, loc, v * lanes)}));
        SmallVector<Value> next(accs.begin(), accs.end());
        for (int64_t t = 0; t < tokens; ++t) {
          Value xt = memref::LoadOp::create(b, loc, source,
                                            ValueRange{tokenIndex[t], k});
          Value broadcast = splat(b, loc, xt);
          for (int64_t v = 0; v < vectorsPerRow; ++v) {
            Value &acc = next[t * vectorsPerRow + v];
            acc = vector::FMAOp::create(b, loc, broadcast, weights[v], acc);
          }
        }
        scf::YieldOp::create(b, loc, next);
      });
  for (int64_t v = 0; v < vectorsPerRow; ++v) {
    Value column = arith::AddIOp::create(b, loc, n0, index(b, loc, v * lanes));
    Value biasVector = emitBiasVector(b, loc, column);
    for (int64_t t = 0; t < tokens; ++t) {
      Value sum = loop.getResult(t * vectorsPerRow + v);
      if (biasVector)
        sum = arith::AddFOp::create(b, loc, sum, biasVector);
      vector::StoreOp::create(b, loc, sum, y,
                              ValueRange{tokenIndex[t], column});
    }
  }
}

Value LinearKernelEmitter::emitBiasVector(OpBuilder &b, Location loc,
                                          Value column) {
  if (!bias)
    return Value();
  Type elementType = cast<MemRefType>(bias.getType()).getElementType();
  Value values = vector::LoadOp::create(
      b, loc, VectorType::get({lanes}, elementType), bias, column);
  if (!elementType.isF32())
    values = arith::ExtFOp::create(b, loc, f32Vector(b), values);
  return values;
}

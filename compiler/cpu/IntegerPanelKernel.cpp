//===- IntegerPanelKernel.cpp - Prefill blocks of an integer kernel -------===//
//
// The prefill path of integer linear kernels (int8 activations times integer
// codes): the rows' codes packed once per token tile into a panel with the
// output rows on the vector lanes, and an outer-product microkernel of 8-bit
// dot products over it, the structure of the VNNI kernels of oneDNN and of
// IREE's mmt4d ukernels.
//
// For each tile of input rows with at least `panelTokens` (MR) of them and
// each block of `panelRows` (NR) output rows, the block's unsigned codes are
// unpacked once into a panel [K / 4, NR] of i32, each holding four codes of
// one row (k-major: lanes × lanes blocks transposed in registers), beside its
// scales, zero points or minimums per group [groups, NR]. The microkernel
// keeps MR × NR / lanes i32 sums and as many f32 accumulators: for each quad
// of k, NR / lanes loads of the panel and MR broadcasts of a token's four
// activation codes feed MR × NR / lanes dot products (vpdpbusd: 4 products
// per lane). With zero point z and X the sum of the token's codes over the
// group, a group's sums start at -z·X, so that at its end they hold
// Σ_k q_k (u_k - z) exactly; they are then converted and scaled into the
// accumulators (min schemes add m·X; with activation groups the scale is
// s·s_a and m·s_a·X). y = s_x · acc (+ b) (acc with activation groups) with no
// horizontal sums: against the dot-product blocks, one conversion and one
// FMA per group serve the 16 rows of a lane vector, not one row.
//
// Weights interleaved at compile time (InterleavedWeights.h) are a panel
// already: every block of tokens, single tokens included, reads them in
// place (emitInterleavedTiles), each 4-byte word of a row giving the codes of
// one or more quads of x after a shift and a mask.
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/LinearKernelEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <numeric>

using namespace mlir;
using namespace nibble;

LinearKernelEmitter::IntegerPanel
LinearKernelEmitter::emitIntegerPanel(OpBuilder &b, Location loc, Value n0) {
  int64_t panelRows = config.panelRows;
  int64_t groups = sig.reduction / sig.groupSize();
  auto alloc = [&](int64_t size, Type elementType) -> Value {
    return memref::AllocOp::create(
        b, loc, MemRefType::get({size, panelRows}, elementType),
        b.getI64IntegerAttr(64));
  };
  IntegerPanel panel;
  panel.codes = alloc(sig.reduction / 4, b.getI32Type());
  panel.scales = alloc(groups, b.getF32Type());
  if (sig.hasMins)
    panel.mins = alloc(groups, b.getF32Type());
  else if (!sig.scheme.getSymmetric())
    panel.zeros = alloc(groups, b.getI32Type());
  Value zero = index(b, loc, 0), one = index(b, loc, 1);

  // The factors of each row and group, as the dot-product blocks take them.
  scf::ForOp::create(
      b, loc, zero, index(b, loc, groups), one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value g, ValueRange) {
        scf::ForOp::create(
            b, loc, zero, index(b, loc, panelRows), one, ValueRange{},
            [&](OpBuilder &b, Location loc, Value r, ValueRange) {
              Value row = arith::AddIOp::create(b, loc, n0, r);
              memref::StoreOp::create(b, loc, emitScale(b, loc, row, g),
                                      panel.scales, ValueRange{g, r});
              if (panel.mins)
                memref::StoreOp::create(b, loc, emitMin(b, loc, row, g),
                                        panel.mins, ValueRange{g, r});
              if (panel.zeros)
                memref::StoreOp::create(b, loc, emitZero(b, loc, row, g),
                                        panel.zeros, ValueRange{g, r});
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });

  // Codes: a chunk of `lanes` rows is lanes × lanes quads, transposed so
  // that quad j of the chunk holds the rows' codes side by side.
  auto quadsType = VectorType::get({lanes}, b.getI32Type());
  auto squareType = VectorType::get({lanes, lanes}, b.getI32Type());
  Value zeroSquare = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(squareType, b.getI32IntegerAttr(0)));
  for (int64_t column = 0; column < panelRows; column += lanes) {
    SmallVector<Value> rows = indicesFrom(b, loc, n0, column, lanes);
    scf::ForOp::create(
        b, loc, zero, index(b, loc, sig.reduction), index(b, loc, chunk),
        ValueRange{}, [&](OpBuilder &b, Location loc, Value k, ValueRange) {
          Value square = zeroSquare;
          for (int64_t r = 0; r < lanes; ++r) {
            Value quads = vector::BitCastOp::create(
                b, loc, quadsType, emitUnsignedCodes(b, loc, rows[r], k));
            square = vector::InsertOp::create(b, loc, quads, square,
                                              ArrayRef<int64_t>{r});
          }
          Value transposed = vector::TransposeOp::create(
              b, loc, square, ArrayRef<int64_t>{1, 0});
          Value firstQuad = arith::DivUIOp::create(b, loc, k, index(b, loc, 4));
          for (int64_t j = 0; j < lanes; ++j) {
            Value quads = vector::ExtractOp::create(b, loc, transposed,
                                                    ArrayRef<int64_t>{j});
            Value quad =
                arith::AddIOp::create(b, loc, firstQuad, index(b, loc, j));
            vector::StoreOp::create(b, loc, quads, panel.codes,
                                    ValueRange{quad, index(b, loc, column)});
          }
          scf::YieldOp::create(b, loc);
        });
  }
  return panel;
}

void LinearKernelEmitter::emitIntegerPanelBlock(OpBuilder &b, Location loc,
                                                const IntegerPanel &panel,
                                                const QuantizedInput &input,
                                                Value n0, Value m0,
                                                int64_t tokens) {
  int64_t vectorsPerRow = config.panelRows / lanes;
  // Groups of values sharing a weight scale and an activation scale.
  int64_t groupSize = sig.scaleGroupSize();
  int64_t groupsPerWeightGroup = sig.groupSize() / groupSize;
  int64_t groupsPerActivationGroup = sig.activationGroupSize() / groupSize;
  bool activationGroups = sig.hasActivationGroups();
  VectorType f32Type = f32Vector(b);
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  Value zeroF32 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
  Value zeroI32 = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(i32Type, b.getI32IntegerAttr(0)));
  SmallVector<Value> tokenIndex = indicesFrom(b, loc, m0, 0, tokens);
  SmallVector<Value> columns;
  for (int64_t v = 0; v < vectorsPerRow; ++v)
    columns.push_back(index(b, loc, v * lanes));
  // A vector of group `group`'s factors of the rows from `column`, widened
  // to `type` (f32 or i32): from the panel, or the interleaved weights in
  // their storage type.
  auto loadFactors = [&](OpBuilder &b, Location loc, Value buffer, Value group,
                         Value column, VectorType type) -> Value {
    if (!panel.block)
      return vector::LoadOp::create(b, loc, type, buffer,
                                    ValueRange{group, column});
    return emitInterleavedFactors(b, loc, buffer, panel.block, group, column,
                                  type);
  };

  SmallVector<Value> init(tokens * vectorsPerRow, zeroF32);
  auto groupLoop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, sig.reduction / groupSize),
      index(b, loc, 1), init,
      [&](OpBuilder &b, Location loc, Value g, ValueRange accs) {
        Value weightGroup =
            groupsPerWeightGroup == 1
                ? g
                : arith::DivUIOp::create(b, loc, g,
                                         index(b, loc, groupsPerWeightGroup))
                      .getResult();
        SmallVector<Value> scales, factors, totals, activationScales;
        for (Value column : columns) {
          scales.push_back(
              loadFactors(b, loc, panel.scales, weightGroup, column, f32Type));
          if (panel.mins || panel.zeros)
            factors.push_back(loadFactors(
                b, loc, panel.mins ? panel.mins : panel.zeros, weightGroup,
                column, panel.mins ? f32Type : i32Type));
          else if (!sig.hasMins)
            factors.push_back(splat(b, loc, emitZero(b, loc, n0, weightGroup)));
        }
        for (Value token : tokenIndex)
          totals.push_back(memref::LoadOp::create(b, loc, input.groupTotals,
                                                  ValueRange{token, g}));
        // With activation groups, each token's scale s_a of this group.
        if (activationGroups) {
          Value activationGroup = arith::DivUIOp::create(
              b, loc, g, index(b, loc, groupsPerActivationGroup));
          for (Value token : tokenIndex)
            activationScales.push_back(memref::LoadOp::create(
                b, loc, input.scales, ValueRange{token, activationGroup}));
        }
        // The group's sums start at -z·X (zero at a min scheme's).
        SmallVector<Value> sumsInit;
        for (int64_t t = 0; t < tokens; ++t) {
          Value negated;
          if (!sig.hasMins)
            negated =
                splat(b, loc,
                      arith::SubIOp::create(b, loc,
                                            arith::ConstantIntOp::create(
                                                b, loc, b.getI32Type(), 0),
                                            totals[t]));
          for (int64_t v = 0; v < vectorsPerRow; ++v)
            sumsInit.push_back(
                sig.hasMins ? zeroI32
                            : arith::MulIOp::create(b, loc, factors[v], negated)
                                  .getResult());
        }
        SmallVector<Value> groupSums =
            emitPanelGroupSums(b, loc, panel, input, tokenIndex, g, sumsInit);
        SmallVector<Value> next(accs.begin(), accs.end());
        for (int64_t t = 0; t < tokens; ++t) {
          // The sums scale by s (s·s_a with activation groups), minimums by
          // X (s_a·X).
          Value floatTotal;
          if (sig.hasMins) {
            Value total =
                arith::SIToFPOp::create(b, loc, b.getF32Type(), totals[t]);
            if (activationGroups)
              total = arith::MulFOp::create(b, loc, total, activationScales[t]);
            floatTotal = splat(b, loc, total);
          }
          Value activationScale =
              activationGroups ? splat(b, loc, activationScales[t]) : Value();
          for (int64_t v = 0; v < vectorsPerRow; ++v) {
            Value &acc = next[t * vectorsPerRow + v];
            Value exact = arith::SIToFPOp::create(
                b, loc, f32Type, groupSums[t * vectorsPerRow + v]);
            Value scale =
                activationGroups
                    ? arith::MulFOp::create(b, loc, scales[v], activationScale)
                          .getResult()
                    : scales[v];
            acc = vector::FMAOp::create(b, loc, exact, scale, acc);
            if (sig.hasMins)
              acc = vector::FMAOp::create(b, loc, floatTotal, factors[v], acc);
          }
        }
        scf::YieldOp::create(b, loc, next);
      });

  for (int64_t v = 0; v < vectorsPerRow; ++v) {
    Value column = arith::AddIOp::create(b, loc, n0, columns[v]);
    Value biasVector = emitBiasVector(b, loc, column);
    for (int64_t t = 0; t < tokens; ++t) {
      Value sum = groupLoop.getResult(t * vectorsPerRow + v);
      // One scale per token: applied once here.
      if (!activationGroups)
        sum = arith::MulFOp::create(
            b, loc, sum,
            splat(b, loc,
                  memref::LoadOp::create(
                      b, loc, input.scales,
                      ValueRange{tokenIndex[t], index(b, loc, 0)})));
      if (biasVector)
        sum = arith::AddFOp::create(b, loc, sum, biasVector);
      vector::StoreOp::create(b, loc, sum, y,
                              ValueRange{tokenIndex[t], column});
    }
  }
}

SmallVector<Value> LinearKernelEmitter::emitPanelGroupSums(
    OpBuilder &b, Location loc, const IntegerPanel &panel,
    const QuantizedInput &input, ArrayRef<Value> tokenIndex, Value g,
    ValueRange sumsInit) {
  int64_t tokens = tokenIndex.size();
  int64_t vectorsPerRow = config.panelRows / lanes;
  int64_t groupSize = sig.scaleGroupSize();
  int64_t quadsPerGroup = groupSize / 4;
  // Quads per iteration of the loop over a group (unrolled).
  int64_t unroll = std::gcd(quadsPerGroup, int64_t(8));
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  auto bytesType = VectorType::get({4 * lanes}, b.getI8Type());
  auto quadType = VectorType::get({4}, b.getI8Type());
  auto oneWordType = VectorType::get({1}, b.getI32Type());
  SmallVector<Value> columns;
  for (int64_t v = 0; v < vectorsPerRow; ++v)
    columns.push_back(index(b, loc, v * lanes));
  // Each token's four codes at k on every lane, times the rows'
  // codes of that quad (one vector of bytes per vector of rows).
  auto accumulate = [&](OpBuilder &b, Location loc, Value k,
                        ArrayRef<Value> codes, SmallVectorImpl<Value> &sums) {
    for (int64_t t = 0; t < tokens; ++t) {
      Value word = vector::BitCastOp::create(
          b, loc, oneWordType,
          vector::LoadOp::create(b, loc, quadType, input.codes,
                                 ValueRange{tokenIndex[t], k}));
      Value activations = vector::BitCastOp::create(
          b, loc, bytesType,
          vector::BroadcastOp::create(
              b, loc, i32Type,
              vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0})));
      for (int64_t v = 0; v < vectorsPerRow; ++v) {
        Value &sum = sums[t * vectorsPerRow + v];
        sum = func::CallOp::create(b, loc, dot,
                                   ValueRange{sum, codes[v], activations})
                  .getResult(0);
      }
    }
  };
  // A loop over [g·length, (g + 1)·length) by `step` carrying the sums.
  auto overGroup =
      [&](int64_t length, int64_t step,
          function_ref<void(OpBuilder &, Location, Value, SmallVector<Value> &)>
              body) {
        Value start = arith::MulIOp::create(b, loc, g, index(b, loc, length));
        return scf::ForOp::create(
            b, loc, start,
            arith::AddIOp::create(b, loc, start, index(b, loc, length)),
            index(b, loc, step), sumsInit,
            [&](OpBuilder &b, Location loc, Value at, ValueRange sums) {
              SmallVector<Value> next(sums.begin(), sums.end());
              body(b, loc, at, next);
              scf::YieldOp::create(b, loc, next);
            });
      };
  scf::ForOp loop;
  if (!panel.block) {
    loop = overGroup(
        quadsPerGroup, unroll,
        [&](OpBuilder &b, Location loc, Value q0, SmallVector<Value> &next) {
          for (int64_t u = 0; u < unroll; ++u) {
            Value quad = arith::AddIOp::create(b, loc, q0, index(b, loc, u));
            Value k = arith::MulIOp::create(b, loc, quad, index(b, loc, 4));
            SmallVector<Value> codes;
            for (Value column : columns)
              codes.push_back(vector::BitCastOp::create(
                  b, loc, bytesType,
                  vector::LoadOp::create(b, loc, i32Type, panel.codes,
                                         ValueRange{quad, column})));
            accumulate(b, loc, k, codes, next);
          }
        });
  } else {
    // Interleaved words, a part of x's order at a time: bits p·c of
    // the part's word i are the codes of x's quad p·words + i.
    int64_t part = std::min(chunk, groupSize);
    int64_t words = part / (4 * perByte);
    int64_t bits = 8 / perByte;
    Value mask = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(
            i32Type,
            b.getI32IntegerAttr(int32_t(0x01010101u * ((1u << bits) - 1)))));
    loop = overGroup(
        groupSize, part,
        [&](OpBuilder &b, Location loc, Value partStart,
            SmallVector<Value> &next) {
          Value firstWord = arith::DivUIOp::create(b, loc, partStart,
                                                   index(b, loc, 4 * perByte));
          for (int64_t i = 0; i < words; ++i) {
            Value packed = vector::BitCastOp::create(
                b, loc, i32Type,
                vector::LoadOp::create(
                    b, loc, bytesType, panel.codes,
                    ValueRange{panel.block,
                               arith::AddIOp::create(b, loc, firstWord,
                                                     index(b, loc, i)),
                               index(b, loc, 0)}));
            for (int64_t p = 0; p < perByte; ++p) {
              Value codes = packed;
              if (p > 0)
                codes = arith::ShRUIOp::create(
                    b, loc, codes,
                    arith::ConstantOp::create(
                        b, loc,
                        DenseElementsAttr::get(i32Type,
                                               b.getI32IntegerAttr(p * bits))));
              if (perByte > 1)
                codes = arith::AndIOp::create(b, loc, codes, mask);
              Value k = arith::AddIOp::create(
                  b, loc, partStart, index(b, loc, 4 * (p * words + i)));
              accumulate(b, loc, k,
                         {vector::BitCastOp::create(b, loc, bytesType, codes)},
                         next);
            }
          }
        });
  }
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

Value LinearKernelEmitter::emitInterleavedFactors(OpBuilder &b, Location loc,
                                                  Value buffer, Value block,
                                                  Value group, Value column,
                                                  VectorType type) {
  Type stored = cast<MemRefType>(buffer.getType()).getElementType();
  Value values =
      vector::LoadOp::create(b, loc, VectorType::get({lanes}, stored), buffer,
                             ValueRange{block, group, column});
  if (stored == type.getElementType())
    return values;
  if (isa<FloatType>(stored))
    return arith::ExtFOp::create(b, loc, type, values);
  return arith::ExtUIOp::create(b, loc, type, values);
}

void LinearKernelEmitter::emitInterleavedTiles(OpBuilder &b, Location loc,
                                               Value tokens,
                                               InterleavedBlock block) {
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  Value tile = index(b, loc, config.tokenTile);
  Value panelTokens = index(b, loc, config.panelTokens);
  int64_t blocks = sig.outputs / config.interleavedRows;
  scf::ForOp::create(
      b, loc, zero, tokens, tile, ValueRange{},
      [&](OpBuilder &b, Location loc, Value tileStart, ValueRange) {
        Value tileEnd = arith::MinSIOp::create(
            b, loc, arith::AddIOp::create(b, loc, tileStart, tile), tokens);
        Value count = arith::SubIOp::create(b, loc, tileEnd, tileStart);
        Value panelEnd = arith::AddIOp::create(
            b, loc, tileStart,
            arith::MulIOp::create(
                b, loc, arith::DivUIOp::create(b, loc, count, panelTokens),
                panelTokens));
        scf::ParallelOp::create(
            b, loc, ValueRange{zero}, ValueRange{index(b, loc, blocks)},
            ValueRange{one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
              Value n0 = arith::MulIOp::create(
                  b, loc, ivs[0], index(b, loc, config.interleavedRows));
              auto tokenBlocks = [&](Value start, Value end, int64_t size) {
                scf::ForOp::create(
                    b, loc, start, end, index(b, loc, size), ValueRange{},
                    [&](OpBuilder &b, Location loc, Value m0, ValueRange) {
                      block(b, loc, ivs[0], n0, m0, size);
                      scf::YieldOp::create(b, loc);
                    });
              };
              tokenBlocks(tileStart, panelEnd, config.panelTokens);
              tokenBlocks(panelEnd, tileEnd, 1);
            });
        scf::YieldOp::create(b, loc);
      });
}

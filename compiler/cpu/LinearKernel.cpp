//===- LinearKernel.cpp - Fused dequantize-matmul kernels for CPUs --------===//
//
// Loop structure of a kernel (K = reduction, N = outputs, V = lanes, P =
// codes per byte, R = rows, T = tokens):
//
//   xs = x, its chunks of P*V values reordered so that code p of byte j
//        meets x[P*j + p] at lane j of vector p          (P > 1 only)
//   for each tile of input rows:                         (scf.for)
//     for each block of R output rows:                   (scf.parallel)
//       for each block of T input rows (then single rows):
//         acc[T][R] = 0                                  (vectors of V f32)
//         for each scale group g:
//           scale (zero point, min) of each of the R rows
//           for each chunk of P*V weights in the group:
//             for each row r: load V bytes, unpack P vectors of codes,
//               dequantize, acc[t][r] += xs[t][...] * w (FMA)
//         y[t][n] = reduce(acc[t][r]) (+ bias)
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/LinearKernel.h"
#include "compiler/cpu/IntrinsicStubs.h"
#include "compiler/cpu/KernelFunction.h"
#include "compiler/cpu/LinearKernelEmitter.h"
#include "dialects/NibbleOps.h"
#include "passes/QuantSpec.h"
#include "passes/numerics/Formats.h"

#include "compiler/cpu/InterleavedWeights.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <functional>

using namespace mlir;
using namespace nibble;

//===----------------------------------------------------------------------===//
// The operands of a linear, independent of its op
//===----------------------------------------------------------------------===//

LinearSignature nibble::signatureOf(Operation *op, bool interleaved) {
  LinearSignature sig;
  auto tensorType = [&](Value value) {
    auto qlinear = dyn_cast<QLinearOp>(op);
    if (!interleaved || !qlinear)
      return cast<RankedTensorType>(value.getType());
    return interleavedKernelOperandType(qlinear, value);
  };
  if (auto linear = dyn_cast<LinearOp>(op)) {
    RankedTensorType weight = linear.getWeight().getType();
    sig.outputs = weight.getDimSize(0);
    sig.reduction = weight.getDimSize(1);
    sig.weightOperands.push_back(weight);
    if (linear.getBias()) {
      sig.hasBias = true;
      sig.weightOperands.push_back(tensorType(linear.getBias()));
    }
    return sig;
  }
  auto qlinear = cast<QLinearOp>(op);
  sig.scheme = qlinear.getScheme();
  sig.outputs = qlinear.getOutputSize();
  sig.reduction = qlinear.getReductionSize();
  sig.weightOperands.push_back(tensorType(qlinear.getWeight()));
  sig.weightOperands.push_back(tensorType(qlinear.getScales()));
  auto add = [&](Value value, bool &flag) {
    if (!value)
      return;
    flag = true;
    sig.weightOperands.push_back(tensorType(value));
  };
  add(qlinear.getZeroPoints(), sig.hasZeroPoints);
  add(qlinear.getMins(), sig.hasMins);
  add(qlinear.getScaleScales(), sig.hasScaleScales);
  add(qlinear.getBias(), sig.hasBias);
  add(qlinear.getInputScale(), sig.hasInputScale);
  return sig;
}

//===----------------------------------------------------------------------===//
// The kernel body
//===----------------------------------------------------------------------===//

LinearKernelEmitter::LinearKernelEmitter(const LinearSignature &sig,
                                         const LinearKernelConfig &config,
                                         func::FuncOp func, Value codebook,
                                         func::FuncOp lookup, func::FuncOp dot)
    : sig(sig), config(config), codebook(codebook), lookup(lookup), dot(dot),
      lanes(config.lanes), perByte(sig.codesPerByte()),
      chunk(config.integerDot ? 4 * config.lanes
                              : int64_t(perByte) * config.lanes) {
  ValueRange args = func.getArguments();
  x = args.front();
  y = args.back();
  args = args.drop_front().drop_back();
  weight = args[0];
  size_t next = 1;
  if (sig.scheme)
    scales = args[next++];
  if (sig.hasZeroPoints)
    zeroPoints = args[next++];
  if (sig.hasMins)
    mins = args[next++];
  if (sig.hasScaleScales)
    scaleScales = args[next++];
  if (sig.hasBias)
    bias = args[next++];
  if (sig.hasInputScale)
    inputScale = args[next++];
}

void LinearKernelEmitter::emit(OpBuilder &b, Location loc) {
  Value tokens = memref::DimOp::create(b, loc, x, 0);
  // The block of either kind over the input prepared for it; `codes` are
  // the row block's unpacked weight codes (integer blocks; null: unpack
  // them in the block).
  std::function<void(OpBuilder &, Location, Value, Value, unsigned, Value)>
      block;
  // x as the float blocks read it (in its own order).
  Value source;
  // x quantized (integer kernels).
  QuantizedInput input;
  if (config.integerDot) {
    input = emitQuantizedInput(b, loc, tokens);
    if (config.interleavedRows) {
      emitInterleavedTiles(
          b, loc, tokens,
          [&](OpBuilder &b, Location loc, Value block, Value n0, Value m0,
              int64_t size) {
            IntegerPanel panel{weight, scales, zeroPoints, mins, block};
            emitIntegerPanelBlock(b, loc, panel, input, n0, m0, size);
          });
      func::ReturnOp::create(b, loc);
      return;
    }
    block = [this, input](OpBuilder &b, Location loc, Value n0, Value m0,
                          unsigned count, Value codes) {
      unsigned rows = config.rows;
      if (count == 1 && !codes && config.singleTokenRows != 0)
        rows = config.singleTokenRows;
      // A single token's block of rows, `rows` at a time.
      for (unsigned r = 0; r < config.rows; r += rows)
        emitIntegerBlock(
            b, loc, input,
            r == 0 ? n0 : arith::AddIOp::create(b, loc, n0, index(b, loc, r)),
            m0, count, rows, codes);
    };
  } else {
    source = sig.activation() == ActivationScheme::None
                 ? x
                 : emitFakeQuantizedInput(b, loc, tokens);
    if (config.interleavedRows) {
      Value inputSums =
          sig.hasMins ? emitInputGroupSums(b, loc, source, tokens) : Value();
      emitInterleavedTiles(b, loc, tokens,
                           [&](OpBuilder &b, Location loc, Value block,
                               Value n0, Value m0, int64_t size) {
                             emitInterleavedFloatBlock(b, loc, source,
                                                       inputSums, block, n0, m0,
                                                       size);
                           });
      func::ReturnOp::create(b, loc);
      return;
    }
    Value xs = perByte > 1 ? emitReorderedInput(b, loc, source, tokens, chunk)
                           : source;
    block = [this, xs](OpBuilder &b, Location loc, Value n0, Value m0,
                       unsigned count,
                       Value) { emitFloatBlock(b, loc, xs, n0, m0, count); };
  }
  // Integer blocks of packed codes unpack the row block's codes once per
  // tile into a buffer ([rows, K] bytes, in L1 for K up to ~8k) when the
  // tile has a token block: each chunk of codes then serves every token of
  // the tile for one load.
  bool unpackOnce = config.integerDot && perByte > 1;
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  Value tile = index(b, loc, config.tokenTile);
  Value blockTokens = index(b, loc, config.tokens);
  Value rowsPerBlock = index(b, loc, config.rows);
  int64_t panels = config.panelRows ? sig.outputs / config.panelRows : 0;
  int64_t panelEndRow = panels * config.panelRows;

  scf::ForOp::create(
      b, loc, zero, tokens, tile, ValueRange{},
      [&](OpBuilder &b, Location loc, Value tileStart, ValueRange) {
        Value tileEnd = arith::MinSIOp::create(
            b, loc, arith::AddIOp::create(b, loc, tileStart, tile), tokens);
        // Whole blocks of `size` tokens from `start` end here.
        auto wholeBlocksEnd = [&](OpBuilder &b, Location loc, Value start,
                                  Value size) -> Value {
          Value count = arith::SubIOp::create(b, loc, tileEnd, start);
          return arith::AddIOp::create(
              b, loc, start,
              arith::MulIOp::create(
                  b, loc, arith::DivUIOp::create(b, loc, count, size), size));
        };
        // The rows [n0, n0 + rows) of the tile's tokens from `start` on, by
        // dot-product blocks.
        auto rowBlock = [&](OpBuilder &b, Location loc, Value n0, Value start) {
          Value fullEnd = wholeBlocksEnd(b, loc, start, blockTokens);
          auto tokenBlocks = [&](OpBuilder &b, Location loc, Value codes) {
            scf::ForOp::create(
                b, loc, start, fullEnd, blockTokens, ValueRange{},
                [&](OpBuilder &b, Location loc, Value m0, ValueRange) {
                  block(b, loc, n0, m0, config.tokens, codes);
                  scf::YieldOp::create(b, loc);
                });
          };
          if (unpackOnce) {
            Value hasBlocks = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ugt, fullEnd, start);
            scf::IfOp::create(
                b, loc, hasBlocks, [&](OpBuilder &b, Location loc) {
                  tokenBlocks(b, loc, emitUnpackedCodes(b, loc, n0));
                  scf::YieldOp::create(b, loc);
                });
          } else {
            tokenBlocks(b, loc, Value());
          }
          scf::ForOp::create(
              b, loc, fullEnd, tileEnd, one, ValueRange{},
              [&](OpBuilder &b, Location loc, Value m0, ValueRange) {
                block(b, loc, n0, m0, 1, Value());
                scf::YieldOp::create(b, loc);
              });
        };
        if (panels > 0) {
          // Panels of rows: microkernel blocks over whole blocks of tokens,
          // dot-product blocks for the rest of the tile.
          Value panelTokens = index(b, loc, config.panelTokens);
          Value panelEnd = wholeBlocksEnd(b, loc, tileStart, panelTokens);
          scf::ParallelOp::create(
              b, loc, ValueRange{zero}, ValueRange{index(b, loc, panels)},
              ValueRange{one}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
                Value n0 = arith::MulIOp::create(
                    b, loc, ivs[0], index(b, loc, config.panelRows));
                Value hasBlocks = arith::CmpIOp::create(
                    b, loc, arith::CmpIPredicate::ugt, panelEnd, tileStart);
                scf::IfOp::create(
                    b, loc, hasBlocks, [&](OpBuilder &b, Location loc) {
                      // The panel in the form of the kernel's kind.
                      IntegerPanel integerPanel;
                      Value floatPanel;
                      if (config.integerDot)
                        integerPanel = emitIntegerPanel(b, loc, n0);
                      else
                        floatPanel = emitPanel(b, loc, n0);
                      scf::ForOp::create(b, loc, tileStart, panelEnd,
                                         panelTokens, ValueRange{},
                                         [&](OpBuilder &b, Location loc,
                                             Value m0, ValueRange) {
                                           if (config.integerDot)
                                             emitIntegerPanelBlock(
                                                 b, loc, integerPanel, input,
                                                 n0, m0, config.panelTokens);
                                           else
                                             emitPanelBlock(b, loc, floatPanel,
                                                            source, n0, m0);
                                           scf::YieldOp::create(b, loc);
                                         });
                      scf::YieldOp::create(b, loc);
                    });
                scf::ForOp::create(
                    b, loc, zero, index(b, loc, config.panelRows), rowsPerBlock,
                    ValueRange{},
                    [&](OpBuilder &b, Location loc, Value offset, ValueRange) {
                      rowBlock(b, loc,
                               arith::AddIOp::create(b, loc, n0, offset),
                               panelEnd);
                      scf::YieldOp::create(b, loc);
                    });
              });
        }
        int64_t leftoverBlocks = (sig.outputs - panelEndRow) / config.rows;
        if (leftoverBlocks > 0)
          scf::ParallelOp::create(
              b, loc, ValueRange{zero},
              ValueRange{index(b, loc, leftoverBlocks)}, ValueRange{one},
              [&](OpBuilder &b, Location loc, ValueRange ivs) {
                Value n0 = arith::AddIOp::create(
                    b, loc, index(b, loc, panelEndRow),
                    arith::MulIOp::create(b, loc, ivs[0], rowsPerBlock));
                rowBlock(b, loc, n0, tileStart);
              });
        scf::YieldOp::create(b, loc);
      });
  func::ReturnOp::create(b, loc);
}

Value LinearKernelEmitter::emitReorderedInput(OpBuilder &b, Location loc,
                                              Value source, Value tokens,
                                              int64_t chunkElements) {
  auto sourceType = cast<MemRefType>(source.getType());
  auto type = MemRefType::get({ShapedType::kDynamic, sig.reduction},
                              sourceType.getElementType());
  Value reordered = memref::AllocOp::create(b, loc, type, ValueRange{tokens});
  // Position p * (chunk / P) + j takes x[P * j + p]: the code of byte j at
  // bit p * c.
  SmallVector<int64_t> mask =
      unpackedCodeOrder(chunkElements, perByte, chunkElements);
  auto chunkType =
      VectorType::get({chunkElements}, sourceType.getElementType());
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  scf::ForOp::create(
      b, loc, zero, tokens, one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value m, ValueRange) {
        scf::ForOp::create(
            b, loc, zero, index(b, loc, sig.reduction),
            index(b, loc, chunkElements), ValueRange{},
            [&](OpBuilder &b, Location loc, Value k, ValueRange) {
              Value values = vector::LoadOp::create(b, loc, chunkType, source,
                                                    ValueRange{m, k});
              Value shuffled =
                  vector::ShuffleOp::create(b, loc, values, values, mask);
              vector::StoreOp::create(b, loc, shuffled, reordered,
                                      ValueRange{m, k});
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
  return reordered;
}

std::pair<Value, Value> LinearKernelEmitter::scaleIndices(OpBuilder &b,
                                                          Location loc,
                                                          Value row,
                                                          Value group) {
  Granularity granularity = sig.scheme.getGranularity();
  return {granularity == Granularity::Tensor ? index(b, loc, 0) : row,
          granularity == Granularity::Group ? group : index(b, loc, 0)};
}

Value LinearKernelEmitter::emitScale(OpBuilder &b, Location loc, Value row,
                                     Value group) {
  SchemeAttr scheme = sig.scheme;
  auto [scaleRow, scaleCol] = scaleIndices(b, loc, row, group);
  Value scale =
      memref::LoadOp::create(b, loc, scales, ValueRange{scaleRow, scaleCol});
  if (scheme.hasDoubleQuant()) {
    Value code = arith::UIToFPOp::create(b, loc, b.getF32Type(), scale);
    Value flat = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(
            b, loc, scaleRow,
            index(b, loc, scheme.getGroupsPerRow(sig.reduction))),
        scaleCol);
    Value superIndex = arith::DivUIOp::create(
        b, loc, flat, index(b, loc, scheme.getDoubleQuantGroup()));
    Value superScale =
        memref::LoadOp::create(b, loc, scaleScales, ValueRange{superIndex});
    scale = arith::MulFOp::create(b, loc, code, superScale);
  }
  return toF32(b, loc, scale);
}

Value LinearKernelEmitter::emitZero(OpBuilder &b, Location loc, Value row,
                                    Value group) {
  SchemeAttr scheme = sig.scheme;
  if (scheme.getSymmetric())
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(),
                                        1 << (scheme.getBits() - 1));
  auto [scaleRow, scaleCol] = scaleIndices(b, loc, row, group);
  Value code = memref::LoadOp::create(b, loc, zeroPoints,
                                      ValueRange{scaleRow, scaleCol});
  return arith::ExtUIOp::create(b, loc, b.getI32Type(), code);
}

Value LinearKernelEmitter::emitMin(OpBuilder &b, Location loc, Value row,
                                   Value group) {
  auto [scaleRow, scaleCol] = scaleIndices(b, loc, row, group);
  Value min =
      memref::LoadOp::create(b, loc, mins, ValueRange{scaleRow, scaleCol});
  return toF32(b, loc, min);
}

LinearKernelEmitter::RowFactors
LinearKernelEmitter::emitRowFactors(OpBuilder &b, Location loc, Value row,
                                    Value group) {
  RowFactors factors;
  if (!sig.scheme)
    return factors;
  SchemeAttr scheme = sig.scheme;
  factors.scale = splat(b, loc, emitScale(b, loc, row, group));
  if (scheme.hasMins()) {
    factors.min = splat(b, loc, emitMin(b, loc, row, group));
  } else if (scheme.getFormat() == WeightFormat::Int) {
    factors.zero = splat(b, loc, emitZero(b, loc, row, group));
  }
  if (config.tableLookup)
    factors.table = emitCodeTable(b, loc, factors);
  return factors;
}

Value LinearKernelEmitter::emitTableLookup(OpBuilder &b, Location loc,
                                           Value table, Value codes) {
  return func::CallOp::create(b, loc, lookup, ValueRange{table, codes})
      .getResult(0);
}

Value LinearKernelEmitter::emitCodeTable(OpBuilder &b, Location loc,
                                         const RowFactors &factors) {
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  SmallVector<int32_t> codes;
  for (int32_t code = 0; code < lanes; ++code)
    codes.push_back(code);
  Value iota = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(i32Type, ArrayRef<int32_t>(codes)));
  return emitDequantize(b, loc, iota, factors);
}

Value LinearKernelEmitter::emitDequantize(OpBuilder &b, Location loc,
                                          Value code,
                                          const RowFactors &factors) {
  VectorType f32Type = f32Vector(b);
  Value level;
  if (factors.min) {
    level = arith::SIToFPOp::create(b, loc, f32Type, code);
  } else if (factors.zero) {
    level = arith::SIToFPOp::create(
        b, loc, f32Type, arith::SubIOp::create(b, loc, code, factors.zero));
  } else {
    Value zero = index(b, loc, 0);
    Value all = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({lanes}, b.getI1Type()), true));
    Value none = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
    level =
        vector::GatherOp::create(b, loc, f32Type, codebook, ValueRange{zero},
                                 code, all, none, IntegerAttr());
  }
  Value value = arith::MulFOp::create(b, loc, level, factors.scale);
  if (factors.min)
    value = arith::AddFOp::create(b, loc, value, factors.min);
  return value;
}

SmallVector<Value>
LinearKernelEmitter::emitWeightVectors(OpBuilder &b, Location loc, Value row,
                                       Value k, const RowFactors &factors) {
  VectorType f32Type = f32Vector(b);
  if (!sig.scheme) {
    Type elementType = cast<MemRefType>(weight.getType()).getElementType();
    Value values =
        vector::LoadOp::create(b, loc, VectorType::get({lanes}, elementType),
                               weight, ValueRange{row, k});
    if (!elementType.isF32())
      values = arith::ExtFOp::create(b, loc, f32Type, values);
    return {values};
  }
  SchemeAttr scheme = sig.scheme;
  unsigned container = scheme.getContainerBits();
  Value byteCol =
      perByte == 1 ? k
                   : arith::DivUIOp::create(b, loc, k, index(b, loc, perByte))
                         .getResult();
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  Value bytes =
      vector::LoadOp::create(b, loc, VectorType::get({lanes}, b.getI8Type()),
                             weight, ValueRange{row, byteCol});
  Value words = arith::ExtUIOp::create(b, loc, i32Type, bytes);
  auto i32Splat = [&](int64_t value) {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(i32Type, b.getI32IntegerAttr(value)));
  };
  SmallVector<Value> result;
  for (int64_t p = 0; p < perByte; ++p) {
    Value code = words;
    if (p > 0)
      code = arith::ShRUIOp::create(b, loc, code, i32Splat(p * container));
    if (p + 1 < perByte)
      code =
          arith::AndIOp::create(b, loc, code, i32Splat((1 << container) - 1));
    if (factors.table)
      result.push_back(emitTableLookup(b, loc, factors.table, code));
    else
      result.push_back(emitDequantize(b, loc, code, factors));
  }
  return result;
}

void LinearKernelEmitter::emitFloatBlock(OpBuilder &b, Location loc, Value xs,
                                         Value n0, Value m0, unsigned count) {
  unsigned rows = config.rows;
  VectorType f32Type = f32Vector(b);
  Value zeroVector = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f32Type, b.getF32FloatAttr(0)));
  SmallVector<Value> init(count * rows, zeroVector);
  SmallVector<Value> rowIndex = indicesFrom(b, loc, n0, 0, rows);
  SmallVector<Value> tokenIndex = indicesFrom(b, loc, m0, 0, count);

  int64_t groupSize = sig.groupSize();
  int64_t groups = sig.reduction / groupSize;

  // One chunk: every row's weight vectors times every token's x.
  auto chunkStep = [&](OpBuilder &b, Location loc, Value k,
                       ArrayRef<RowFactors> factors, ValueRange accs) {
    SmallVector<Value> next(accs.begin(), accs.end());
    for (unsigned r = 0; r < rows; ++r) {
      SmallVector<Value> weights =
          emitWeightVectors(b, loc, rowIndex[r], k, factors[r]);
      for (int64_t p = 0; p < perByte; ++p) {
        Value kp =
            p == 0 ? k
                   : arith::AddIOp::create(b, loc, k, index(b, loc, p * lanes))
                         .getResult();
        for (unsigned t = 0; t < count; ++t) {
          Value xv = vector::LoadOp::create(b, loc, f32Type, xs,
                                            ValueRange{tokenIndex[t], kp});
          Value &acc = next[t * rows + r];
          acc = vector::FMAOp::create(b, loc, xv, weights[p], acc);
        }
      }
    }
    return next;
  };

  auto groupLoop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, groups), index(b, loc, 1), init,
      [&](OpBuilder &b, Location loc, Value g, ValueRange accs) {
        SmallVector<RowFactors> factors;
        for (unsigned r = 0; r < rows; ++r)
          factors.push_back(emitRowFactors(b, loc, rowIndex[r], g));
        Value groupStart =
            arith::MulIOp::create(b, loc, g, index(b, loc, groupSize));
        SmallVector<Value> result = emitChunks(
            b, loc, groupStart, groupSize, accs,
            count == 1 ? ArrayRef<Value>(rowIndex) : ArrayRef<Value>(),
            [&](OpBuilder &b, Location loc, Value k, ValueRange inner) {
              return chunkStep(b, loc, k, factors, inner);
            });
        scf::YieldOp::create(b, loc, result);
      });

  for (unsigned t = 0; t < count; ++t) {
    for (unsigned r = 0; r < rows; ++r) {
      Value sum =
          vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                      groupLoop.getResult(t * rows + r));
      if (bias)
        sum = arith::AddFOp::create(
            b, loc, sum,
            toF32(
                b, loc,
                memref::LoadOp::create(b, loc, bias, ValueRange{rowIndex[r]})));
      memref::StoreOp::create(b, loc, sum, y,
                              ValueRange{tokenIndex[t], rowIndex[r]});
    }
  }
}

/// The bytes of a cache line, the unit of prefetching.
constexpr int64_t kCacheLineBytes = 64;

int64_t LinearKernelEmitter::weightElementBytes() {
  auto type = cast<MemRefType>(weight.getType());
  return std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
}

void LinearKernelEmitter::emitPrefetch(OpBuilder &b, Location loc,
                                       ArrayRef<Value> rows, Value k) {
  auto type = cast<MemRefType>(weight.getType());
  int64_t elementBytes = weightElementBytes();
  int64_t rowCount = type.getShape()[0], rowElements = type.getShape()[1];
  int64_t blockBytes = int64_t(rows.size()) * rowElements * elementBytes;
  int64_t blocksAhead = llvm::divideCeil(config.prefetchBytes, blockBytes);
  Value column = k;
  if (perByte > 1)
    column = arith::DivUIOp::create(b, loc, column, index(b, loc, perByte));
  // Clamped to the weight: the addresses stay inside it.
  column = arith::MinUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, column,
                            index(b, loc, kCacheLineBytes / elementBytes)),
      index(b, loc, rowElements - 1));
  for (Value row : rows) {
    Value ahead = arith::MinUIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, row,
                              index(b, loc, blocksAhead * rows.size())),
        index(b, loc, rowCount - 1));
    memref::PrefetchOp::create(b, loc, weight, ValueRange{ahead, column},
                               /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
}

SmallVector<Value> LinearKernelEmitter::emitChunks(OpBuilder &b, Location loc,
                                                   Value start, int64_t length,
                                                   ValueRange init,
                                                   ArrayRef<Value> prefetchRows,
                                                   ChunkStep step) {
  int64_t lineElements = kCacheLineBytes / weightElementBytes() * perByte;
  bool prefetch = config.prefetchBytes != 0 && !prefetchRows.empty();
  // A span of several lines goes a line at a time: a prefetch, then the
  // line's chunks. A shorter one takes one prefetch.
  bool perLine = prefetch && length > lineElements &&
                 length % lineElements == 0 && lineElements % chunk == 0;
  int64_t stride = perLine ? lineElements : chunk;
  if (prefetch && !perLine)
    emitPrefetch(b, loc, prefetchRows, start);
  auto strideSteps = [&](OpBuilder &b, Location loc, Value k,
                         ValueRange values) {
    if (perLine)
      emitPrefetch(b, loc, prefetchRows, k);
    SmallVector<Value> next(values.begin(), values.end());
    for (int64_t offset = 0; offset < stride; offset += chunk) {
      Value at = offset == 0
                     ? k
                     : arith::AddIOp::create(b, loc, k, index(b, loc, offset))
                           .getResult();
      next = step(b, loc, at, next);
    }
    return next;
  };
  if (length == stride)
    return strideSteps(b, loc, start, init);
  auto loop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, length), index(b, loc, stride),
      init, [&](OpBuilder &b, Location loc, Value offset, ValueRange inner) {
        Value k = arith::AddIOp::create(b, loc, start, offset);
        scf::YieldOp::create(b, loc, strideSteps(b, loc, k, inner));
      });
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

namespace {

/// The constant table of a code-book format's levels, as a memref.global of
/// the module (created once).
memref::GlobalOp getOrCreateCodebook(ModuleOp module, SymbolTable &symbols,
                                     WeightFormat format) {
  std::string name = std::string("__nibble_codebook_") +
                     numerics::elementFormatName(toElementFormat(format));
  if (auto existing = symbols.lookup<memref::GlobalOp>(name))
    return existing;
  std::vector<float> levels = numerics::codebookLevels(toElementFormat(format));
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto type = MemRefType::get({int64_t(levels.size())}, b.getF32Type());
  auto tensorType =
      RankedTensorType::get({int64_t(levels.size())}, b.getF32Type());
  auto global = memref::GlobalOp::create(
      b, module.getLoc(), name, b.getStringAttr("private"), type,
      DenseElementsAttr::get(tensorType, ArrayRef<float>(levels)),
      /*constant=*/true, /*alignment=*/IntegerAttr());
  symbols.insert(global);
  return global;
}

/// How far ahead in the weight stream single-token blocks prefetch packed
/// weights. Measured on Llama's, SmolLM2's and Gemma 3's shapes (W4, W8,
/// Q8_0-like, W4A8; one thread, docs/Benchmarks.md): the rows of the block
/// 4 KiB or more ahead took 1.2-1.8x less time than 256 bytes ahead within
/// the same rows, whose rows of 640 bytes or less left most lines
/// unprefetched. f32 weights stream well without.
constexpr unsigned kDecodePrefetchBytes = 4096;

/// Output features per pass of a single token in integer kernels. Measured
/// on 4096 x 4096 W4A8 g128 (AMD EPYC Zen 4, 8 rotated copies, one run,
/// docs/Benchmarks.md): one row per pass (one stream of weights) read 19
/// GB/s from DRAM, 4 rows (four streams 2 KiB long) 11 GB/s, though from
/// L3 the 4-row blocks compute 28 GB/s. The float kernels keep 4 rows: their
/// single-token blocks are bound by the dequantization, not the stream.
constexpr unsigned kSingleTokenIntegerRows = 1;

/// Whether `sig` runs as an integer kernel: int8 activations times integer
/// codes (zero points or float minimums). Code books take the float kernel
/// on dequantized activations.
bool usesIntegerKernel(const LinearSignature &sig) {
  ActivationScheme act = sig.activation();
  if (act != ActivationScheme::Int8Dynamic &&
      act != ActivationScheme::Int8Static)
    return false;
  return sig.scheme.getFormat() == WeightFormat::Int;
}

/// Whether the weights of `sig` can be interleaved by `rows` for a kernel:
/// integer codes or a code book of up to 4 bits with per-group or
/// per-channel scales and no double quantization, whole blocks of rows and
/// whole 4-byte words per row and per scale group.
bool canInterleave(const LinearSignature &sig, int64_t rows) {
  SchemeAttr scheme = sig.scheme;
  if (!scheme || rows == 0 || sig.hasScaleScales ||
      (scheme.getFormat() != WeightFormat::Int &&
       scheme.getContainerBits() > 4))
    return false;
  Granularity granularity = scheme.getGranularity();
  if (granularity != Granularity::Group && granularity != Granularity::Channel)
    return false;
  int64_t codesPerWord = kInterleavedWordBytes * sig.codesPerByte();
  return sig.outputs % rows == 0 && sig.reduction % codesPerWord == 0 &&
         sig.groupSize() % codesPerWord == 0;
}

/// A name for the kernel of `sig` with `config`: readable parts and a hash
/// of the full signature.
std::string kernelName(const LinearSignature &sig,
                       const LinearKernelConfig &config) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (sig.scheme)
    os << sig.scheme;
  for (RankedTensorType type : sig.weightOperands)
    os << type;
  os << config.lanes << "," << config.rows << "," << config.tokens << ","
     << config.tokenTile << "," << config.tableLookup << ","
     << config.integerDot << "," << config.dotIntrinsic << ","
     << config.panelRows << "," << config.panelTokens << ","
     << config.prefetchBytes << "," << config.singleTokenRows << ","
     << config.interleavedRows;
  std::string name;
  llvm::raw_string_ostream out(name);
  out << "__nibble_kernel_"
      << (!sig.scheme         ? "linear"
          : config.integerDot ? "qlinear_i8"
                              : "qlinear")
      << "_" << sig.outputs << "x" << sig.reduction << "_"
      << llvm::format_hex_no_prefix(llvm::xxh3_64bits(text), 16);
  return name;
}

/// Sets config.interleavedRows when `op` reads weights interleaved as its
/// kernel can read them: in place; others are unpacked by the reference
/// lowering first.
void useInterleavedWeights(Operation *op, LinearKernelConfig &config) {
  auto qlinear = dyn_cast<QLinearOp>(op);
  if (qlinear && config.interleavableRows != 0 &&
      interleavedRowsOf(qlinear) == int64_t(config.interleavableRows))
    config.interleavedRows = config.interleavableRows;
}

} // namespace

FailureOr<LinearKernelConfig>
nibble::chooseLinearKernel(Operation *op, const CpuTarget &target,
                           std::string &whyNot) {
  auto input = cast<RankedTensorType>(op->getOperand(0).getType());
  auto result = cast<RankedTensorType>(op->getResult(0).getType());
  if (!input.getElementType().isF32() || !result.getElementType().isF32()) {
    whyNot = "input or result is not f32";
    return failure();
  }
  if (input.getRank() < 1) {
    whyNot = "the input is a scalar";
    return failure();
  }
  LinearSignature sig = signatureOf(op);
  for (RankedTensorType type : sig.weightOperands)
    if (!type.hasStaticShape()) {
      whyNot = "a weight operand has a dynamic shape";
      return failure();
    }
  if (sig.scheme) {
    if (sig.activation() == ActivationScheme::FP8Dynamic) {
      whyNot = "fp8 activations have no kernel (not yet built)";
      return failure();
    }
  } else {
    Type weightType = sig.weightOperands.front().getElementType();
    if (!weightType.isF32() && !weightType.isF16() && !weightType.isBF16()) {
      whyNot = "the weight is not f32, f16 or bf16";
      return failure();
    }
  }
  LinearKernelConfig config;
  if (usesIntegerKernel(sig)) {
    // Chunks of 4 * lanes codes (one 8-bit dot product per row and token)
    // that fit a weight (activation) group or hold whole groups (each on its
    // own lanes), i32 lanes as wide as the vector registers.
    int64_t groupSize = sig.scaleGroupSize(), perByte = sig.codesPerByte();
    for (unsigned lanes = std::max(4u, target.vectorBits / 32); lanes >= 4;
         lanes /= 2) {
      int64_t chunk = 4 * lanes;
      auto fits = [&](int64_t group) {
        return group % chunk == 0 ||
               (chunk % group == 0 && sig.reduction % chunk == 0 &&
                group % (4 * perByte) == 0);
      };
      if (fits(sig.groupSize()) && fits(sig.activationGroupSize())) {
        config.lanes = lanes;
        break;
      }
    }
    // |sum| per i32 lane <= 255 * 127 * K / lanes must not overflow.
    if (config.lanes != 0 &&
        sig.reduction / config.lanes <= (int64_t(1) << 31) / (255 * 128)) {
      config.integerDot = true;
      config.prefetchBytes = kDecodePrefetchBytes;
      config.rows = sig.outputs % 4 == 0 ? 4 : sig.outputs % 2 == 0 ? 2 : 1;
      config.singleTokenRows = kSingleTokenIntegerRows;
      config.tokens = 2;
      // Panels of one vector of rows; blocks of tokens within the registers
      // (MR i32 sums, MR f32 accumulators and the operands: 32 registers on
      // AVX-512 and NEON, 16 elsewhere). A group's sum of u·q - z·X must
      // stay within i32: 2 · 255 · 128 per code.
      if (groupSize <= (int64_t(1) << 31) / (2 * 255 * 128)) {
        config.panelRows = config.lanes;
        config.panelTokens =
            target.vectorBits >= 512 || target.isAArch64 ? 8 : 4;
      }
      if (target.hasInt8Dot && (!target.isAArch64 || target.hasInt8Matmul))
        config.dotIntrinsic =
            dotProductIntrinsic(target.isAArch64, config.lanes);
      if (canInterleave(sig, config.panelRows))
        config.interleavableRows = config.panelRows;
      useInterleavedWeights(op, config);
      return config;
    }
    config = LinearKernelConfig();
  }
  // The widest vector whose chunk (P codes per byte x lanes) fits a scale
  // group; 4 lanes at least.
  int64_t perByte = sig.codesPerByte();
  int64_t groupSize = sig.groupSize();
  config.lanes = 0;
  for (unsigned lanes = std::max(4u, target.f32Lanes()); lanes >= 4;
       lanes /= 2) {
    if (groupSize % (perByte * lanes) == 0) {
      config.lanes = lanes;
      break;
    }
  }
  if (config.lanes == 0) {
    whyNot = "the scale group (" + std::to_string(groupSize) +
             " weights) is not a multiple of " + std::to_string(perByte * 4);
    return failure();
  }
  // Register blocking: rows x tokens accumulators, within the 16 (SSE, AVX,
  // NEON has 32) or 32 (AVX-512) vector registers with room for operands.
  config.rows = sig.outputs % 4 == 0 ? 4 : sig.outputs % 2 == 0 ? 2 : 1;
  config.tableLookup = !target.isAArch64 && target.vectorBits >= 512 &&
                       config.lanes == 16 && sig.scheme &&
                       sig.scheme.getContainerBits() <= 4;
  config.tokens = target.vectorBits >= 512 || target.isAArch64 ? 4 : 2;
  // Panels of two vectors of rows; blocks of tokens within the registers
  // (MR x 2 accumulators, 2 weight vectors and a broadcast: 32 registers
  // on AVX-512 and NEON, 16 elsewhere).
  config.panelRows = 2 * config.lanes;
  config.panelTokens = target.vectorBits >= 512 || target.isAArch64 ? 8 : 6;
  if (sig.scheme)
    config.prefetchBytes = kDecodePrefetchBytes;
  if (canInterleave(sig, config.lanes))
    config.interleavableRows = config.lanes;
  useInterleavedWeights(op, config);
  // Blocks of interleaved rows keep a partial sum and an accumulator per
  // token.
  if (config.interleavedRows && target.vectorBits < 512 && !target.isAArch64)
    config.panelTokens = 4;
  return config;
}

func::FuncOp nibble::getOrCreateLinearKernel(ModuleOp module,
                                             SymbolTable &symbols,
                                             Operation *op,
                                             const LinearKernelConfig &config) {
  LinearSignature sig = signatureOf(op, config.interleavedRows != 0);
  std::string name = kernelName(sig, config);
  if (auto existing = symbols.lookup<func::FuncOp>(name))
    return existing;

  MLIRContext *ctx = module.getContext();
  Type f32 = Float32Type::get(ctx);
  SmallVector<Type> argTypes;
  argTypes.push_back(
      kernelBufferType({ShapedType::kDynamic, sig.reduction}, f32));
  for (RankedTensorType type : sig.weightOperands)
    argTypes.push_back(
        kernelBufferType(type.getShape(), type.getElementType()));
  argTypes.push_back(
      kernelBufferType({ShapedType::kDynamic, sig.outputs}, f32));

  Location loc = op->getLoc();
  func::FuncOp func =
      createKernelFunction(module, symbols, name, argTypes, loc);
  auto b = OpBuilder::atBlockBegin(&func.front());
  Value codebook;
  if (sig.scheme && sig.scheme.getFormat() != WeightFormat::Int &&
      !sig.scheme.hasMins()) {
    memref::GlobalOp table =
        getOrCreateCodebook(module, symbols, sig.scheme.getFormat());
    codebook = memref::GetGlobalOp::create(b, loc, table.getType(),
                                           table.getSymName());
  }
  func::FuncOp lookup, dot;
  if (config.tableLookup)
    lookup = getOrCreateTableLookup(module, symbols, loc);
  if (config.integerDot)
    dot = getOrCreateDotProduct(module, symbols, loc, config.lanes,
                                config.dotIntrinsic);
  LinearKernelEmitter(sig, config, func, codebook, lookup, dot).emit(b, loc);
  return func;
}

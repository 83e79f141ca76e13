//===- IntegerLinearKernel.cpp - Int8 activations times integer codes -----===//
//
// The integer block of a linear kernel (schemes with `act = int8_dynamic`
// or `int8_static` and integer codes) and the activation quantization the
// kernels with quantized activations start with.
//
// x is quantized once per call, per token exactly as the reference lowering
// does (scale s = absmax / 127 or the static scale, q = clamp(round(x / s),
// -127, 127)), and stored as signed bytes in the order of the unpacked
// weight codes u (unsigned), with the sums X of q over each scale group
// (per i32 lane). With zero point z,
//
//   Σ_k q_k (u_k - z) = Σ_k u_k q_k - z X
//
// so each scale group is one 8-bit dot product per row and token (vpdpbusd,
// usdot: 4 products per i32 lane), exact in i32, and z X is shared by all
// rows. Float minimums m (value u·s + m) take the same sums:
//
//   Σ_k q_k (u_k s + m) = s Σ_k u_k q_k + m X.
//
// The group's sums are converted to f32 and scaled into f32
// accumulators; y = s · Σ_lanes acc (+ b). With activation groups
// (act_group: one scale s_a per G values of a token) the unit of scaling
// is what shares both scales, and each unit's sums scale by s·s_a (m·s_a
// for the minimums) with no token scale at the end. Only the float steps
// round: the conversion, the scaling and the sums over groups and lanes,
// far fewer than the reference's K + 1 (see
// test/E2E/Inputs/check_kernels.py).
//
//===----------------------------------------------------------------------===//

#include "compiler/cpu/LinearKernelEmitter.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"

#include <numeric>

using namespace mlir;
using namespace nibble;

namespace {

/// A vector constant of `type` with every element `value`.
Value constantSplat(OpBuilder &b, Location loc, VectorType type,
                    TypedAttr value) {
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, value));
}

/// The vectors `parts` (equal types) concatenated in order.
Value concatenate(OpBuilder &b, Location loc, SmallVector<Value> parts) {
  while (parts.size() > 1) {
    SmallVector<Value> joined;
    for (size_t i = 0; i + 1 < parts.size(); i += 2) {
      int64_t size = cast<VectorType>(parts[i].getType()).getNumElements();
      SmallVector<int64_t> mask;
      for (int64_t j = 0; j < 2 * size; ++j)
        mask.push_back(j);
      joined.push_back(
          vector::ShuffleOp::create(b, loc, parts[i], parts[i + 1], mask));
    }
    parts = std::move(joined);
  }
  return parts.front();
}

} // namespace

SmallVector<int64_t> nibble::unpackedCodeOrder(int64_t chunk, int64_t perByte,
                                               int64_t groupSize) {
  int64_t part = std::min(chunk, groupSize);
  SmallVector<int64_t> order;
  for (int64_t start = 0; start < chunk; start += part)
    for (int64_t p = 0; p < perByte; ++p)
      for (int64_t j = 0; j < part / perByte; ++j)
        order.push_back(start + perByte * j + p);
  return order;
}

Value LinearKernelEmitter::emitActivationScale(OpBuilder &b, Location loc,
                                               Value source, Value m,
                                               Value start, int64_t length) {
  if (sig.activation() == ActivationScheme::Int8Static)
    return memref::LoadOp::create(b, loc, inputScale,
                                  ValueRange{index(b, loc, 0)});
  // absmax over the values, NaN-propagating like the reference's maximumf.
  int64_t step = std::gcd(length, int64_t(16));
  auto type = VectorType::get({step}, b.getF32Type());
  Value zeros = constantSplat(b, loc, type, b.getF32FloatAttr(0));
  auto loop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, length), index(b, loc, step),
      ValueRange{zeros},
      [&](OpBuilder &b, Location loc, Value offset, ValueRange max) {
        Value k = arith::AddIOp::create(b, loc, start, offset);
        Value values =
            vector::LoadOp::create(b, loc, type, source, ValueRange{m, k});
        Value magnitude = math::AbsFOp::create(b, loc, values);
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::MaximumFOp::create(b, loc, max[0], magnitude)});
      });
  Value absMax = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::MAXIMUMF, loop.getResult(0));
  return arith::DivFOp::create(
      b, loc, absMax,
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(127.0f)));
}

Value LinearKernelEmitter::emitActivationCodes(OpBuilder &b, Location loc,
                                               Value values, Value scale) {
  auto type = cast<VectorType>(values.getType());
  auto constant = [&](float value) {
    return constantSplat(b, loc, type, b.getF32FloatAttr(value));
  };
  Value scaled = arith::DivFOp::create(b, loc, values, scale);
  Value q = math::RoundEvenOp::create(b, loc, scaled);
  q = arith::MinimumFOp::create(b, loc, q, constant(127));
  q = arith::MaximumFOp::create(b, loc, q, constant(-127));
  Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
  return arith::SelectOp::create(b, loc, isNaN, constant(0), q);
}

LinearKernelEmitter::QuantizedInput
LinearKernelEmitter::emitQuantizedInput(OpBuilder &b, Location loc,
                                        Value tokens) {
  QuantizedInput input;
  auto alloc = [&](int64_t columns, Type elementType) -> Value {
    return memref::AllocOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic, columns}, elementType),
        ValueRange{tokens});
  };
  int64_t actGroup = sig.activationGroupSize();
  int64_t blockSize = scaleBlockSize();
  int64_t blocks = sig.reduction / blockSize;
  int64_t scaleGroup = sig.scaleGroupSize();
  int64_t groupsPerBlock = blockSize / scaleGroup;
  input.codes = alloc(sig.reduction, b.getI8Type());
  input.scales = alloc(sig.reduction / actGroup, b.getF32Type());
  input.groupSums = alloc(blocks * lanes, b.getI32Type());
  if (sig.hasActivationGroups())
    input.laneScales = alloc(blocks * lanes, b.getF32Type());
  if (hasIntegerPanels())
    input.groupTotals = alloc(sig.reduction / scaleGroup, b.getI32Type());
  // The order of the unpacked weight codes (see emitUnsignedCodes).
  SmallVector<int64_t> order = unpackedCodeOrder(chunk, perByte, scaleGroup);
  auto valuesType = VectorType::get({chunk}, b.getF32Type());
  auto bytesType = VectorType::get({chunk}, b.getI8Type());
  auto sumsType = VectorType::get({lanes}, b.getI32Type());
  Value ones = constantSplat(b, loc, bytesType, b.getI8IntegerAttr(1));
  Value zeroSums = constantSplat(b, loc, sumsType, b.getI32IntegerAttr(0));
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  // The scales of token m's `size` values from k, `size` / 4 lanes per
  // activation group when a group is shorter (values: size lanes).
  auto scaleVector = [&](OpBuilder &b, Location loc, Value m, Value k,
                         int64_t size, int64_t perValue) -> Value {
    int64_t parts = std::max<int64_t>(1, size / actGroup);
    Value firstGroup =
        arith::DivUIOp::create(b, loc, k, index(b, loc, actGroup));
    SmallVector<Value> vectors;
    for (int64_t i = 0; i < parts; ++i) {
      Value group = arith::AddIOp::create(b, loc, firstGroup, index(b, loc, i));
      Value scale =
          memref::LoadOp::create(b, loc, input.scales, ValueRange{m, group});
      vectors.push_back(vector::BroadcastOp::create(
          b, loc, VectorType::get({size / parts / perValue}, b.getF32Type()),
          scale));
    }
    return concatenate(b, loc, std::move(vectors));
  };
  scf::ForOp::create(
      b, loc, zero, tokens, one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value m, ValueRange) {
        scf::ForOp::create(
            b, loc, zero, index(b, loc, sig.reduction / actGroup), one,
            ValueRange{}, [&](OpBuilder &b, Location loc, Value a, ValueRange) {
              Value start =
                  arith::MulIOp::create(b, loc, a, index(b, loc, actGroup));
              memref::StoreOp::create(
                  b, loc, emitActivationScale(b, loc, x, m, start, actGroup),
                  input.scales, ValueRange{m, a});
              scf::YieldOp::create(b, loc);
            });
        scf::ForOp::create(
            b, loc, zero, index(b, loc, blocks), one, ValueRange{},
            [&](OpBuilder &b, Location loc, Value g, ValueRange) {
              Value groupStart =
                  arith::MulIOp::create(b, loc, g, index(b, loc, blockSize));
              auto chunks = scf::ForOp::create(
                  b, loc, zero, index(b, loc, blockSize), index(b, loc, chunk),
                  ValueRange{zeroSums},
                  [&](OpBuilder &b, Location loc, Value offset,
                      ValueRange sums) {
                    Value k = arith::AddIOp::create(b, loc, groupStart, offset);
                    Value values = vector::LoadOp::create(b, loc, valuesType, x,
                                                          ValueRange{m, k});
                    Value q = arith::FPToSIOp::create(
                        b, loc, bytesType,
                        emitActivationCodes(
                            b, loc, values,
                            scaleVector(b, loc, m, k, chunk, /*perValue=*/1)));
                    if (!llvm::equal(order, llvm::seq<int64_t>(0, chunk)))
                      q = vector::ShuffleOp::create(b, loc, q, q, order);
                    vector::StoreOp::create(b, loc, q, input.codes,
                                            ValueRange{m, k});
                    // The same lanes as the kernel's dot products.
                    Value next = func::CallOp::create(
                                     b, loc, dot, ValueRange{sums[0], ones, q})
                                     .getResult(0);
                    scf::YieldOp::create(b, loc, ValueRange{next});
                  });
              Value blockSums = chunks.getResult(0);
              Value column =
                  arith::MulIOp::create(b, loc, g, index(b, loc, lanes));
              vector::StoreOp::create(b, loc, blockSums, input.groupSums,
                                      ValueRange{m, column});
              // A block lies in one activation group or is a chunk of whole
              // ones.
              if (input.laneScales)
                vector::StoreOp::create(
                    b, loc,
                    scaleVector(b, loc, m, groupStart, chunk, /*perValue=*/4),
                    input.laneScales, ValueRange{m, column});
              // Each group of the block lies on lanes / groupsPerBlock lanes.
              int64_t groupLanes = lanes / groupsPerBlock;
              for (int64_t i = 0; input.groupTotals && i < groupsPerBlock;
                   ++i) {
                Value part = vector::ExtractStridedSliceOp::create(
                    b, loc, blockSums, ArrayRef<int64_t>{i * groupLanes},
                    ArrayRef<int64_t>{groupLanes}, ArrayRef<int64_t>{1});
                Value total = vector::ReductionOp::create(
                    b, loc, vector::CombiningKind::ADD, part);
                Value group = arith::AddIOp::create(
                    b, loc,
                    arith::MulIOp::create(b, loc, g,
                                          index(b, loc, groupsPerBlock)),
                    index(b, loc, i));
                memref::StoreOp::create(b, loc, total, input.groupTotals,
                                        ValueRange{m, group});
              }
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
  return input;
}

Value LinearKernelEmitter::emitFakeQuantizedInput(OpBuilder &b, Location loc,
                                                  Value tokens) {
  auto type =
      MemRefType::get({ShapedType::kDynamic, sig.reduction}, b.getF32Type());
  Value result = memref::AllocOp::create(b, loc, type, ValueRange{tokens});
  int64_t actGroup = sig.activationGroupSize();
  int64_t width = std::gcd(int64_t(lanes), actGroup);
  auto valuesType = VectorType::get({width}, b.getF32Type());
  Value zeros = constantSplat(b, loc, valuesType, b.getF32FloatAttr(0));
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  scf::ForOp::create(
      b, loc, zero, tokens, one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value m, ValueRange) {
        scf::ForOp::create(
            b, loc, zero, index(b, loc, sig.reduction / actGroup), one,
            ValueRange{}, [&](OpBuilder &b, Location loc, Value a, ValueRange) {
              Value start =
                  arith::MulIOp::create(b, loc, a, index(b, loc, actGroup));
              Value scale = emitActivationScale(b, loc, x, m, start, actGroup);
              Value scales =
                  vector::BroadcastOp::create(b, loc, valuesType, scale);
              // A zero scale gives zero, as in the reference.
              Value isZero = arith::CmpFOp::create(
                  b, loc, arith::CmpFPredicate::OEQ, scale,
                  arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)));
              scf::ForOp::create(
                  b, loc, zero, index(b, loc, actGroup), index(b, loc, width),
                  ValueRange{},
                  [&](OpBuilder &b, Location loc, Value offset, ValueRange) {
                    Value k = arith::AddIOp::create(b, loc, start, offset);
                    Value values = vector::LoadOp::create(b, loc, valuesType, x,
                                                          ValueRange{m, k});
                    Value q = emitActivationCodes(b, loc, values, scales);
                    Value dequantized =
                        arith::MulFOp::create(b, loc, q, scales);
                    dequantized = arith::SelectOp::create(b, loc, isZero, zeros,
                                                          dequantized);
                    vector::StoreOp::create(b, loc, dequantized, result,
                                            ValueRange{m, k});
                    scf::YieldOp::create(b, loc);
                  });
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
  return result;
}

Value LinearKernelEmitter::emitUnsignedCodes(OpBuilder &b, Location loc,
                                             Value row, Value k) {
  int64_t bytes = chunk / perByte;
  auto bytesType = VectorType::get({bytes}, b.getI8Type());
  Value byteCol =
      perByte == 1 ? k
                   : arith::DivUIOp::create(b, loc, k, index(b, loc, perByte))
                         .getResult();
  Value packed = vector::LoadOp::create(b, loc, bytesType, weight,
                                        ValueRange{row, byteCol});
  unsigned container = sig.scheme.getContainerBits();
  SmallVector<Value> parts;
  for (int64_t p = 0; p < perByte; ++p) {
    Value code = packed;
    if (p > 0)
      code = arith::ShRUIOp::create(
          b, loc, code,
          constantSplat(b, loc, bytesType,
                        b.getI8IntegerAttr(int8_t(p * container))));
    if (p + 1 < perByte)
      code = arith::AndIOp::create(
          b, loc, code,
          constantSplat(b, loc, bytesType,
                        b.getI8IntegerAttr(int8_t((1 << container) - 1))));
    parts.push_back(code);
  }
  Value codes = concatenate(b, loc, std::move(parts));
  if (sig.scaleGroupSize() >= chunk || perByte == 1)
    return codes;
  // Several groups per chunk: their codes p-major within each group. Code c
  // is at p * bytes + c / P of the concatenation, p = c % P.
  SmallVector<int64_t> mask;
  for (int64_t code : unpackedCodeOrder(chunk, perByte, sig.scaleGroupSize()))
    mask.push_back(code % perByte * bytes + code / perByte);
  return vector::ShuffleOp::create(b, loc, codes, codes, mask);
}

Value LinearKernelEmitter::emitUnpackedCodes(OpBuilder &b, Location loc,
                                             Value n0) {
  auto type = MemRefType::get({config.rows, sig.reduction}, b.getI8Type());
  Value codes = memref::AllocOp::create(b, loc, type, b.getI64IntegerAttr(64));
  Value zero = index(b, loc, 0), one = index(b, loc, 1);
  scf::ForOp::create(
      b, loc, zero, index(b, loc, config.rows), one, ValueRange{},
      [&](OpBuilder &b, Location loc, Value r, ValueRange) {
        Value row = arith::AddIOp::create(b, loc, n0, r);
        scf::ForOp::create(
            b, loc, zero, index(b, loc, sig.reduction), index(b, loc, chunk),
            ValueRange{}, [&](OpBuilder &b, Location loc, Value k, ValueRange) {
              vector::StoreOp::create(b, loc, emitUnsignedCodes(b, loc, row, k),
                                      codes, ValueRange{r, k});
              scf::YieldOp::create(b, loc);
            });
        scf::YieldOp::create(b, loc);
      });
  return codes;
}

void LinearKernelEmitter::emitIntegerBlock(OpBuilder &b, Location loc,
                                           const QuantizedInput &input,
                                           Value n0, Value m0, unsigned count,
                                           unsigned rows, Value unpacked) {
  auto i32Type = VectorType::get({lanes}, b.getI32Type());
  auto bytesType = VectorType::get({chunk}, b.getI8Type());
  VectorType f32Type = f32Vector(b);
  Value zeroF32 = constantSplat(b, loc, f32Type, b.getF32FloatAttr(0));
  Value zeroI32 = constantSplat(b, loc, i32Type, b.getI32IntegerAttr(0));
  SmallVector<Value> rowIndex = indicesFrom(b, loc, n0, 0, rows);
  SmallVector<Value> tokenIndex = indicesFrom(b, loc, m0, 0, count);

  int64_t blockSize = scaleBlockSize();
  int64_t blocks = sig.reduction / blockSize;
  // A block holds whole weight groups (each on its own lanes) or lies in
  // one (shorter activation groups).
  int64_t weightGroupsPerBlock =
      std::max<int64_t>(1, blockSize / sig.groupSize());
  // The scales (zero points) of a block's weight groups, each over its lanes.
  auto groupVector = [&](OpBuilder &b, Location loc, Value block,
                         llvm::function_ref<Value(Value)> factor) {
    SmallVector<Value> parts;
    for (int64_t i = 0; i < weightGroupsPerBlock; ++i) {
      Value group =
          blockSize < sig.groupSize()
              ? arith::DivUIOp::create(
                    b, loc,
                    arith::MulIOp::create(b, loc, block,
                                          index(b, loc, blockSize)),
                    index(b, loc, sig.groupSize()))
                    .getResult()
          : weightGroupsPerBlock == 1
              ? block
              : arith::AddIOp::create(
                    b, loc,
                    arith::MulIOp::create(b, loc, block,
                                          index(b, loc, weightGroupsPerBlock)),
                    index(b, loc, i))
                    .getResult();
      Value value = factor(group);
      parts.push_back(vector::BroadcastOp::create(
          b, loc,
          VectorType::get({lanes / weightGroupsPerBlock}, value.getType()),
          value));
    }
    return concatenate(b, loc, std::move(parts));
  };

  // One chunk: sums[t * rows + r] += u_r · q_t.
  auto chunkStep = [&](OpBuilder &b, Location loc, Value k, ValueRange sums) {
    SmallVector<Value> next(sums.begin(), sums.end());
    SmallVector<Value> activations;
    for (unsigned t = 0; t < count; ++t)
      activations.push_back(vector::LoadOp::create(
          b, loc, bytesType, input.codes, ValueRange{tokenIndex[t], k}));
    for (unsigned r = 0; r < rows; ++r) {
      Value codes =
          unpacked ? vector::LoadOp::create(b, loc, bytesType, unpacked,
                                            ValueRange{index(b, loc, r), k})
                         .getResult()
                   : emitUnsignedCodes(b, loc, rowIndex[r], k);
      for (unsigned t = 0; t < count; ++t) {
        Value &sum = next[t * rows + r];
        sum = func::CallOp::create(b, loc, dot,
                                   ValueRange{sum, codes, activations[t]})
                  .getResult(0);
      }
    }
    return next;
  };

  SmallVector<Value> init(count * rows, zeroF32);
  auto groupLoop = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, blocks), index(b, loc, 1), init,
      [&](OpBuilder &b, Location loc, Value g, ValueRange accs) {
        Value groupStart =
            arith::MulIOp::create(b, loc, g, index(b, loc, blockSize));
        SmallVector<Value> sumsInit(count * rows, zeroI32);
        SmallVector<Value> sums =
            emitChunks(b, loc, groupStart, blockSize, sumsInit,
                       count == 1 && !unpacked ? ArrayRef<Value>(rowIndex)
                                               : ArrayRef<Value>(),
                       chunkStep);
        Value sumsColumn =
            arith::MulIOp::create(b, loc, g, index(b, loc, lanes));
        SmallVector<Value> activationSums;
        for (unsigned t = 0; t < count; ++t)
          activationSums.push_back(
              vector::LoadOp::create(b, loc, i32Type, input.groupSums,
                                     ValueRange{tokenIndex[t], sumsColumn}));
        // With activation groups, each lane's activation scale s_a: the
        // block's sums are scaled by s·s_a (minimums: m·s_a·X) here rather
        // than by one token scale at the end.
        SmallVector<Value> laneScales;
        if (input.laneScales)
          for (unsigned t = 0; t < count; ++t)
            laneScales.push_back(
                vector::LoadOp::create(b, loc, f32Type, input.laneScales,
                                       ValueRange{tokenIndex[t], sumsColumn}));
        // The block's scale of row r and token t.
        auto rowTokenScale = [&](Value scale, unsigned t) -> Value {
          return laneScales.empty()
                     ? scale
                     : arith::MulFOp::create(b, loc, scale, laneScales[t])
                           .getResult();
        };
        // With minimums, the activation sums as f32 (times s_a), shared by
        // the rows.
        SmallVector<Value> floatSums;
        if (sig.hasMins)
          for (unsigned t = 0; t < count; ++t) {
            Value sums =
                arith::SIToFPOp::create(b, loc, f32Type, activationSums[t]);
            floatSums.push_back(
                laneScales.empty()
                    ? sums
                    : arith::MulFOp::create(b, loc, sums, laneScales[t])
                          .getResult());
          }
        SmallVector<Value> next(accs.begin(), accs.end());
        for (unsigned r = 0; r < rows; ++r) {
          Value scale = groupVector(b, loc, g, [&](Value group) {
            return emitScale(b, loc, rowIndex[r], group);
          });
          if (sig.hasMins) {
            // Σ (u·s + m)·q = s·Σ u·q + m·Σ q.
            Value min = groupVector(b, loc, g, [&](Value group) {
              return emitMin(b, loc, rowIndex[r], group);
            });
            for (unsigned t = 0; t < count; ++t) {
              Value &acc = next[t * rows + r];
              acc = vector::FMAOp::create(
                  b, loc,
                  arith::SIToFPOp::create(b, loc, f32Type, sums[t * rows + r]),
                  rowTokenScale(scale, t), acc);
              acc = vector::FMAOp::create(b, loc, floatSums[t], min, acc);
            }
            continue;
          }
          Value zero = groupVector(b, loc, g, [&](Value group) {
            return emitZero(b, loc, rowIndex[r], group);
          });
          for (unsigned t = 0; t < count; ++t) {
            Value offset =
                arith::MulIOp::create(b, loc, activationSums[t], zero);
            Value exact =
                arith::SubIOp::create(b, loc, sums[t * rows + r], offset);
            Value value = arith::SIToFPOp::create(b, loc, f32Type, exact);
            Value &acc = next[t * rows + r];
            acc = vector::FMAOp::create(b, loc, value, rowTokenScale(scale, t),
                                        acc);
          }
        }
        scf::YieldOp::create(b, loc, next);
      });

  for (unsigned t = 0; t < count; ++t) {
    // One scale per token: applied once here.
    Value tokenScale;
    if (!input.laneScales)
      tokenScale = memref::LoadOp::create(
          b, loc, input.scales, ValueRange{tokenIndex[t], index(b, loc, 0)});
    for (unsigned r = 0; r < rows; ++r) {
      Value sum =
          vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                      groupLoop.getResult(t * rows + r));
      if (tokenScale)
        sum = arith::MulFOp::create(b, loc, sum, tokenScale);
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

//===- InterleavedWeights.h - Weights laid out for the kernels --*- C++ -*-===//
//
// The compile-time layout of a quantized linear's weights for the CPU
// kernels: R output rows interleaved four bytes at a time, so that one vector
// load reads the same four bytes of R rows (R = the kernel's lanes: i32
// lanes for integer kernels, f32 lanes for float ones).
//
//   codes   [N, B] i8 (B bytes per row)    ->  [N / R, B / 4, R, 4]
//   scales, zero points, minimums [N, G]   ->  [N / R, G, R]
//
// In the IR the layout is upstream's `linalg.unpack` of the interleaved
// tensor back to the operand's type (inner_dims_pos = [0, 1], inner_tiles =
// [R, 4] for codes; [0] and [R] for the per-group tensors):
//
//   %w = linalg.unpack %wi inner_dims_pos = [0, 1] inner_tiles = [16, 4]
//       into %empty : tensor<1024x160x16x4xi8> -> tensor<16384x640xi8>
//
// so a qlinear keeps its meaning and the reference lowering runs it
// unchanged (the unpack decomposes into a transpose); the CPU provider reads
// the interleaved tensors directly when its kernel has R lanes.
//
// Four bytes of a row hold 4 codes of 8 bits, 8 of 4 bits or 16 of 2 bits,
// in the row's own packing: no code moves. Float kernels read the code at
// bit c·j of word i as that of k = 4·P·i + j (P codes per byte). The integer
// kernels quantize x in
// the order of their unpacked codes (unpackedCodeOrder): in a part of P
// codes, bits p·c of the four bytes of word i are the codes that x's quad
// p·P/(4·codesPerByte) + i multiplies, so one shift and one mask of a vector
// of words give R rows' codes for one broadcast quad of x.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_INTERLEAVEDWEIGHTS_H
#define NIBBLE_COMPILER_CPU_INTERLEAVEDWEIGHTS_H

#include "dialects/NibbleOps.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace nibble {

/// Bytes of a row that stay together in the interleaved codes.
inline constexpr int64_t kInterleavedWordBytes = 4;

/// The qlinear operands that the interleaved layout covers: the codes and
/// the per-group tensors (scales, zero points, minimums) that `op` has.
llvm::SmallVector<mlir::OpOperand *> interleavableOperands(QLinearOp op);

/// R when every operand of interleavableOperands(op) is a `linalg.unpack` of
/// the interleaved layout with R rows, 0 otherwise.
int64_t interleavedRowsOf(QLinearOp op);

/// The interleaved tensor an operand of `op` unpacks (interleavedRowsOf(op)
/// must be non-zero).
mlir::Value interleavedSource(mlir::Value operand);

/// The type a kernel on interleaved weights reads for `operand` of `op`:
/// the interleaved source's type, codes collapsed to [N / R, B / 4, 4 R];
/// `operand`'s own type when the layout does not cover it
/// (interleavedRowsOf(op) must be non-zero).
mlir::RankedTensorType interleavedKernelOperandType(QLinearOp op,
                                                    mlir::Value operand);

/// The value of interleavedKernelOperandType(op, operand), built at `b`'s
/// insertion point.
mlir::Value interleavedKernelOperand(mlir::OpBuilder &b, mlir::Location loc,
                                     QLinearOp op, mlir::Value operand);

/// The type of `type` ([N, X], a per-row tensor) interleaved by `rows`:
/// [N / rows, X / 4, rows, 4] for codes, [N / rows, X, rows] otherwise.
mlir::RankedTensorType interleavedType(mlir::RankedTensorType type,
                                       int64_t rows, bool codes);

/// `interleaved` (of interleavedType(type, rows, codes)) unpacked back to
/// `type` by a linalg.unpack built at `b`'s insertion point.
mlir::Value unpackInterleaved(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value interleaved,
                              mlir::RankedTensorType type, int64_t rows,
                              bool codes);

/// The bytes of a row-major tensor [N, X] of `elementBytes`-byte elements
/// interleaved by `rows` (N a multiple of `rows`; for codes, X a multiple
/// of 4 bytes).
std::vector<uint8_t> interleaveRows(llvm::ArrayRef<uint8_t> bytes,
                                    int64_t rowCount, int64_t rowBytes,
                                    int64_t rows, int64_t unitBytes);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_INTERLEAVEDWEIGHTS_H

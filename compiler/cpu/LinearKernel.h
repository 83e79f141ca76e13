//===- LinearKernel.h - Fused dequantize-matmul kernels for CPUs -*- C++
//-*-===//
//
// The CPU provider's kernel for `nibble.linear` and `nibble.qlinear`:
// y[M, N] = x[M, K] · Ŵᵀ (+ b), generated as a function over buffers in the
// vector dialect. Packed codes are unpacked in registers (shifts and masks),
// dequantized exactly as the reference lowering does (so the weights agree
// bit for bit and only the order of the sums differs), and multiplied with
// FMAs into a block of accumulators: `rows` output features times `tokens`
// input rows per pass over the weights. Output rows are split over threads
// (scf.parallel); input rows are tiled so that a tile of x stays in cache.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_LINEARKERNEL_H
#define NIBBLE_COMPILER_CPU_LINEARKERNEL_H

#include "compiler/cpu/CpuTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <string>

namespace nibble {

/// Register and cache blocking of a linear kernel.
struct LinearKernelConfig {
  /// f32 lanes per vector.
  unsigned lanes = 8;
  /// Output features computed together (accumulators per input row).
  unsigned rows = 4;
  /// Input rows computed together in the main loop; the rest one by one.
  unsigned tokens = 4;
  /// Output features per pass of a single input row (decode) in integer
  /// kernels: `rows`, or 1 so that each pass reads one stream of weights
  /// (0: `rows`).
  unsigned singleTokenRows = 0;
  /// Input rows per cache tile (one parallel dispatch per tile).
  unsigned tokenTile = 64;
  /// Dequantize codes of at most 4 bits by a 16-entry table lookup in a
  /// register (AVX-512 vpermps: the table of a row's group holds its 16
  /// dequantized values) instead of converting and scaling each code.
  bool tableLookup = false;
  /// Integer kernel: x is quantized to int8 per token and multiplied with
  /// the integer weight codes by 8-bit dot products (4 products per i32
  /// lane; `lanes` then counts i32 lanes). Otherwise quantized activations
  /// are quantized and dequantized (x̃) before a float kernel.
  bool integerDot = false;
  /// Prefill path: output rows per packed panel (a multiple of lanes; 0:
  /// none) and input rows per microkernel block. A token tile with at least
  /// `panelTokens` rows prepares each block of `panelRows` rows once as a
  /// k-major panel (float kernels: dequantized f32; integer kernels: codes
  /// four to an i32 lane) and runs outer-product blocks over it (broadcast
  /// FMAs; 8-bit dot products); leftover rows and tokens take the
  /// dot-product blocks.
  unsigned panelRows = 0;
  unsigned panelTokens = 0;
  /// Single-token blocks prefetch, once per 64-byte line of each row's
  /// packed weights, the line of the rows this many bytes further on in the
  /// weight stream, rounded up to whole blocks of rows (0: no prefetch).
  unsigned prefetchBytes = 0;
  /// The LLVM intrinsic of the 8-bit dot product (vpdpbusd, usdot), empty
  /// for the portable form.
  std::string dotIntrinsic;
  /// The rows R by which this kernel can read weights interleaved at
  /// compile time (InterleavedWeights.h): its i32 lanes (integer kernels)
  /// or f32 lanes (float kernels); 0 when it reads row-major weights only.
  unsigned interleavableRows = 0;
  /// interleavableRows when the qlinear reads weights interleaved by that
  /// many rows: the kernel takes the interleaved tensors, codes as
  /// [N / R, bytes / 4, 4 R], and runs every block of tokens, single tokens
  /// included, on blocks of R rows read in place (0: row-major weights).
  unsigned interleavedRows = 0;
};

/// The kernel configuration for the linear `op` (nibble.linear or
/// nibble.qlinear) on `target`, or failure with the reason in `whyNot` when
/// the provider does not take it (it then stays on the reference lowering).
mlir::FailureOr<LinearKernelConfig> chooseLinearKernel(mlir::Operation *op,
                                                       const CpuTarget &target,
                                                       std::string &whyNot);

/// The kernel function for `op` with `config`, created in `module` unless an
/// identical one exists. Its arguments are buffers of x [?, K], the weight
/// operands of `op` in order (weight, scales, zero points, mins, scale
/// scales, bias; absent ones skipped) and y [?, N]; 2-D buffers have a unit
/// inner stride and any outer stride and offset.
mlir::func::FuncOp getOrCreateLinearKernel(mlir::ModuleOp module,
                                           mlir::SymbolTable &symbols,
                                           mlir::Operation *op,
                                           const LinearKernelConfig &config);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_LINEARKERNEL_H

//===- LinearKernelEmitter.h - The body of a linear kernel ------*- C++ -*-===//
//
// Private to the CPU provider: what the generator of a linear kernel's body
// knows of the op (LinearSignature) and the generator itself. The loops over
// tiles and register blocks, the float block and the scale factors are in
// LinearKernel.cpp; the integer block (int8 activations times integer codes
// with 8-bit dot products) and the activation quantization it starts with
// are in IntegerLinearKernel.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_LINEARKERNELEMITTER_H
#define NIBBLE_COMPILER_CPU_LINEARKERNELEMITTER_H

#include "compiler/cpu/LinearKernel.h"
#include "dialects/NibbleDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace nibble {

/// What a kernel needs to know of a nibble.linear / nibble.qlinear.
struct LinearSignature {
  int64_t outputs = 0;   // N
  int64_t reduction = 0; // K
  /// Null for float weights.
  SchemeAttr scheme;
  /// The tensor operands after x, in kernel argument order.
  llvm::SmallVector<mlir::RankedTensorType> weightOperands;
  bool hasZeroPoints = false, hasMins = false, hasScaleScales = false,
       hasBias = false, hasInputScale = false;

  /// Codes per byte of the packed weight (1 for float weights).
  unsigned codesPerByte() const {
    return scheme ? 8 / scheme.getContainerBits() : 1;
  }
  /// Weights along K that share a scale (K when there is one per row).
  int64_t groupSize() const {
    return scheme && scheme.getGranularity() == Granularity::Group
               ? scheme.getGroupSize()
               : reduction;
  }
  /// How the activations are quantized before the product (None for float
  /// weights).
  ActivationScheme activation() const {
    return scheme ? scheme.getActivation() : ActivationScheme::None;
  }
  /// Activation values along K that share a scale (K: one per token).
  int64_t activationGroupSize() const {
    return scheme ? scheme.getActivationGroupSize(reduction) : reduction;
  }
  /// Whether a token's activations have several scales (act_group).
  bool hasActivationGroups() const { return activationGroupSize() < reduction; }
  /// Values along K that share both a weight and an activation scale: the
  /// unit of an integer kernel's scaling.
  int64_t scaleGroupSize() const {
    return std::min(groupSize(), activationGroupSize());
  }
};

/// The signature of the linear `op`; with `interleaved`, of its kernel on
/// the interleaved weights its operands unpack (codes as [N / R, bytes / 4,
/// 4 R]).
LinearSignature signatureOf(mlir::Operation *op, bool interleaved = false);

/// The order of the unpacked codes of a chunk of `chunk` codes packed
/// `perByte` to a byte, for scale groups of `groupSize`: position i holds
/// code order[i] of the chunk. Within each group of the chunk (the whole
/// chunk when the group is larger) the codes at bit p * c of its bytes
/// come p-major: position p * (n / P) + j holds code P * j + p.
llvm::SmallVector<int64_t> unpackedCodeOrder(int64_t chunk, int64_t perByte,
                                             int64_t groupSize);

/// Emits the body of one linear kernel function.
class LinearKernelEmitter {
public:
  /// `codebook` is the memref of a code-book format's levels (null
  /// otherwise), `lookup` the 16-entry table lookup stub (config.tableLookup)
  /// and `dot` the 8-bit dot product stub (config.integerDot).
  LinearKernelEmitter(const LinearSignature &sig,
                      const LinearKernelConfig &config, mlir::func::FuncOp func,
                      mlir::Value codebook, mlir::func::FuncOp lookup,
                      mlir::func::FuncOp dot);

  /// Emits the whole body at the builder's insertion point.
  void emit(mlir::OpBuilder &b, mlir::Location loc);

private:
  mlir::Value index(mlir::OpBuilder &b, mlir::Location loc, int64_t value) {
    return mlir::arith::ConstantIndexOp::create(b, loc, value);
  }
  /// The indices base + first, ..., base + first + count - 1.
  llvm::SmallVector<mlir::Value> indicesFrom(mlir::OpBuilder &b,
                                             mlir::Location loc,
                                             mlir::Value base, int64_t first,
                                             int64_t count) {
    llvm::SmallVector<mlir::Value> result;
    for (int64_t i = 0; i < count; ++i)
      result.push_back(
          mlir::arith::AddIOp::create(b, loc, base, index(b, loc, first + i))
              .getResult());
    return result;
  }
  mlir::VectorType f32Vector(mlir::OpBuilder &b) {
    return mlir::VectorType::get({lanes}, b.getF32Type());
  }
  mlir::Value toF32(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value) {
    if (value.getType().isF32())
      return value;
    return mlir::arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  }
  mlir::Value splat(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::Value scalar) {
    return mlir::vector::BroadcastOp::create(
        b, loc, mlir::VectorType::get({lanes}, scalar.getType()), scalar);
  }

  /// `source` [M, K] with every chunk of `chunkElements` values reordered
  /// for the unpacked codes (a new buffer): position p * (chunk / P) + j of
  /// a chunk takes element P * j + p.
  mlir::Value emitReorderedInput(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value source, mlir::Value tokens,
                                 int64_t chunkElements);
  /// The output rows [n0, n0 + rows) of input rows [m0, m0 + count), with
  /// float weights times float x.
  void emitFloatBlock(mlir::OpBuilder &b, mlir::Location loc, mlir::Value xs,
                      mlir::Value n0, mlir::Value m0, unsigned count);

  /// The bytes of one element of the weight operand (packed codes: 1).
  int64_t weightElementBytes();
  /// Prefetches, for each of `rows`, the cache line that the block of rows
  /// config.prefetchBytes further on in the weight stream (rounded up to
  /// whole blocks: a block's rows lie one after another in memory) reads one
  /// line after element `k`.
  void emitPrefetch(mlir::OpBuilder &b, mlir::Location loc,
                    llvm::ArrayRef<mlir::Value> rows, mlir::Value k);

  /// The body of one chunk of weights: element `k`, loop-carried values in,
  /// their new values out.
  using ChunkStep = llvm::function_ref<llvm::SmallVector<mlir::Value>(
      mlir::OpBuilder &, mlir::Location, mlir::Value k, mlir::ValueRange)>;
  /// Runs `step` on the chunks of elements [start, start + length), carrying
  /// `init`. When `prefetchRows` is not empty, prefetches their weights once
  /// per 64-byte line of packed weights: chunks are unrolled a line at a time
  /// when the span holds several lines.
  llvm::SmallVector<mlir::Value>
  emitChunks(mlir::OpBuilder &b, mlir::Location loc, mlir::Value start,
             int64_t length, mlir::ValueRange init,
             llvm::ArrayRef<mlir::Value> prefetchRows, ChunkStep step);

  /// Per-row factors of one scale group.
  struct RowFactors {
    mlir::Value scale; // vector of f32 (packed weights only)
    mlir::Value zero;  // vector of i32 (integer codes without mins)
    mlir::Value min;   // vector of f32 (mins)
    mlir::Value table; // vector of 16 f32: the value of each code
  };
  /// The (row, column) of row `row`'s group `group` in the scales, zero
  /// points and mins (per tensor, channel or group).
  std::pair<mlir::Value, mlir::Value> scaleIndices(mlir::OpBuilder &b,
                                                   mlir::Location loc,
                                                   mlir::Value row,
                                                   mlir::Value group);
  /// The scale of row `row` in group `group` as a scalar f32, computed
  /// exactly as the reference lowering does (double quantization included).
  mlir::Value emitScale(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                        mlir::Value group);
  /// The zero point (integer codes without mins) as a scalar i32.
  mlir::Value emitZero(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                       mlir::Value group);
  /// The f32 minimum of `row`'s group `group` (min schemes).
  mlir::Value emitMin(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                      mlir::Value group);
  /// Lane i of the result is table[codes[i] & 15]: a call of the lookup
  /// stub, which becomes one vpermps on AVX-512.
  mlir::Value emitTableLookup(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value table, mlir::Value codes);
  /// The 16 dequantized values of codes 0..15 with `factors`.
  mlir::Value emitCodeTable(mlir::OpBuilder &b, mlir::Location loc,
                            const RowFactors &factors);
  /// float(level(code) [- zero]) * scale (+ min) for a vector of codes:
  /// the reference's arithmetic, product and sum rounded separately.
  mlir::Value emitDequantize(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value code, const RowFactors &factors);
  RowFactors emitRowFactors(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value row, mlir::Value group);
  /// The `perByte` dequantized weight vectors of row `row` at element
  /// `k` (the start of a chunk).
  llvm::SmallVector<mlir::Value>
  emitWeightVectors(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                    mlir::Value k, const RowFactors &factors);

  // PanelKernel.cpp.

  /// The weights of rows [n0, n0 + panelRows) dequantized into a new panel
  /// [K, panelRows] of f32 (k-major).
  mlir::Value emitPanel(mlir::OpBuilder &b, mlir::Location loc, mlir::Value n0);
  /// y[m0 .. m0 + panelTokens)[n0 .. n0 + panelRows) from `panel` and
  /// `source` (x in its own order) by broadcast FMAs.
  void emitPanelBlock(mlir::OpBuilder &b, mlir::Location loc, mlir::Value panel,
                      mlir::Value source, mlir::Value n0, mlir::Value m0);
  /// The bias of the `lanes` outputs from `column` as f32 (null without a
  /// bias).
  mlir::Value emitBiasVector(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value column);

  // IntegerLinearKernel.cpp.

  /// Codes between two group epilogues of an integer block: the scale group
  /// (sig.scaleGroupSize()), or the chunk when it holds several groups (each
  /// on its own lanes).
  int64_t scaleBlockSize() const {
    return std::max<int64_t>(sig.scaleGroupSize(), chunk);
  }

  /// The buffers of x quantized per token (per activation group) as the
  /// scheme's activation mode says: `codes` [M, K] i8 holds q reordered for
  /// the unpacked weight codes, `scales` [M, K / activation group] f32 the
  /// scales, `groupSums` [M, blocks * lanes] i32 the sums of q over each
  /// scale block per dot-product lane, `laneScales` [M, blocks * lanes] f32
  /// (activation groups only) the scale of each lane's values and, for
  /// integer panels only, `groupTotals` [M, K / scale group] i32 the sums of
  /// q over each scale group (sig.scaleGroupSize()).
  struct QuantizedInput {
    mlir::Value codes, scales, groupSums, laneScales, groupTotals;
  };
  /// The scale of the `length` values of token `m` from element `start`
  /// (absmax / 127, or the static input scale).
  mlir::Value emitActivationScale(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value source, mlir::Value m,
                                  mlir::Value start, int64_t length);
  /// round(x / scale) clamped to [-127, 127] for a vector `values` of x, as
  /// a vector of f32 (NaN codes, from NaN inputs or scales, become 0).
  mlir::Value emitActivationCodes(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::Value values, mlir::Value scale);
  /// x quantized to integer codes (integer kernels).
  QuantizedInput emitQuantizedInput(mlir::OpBuilder &b, mlir::Location loc,
                                    mlir::Value tokens);
  /// x quantized and dequantized, exactly as the reference lowering's x̃ (a
  /// new f32 buffer; float kernels with quantized activations).
  mlir::Value emitFakeQuantizedInput(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::Value tokens);
  /// emitFloatBlock's counterpart on integer codes: 8-bit dot products of
  /// the activation codes and the weight codes into i32 per scale group,
  /// scaled into f32 accumulators once per group.
  /// `codes` holds the row block's unpacked codes (emitUnpackedCodes) or is
  /// null (unpack them from the weight). The block covers `rows` output
  /// features from n0 (at most config.rows).
  void emitIntegerBlock(mlir::OpBuilder &b, mlir::Location loc,
                        const QuantizedInput &input, mlir::Value n0,
                        mlir::Value m0, unsigned count, unsigned rows,
                        mlir::Value codes);
  /// The unsigned codes of rows [n0, n0 + rows) unpacked into a new buffer
  /// [rows, K] of bytes, in the order of emitUnsignedCodes.
  mlir::Value emitUnpackedCodes(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value n0);
  /// The unsigned weight codes of row `row` at element `k` (a chunk): one
  /// vector of 4 * lanes bytes in the unpacked order.
  mlir::Value emitUnsignedCodes(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value row, mlir::Value k);

  // IntegerPanelKernel.cpp.

  /// A block of config.panelRows output rows prepared for the integer
  /// microkernel: `codes` [K / 4, rows] i32 holds the rows' unsigned codes
  /// four at a time (k-major, in the unpacked order of emitUnsignedCodes),
  /// `scales` [groups, rows] f32 the group scales, and `zeros` [groups,
  /// rows] i32 the zero points (asymmetric codes) or `mins` [groups, rows]
  /// f32 the minimums (min schemes); symmetric codes have neither.
  /// With `block` set the panel is block `block` of the interleaved
  /// weights, read in place: `codes` [N / R, K / (4 P), 4 R] i8 holds four
  /// bytes of each row side by side (P codes per byte), the others [N / R,
  /// groups, R] of their storage types.
  struct IntegerPanel {
    mlir::Value codes, scales, zeros, mins, block;
  };
  /// Whether the integer kernel's prefill tiles use panels.
  bool hasIntegerPanels() const {
    return config.integerDot && config.panelRows != 0;
  }
  /// The panel of rows [n0, n0 + config.panelRows) (new buffers).
  IntegerPanel emitIntegerPanel(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value n0);
  /// y[m0 .. m0 + tokens)[n0 .. n0 + panelRows) from `panel` and the
  /// quantized input by 8-bit dot products of a panel quad with a broadcast
  /// quad of each token's codes.
  void emitIntegerPanelBlock(mlir::OpBuilder &b, mlir::Location loc,
                             const IntegerPanel &panel,
                             const QuantizedInput &input, mlir::Value n0,
                             mlir::Value m0, int64_t tokens);
  /// The i32 sums of group `g` of a panel block: `sumsInit` (one vector per
  /// token of `tokenIndex` and vector of rows) plus the 8-bit dot products
  /// of the group's weight quads, from the panel or the interleaved words,
  /// with each token's broadcast quad of activation codes.
  llvm::SmallVector<mlir::Value>
  emitPanelGroupSums(mlir::OpBuilder &b, mlir::Location loc,
                     const IntegerPanel &panel, const QuantizedInput &input,
                     llvm::ArrayRef<mlir::Value> tokenIndex, mlir::Value g,
                     mlir::ValueRange sumsInit);
  /// y for `tokens` tokens from `m0` and the R = config.interleavedRows
  /// output rows of block `block` (from row n0) of the interleaved weights.
  using InterleavedBlock = llvm::function_ref<void(
      mlir::OpBuilder &, mlir::Location, mlir::Value block, mlir::Value n0,
      mlir::Value m0, int64_t tokens)>;
  /// The vector of group `group`'s factors (scales, zero points, minimums)
  /// of rows `column` .. `column` + lanes of block `block` of an interleaved
  /// buffer [N / R, groups, R], widened from its storage type to `type`.
  mlir::Value emitInterleavedFactors(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::Value buffer, mlir::Value block,
                                     mlir::Value group, mlir::Value column,
                                     mlir::VectorType type);
  /// Every tile of tokens on the blocks of R rows of the interleaved weights
  /// read in place (threads over blocks): blocks of panelTokens tokens, then
  /// single tokens (decode).
  void emitInterleavedTiles(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value tokens, InterleavedBlock block);

  // InterleavedFloatKernel.cpp.

  /// The levels of the scheme's codes (the values before the scale: the
  /// code book's, or the integer code less the symmetric offset or the zero
  /// points `zeros`; min schemes: the code) for a vector of i32 codes.
  mlir::Value emitLevels(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value codes, mlir::Value zeros);
  /// Σ x over each weight group of each token: a new buffer [M, K / group]
  /// of f32 (the minimums' factor, min schemes).
  mlir::Value emitInputGroupSums(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value source, mlir::Value tokens);
  /// emitFloatBlock's counterpart on a block of interleaved weights:
  /// y[m0 .. m0 + tokens)[n0 .. n0 + R) from block `block` and `source` (x
  /// in its own order) by broadcast FMAs of the rows' levels, scaled once
  /// per group; `inputSums` holds emitInputGroupSums (min schemes).
  void emitInterleavedFloatBlock(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value source, mlir::Value inputSums,
                                 mlir::Value block, mlir::Value n0,
                                 mlir::Value m0, int64_t tokens);

  const LinearSignature &sig;
  const LinearKernelConfig &config;
  mlir::Value codebook;
  mlir::func::FuncOp lookup, dot;
  /// Vector lanes: f32 lanes for float blocks, i32 lanes (4 codes each) for
  /// integer blocks.
  int64_t lanes;
  int64_t perByte;
  /// Weights per chunk: perByte * lanes (float), 4 * lanes (integer).
  int64_t chunk;
  mlir::Value x, y, weight, scales, zeroPoints, mins, scaleScales, bias,
      inputScale;
};

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_LINEARKERNELEMITTER_H

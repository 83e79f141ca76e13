//===- InterleavedWeights.cpp - Weights laid out for the kernels ----------===//

#include "compiler/cpu/InterleavedWeights.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cstring>

using namespace mlir;
using namespace nibble;

SmallVector<OpOperand *> nibble::interleavableOperands(QLinearOp op) {
  SmallVector<OpOperand *> operands = {&op.getWeightMutable(),
                                       &op.getScalesMutable()};
  if (op.getZeroPoints())
    operands.push_back(&op.getZeroPointsMutable()[0]);
  if (op.getMins())
    operands.push_back(&op.getMinsMutable()[0]);
  return operands;
}

namespace {

/// R when `operand` is the interleaved layout's unpack (of codes when
/// `codes`), 0 otherwise.
int64_t unpackRows(Value operand, bool codes) {
  auto unpack = operand.getDefiningOp<linalg::UnPackOp>();
  if (!unpack || !unpack.getOuterDimsPerm().empty() ||
      unpack.getDestType().getRank() != 2)
    return 0;
  SmallVector<int64_t> tiles = unpack.getStaticTiles();
  ArrayRef<int64_t> positions = unpack.getInnerDimsPos();
  if (codes) {
    if (positions != ArrayRef<int64_t>{0, 1} || tiles.size() != 2 ||
        tiles[1] != kInterleavedWordBytes)
      return 0;
  } else if (positions != ArrayRef<int64_t>{0} || tiles.size() != 1) {
    return 0;
  }
  // The unpack must not drop padding: the layout tiles the rows exactly.
  if (tiles[0] <= 0 || unpack.getDestType().getDimSize(0) % tiles[0] != 0 ||
      unpack.getSourceType() !=
          interleavedType(unpack.getDestType(), tiles[0], codes))
    return 0;
  return tiles[0];
}

} // namespace

int64_t nibble::interleavedRowsOf(QLinearOp op) {
  if (op.getScaleScales())
    return 0;
  int64_t rows = 0;
  for (OpOperand *operand : interleavableOperands(op)) {
    int64_t found =
        unpackRows(operand->get(), operand == &op.getWeightMutable());
    if (found == 0 || (rows != 0 && found != rows))
      return 0;
    rows = found;
  }
  return rows;
}

Value nibble::interleavedSource(Value operand) {
  return operand.getDefiningOp<linalg::UnPackOp>().getSource();
}

namespace {

/// Whether the interleaved layout covers `operand` of `op`.
bool isInterleavable(QLinearOp op, Value operand) {
  return llvm::is_contained(
      llvm::map_range(interleavableOperands(op),
                      [](OpOperand *use) { return use->get(); }),
      operand);
}

/// The reassociation that collapses interleaved codes [N / R, B / 4, R, 4]
/// to [N / R, B / 4, 4 R].
SmallVector<ReassociationIndices> codesCollapse() { return {{0}, {1}, {2, 3}}; }

} // namespace

RankedTensorType nibble::interleavedKernelOperandType(QLinearOp op,
                                                      Value operand) {
  if (!isInterleavable(op, operand))
    return cast<RankedTensorType>(operand.getType());
  auto source = cast<RankedTensorType>(interleavedSource(operand).getType());
  if (operand != op.getWeight())
    return source;
  return tensor::CollapseShapeOp::inferCollapsedType(source, codesCollapse());
}

Value nibble::interleavedKernelOperand(OpBuilder &b, Location loc, QLinearOp op,
                                       Value operand) {
  if (!isInterleavable(op, operand))
    return operand;
  Value source = interleavedSource(operand);
  if (operand != op.getWeight())
    return source;
  return tensor::CollapseShapeOp::create(
      b, loc, interleavedKernelOperandType(op, operand), source,
      codesCollapse());
}

RankedTensorType nibble::interleavedType(RankedTensorType type, int64_t rows,
                                         bool codes) {
  int64_t rowCount = type.getDimSize(0), width = type.getDimSize(1);
  SmallVector<int64_t> shape =
      codes
          ? SmallVector<int64_t>{rowCount / rows, width / kInterleavedWordBytes,
                                 rows, kInterleavedWordBytes}
          : SmallVector<int64_t>{rowCount / rows, width, rows};
  return RankedTensorType::get(shape, type.getElementType());
}

Value nibble::unpackInterleaved(OpBuilder &b, Location loc, Value interleaved,
                                RankedTensorType type, int64_t rows,
                                bool codes) {
  Value empty =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  SmallVector<int64_t> positions =
      codes ? SmallVector<int64_t>{0, 1} : SmallVector<int64_t>{0};
  SmallVector<OpFoldResult> tiles = {b.getIndexAttr(rows)};
  if (codes)
    tiles.push_back(b.getIndexAttr(kInterleavedWordBytes));
  return linalg::UnPackOp::create(b, loc, interleaved, empty, positions, tiles)
      .getResult();
}

std::vector<uint8_t> nibble::interleaveRows(ArrayRef<uint8_t> bytes,
                                            int64_t rowCount, int64_t rowBytes,
                                            int64_t rows, int64_t unitBytes) {
  std::vector<uint8_t> result(bytes.size());
  int64_t units = rowBytes / unitBytes;
  uint8_t *out = result.data();
  for (int64_t block = 0; block < rowCount / rows; ++block)
    for (int64_t unit = 0; unit < units; ++unit)
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t *in =
            bytes.data() + (block * rows + r) * rowBytes + unit * unitBytes;
        std::memcpy(out, in, unitBytes);
        out += unitBytes;
      }
  return result;
}

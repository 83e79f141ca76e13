//===- NibbleTransformerOps.cpp - Verifiers of the transformer ops --------===//
//
// Shape invariants of nibble.rms_norm, nibble.rope, nibble.embedding and
// nibble.attention (their definitions are in NibbleTransformerOps.td).
//
//===----------------------------------------------------------------------===//

#include "dialects/NibbleOps.h"
#include "dialects/ShapeChecks.h"

using namespace mlir;
using namespace nibble;

/// Checks that `result` has `expected`'s shape (dynamic dimensions match
/// any).
static LogicalResult verifyResultShape(Operation *op, RankedTensorType result,
                                       ArrayRef<int64_t> expected) {
  bool ok = result.getRank() == static_cast<int64_t>(expected.size());
  for (size_t i = 0; ok && i < expected.size(); ++i)
    ok = dimsCompatible(result.getDimSize(i), expected[i]);
  if (!ok)
    return op->emitOpError("result must have shape ")
           << formatShape(expected) << ", found "
           << formatShape(result.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// RmsNormOp
//===----------------------------------------------------------------------===//

LogicalResult RmsNormOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (input.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (weight.getRank() != 1 ||
      !dimsCompatible(weight.getDimSize(0), input.getShape().back()))
    return emitOpError("weight must have shape [")
           << input.getShape().back() << "] (the normalized dimension), found "
           << formatShape(weight.getShape());
  if (!(getEpsilon().convertToFloat() >= 0))
    return emitOpError("epsilon must be >= 0, found ")
           << getEpsilon().convertToFloat();
  return success();
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType positions = getPositions().getType();
  if (input.getRank() != 3)
    return emitOpError("input must have shape [T, H, D], found rank ")
           << input.getRank();
  if (positions.getRank() != 1 ||
      !dimsCompatible(positions.getDimSize(0), input.getDimSize(0)))
    return emitOpError("positions must have shape [")
           << (input.isDynamicDim(0) ? std::string("?")
                                     : std::to_string(input.getDimSize(0)))
           << "] (one per token), found " << formatShape(positions.getShape());
  int64_t rotary = 2 * static_cast<int64_t>(getInvFreq().size());
  if (rotary == 0)
    return emitOpError("inv_freq must not be empty");
  int64_t headSize = input.getDimSize(2);
  if (ShapedType::isDynamic(headSize))
    return emitOpError("needs a static head size");
  if (rotary > headSize)
    return emitOpError("rotates ")
           << rotary << " features (2 x " << getInvFreq().size()
           << " frequencies) but heads have " << headSize;
  for (auto [i, freq] : llvm::enumerate(getInvFreq()))
    if (!std::isfinite(freq))
      return emitOpError("inv_freq[") << i << "] is not finite: " << freq;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  RankedTensorType table = getTable().getType();
  RankedTensorType ids = getIds().getType();
  if (table.getRank() != 2)
    return emitOpError("table must have shape [V, D], found rank ")
           << table.getRank();
  if (ids.getRank() != 1)
    return emitOpError("ids must have shape [T], found rank ") << ids.getRank();
  if (getResult().getType().getElementType() != table.getElementType())
    return emitOpError("result element type ")
           << getResult().getType().getElementType()
           << " differs from the table's " << table.getElementType();
  return verifyResultShape(*this, getResult().getType(),
                           {ids.getDimSize(0), table.getDimSize(1)});
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  RankedTensorType query = getQuery().getType();
  RankedTensorType keys = getKeys().getType();
  RankedTensorType values = getValues().getType();
  if (query.getRank() != 3)
    return emitOpError("query must have shape [T, Hq, D], found rank ")
           << query.getRank();
  if (keys.getRank() != 3 || values.getRank() != 3)
    return emitOpError("keys and values must have shape [C, Hkv, D]");
  if (!keys.hasStaticShape() || !values.hasStaticShape())
    return emitOpError("keys and values must have static shapes (the cache "
                       "capacity is fixed at compile time)");
  if (ShapedType::isDynamic(query.getDimSize(1)) ||
      ShapedType::isDynamic(query.getDimSize(2)))
    return emitOpError("needs static query heads and head size");
  int64_t queryHeads = query.getDimSize(1);
  int64_t kvHeads = keys.getDimSize(1);
  if (values.getDimSize(0) != keys.getDimSize(0) ||
      values.getDimSize(1) != kvHeads)
    return emitOpError("values ")
           << formatShape(values.getShape())
           << " must have the capacity and heads of keys "
           << formatShape(keys.getShape());
  if (kvHeads == 0 || queryHeads % kvHeads != 0)
    return emitOpError("query heads (")
           << queryHeads << ") must be a multiple of KV heads (" << kvHeads
           << ")";
  if (keys.getDimSize(2) != query.getDimSize(2))
    return emitOpError("keys have head size ")
           << keys.getDimSize(2) << " but queries " << query.getDimSize(2);
  // I64Attr's getter returns the bits unsigned.
  auto window = static_cast<int64_t>(getWindow());
  if (window < 0)
    return emitOpError("window must be >= 0, found ") << window;
  return verifyResultShape(
      *this, getResult().getType(),
      {query.getDimSize(0), queryHeads, values.getDimSize(2)});
}

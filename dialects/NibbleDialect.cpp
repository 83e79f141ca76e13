//===- NibbleDialect.cpp - The nibble dialect -----------------------------===//

#include "dialects/NibbleDialect.h"
#include "dialects/NibbleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace nibble;

#include "dialects/NibbleDialect.cpp.inc"

void NibbleDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/NibbleOps.cpp.inc"
      >();
  registerAttributes();
}

LogicalResult
NibbleDialect::verifyRegionArgAttribute(Operation *op, unsigned regionIndex,
                                        unsigned argIndex,
                                        NamedAttribute attribute) {
  if (attribute.getName() != kStateArgAttrName)
    return success();
  auto symbol = dyn_cast<FlatSymbolRefAttr>(attribute.getValue());
  if (!symbol)
    return op->emitOpError("argument ")
           << argIndex << ": '" << kStateArgAttrName
           << "' must name a nibble.state symbol, found "
           << attribute.getValue();
  auto func = dyn_cast<func::FuncOp>(op);
  if (!func || regionIndex != 0)
    return op->emitOpError("'")
           << kStateArgAttrName << "' is only valid on function arguments";
  auto state =
      SymbolTable::lookupNearestSymbolFrom<StateOp>(op, symbol.getAttr());
  if (!state)
    return op->emitOpError("argument ")
           << argIndex << " names " << symbol
           << ", which is not a nibble.state of the module";
  // Before bufferization the argument is the state's tensor; after it, a
  // buffer of the same shape and element type.
  Type argType = func.getArgumentTypes()[argIndex];
  RankedTensorType stateType = state.getTensorType();
  auto buffer = dyn_cast<MemRefType>(argType);
  bool matches = argType == stateType ||
                 (buffer && buffer.getShape() == stateType.getShape() &&
                  buffer.getElementType() == stateType.getElementType());
  if (!matches)
    return op->emitOpError("argument ")
           << argIndex << " has type " << argType << " but state " << symbol
           << " is " << state.getType();
  return success();
}

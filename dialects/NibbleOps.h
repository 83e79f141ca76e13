//===- NibbleOps.h - Operations of the nibble dialect -----------*- C++ -*-===//

#ifndef NIBBLE_DIALECTS_NIBBLEOPS_H
#define NIBBLE_DIALECTS_NIBBLEOPS_H

#include "dialects/NibbleDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/NibbleOps.h.inc"

#endif // NIBBLE_DIALECTS_NIBBLEOPS_H

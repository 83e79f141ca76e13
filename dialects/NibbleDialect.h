//===- NibbleDialect.h - The nibble dialect and its attributes --*- C++ -*-===//
//
// Declares the nibble dialect, its enums and the #nibble.scheme attribute.
// Ops are in NibbleOps.h.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_DIALECTS_NIBBLEDIALECT_H
#define NIBBLE_DIALECTS_NIBBLEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/NibbleDialect.h.inc"

namespace nibble {
/// Function argument attribute naming the nibble.state an argument carries.
inline constexpr llvm::StringLiteral kStateArgAttrName = "nibble.state";
} // namespace nibble
#include "dialects/NibbleEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/NibbleAttrs.h.inc"

#endif // NIBBLE_DIALECTS_NIBBLEDIALECT_H

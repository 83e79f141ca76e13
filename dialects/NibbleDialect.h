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
/// Unit function argument attribute marking an output the function writes in
/// place (destination-passing style).
inline constexpr llvm::StringLiteral kOutputArgAttrName = "nibble.output";
/// Function argument and result attribute: the name a compiled model's
/// interface gives the input or output (otherwise input<i> / output<i>).
inline constexpr llvm::StringLiteral kInputNameAttrName = "nibble.name";

/// An entry point with state (`nibble.state`) or output (`nibble.output`)
/// arguments returns, after its other results, one result per such argument
/// in argument order: the updated value, which bufferization must place in
/// the argument's own buffer (nibble-drop-in-place-results checks this).
} // namespace nibble
#include "dialects/NibbleEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/NibbleAttrs.h.inc"

#endif // NIBBLE_DIALECTS_NIBBLEDIALECT_H

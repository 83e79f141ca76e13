//===- ShapeChecks.h - Shape helpers shared by the op verifiers -*- C++ -*-===//

#ifndef NIBBLE_DIALECTS_SHAPECHECKS_H
#define NIBBLE_DIALECTS_SHAPECHECKS_H

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace nibble {

/// Whether two dimensions may be equal (either is dynamic, or they match).
inline bool dimsCompatible(int64_t a, int64_t b) {
  return mlir::ShapedType::isDynamic(a) || mlir::ShapedType::isDynamic(b) ||
         a == b;
}

/// Formats a shape as `[2, 3]` (with `?` for dynamic dimensions).
inline std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleaveComma(shape, os, [&](int64_t dim) {
    if (mlir::ShapedType::isDynamic(dim))
      os << "?";
    else
      os << dim;
  });
  os << "]";
  return text;
}

} // namespace nibble

#endif // NIBBLE_DIALECTS_SHAPECHECKS_H

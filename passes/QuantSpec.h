//===- QuantSpec.h - #nibble.scheme <-> numerics::QuantSpec -----*- C++ -*-===//
//
// Translates between the IR's quantization scheme attribute and the
// quantization parameters of the numerics library.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_QUANTSPEC_H
#define NIBBLE_PASSES_QUANTSPEC_H

#include "dialects/NibbleDialect.h"
#include "passes/numerics/Quantizer.h"

namespace nibble {

/// The numerics element format of a scheme's weight format.
numerics::ElementFormat toElementFormat(WeightFormat format);

/// The numerics scale storage type of an MLIR float type (f32, f16, bf16).
numerics::ScaleType toScaleType(mlir::Type type);

/// Quantization parameters that realise `scheme`, with the given scale
/// search.
numerics::QuantSpec toQuantSpec(SchemeAttr scheme,
                                numerics::ScaleSearch search);

} // namespace nibble

#endif // NIBBLE_PASSES_QUANTSPEC_H

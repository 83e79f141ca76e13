//===- WeightSummary.h - How much a model's weights take --------*- C++ -*-===//
//
// Counts a module's weights the way quantization reports them: the
// parameters of its linear layers (out × in of every nibble.linear and
// nibble.qlinear, the LM head included) and the bytes of every tensor those
// layers read (codes, scales, zero points, minimums, biases), hence bits per
// weight with scales included; and the bytes of all its weights (globals
// and params: embeddings and norms too).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_PASSES_WEIGHTSUMMARY_H
#define NIBBLE_PASSES_WEIGHTSUMMARY_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>

namespace nibble {

/// Weight counts of a module.
struct WeightSummary {
  /// Linear layers, and how many are quantized (nibble.qlinear).
  int64_t linears = 0;
  int64_t quantizedLinears = 0;
  /// Σ out × in over the linear layers.
  int64_t linearParameters = 0;
  /// Bytes of the distinct weight tensors the linear layers read.
  int64_t linearBytes = 0;
  /// Bytes of every distinct weight tensor of the module.
  int64_t totalBytes = 0;

  /// 8 × linearBytes / linearParameters (0 without linears).
  double bitsPerWeight() const;
  /// One line: "linear layers: 211 (211 quantized), 134.5 M parameters in
  /// 67.3 MiB (4.00 bits per weight, scales included); all weights 180.0 MiB".
  std::string describe() const;
};

/// Counts the weights of `module` (nibble.global and nibble.param tensors;
/// constants inside the code are not weights).
WeightSummary summarizeWeights(mlir::ModuleOp module);

} // namespace nibble

#endif // NIBBLE_PASSES_WEIGHTSUMMARY_H

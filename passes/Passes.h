//===- Passes.h - nibble quantization passes --------------------*- C++ -*-===//

#ifndef NIBBLE_PASSES_PASSES_H
#define NIBBLE_PASSES_PASSES_H

#include "dialects/NibbleDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace nibble {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace nibble

#endif // NIBBLE_PASSES_PASSES_H

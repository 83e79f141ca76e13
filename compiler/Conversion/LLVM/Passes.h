//===- Passes.h - nibble passes on the LLVM dialect -------------*- C++ -*-===//
//
// What the upstream conversions to the LLVM dialect leave to nibble:
// module-level weights as pointer slots bound at run time, and calls of
// parallel bodies as parallel-fors of the runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_H
#define NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace nibble {

#define GEN_PASS_DECL
#include "compiler/Conversion/LLVM/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Conversion/LLVM/Passes.h.inc"

} // namespace nibble

#endif // NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_H

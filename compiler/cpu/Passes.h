//===- Passes.h - CPU kernel providers --------------------------*- C++ -*-===//

#ifndef NIBBLE_COMPILER_CPU_PASSES_H
#define NIBBLE_COMPILER_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace nibble {

#define GEN_PASS_DECL
#include "compiler/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/cpu/Passes.h.inc"

/// Registers how `nibble.kernel_call` bufferizes (into a `func.call` on the
/// buffers of its operands, outputs written in place).
void registerKernelCallBufferization(mlir::DialectRegistry &registry);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_PASSES_H

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

struct CpuTarget;

#define GEN_PASS_DECL
#include "compiler/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/cpu/Passes.h.inc"

/// What nibble-cpu-interleave-weights does, for drivers that need its
/// result: lays out the weights of `module`'s qlinears that get integer panel
/// kernels on `target`, archive weights written to `outputWeights` (empty:
/// `<archive>.interleaved.safetensors`). Returns how many qlinears now read
/// interleaved weights.
mlir::FailureOr<int64_t> interleaveModuleWeights(mlir::ModuleOp module,
                                                 const CpuTarget &target,
                                                 llvm::StringRef outputWeights);

/// Registers how `nibble.kernel_call` bufferizes (into a `func.call` on the
/// buffers of its operands, outputs written in place).
void registerKernelCallBufferization(mlir::DialectRegistry &registry);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_PASSES_H

//===- AttentionKernel.h - Fused attention kernels for CPUs -----*- C++ -*-===//
//
// The CPU provider's kernel for `nibble.attention`: one pass over the cache
// per query (flash-attention style), keys taken a vector's width at a time.
// For each block of keys it computes the scores (FMAs over the head
// dimension), updates the running maximum and sum of the softmax (online
// softmax: earlier terms rescaled by exp(old max - new max)) and accumulates
// the values weighted by exp(score - max). Query heads read their KV head in
// place (GQA without copies); queries and heads are split over threads.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_ATTENTIONKERNEL_H
#define NIBBLE_COMPILER_CPU_ATTENTIONKERNEL_H

#include "compiler/cpu/CpuTarget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <string>

namespace nibble {

class AttentionOp;

/// The f32 lanes of the attention kernel for `op` on `target`, or failure
/// with the reason in `whyNot` (the op then stays on the reference
/// lowering).
mlir::FailureOr<unsigned> chooseAttentionKernel(AttentionOp op,
                                                const CpuTarget &target,
                                                std::string &whyNot);

/// The kernel function for `op` with `lanes` f32 lanes, created in `module`
/// unless an identical one exists. Arguments: buffers of the query
/// [?, Hq, D], keys [C, Hkv, D] and values [C, Hkv, Dv], the start position
/// (index), and the result [?, Hq, Dv].
mlir::func::FuncOp getOrCreateAttentionKernel(mlir::ModuleOp module,
                                              mlir::SymbolTable &symbols,
                                              AttentionOp op, unsigned lanes);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_ATTENTIONKERNEL_H

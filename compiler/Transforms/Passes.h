//===- Passes.h - nibble compiler transforms --------------------*- C++ -*-===//
//
// The passes that prepare a module for lowering and for the runtime: params
// to constants or arguments, the model ABI, weights read through their
// buffers, in-place results dropped, strided copies, parallel loops outlined.
// They rewrite nibble, func, memref and scf IR without leaving those dialects.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_TRANSFORMS_PASSES_H
#define NIBBLE_COMPILER_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace nibble {

/// Argument attribute naming the param that nibble-params-to-arguments turned
/// into the argument.
inline constexpr llvm::StringLiteral kParamArgAttrName = "nibble.param";

/// Unit attribute marking the functions that nibble-outline-parallel-loops
/// creates: `(begin, end, captured...)` bodies of parallel loops.
inline constexpr llvm::StringLiteral kParallelBodyAttrName =
    "nibble.parallel_body";

#define GEN_PASS_DECL
#include "compiler/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Transforms/Passes.h.inc"

} // namespace nibble

#endif // NIBBLE_COMPILER_TRANSFORMS_PASSES_H

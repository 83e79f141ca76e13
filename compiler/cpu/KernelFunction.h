//===- KernelFunction.h - Kernel functions the providers generate -*- C++
//-*-===//
//
// What every generated CPU kernel shares: its buffer argument types (unit
// inner stride, any outer strides and offset, so slices of larger buffers
// pass without copies) and the private, out-of-line function that holds it.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_KERNELFUNCTION_H
#define NIBBLE_COMPILER_CPU_KERNELFUNCTION_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace nibble {

/// String attribute of a function whose calls nibble-cpu-use-intrinsics
/// replaces by this LLVM intrinsic (the body computes the same portably).
inline constexpr llvm::StringLiteral kLlvmIntrinsicAttrName =
    "nibble.llvm_intrinsic";

/// A buffer type of `shape` for a kernel argument: unit inner stride,
/// dynamic outer strides and offset.
mlir::MemRefType kernelBufferType(llvm::ArrayRef<int64_t> shape,
                                  mlir::Type elementType);

/// A new private kernel function `name` of `argumentTypes` at the end of
/// `module` (kept out of line: one kernel serves many ops), with an empty
/// entry block.
mlir::func::FuncOp createKernelFunction(mlir::ModuleOp module,
                                        mlir::SymbolTable &symbols,
                                        llvm::StringRef name,
                                        mlir::TypeRange argumentTypes,
                                        mlir::Location loc);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_KERNELFUNCTION_H

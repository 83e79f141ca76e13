//===- IntrinsicStubs.h - Portable functions standing for intrinsics -*- C++
//-*-===//
//
// Instructions the vector dialect's generic lowering does not reach (AVX-512
// vpermps on a register table, 8-bit dot products) are called through stub
// functions: a portable body that computes the same, optionally tagged with
// the LLVM intrinsic that nibble-cpu-use-intrinsics puts in place of its
// calls. Untagged stubs are inlined by LLVM like any small function.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_INTRINSICSTUBS_H
#define NIBBLE_COMPILER_CPU_INTRINSICSTUBS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace nibble {

/// `(table: vector<16xf32>, codes: vector<16xi32>) -> table[codes & 15]`
/// (the low 4 bits of each code, as vpermps reads them), tagged
/// with AVX-512's `llvm.x86.avx512.permvar.sf.512` (LLVM does not form
/// vpermps from the element-wise form).
mlir::func::FuncOp getOrCreateTableLookup(mlir::ModuleOp module,
                                          mlir::SymbolTable &symbols,
                                          mlir::Location loc);

/// `(acc: vector<L x i32>, a: vector<4L x i8>, b: vector<4L x i8>) -> acc'`
/// with lane i of acc' = acc[i] + Σ_{j<4} zext(a[4i+j]) · sext(b[4i+j]):
/// the semantics of x86 vpdpbusd and AArch64 usdot. Tagged with `intrinsic`
/// unless it is empty; the stub's name says which.
mlir::func::FuncOp getOrCreateDotProduct(mlir::ModuleOp module,
                                         mlir::SymbolTable &symbols,
                                         mlir::Location loc, int64_t lanes,
                                         llvm::StringRef intrinsic);

/// The LLVM intrinsic of the unsigned-by-signed 8-bit dot product into
/// `lanes` i32 lanes on x86 (AVX-512 VNNI / AVX-VNNI: vpdpbusd) or AArch64
/// (i8mm: usdot), or "" where there is none for that width.
std::string dotProductIntrinsic(bool isAArch64, int64_t lanes);

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_INTRINSICSTUBS_H

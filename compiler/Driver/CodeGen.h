//===- CodeGen.h - LLVM dialect -> LLVM IR -> machine code ------*- C++ -*-===//

#ifndef NIBBLE_COMPILER_DRIVER_CODEGEN_H
#define NIBBLE_COMPILER_DRIVER_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace nibble {

/// Translates `module` (LLVM dialect only) to LLVM IR for `machine`: sets
/// the triple and data layout and runs LLVM's O3 pipeline tuned for it.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
                  llvm::TargetMachine &machine);

/// Writes assembly (`assembly` = true) or an object file for `module`.
llvm::Error emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                            bool assembly, llvm::raw_pwrite_stream &os);

} // namespace nibble

#endif // NIBBLE_COMPILER_DRIVER_CODEGEN_H

//===- Passes.td - LLVM-dialect passes ---------------------*- tablegen -*-===//

#ifndef NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_TD
#define NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleGlobalsToLLVM : Pass<"nibble-globals-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower module-level weights to pointer slots bound at run time";
  let description = [{
    Gives every `nibble.global` an internal LLVM global holding a pointer,
    and lowers each `nibble.global_buffer` to a memref descriptor over the
    pointer in its slot. Adds `void __nibble_bind_globals(void **pointers)`,
    which fills each slot from pointers[i], where i is the global's
    `nibble.weight_index` attribute (its index in the compiled model's
    weight table, set by nibble-export-model-abi) or, when no global has
    one, its position in module order. The runtime calls it once with the
    addresses of the weights in the mapped archive (the JIT does the same),
    so no weight is ever copied into the binary or the IR. Runs after the
    conversion to the LLVM dialect, before reconcile-unrealized-casts.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def NibbleParallelCallsToRuntime : Pass<"nibble-parallel-calls-to-runtime",
                                        "mlir::ModuleOp"> {
  let summary = "Turn calls of parallel bodies into runtime parallel-fors";
  let description = [{
    Runs on the LLVM dialect. Defines the model's hooks for the runtime's
    thread pool (see runtime/nibble_model_abi.h):
    `__nibble_set_parallel_runner(ptr)` (hidden visibility) and the
    internal dispatcher `__nibble_parallel_for(begin, end, task, ctx)`,
    which calls the installed runner, or runs the whole range on the calling
    thread when none is installed. Every call of a function marked
    `nibble.parallel_body` (`(i64 begin, i64 end, args...) -> void`) becomes
    a dispatcher call: the arguments are stored into a struct in the caller's
    frame, and a generated `<body>_task(ctx, begin, end)` loads them back and
    calls the body on the sub-range a thread is given.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // NIBBLE_COMPILER_CONVERSION_LLVM_PASSES_TD

//===- Passes.td - nibble compiler transforms --------------*- tablegen -*-===//

#ifndef NIBBLE_COMPILER_TRANSFORMS_PASSES_TD
#define NIBBLE_COMPILER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def NibbleMaterializeParams : Pass<"nibble-materialize-params",
                                   "mlir::ModuleOp"> {
  let summary = "Replace nibble.param by constants read from the archive";
  let description = [{
    Reads every tensor that a `nibble.param` names from the module's weight
    archive (`nibble.weights`, or the `weights` option) and replaces the op by
    an `arith.constant` holding the data. Used before JIT execution and for
    small models; the archive is checked exactly as every pass checks it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"weights", "weights", "std::string", "\"\"",
           "Weight archive to use instead of the module's nibble.weights">,
  ];
}

def NibbleStridedCopiesToLinalg : Pass<"nibble-strided-copies-to-linalg"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy";
  let description = [{
    The LLVM lowering of `memref.copy` turns a copy between buffers that are
    not both contiguous (slices of a KV cache, the unrotated tail of a RoPE
    head) into a call to `memrefCopy` from MLIR's C runner utilities, which
    neither the nibble runtime nor compiled models link. This pass rewrites
    those copies into `linalg.copy`, which becomes loops like every other
    linalg op; contiguous copies stay `memref.copy` (a memcpy).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def NibbleGlobalsToBuffers : Pass<"nibble-globals-to-buffers",
                                  "mlir::ModuleOp"> {
  let summary = "Read module-level weights through their buffers";
  let description = [{
    Replaces every `nibble.global_load` by
    `bufferization.to_tensor (nibble.global_buffer @g) restrict`, so one-shot
    bufferization reads the weight in place (the tensor is not writable: a
    write would bufferize to a copy). Runs just before bufferization.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::memref::MemRefDialect"];
}

def NibbleDropInPlaceResults : Pass<"nibble-drop-in-place-results",
                                    "mlir::ModuleOp"> {
  let summary = "Drop the results that are state and output arguments";
  let description = [{
    An entry point with `nibble.state` or `nibble.output` arguments returns,
    after its other results, the updated value of each such argument in
    argument order. After bufferization those results must be the
    arguments' own buffers (the update happened in place); this pass removes
    them, so the caller's buffer is the result and nothing is copied (the
    upstream `drop-equivalent-buffer-results` leaves public functions
    alone). A result that bufferized to another buffer is an error naming
    the argument, as is such a function being called inside the module.
    Runs between bufferization and `buffer-results-to-out-params`.
  }];
}

def NibbleParamsToArguments : Pass<"nibble-params-to-arguments",
                                   "mlir::ModuleOp"> {
  let summary = "Turn the params of the entry function into arguments";
  let description = [{
    Replaces every `nibble.param` of the function `entry` by a new argument,
    appended after the existing ones in order of first use, with the argument
    attribute `nibble.param = "<name>"`. A param read twice becomes one
    argument. Ahead-of-time compiled models receive their weights this way:
    the runtime maps the archive and passes the tensors in. Params in other
    functions are an error. With `entry` empty, the params of every public
    function become its arguments (params in private functions, whose
    callers would need them, are an error).
  }];
  let options = [
    Option<"entry", "entry", "std::string", "\"main\"",
           "The function whose params become arguments (empty: every "
           "public function)">,
  ];
}

def NibbleExportModelAbi : Pass<"nibble-export-model-abi", "mlir::ModuleOp"> {
  let summary = "Record the compiled model's interface and name its symbols";
  let description = [{
    Describes the module as the runtime will see it once compiled
    (runtime/nibble_model_abi.h, compiler/Transforms/ModelAbi.h): the entry
    points `entries` (default: every public function) with their inputs, outputs
    and argument order; the weight table (every `nibble.global`, then the params
    that nibble-params-to-arguments made arguments); the states; the weights
    file and properties. Records the description as the module attribute
    `nibble.abi`, numbers the globals (`nibble.weight_index`), removes the
    argument attributes only the interface needed (`nibble.param`,
    `nibble.name`, `nibble.unsigned`; state and output markers stay for
    bufferization) and prefixes every defined function with `nibble_model_` so
    model functions cannot clash with C symbols. nibblec generates the exported
    `nibble_model_get_abi()` from the attribute after lowering.
  }];
  let options = [
    ListOption<"entries", "entries", "std::string",
               "Entry points (default: every public function)">,
    Option<"modelName", "model-name", "std::string", "\"model\"",
           "The model's name (for messages)">,
    Option<"weightsFile", "weights-file", "std::string", "\"\"",
           "File name of the weights archive next to the compiled model">,
    ListOption<"properties", "properties", "std::string",
               "Properties as key=value">,
  ];
}

def NibbleOutlineParallelLoops : Pass<"nibble-outline-parallel-loops",
                                      "mlir::ModuleOp"> {
  let summary = "Move large scf.parallel loops into parallel-body functions";
  let description = [{
    For every outermost `scf.parallel` (without reductions) whose estimated
    work reaches `min-work`, creates a private function
    `@<func>_parallel(%begin: index, %end: index, captured values...)` marked
    `nibble.parallel_body`, and replaces the loop by a call over the whole
    iteration range. The range is that of the loop's leading dimensions,
    linearized (row-major): as few as reach 64 iterations, so that a loop
    whose first dimension is a single token still spreads over threads. The
    body delinearizes each index; the remaining dimensions stay an
    `scf.parallel` inside it. Constants are cloned into the body rather than
    passed.

    The work of a loop nest is estimated from its static trip counts: the
    iterations of each loop times the work of its body, where a body with no
    loops counts one unit; dynamic bounds count as very large.
    `nibble-parallel-calls-to-runtime` later turns the calls into
    multi-threaded parallel-fors.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect"];
  let options = [
    Option<"minWork", "min-work", "int64_t", "65536",
           "Smallest estimated work (innermost iterations) worth running "
           "on several threads">,
  ];
}

#endif // NIBBLE_COMPILER_TRANSFORMS_PASSES_TD

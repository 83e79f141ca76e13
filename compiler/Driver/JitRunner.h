//===- JitRunner.h - Compile and run a function in-process ------*- C++ -*-===//
//
// Lowers a module through nibble-lower-to-llvm, JIT-compiles it with the MLIR
// ExecutionEngine and calls one function on host arrays. Used by nibble-run
// and, later, by calibration.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_DRIVER_JITRUNNER_H
#define NIBBLE_COMPILER_DRIVER_JITRUNNER_H

#include "compiler/Pipelines/KernelChoice.h"
#include "support/Npy.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace nibble {

class WeightStore;

/// Options of a JIT run.
struct JitOptions {
  /// Weight archive overriding the module's nibble.weights ("" = keep).
  std::string weights;
  /// LLVM optimization level (0..3).
  unsigned optLevel = 3;
  /// Threads that run the parallel loops (0 = the runtime's default:
  /// $NIBBLE_NUM_THREADS, else the number of CPUs).
  unsigned numThreads = 0;
  /// Generated kernels for this machine, or the reference lowering.
  KernelChoice kernels = KernelChoice::Fast;
};

/// A module lowered and JIT-compiled once, whose functions can be called
/// many times. Weights of `nibble.global`s are bound by pointer into the
/// mapped archive (an aligned copy only for a tensor stored unaligned), as
/// the runtime binds them in compiled models.
class JitSession {
public:
  ~JitSession();

  /// Lowers `module` in place through nibble-lower-to-llvm, JIT-compiles it,
  /// installs the runtime's thread pool and binds the globals.
  static llvm::Expected<std::unique_ptr<JitSession>>
  create(mlir::ModuleOp module, const JitOptions &options);

  /// Calls `_mlir_ciface_<entry>` with one memref descriptor pointer per
  /// argument, then one per result (results are out-params).
  llvm::Error invoke(llvm::StringRef entry, llvm::ArrayRef<void *> descriptors);

private:
  JitSession();
  /// Resolves every nibble.global of `module` against its archive.
  llvm::Error bindGlobals(mlir::ModuleOp module);

  struct FreeDeleter {
    void operator()(void *pointer) const;
  };
  std::unique_ptr<mlir::ExecutionEngine> engine;
  std::unique_ptr<WeightStore> store;
  std::vector<std::unique_ptr<void, FreeDeleter>> alignedCopies;
  std::vector<void *> globalPointers;
};

/// Lowers `module` in place and runs its function `entry` on `inputs`, one
/// array per function argument, returning one array per result. Arguments and
/// results must be ranked tensors of f32, f16, f64, i8, i16, i32, i64 (or
/// f8E4M3FN, exchanged as raw bytes in u8 arrays); results must have static
/// shapes. Arguments marked `nibble.state` or `nibble.output` are updated in
/// place (in a copy of the input) and have no result. Errors say which input
/// mismatches and how.
llvm::Expected<std::vector<NpyArray>>
runFunction(mlir::ModuleOp module, llvm::StringRef entry,
            llvm::ArrayRef<NpyArray> inputs, const JitOptions &options);

} // namespace nibble

#endif // NIBBLE_COMPILER_DRIVER_JITRUNNER_H

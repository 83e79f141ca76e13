//===- Linker.h - Linking compiled models with the system linker -*- C++ -*-=//

#ifndef NIBBLE_COMPILER_DRIVER_LINKER_H
#define NIBBLE_COMPILER_DRIVER_LINKER_H

#include "compiler/Target/Target.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace nibble {

/// What to link and how.
struct LinkJob {
  TargetSpec target;
  /// Object files and C sources (the generated model interface).
  std::vector<std::string> inputs;
  std::string output;
  /// A shared library (loaded by the runtime) or a standalone executable
  /// (linked with the runtime and its .npy-driven main()).
  bool sharedLibrary = true;
  /// Directory holding nibble_model_abi.h.
  std::string runtimeIncludeDir;
  /// Directory holding libnibble_runtime.a and libnibble_model_main.a built
  /// for the target (executables only).
  std::string runtimeLibDir;
};

/// The C/C++ compiler driver that links for `target` (g++ for the host,
/// aarch64-linux-gnu-g++ for AArch64), or an error saying which package
/// provides it.
llvm::Expected<std::string> findLinkerDriver(const TargetSpec &target);

/// Runs the compiler driver to link `job`; errors carry the command line.
/// The output is written atomically: linked into a temporary next to
/// `job.output` and renamed over it only when the link succeeded.
llvm::Error linkModel(const LinkJob &job);

} // namespace nibble

#endif // NIBBLE_COMPILER_DRIVER_LINKER_H

//===- KernelChoice.h - Which lowering linears get -------------*- C++ -*-===//
//
// `--kernels=fast|reference`: generated kernels for the target, or the
// reference lowering (the oracle) everywhere. Shared by the pipelines'
// options, the ahead-of-time driver, the JIT and the tools.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_PIPELINES_KERNELCHOICE_H
#define NIBBLE_COMPILER_PIPELINES_KERNELCHOICE_H

#include "llvm/Support/CommandLine.h"

namespace nibble {

/// Which lowering linears get.
enum class KernelChoice {
  /// The target's generated kernels where it has one, the reference
  /// lowering for the rest.
  Fast,
  /// The reference lowering everywhere (the oracle).
  Reference,
};

/// The values of a `kernels` option (`fast`, `reference`), shared by the
/// pipelines and the tools' `--kernels`.
inline auto kernelChoiceValues() {
  return llvm::cl::values(
      clEnumValN(KernelChoice::Fast, "fast",
                 "generated kernels for the target where it has one"),
      clEnumValN(KernelChoice::Reference, "reference",
                 "the reference lowering (the oracle) everywhere"));
}

} // namespace nibble

#endif // NIBBLE_COMPILER_PIPELINES_KERNELCHOICE_H

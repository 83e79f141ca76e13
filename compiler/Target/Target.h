//===- Target.h - The machine nibblec generates code for --------*- C++ -*-===//
//
// Resolves `--target=host|x86_64|aarch64|<triple>` with `--mcpu` and
// `--mattr` into an LLVM TargetMachine, with clear errors for unknown
// targets, CPUs and features.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_TARGET_TARGET_H
#define NIBBLE_COMPILER_TARGET_TARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>

namespace nibble {

/// The machine code is generated for.
struct TargetSpec {
  /// Normalized target triple, e.g. "x86_64-unknown-linux-gnu".
  std::string triple;
  /// CPU name ("" = the architecture's generic CPU).
  std::string cpu;
  /// Comma-separated LLVM feature list, e.g. "+avx2,+fma".
  std::string features;
  /// Whether this is the machine nibblec runs on.
  bool isHost = false;

  /// Whether the target is AArch64.
  bool isAArch64() const;
};

/// Resolves a target name (`host`, `x86_64`, `aarch64` or a full triple),
/// CPU (`host` or "" allowed) and feature list. For `host` with no CPU or
/// features given, the host's CPU and features are used.
llvm::Expected<TargetSpec> resolveTarget(llvm::StringRef target,
                                         llvm::StringRef cpu,
                                         llvm::StringRef features);

/// A TargetMachine for `spec` (position-independent code, optimization
/// level O3). Unknown CPUs and features are errors listing the valid ones.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetSpec &spec);

} // namespace nibble

#endif // NIBBLE_COMPILER_TARGET_TARGET_H

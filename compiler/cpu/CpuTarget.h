//===- CpuTarget.h - What a CPU offers the kernel providers -----*- C++ -*-===//
//
// The facts about a CPU that decide which kernels nibble generates: the
// vector width and the instructions beyond it (FMA, int8 dot products). Made
// from a target triple and an LLVM feature list, the same pair the
// TargetMachine gets, so the pipeline picks kernels for the machine the code
// will run on.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_CPU_CPUTARGET_H
#define NIBBLE_COMPILER_CPU_CPUTARGET_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace nibble {

/// A CPU as the kernel providers see it.
struct CpuTarget {
  /// Whether the target is AArch64 (otherwise x86-64 or generic).
  bool isAArch64 = false;
  /// Width of the widest float vector registers, in bits (128 on SSE and
  /// NEON, 256 on AVX/AVX2, 512 on AVX-512).
  unsigned vectorBits = 128;
  /// Fused multiply-add (x86 FMA3; always on AArch64).
  bool hasFma = false;
  /// 8-bit dot products: AVX-512 VNNI / AVX-VNNI on x86, dotprod on AArch64.
  bool hasInt8Dot = false;
  /// AArch64 int8 matrix multiply (i8mm: smmla).
  bool hasInt8Matmul = false;

  /// The CPU described by `triple` and the comma-separated LLVM feature list
  /// `features` ("+avx2,+fma,-avx512f"; later entries win).
  static CpuTarget fromFeatures(llvm::StringRef triple,
                                llvm::StringRef features);
  /// The CPU this process runs on.
  static CpuTarget host();

  /// Float lanes of the widest vector register.
  unsigned f32Lanes() const { return vectorBits / 32; }
  /// A one-line description, e.g. "x86-64 512-bit fma int8dot".
  std::string describe() const;
};

} // namespace nibble

#endif // NIBBLE_COMPILER_CPU_CPUTARGET_H

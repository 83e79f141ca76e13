//===- Passes.h - Every pass of the nibble compiler -------------*- C++ -*-===//
//
// Umbrella header for tools (as CIRCT's InitAllPasses.h): the passes of
// compiler/Transforms, compiler/Conversion/Reference and
// compiler/Conversion/LLVM, and one function registering them all. Link
// NibblePipelines, which links the three pass libraries.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_COMPILER_PASSES_H
#define NIBBLE_COMPILER_PASSES_H

#include "compiler/Conversion/LLVM/Passes.h"
#include "compiler/Conversion/Reference/Passes.h"
#include "compiler/Transforms/Passes.h"

namespace nibble {

/// Registers every pass of the compiler libraries, which the pipelines
/// (compiler/Pipelines/Pipelines.h) name as text.
inline void registerNibbleCompilerPasses() {
  registerNibbleTransformsPasses();
  registerNibbleReferenceLoweringPasses();
  registerNibbleToLLVMPasses();
}

} // namespace nibble

#endif // NIBBLE_COMPILER_PASSES_H

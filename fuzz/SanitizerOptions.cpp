//===- SanitizerOptions.cpp - Default sanitizer options of the fuzzers ----===//
//
// Linked into every harness; ASAN_OPTIONS in the environment still wins.
//
// allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its free slab
// space when the code that includes llvm/Support/Allocator.h is built with
// ASan -- nibble's is, Debian's libMLIR.so is not. MLIR's uniquers allocate
// from one allocator through both copies, so libMLIR's uninstrumented
// Allocate hands out memory nibble's copy poisoned, and its first write is
// reported as use-after-poison. Nothing in nibble poisons memory by hand.
//
//===----------------------------------------------------------------------===//

extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0:detect_leaks=1";
}

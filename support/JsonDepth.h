//===- JsonDepth.h - Bounding JSON nesting before parsing -------*- C++ -*-===//
//
// llvm::json::parse recurses once per nesting level without a limit, so a
// deeply nested untrusted document overflows the stack. Readers check the
// depth with this first (safetensors headers, Hugging Face config and index
// files).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_SUPPORT_JSONDEPTH_H
#define NIBBLE_SUPPORT_JSONDEPTH_H

#include "llvm/ADT/StringRef.h"

namespace nibble {

/// Returns true if the arrays and objects of `text` nest deeper than
/// `limit` (brackets inside strings do not count). Stops at the first level
/// past the limit, so it runs in time linear in the text and constant space.
bool jsonNestsDeeperThan(llvm::StringRef text, int limit);

} // namespace nibble

#endif // NIBBLE_SUPPORT_JSONDEPTH_H

//===- JsonDepth.cpp - Bounding JSON nesting before parsing ---------------===//

#include "support/JsonDepth.h"

namespace nibble {

bool jsonNestsDeeperThan(llvm::StringRef text, int limit) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

} // namespace nibble

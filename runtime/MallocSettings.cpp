//===- MallocSettings.cpp - Freed buffers kept for the next call ----------===//

#include "runtime/MallocSettings.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace nibble::runtime {

void keepFreedBuffersForReuse() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char *setting = std::getenv("NIBBLE_MALLOC_TUNING");
    if (setting && std::strcmp(setting, "0") == 0)
      return;
#if defined(__GLIBC__)
    // Fixed thresholds also turn off glibc's own adjustment of them.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  });
}

} // namespace nibble::runtime

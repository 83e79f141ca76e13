//===- MappedFile.h - A read-only memory mapping of a file ------*- C++ -*-===//
//
// Maps a whole file read-only with mmap(2), so weights are paged in on demand
// and shared between processes instead of copied.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_MAPPEDFILE_H
#define NIBBLE_RUNTIME_MAPPEDFILE_H

#include "runtime/nibble_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nibble {
namespace runtime {

/// A read-only private mapping of a file, unmapped on destruction.
class MappedFile {
public:
  MappedFile() = default;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  /// Maps the file at `path` (an empty file maps to no bytes). Fails with
  /// NIBBLE_ERROR_IO, naming the file and the system's reason.
  nibble_status open(const std::string &path);

  const uint8_t *data() const { return bytes; }
  size_t size() const { return length; }

private:
  const uint8_t *bytes = nullptr;
  size_t length = 0;
  /// Whether `bytes` came from mmap (an empty file has no mapping).
  bool mapped = false;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_MAPPEDFILE_H

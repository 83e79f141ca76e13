//===- SafeTensors.h - Memory-mapped safetensors reader --------*- C++ -*-===//
//
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON, then the data section. The
// JSON is an object mapping each tensor name to
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__"
// object of strings. The reader maps the file, parses the header strictly
// (no unknown keys, no duplicates, exact integers, valid UTF-8 strings) and
// checks that every tensor lies inside the data section, does not overlap
// another, and spans exactly product(shape) × element size bytes.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_SAFETENSORS_H
#define NIBBLE_RUNTIME_SAFETENSORS_H

#include "runtime/MappedFile.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nibble {
namespace runtime {

/// One tensor entry of a safetensors header.
struct SafeTensorsEntry {
  std::string name;
  /// The dtype as written ("F32", "F8_E4M3", ...).
  std::string dtypeName;
  /// The matching nibble_dtype, or -1 for a valid safetensors dtype that
  /// nibble has no nibble_dtype for (U16, F8_E4M3, ...).
  int dtype = -1;
  std::vector<int64_t> shape;
  /// Byte range [begin, end) in the data section.
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// The parsed header: tensors in file order and the "__metadata__" pairs.
struct SafeTensorsHeader {
  std::vector<SafeTensorsEntry> tensors;
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// Parses and validates the JSON header `text` of `length` bytes, for a
/// data section of `dataSize` bytes. Fails with NIBBLE_ERROR_FORMAT and a
/// message without a file name.
nibble_status parseSafeTensorsHeader(const char *text, size_t length,
                                     uint64_t dataSize,
                                     SafeTensorsHeader &header);

/// A memory-mapped safetensors file.
class SafeTensorsArchive {
public:
  /// Maps and validates the file at `path`; errors start with the path.
  nibble_status open(const std::string &path);

  /// The tensor named `name`, or nullptr.
  const SafeTensorsEntry *find(const std::string &name) const;

  /// The first byte of `entry`'s data in the mapping.
  const uint8_t *data(const SafeTensorsEntry &entry) const {
    return dataSection + entry.begin;
  }

  const SafeTensorsHeader &header() const { return parsed; }
  const std::string &path() const { return filePath; }

private:
  MappedFile file;
  std::string filePath;
  SafeTensorsHeader parsed;
  std::unordered_map<std::string, size_t> byName;
  const uint8_t *dataSection = nullptr;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_SAFETENSORS_H

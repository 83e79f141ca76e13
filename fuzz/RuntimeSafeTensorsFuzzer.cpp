//===- RuntimeSafeTensorsFuzzer.cpp - Fuzzing the runtime's safetensors ---===//
//
// Feeds the input, as a file, to runtime::SafeTensorsArchive::open (what
// compiled models map their weights with). For an archive it accepts, every
// tensor must be found by name and lie inside the data section with exactly
// the size its shape and dtype imply; every byte is read.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "runtime/SafeTensors.h"

#include <cstring>

using nibble::fuzz::fail;
using nibble::fuzz::MemoryFile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemoryFile file(data, size);
  nibble::runtime::SafeTensorsArchive archive;
  if (archive.open(file.path()) != NIBBLE_OK)
    return 0;
  // An accepted file has the 8-byte length and the whole header.
  if (size < 8)
    fail("open() accepted a file shorter than the header length");
  uint64_t headerLength;
  memcpy(&headerLength, data, 8);
  if (headerLength > size - 8)
    fail("open() accepted a header longer than the file");
  uint64_t dataSize = size - 8 - headerLength;
  volatile uint8_t sink = 0;
  for (const nibble::runtime::SafeTensorsEntry &entry :
       archive.header().tensors) {
    if (archive.find(entry.name) != &entry)
      fail("find() does not find a tensor of the header");
    if (entry.begin > entry.end || entry.end > dataSize)
      fail("a tensor lies outside the data section");
    if (entry.dtype >= 0) {
      uint64_t count = 1;
      for (int64_t dim : entry.shape) {
        if (dim < 0)
          fail("a tensor has a negative dimension");
        if (dim != 0 && count > UINT64_MAX / (uint64_t)dim)
          fail("a tensor's element count overflows");
        count *= (uint64_t)dim;
      }
      if (count * nibble_dtype_size((nibble_dtype)entry.dtype) !=
          entry.end - entry.begin)
        fail("a tensor's byte range differs from shape x element size");
    }
    const uint8_t *bytes = archive.data(entry);
    for (uint64_t i = 0; i < entry.end - entry.begin; ++i)
      sink ^= bytes[i];
  }
  return 0;
}

//===- RuntimeNpyFuzzer.cpp - Fuzzing the runtime's .npy reader -----------===//
//
// Feeds the input to runtime::parseNpy (what compiled models and
// nibble-run-lib read their inputs with). A successful parse must describe
// exactly its data, and encoding it again must parse back to the same array.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "runtime/Npy.h"

using nibble::fuzz::fail;
using nibble::runtime::NpyArray;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  NpyArray array;
  if (nibble::runtime::parseNpy(data, size, array) != NIBBLE_OK)
    return 0;
  uint64_t count = 1;
  for (int64_t dim : array.shape) {
    if (dim < 0)
      fail("parseNpy accepted a negative dimension");
    if (dim != 0 && count > UINT64_MAX / (uint64_t)dim)
      fail("parseNpy accepted a shape whose size overflows");
    count *= (uint64_t)dim;
  }
  if (count * nibble_dtype_size(array.dtype) != array.data.size())
    fail("parseNpy's data size differs from shape x element size");
  // BF16 has no .npy descr, so it never comes out of parseNpy.
  std::string encoded;
  if (nibble::runtime::encodeNpy(array.dtype, array.shape.data(),
                                 array.shape.size(), array.data.data(),
                                 array.data.size(), encoded) != NIBBLE_OK)
    fail("encodeNpy rejected an array parseNpy produced");
  NpyArray again;
  if (nibble::runtime::parseNpy(
          reinterpret_cast<const uint8_t *>(encoded.data()), encoded.size(),
          again) != NIBBLE_OK)
    fail("parseNpy rejected encodeNpy's output");
  if (again.dtype != array.dtype || again.shape != array.shape ||
      again.data != array.data)
    fail("parseNpy(encodeNpy(a)) differs from a");
  return 0;
}

//===- Npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
//
// The NumPy .npy format
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// the magic "\x93NUMPY", a major and minor version byte, a little-endian
// header length (u16 in version 1.0, u32 in 2.0 and 3.0), a Python dict
// literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and a final '\n', then the raw array data.
//
// Reading accepts versions 1.0, 2.0 and 3.0, little-endian (or byte-order
// free) descrs of every nibble_dtype but BF16, and C order. Writing produces
// version 1.0 exactly as numpy.save does (2.0 if the header would not fit in
// 65535 bytes). Errors name the file and what was expected and found.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_NPY_H
#define NIBBLE_RUNTIME_NPY_H

#include "runtime/nibble_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nibble {
namespace runtime {

/// An array read from a .npy file: C-order, little-endian element bytes.
struct NpyArray {
  nibble_dtype dtype = NIBBLE_DTYPE_F32;
  /// Empty for a scalar (shape `()`, one element).
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

/// The descr numpy writes for `dtype` ("<f4", "|i1", "|b1", ...), or nullptr
/// for BF16, which numpy has no type for.
const char *npyDescr(nibble_dtype dtype);

/// Formats `shape` as Python prints a tuple: "()", "(3,)", "(2, 3)".
std::string formatNpyShape(const int64_t *shape, size_t rank);

/// Parses the `size` bytes of a .npy file at `bytes` into `array`. Fails
/// with NIBBLE_ERROR_FORMAT; messages name no file.
nibble_status parseNpy(const uint8_t *bytes, size_t size, NpyArray &array);

/// Reads the .npy file at `path`; errors start with the path.
nibble_status readNpy(const std::string &path, NpyArray &array);

/// Returns the .npy encoding (header and data) of `rank` dimensions `shape`
/// and the `bytes` bytes at `data`, as numpy.save writes it. Fails if the
/// dtype is BF16, a dimension is negative, or `bytes` differs from the
/// shape's size.
nibble_status encodeNpy(nibble_dtype dtype, const int64_t *shape, size_t rank,
                        const void *data, size_t bytes, std::string &out);

/// Writes encodeNpy's result to `path`; errors start with the path.
nibble_status writeNpy(const std::string &path, nibble_dtype dtype,
                       const int64_t *shape, size_t rank, const void *data,
                       size_t bytes);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_NPY_H

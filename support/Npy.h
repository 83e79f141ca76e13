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
// free) descrs of the element types in DType.h, and C order. Writing produces
// version 1.0 byte for byte as numpy.save does (2.0 if the header would not
// fit in 65535 bytes). Errors name the file and what was expected and found.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_SUPPORT_NPY_H
#define NIBBLE_SUPPORT_NPY_H

#include "support/DType.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace nibble {

/// An array read from or to be written to a .npy file: C-order,
/// little-endian element bytes.
struct NpyArray {
  DType dtype = DType::F32;
  /// Empty for a scalar (shape `()`, one element).
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<uint8_t> data;

  /// Returns the product of `shape` (1 for a scalar), or -1 if a dimension
  /// is negative or the product overflows int64_t.
  int64_t numElements() const;
};

/// Returns the descr numpy writes for `dtype` ("<f4", "|i1", "|b1", ...), or
/// std::nullopt for BF16, which numpy has no type for.
std::optional<llvm::StringRef> npyDescr(DType dtype);

/// Parses a little-endian or byte-order-free descr: "<f8" "<f4" "<f2" "<i8"
/// "<i4" "<i2" "i1" "u1" "b1" (one-byte types with any of the prefixes '|',
/// '<', '>', '='). std::nullopt for anything else, big-endian included.
std::optional<DType> parseNpyDescr(llvm::StringRef descr);

/// Reads the .npy file at `path`. Errors are prefixed with `path`.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path);

/// Writes `array` to `path` in .npy format version 1.0 (as numpy.save
/// would), via a temporary file renamed into place. Errors if the dtype has
/// no .npy descr (BF16), the shape is invalid, or data.size() differs from
/// product(shape) × dtypeByteSize(dtype).
llvm::Error writeNpy(llvm::StringRef path, const NpyArray &array);

} // namespace nibble

#endif // NIBBLE_SUPPORT_NPY_H

//===- DType.h - Element types of tensor files ------------------*- C++ -*-===//
//
// The element types nibble reads from and writes to tensor files
// (safetensors, .npy), with their names in the safetensors header and their
// sizes in bytes.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_SUPPORT_DTYPE_H
#define NIBBLE_SUPPORT_DTYPE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace nibble {

/// Element type of a tensor stored in a file. All multi-byte types are stored
/// little-endian; `Bool` is one byte per element (0 or 1).
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// Returns the safetensors spelling of `dtype`: "F64", "F32", "F16", "BF16",
/// "I64", "I32", "I16", "I8", "U8" or "BOOL".
llvm::StringRef safetensorsName(DType dtype);

/// Parses a safetensors dtype name (case-sensitive, as written by the
/// reference implementation); std::nullopt for names nibble does not support.
std::optional<DType> parseSafetensorsDType(llvm::StringRef name);

/// Returns the size in bytes of one element of `dtype`.
size_t dtypeByteSize(DType dtype);

/// Returns a comma-separated list of every supported safetensors dtype name,
/// for error messages.
llvm::StringRef supportedSafetensorsDTypes();

/// Returns the number of elements of a tensor of `shape` (1 for the scalar
/// shape `[]`), or std::nullopt if a dimension is negative or the product
/// does not fit in int64_t. A shape with a zero dimension has 0 elements even
/// if the product of its other dimensions would overflow.
std::optional<int64_t> checkedNumElements(llvm::ArrayRef<int64_t> shape);

/// Returns the size in bytes of a tensor of `shape` and `dtype`, or
/// std::nullopt if a dimension is negative or the size does not fit in
/// int64_t.
std::optional<int64_t> checkedByteSize(llvm::ArrayRef<int64_t> shape,
                                       DType dtype);

/// Formats `shape` for error messages, e.g. "[2, 3]" (and "[]" for a scalar).
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace nibble

#endif // NIBBLE_SUPPORT_DTYPE_H

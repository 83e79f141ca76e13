//===- DType.cpp - Element types of tensor files --------------------------===//
//
// Names and sizes of the element types in DType.h.
//
//===----------------------------------------------------------------------===//

#include "support/DType.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace nibble {

llvm::StringRef safetensorsName(DType dtype) {
  switch (dtype) {
  case DType::F64:
    return "F64";
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I64:
    return "I64";
  case DType::I32:
    return "I32";
  case DType::I16:
    return "I16";
  case DType::I8:
    return "I8";
  case DType::U8:
    return "U8";
  case DType::Bool:
    return "BOOL";
  }
  llvm_unreachable("unknown DType");
}

std::optional<DType> parseSafetensorsDType(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<DType>>(name)
      .Case("F64", DType::F64)
      .Case("F32", DType::F32)
      .Case("F16", DType::F16)
      .Case("BF16", DType::BF16)
      .Case("I64", DType::I64)
      .Case("I32", DType::I32)
      .Case("I16", DType::I16)
      .Case("I8", DType::I8)
      .Case("U8", DType::U8)
      .Case("BOOL", DType::Bool)
      .Default(std::nullopt);
}

size_t dtypeByteSize(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  llvm_unreachable("unknown DType");
}

llvm::StringRef supportedSafetensorsDTypes() {
  return "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL";
}

std::optional<int64_t> checkedNumElements(llvm::ArrayRef<int64_t> shape) {
  for (int64_t dim : shape) {
    if (dim < 0)
      return std::nullopt;
    if (dim == 0)
      return 0;
  }
  int64_t count = 1;
  for (int64_t dim : shape)
    if (llvm::MulOverflow(count, dim, count))
      return std::nullopt;
  return count;
}

std::optional<int64_t> checkedByteSize(llvm::ArrayRef<int64_t> shape,
                                       DType dtype) {
  std::optional<int64_t> count = checkedNumElements(shape);
  int64_t bytes = 0;
  if (!count || llvm::MulOverflow(
                    *count, static_cast<int64_t>(dtypeByteSize(dtype)), bytes))
    return std::nullopt;
  return bytes;
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os);
  os << ']';
  return text;
}

} // namespace nibble

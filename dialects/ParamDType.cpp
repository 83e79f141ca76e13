//===- ParamDType.cpp - Archive dtypes of nibble.param tensors ------------===//

#include "dialects/ParamDType.h"

namespace nibble {

std::optional<DType> dtypeForElementType(mlir::Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  if (type.isF64())
    return DType::F64;
  if (type.isInteger(8))
    return DType::I8;
  if (type.isInteger(16))
    return DType::I16;
  if (type.isInteger(32))
    return DType::I32;
  if (type.isInteger(64))
    return DType::I64;
  return std::nullopt;
}

} // namespace nibble

//===- ParamDType.h - Archive dtypes of nibble.param tensors ----*- C++ -*-===//
//
// Which safetensors dtype stores a tensor of a given MLIR element type: the
// correspondence every reader and writer of weight archives shares.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_DIALECTS_PARAMDTYPE_H
#define NIBBLE_DIALECTS_PARAMDTYPE_H

#include "support/DType.h"

#include "mlir/IR/Types.h"

#include <optional>

namespace nibble {

/// The safetensors dtype that stores MLIR element type `type` (f64, f32,
/// f16, bf16, i8, i16, i32, i64), if any.
std::optional<DType> dtypeForElementType(mlir::Type type);

} // namespace nibble

#endif // NIBBLE_DIALECTS_PARAMDTYPE_H

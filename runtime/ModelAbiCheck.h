//===- ModelAbiCheck.h - Validating a model's ABI description ---*- C++ -*-===//
//
// A compiled model describes itself (nibble_model_abi.h); the description
// comes from a library the runtime did not build, so before using any of it
// the runtime checks that it is consistent: every list as long as its count
// says, dtypes and ranks in range, static shapes where the ABI requires them
// and sizes that fit in memory, every argument of an entry point naming an
// existing tensor, and every input and output of an entry passed exactly
// once.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_MODELABICHECK_H
#define NIBBLE_RUNTIME_MODELABICHECK_H

#include "runtime/nibble_runtime.h"

#include <cstddef>

namespace nibble {
namespace runtime {

/// Checks `abi` (which may be NULL); on failure returns NIBBLE_ERROR_ABI
/// with a message naming the entry, list and tensor at fault.
nibble_status checkModelAbi(const nibble_model_abi *abi);

/// Bytes of a tensor description with a static shape (checked by
/// checkModelAbi).
size_t staticTensorBytes(const nibble_tensor_desc &desc);

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_MODELABICHECK_H

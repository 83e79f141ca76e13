//===- Status.h - Error reporting inside the runtime ------------*- C++ -*-===//
//
// The runtime reports failures as a nibble_status plus a thread-local message
// (nibble_last_error). Internal functions set both with fail() and return the
// status, so callers can `return fail(...)` or propagate a status unchanged.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_STATUS_H
#define NIBBLE_RUNTIME_STATUS_H

#include "runtime/nibble_runtime.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace nibble {
namespace runtime {

/// Sets the thread's last error to the printf-formatted message and returns
/// `status`.
nibble_status fail(nibble_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/// Prefixes the thread's last error with `prefix` (e.g. "file.npy: ") and
/// returns `status`, for adding context while propagating a failure.
nibble_status addErrorContext(nibble_status status, const std::string &prefix);

/// Formats `rank` dimensions as "[2, 3]", writing -1 as "?" (dynamic) if
/// `dynamicAsQuestionMark`.
std::string formatShape(const int64_t *shape, int64_t rank,
                        bool dynamicAsQuestionMark = true);

/// Stores the product of `rank` dimensions in `count` and count ×
/// `elementSize` in `bytes`; false if a dimension is negative or the bytes
/// exceed INT64_MAX.
bool checkedElementCount(const int64_t *shape, int64_t rank,
                         uint64_t elementSize, uint64_t &count,
                         uint64_t &bytes);

/// The integer value of a C enum (nibble_status, nibble_dtype) that came
/// from outside the runtime: a C caller or a model's ABI description may hold
/// any int there, and in C++ loading an enum object whose value lies outside
/// its enumerators' range is undefined (UBSan's -fsanitize=enum), so this
/// reads its bytes instead.
template <typename Enum> int rawEnumValue(const Enum &value) {
  static_assert(sizeof(Enum) == sizeof(int), "a C enum is an int");
  int raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_STATUS_H

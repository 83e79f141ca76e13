//===- Status.cpp - Error reporting and dtype helpers ---------------------===//
//
// The thread-local last error, status names, and the small helpers on
// dtypes and shapes that the rest of the runtime shares.
//
//===----------------------------------------------------------------------===//

#include "runtime/Status.h"

#include <cstdarg>
#include <cstdio>

namespace nibble {
namespace runtime {

namespace {
/// The message behind nibble_last_error().
thread_local std::string lastError;
} // namespace

nibble_status fail(nibble_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  va_list argsCopy;
  va_copy(argsCopy, args);
  int length = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (length < 0) {
    lastError = format;
  } else {
    lastError.assign(static_cast<size_t>(length) + 1, '\0');
    std::vsnprintf(&lastError[0], lastError.size(), format, argsCopy);
    lastError.resize(static_cast<size_t>(length));
  }
  va_end(argsCopy);
  return status;
}

nibble_status addErrorContext(nibble_status status, const std::string &prefix) {
  lastError.insert(0, prefix);
  return status;
}

std::string formatShape(const int64_t *shape, int64_t rank,
                        bool dynamicAsQuestionMark) {
  std::string text = "[";
  for (int64_t i = 0; i < rank; ++i) {
    if (i != 0)
      text += ", ";
    text += shape[i] == -1 && dynamicAsQuestionMark ? std::string("?")
                                                    : std::to_string(shape[i]);
  }
  return text + "]";
}

bool checkedElementCount(const int64_t *shape, int64_t rank,
                         uint64_t elementSize, uint64_t &count,
                         uint64_t &bytes) {
  uint64_t product = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (shape[i] < 0)
      return false;
    if (__builtin_mul_overflow(product, static_cast<uint64_t>(shape[i]),
                               &product))
      return false;
  }
  uint64_t total;
  if (__builtin_mul_overflow(product, elementSize, &total) ||
      total > static_cast<uint64_t>(INT64_MAX))
    return false;
  count = product;
  bytes = total;
  return true;
}

} // namespace runtime
} // namespace nibble

using namespace nibble::runtime;

extern "C" {

const char *nibble_status_string(nibble_status status) {
  switch (rawEnumValue(status)) {
  case NIBBLE_OK:
    return "NIBBLE_OK";
  case NIBBLE_ERROR_INVALID_ARGUMENT:
    return "NIBBLE_ERROR_INVALID_ARGUMENT";
  case NIBBLE_ERROR_IO:
    return "NIBBLE_ERROR_IO";
  case NIBBLE_ERROR_FORMAT:
    return "NIBBLE_ERROR_FORMAT";
  case NIBBLE_ERROR_ABI:
    return "NIBBLE_ERROR_ABI";
  case NIBBLE_ERROR_MISMATCH:
    return "NIBBLE_ERROR_MISMATCH";
  case NIBBLE_ERROR_NOT_BOUND:
    return "NIBBLE_ERROR_NOT_BOUND";
  case NIBBLE_ERROR_OUT_OF_MEMORY:
    return "NIBBLE_ERROR_OUT_OF_MEMORY";
  }
  return "NIBBLE_ERROR_UNKNOWN";
}

const char *nibble_last_error(void) { return lastError.c_str(); }

size_t nibble_dtype_size(nibble_dtype dtype) {
  switch (rawEnumValue(dtype)) {
  case NIBBLE_DTYPE_F64:
  case NIBBLE_DTYPE_I64:
    return 8;
  case NIBBLE_DTYPE_F32:
  case NIBBLE_DTYPE_I32:
    return 4;
  case NIBBLE_DTYPE_F16:
  case NIBBLE_DTYPE_BF16:
  case NIBBLE_DTYPE_I16:
    return 2;
  case NIBBLE_DTYPE_I8:
  case NIBBLE_DTYPE_U8:
  case NIBBLE_DTYPE_BOOL:
    return 1;
  }
  return 0;
}

const char *nibble_dtype_name(nibble_dtype dtype) {
  switch (rawEnumValue(dtype)) {
  case NIBBLE_DTYPE_F32:
    return "F32";
  case NIBBLE_DTYPE_F16:
    return "F16";
  case NIBBLE_DTYPE_BF16:
    return "BF16";
  case NIBBLE_DTYPE_F64:
    return "F64";
  case NIBBLE_DTYPE_I8:
    return "I8";
  case NIBBLE_DTYPE_U8:
    return "U8";
  case NIBBLE_DTYPE_I16:
    return "I16";
  case NIBBLE_DTYPE_I32:
    return "I32";
  case NIBBLE_DTYPE_I64:
    return "I64";
  case NIBBLE_DTYPE_BOOL:
    return "BOOL";
  }
  return "?";
}

} // extern "C"

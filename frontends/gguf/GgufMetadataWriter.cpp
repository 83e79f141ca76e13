//===- GgufMetadataWriter.cpp - A GGUF file of metadata only --------------===//

#include "frontends/gguf/GgufMetadataWriter.h"

#include <cstring>

namespace nibble {
namespace gguf {
namespace {

using runtime::GgufType;
using runtime::GgufValue;

/// Appends the little-endian bytes of `value` (the hosts nibble builds for
/// are little-endian, as GGUF files are).
template <typename T> void put(std::string &out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void putString(std::string &out, const std::string &text) {
  put<uint64_t>(out, text.size());
  out += text;
}

/// Appends a scalar of `type` held as an unsigned, signed or float value.
void putScalar(std::string &out, GgufType type, uint64_t unsignedValue,
               int64_t signedValue, double floatValue) {
  switch (type) {
  case GgufType::UInt8:
  case GgufType::Bool:
    put<uint8_t>(out, static_cast<uint8_t>(unsignedValue));
    break;
  case GgufType::UInt16:
    put<uint16_t>(out, static_cast<uint16_t>(unsignedValue));
    break;
  case GgufType::UInt32:
    put<uint32_t>(out, static_cast<uint32_t>(unsignedValue));
    break;
  case GgufType::UInt64:
    put<uint64_t>(out, unsignedValue);
    break;
  case GgufType::Int8:
    put<int8_t>(out, static_cast<int8_t>(signedValue));
    break;
  case GgufType::Int16:
    put<int16_t>(out, static_cast<int16_t>(signedValue));
    break;
  case GgufType::Int32:
    put<int32_t>(out, static_cast<int32_t>(signedValue));
    break;
  case GgufType::Int64:
    put<int64_t>(out, signedValue);
    break;
  case GgufType::Float32:
    put<float>(out, static_cast<float>(floatValue));
    break;
  case GgufType::Float64:
    put<double>(out, floatValue);
    break;
  case GgufType::String:
  case GgufType::Array:
    break;
  }
}

/// Appends the payload of `value` (without its type tag).
void putPayload(std::string &out, const GgufValue &value) {
  if (value.type == GgufType::String) {
    putString(out, value.stringValue);
    return;
  }
  if (!value.isArray()) {
    putScalar(out, value.type, value.unsignedValue, value.signedValue,
              value.floatValue);
    return;
  }
  put<uint32_t>(out, static_cast<uint32_t>(value.elementType));
  put<uint64_t>(out, value.arraySize());
  switch (value.elementType) {
  case GgufType::String:
    for (const std::string &element : value.stringElements)
      putString(out, element);
    break;
  case GgufType::Array:
    for (const GgufValue &element : value.arrayElements)
      putPayload(out, element);
    break;
  case GgufType::Int8:
  case GgufType::Int16:
  case GgufType::Int32:
  case GgufType::Int64:
    for (int64_t element : value.signedElements)
      putScalar(out, value.elementType, 0, element, 0);
    break;
  case GgufType::Float32:
  case GgufType::Float64:
    for (double element : value.floatElements)
      putScalar(out, value.elementType, 0, 0, element);
    break;
  default:
    for (uint64_t element : value.unsignedElements)
      putScalar(out, value.elementType, element, 0, 0);
    break;
  }
}

} // namespace

std::string
serializeGgufMetadata(const runtime::GgufFile &file,
                      const std::function<bool(const std::string &)> &keep) {
  std::string out = "GGUF";
  put<uint32_t>(out, 3);
  put<uint64_t>(out, 0); // tensors
  uint64_t count = 0;
  for (const runtime::GgufMetadataEntry &entry : file.metadata())
    count += keep(entry.key) ? 1 : 0;
  put<uint64_t>(out, count);
  for (const runtime::GgufMetadataEntry &entry : file.metadata()) {
    if (!keep(entry.key))
      continue;
    putString(out, entry.key);
    put<uint32_t>(out, static_cast<uint32_t>(entry.value.type));
    putPayload(out, entry.value);
  }
  return out;
}

} // namespace gguf
} // namespace nibble

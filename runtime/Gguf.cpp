//===- Gguf.cpp - Memory-mapped GGUF v3 reader ----------------------------===//
//
// A bounds-checked cursor over the file image reads the header, the metadata
// and the tensor infos; every count is checked against the bytes left before
// anything is allocated for it, so a lying count fails fast. The data section
// checks (alignment, bounds, overlaps) follow once the alignment is known.
// See Gguf.h for the format.
//
//===----------------------------------------------------------------------===//

#include "runtime/Gguf.h"

#include "runtime/Status.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace nibble {
namespace runtime {

namespace {

/// ggml's GGML_MAX_DIMS.
constexpr uint32_t kMaxDims = 4;
/// How deep arrays of arrays may nest (an array of scalars is depth 1).
constexpr unsigned kMaxArrayDepth = 8;
/// The alignment when `general.alignment` is absent (GGUF_DEFAULT_ALIGNMENT).
constexpr uint64_t kDefaultAlignment = 32;

/// The block geometry of every type the reader accepts (ggml's
/// type_traits: blck_size, type_size).
const GgmlTypeTraits kGgmlTypes[] = {
    {GgmlType::F32, "F32", 1, 4},       {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 18},   {GgmlType::Q4_1, "Q4_1", 32, 20},
    {GgmlType::Q5_0, "Q5_0", 32, 22},   {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},   {GgmlType::Q8_1, "Q8_1", 32, 36},
    {GgmlType::Q2_K, "Q2_K", 256, 84},  {GgmlType::Q3_K, "Q3_K", 256, 110},
    {GgmlType::Q4_K, "Q4_K", 256, 144}, {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210}, {GgmlType::Q8_K, "Q8_K", 256, 292},
    {GgmlType::BF16, "BF16", 1, 2},
};

/// ggml's name of type number `raw` for the types the reader rejects (so
/// the message says "IQ2_XXS", not just 16), or nullptr.
const char *unsupportedGgmlTypeName(uint32_t raw) {
  static const char *const names[] = {
      nullptr,      nullptr,      nullptr,      nullptr,    "Q4_2",    "Q4_3",
      nullptr,      nullptr,      nullptr,      nullptr,    nullptr,   nullptr,
      nullptr,      nullptr,      nullptr,      nullptr,    "IQ2_XXS", "IQ2_XS",
      "IQ3_XXS",    "IQ1_S",      "IQ4_NL",     "IQ3_S",    "IQ2_S",   "IQ4_XS",
      "I8",         "I16",        "I32",        "I64",      "F64",     "IQ1_M",
      nullptr,      "Q4_0_4_4",   "Q4_0_4_8",   "Q4_0_8_8", "TQ1_0",   "TQ2_0",
      "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4",    "NVFP4",   "Q1_0",
      "Q2_0"};
  return raw < sizeof(names) / sizeof(names[0]) ? names[raw] : nullptr;
}

/// Whether `text` of `length` bytes is well-formed UTF-8: shortest forms,
/// no surrogates, nothing above U+10FFFF. Sets `badOffset` to the first
/// offending byte otherwise.
bool isValidUtf8(const uint8_t *text, size_t length, size_t &badOffset) {
  size_t i = 0;
  while (i < length) {
    uint8_t lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t count;
    uint32_t cp, min;
    if (lead >= 0xC2 && lead <= 0xDF) {
      count = 1, cp = lead & 0x1F, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      count = 2, cp = lead & 0x0F, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      count = 3, cp = lead & 0x07, min = 0x10000;
    } else {
      badOffset = i;
      return false;
    }
    if (length - i <= count) {
      badOffset = i;
      return false;
    }
    for (size_t k = 1; k <= count; ++k) {
      uint8_t c = text[i + k];
      if ((c & 0xC0) != 0x80) {
        badOffset = i;
        return false;
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      badOffset = i;
      return false;
    }
    i += count + 1;
  }
  return true;
}

/// Quotes `text` for a message: printable ASCII as is, everything else as
/// \xNN, at most 64 bytes.
std::string quote(const std::string &text) {
  std::string out = "\"";
  size_t shown = std::min<size_t>(text.size(), 64);
  for (size_t i = 0; i < shown; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  if (shown < text.size())
    out += "...";
  return out + "\"";
}

/// The smallest number of bytes one array element of `type` occupies (an
/// empty string is its 8-byte length, an empty array its type and count).
uint64_t minimumEncodedSize(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
  case GgufType::Int8:
  case GgufType::Bool:
    return 1;
  case GgufType::UInt16:
  case GgufType::Int16:
    return 2;
  case GgufType::UInt32:
  case GgufType::Int32:
  case GgufType::Float32:
    return 4;
  case GgufType::UInt64:
  case GgufType::Int64:
  case GgufType::Float64:
  case GgufType::String:
    return 8;
  case GgufType::Array:
    return 12;
  }
  return 1;
}

bool isKnownValueType(uint32_t raw) { return raw <= 12; }

/// The parser: a cursor over the image plus the context for messages.
class Parser {
public:
  Parser(const uint8_t *bytes, size_t size, const std::string &path)
      : bytes(bytes), size(size), path(path) {}

  /// Fails with NIBBLE_ERROR_FORMAT: "<path>: <message>".
  nibble_status error(const char *format, ...)
      __attribute__((format(printf, 2, 3))) {
    va_list args;
    va_start(args, format);
    char buffer[512];
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    return fail(NIBBLE_ERROR_FORMAT, "%s: %s", path.c_str(), buffer);
  }

  size_t offset() const { return pos; }
  size_t remaining() const { return size - pos; }

  /// Reads `count` bytes into `out`, or fails naming `what`.
  nibble_status readBytes(void *out, size_t count, const std::string &what) {
    if (remaining() < count)
      return error("truncated file: expected %zu bytes of %s at byte offset "
                   "%zu, found %zu",
                   count, what.c_str(), pos, remaining());
    if (count)
      std::memcpy(out, bytes + pos, count);
    pos += count;
    return NIBBLE_OK;
  }

  template <typename T> nibble_status read(T &value, const std::string &what) {
    return readBytes(&value, sizeof(T), what);
  }

  /// Reads a gguf_string (u64 length + bytes) into `out`.
  nibble_status readString(std::string &out, const std::string &what) {
    uint64_t length = 0;
    if (nibble_status status = read(length, "the length of " + what))
      return status;
    if (length > remaining())
      return error("%s: string length %llu exceeds the %zu bytes left at "
                   "byte offset %zu",
                   what.c_str(), static_cast<unsigned long long>(length),
                   remaining(), pos);
    out.assign(reinterpret_cast<const char *>(bytes + pos),
               static_cast<size_t>(length));
    pos += static_cast<size_t>(length);
    return NIBBLE_OK;
  }

  /// Reads a key or tensor name: a gguf_string of well-formed UTF-8.
  nibble_status readName(std::string &out, const std::string &what) {
    size_t start = pos + 8;
    if (nibble_status status = readString(out, what))
      return status;
    size_t bad;
    if (!isValidUtf8(reinterpret_cast<const uint8_t *>(out.data()), out.size(),
                     bad))
      return error("%s %s: invalid UTF-8 at byte offset %zu", what.c_str(),
                   quote(out).c_str(), start + bad);
    return NIBBLE_OK;
  }

  /// Reads one value of `type` into `value` (for key `key`); `depth` is the
  /// number of arrays around it.
  nibble_status readValue(GgufType type, GgufValue &value,
                          const std::string &key, unsigned depth) {
    value.type = type;
    switch (type) {
    case GgufType::UInt8:
      return readScalar<uint8_t>(value.unsignedValue, key);
    case GgufType::UInt16:
      return readScalar<uint16_t>(value.unsignedValue, key);
    case GgufType::UInt32:
      return readScalar<uint32_t>(value.unsignedValue, key);
    case GgufType::UInt64:
      return readScalar<uint64_t>(value.unsignedValue, key);
    case GgufType::Int8:
      return readScalar<int8_t>(value.signedValue, key);
    case GgufType::Int16:
      return readScalar<int16_t>(value.signedValue, key);
    case GgufType::Int32:
      return readScalar<int32_t>(value.signedValue, key);
    case GgufType::Int64:
      return readScalar<int64_t>(value.signedValue, key);
    case GgufType::Float32:
      return readScalar<float>(value.floatValue, key);
    case GgufType::Float64:
      return readScalar<double>(value.floatValue, key);
    case GgufType::Bool:
      return readBool(value.unsignedValue, key);
    case GgufType::String:
      return readString(value.stringValue, "the value of key " + quote(key));
    case GgufType::Array:
      return readArray(value, key, depth + 1);
    }
    return error("key %s: unknown value type %u", quote(key).c_str(),
                 static_cast<unsigned>(type));
  }

private:
  template <typename T, typename Out>
  nibble_status readScalar(Out &out, const std::string &key) {
    T raw{};
    if (nibble_status status = read(raw, "the value of key " + quote(key)))
      return status;
    out = static_cast<Out>(raw);
    return NIBBLE_OK;
  }

  nibble_status readBool(uint64_t &out, const std::string &key) {
    size_t at = pos;
    uint8_t raw = 0;
    if (nibble_status status = read(raw, "the value of key " + quote(key)))
      return status;
    if (raw > 1)
      return error("key %s: bool value %u at byte offset %zu, expected 0 or 1",
                   quote(key).c_str(), static_cast<unsigned>(raw), at);
    out = raw;
    return NIBBLE_OK;
  }

  /// Reads `count` fixed-size elements of type T into `out` (already bounded
  /// by the bytes left).
  template <typename T, typename Out>
  void readElements(std::vector<Out> &out, uint64_t count) {
    out.resize(static_cast<size_t>(count));
    for (size_t i = 0; i < out.size(); ++i) {
      T raw{};
      std::memcpy(&raw, bytes + pos, sizeof(T));
      pos += sizeof(T);
      out[i] = static_cast<Out>(raw);
    }
  }

  nibble_status readArray(GgufValue &value, const std::string &key,
                          unsigned depth) {
    const std::string quoted = quote(key);
    if (depth > kMaxArrayDepth)
      return error("key %s: arrays nested deeper than %u at byte offset %zu",
                   quoted.c_str(), kMaxArrayDepth, pos);
    size_t typeAt = pos;
    uint32_t rawType = 0;
    if (nibble_status status =
            read(rawType, "the element type of key " + quoted))
      return status;
    if (!isKnownValueType(rawType))
      return error("key %s: unknown array element type %u at byte offset %zu "
                   "(expected 0..12)",
                   quoted.c_str(), rawType, typeAt);
    GgufType elementType = static_cast<GgufType>(rawType);
    value.elementType = elementType;
    uint64_t count = 0;
    if (nibble_status status =
            read(count, "the element count of key " + quoted))
      return status;
    uint64_t minimum = minimumEncodedSize(elementType);
    if (count > remaining() / minimum)
      return error("key %s: array of %llu %s elements needs at least %llu "
                   "bytes per element but only %zu bytes are left at byte "
                   "offset %zu",
                   quoted.c_str(), static_cast<unsigned long long>(count),
                   ggufTypeName(elementType),
                   static_cast<unsigned long long>(minimum), remaining(), pos);
    switch (elementType) {
    case GgufType::UInt8:
      readElements<uint8_t>(value.unsignedElements, count);
      return NIBBLE_OK;
    case GgufType::UInt16:
      readElements<uint16_t>(value.unsignedElements, count);
      return NIBBLE_OK;
    case GgufType::UInt32:
      readElements<uint32_t>(value.unsignedElements, count);
      return NIBBLE_OK;
    case GgufType::UInt64:
      readElements<uint64_t>(value.unsignedElements, count);
      return NIBBLE_OK;
    case GgufType::Int8:
      readElements<int8_t>(value.signedElements, count);
      return NIBBLE_OK;
    case GgufType::Int16:
      readElements<int16_t>(value.signedElements, count);
      return NIBBLE_OK;
    case GgufType::Int32:
      readElements<int32_t>(value.signedElements, count);
      return NIBBLE_OK;
    case GgufType::Int64:
      readElements<int64_t>(value.signedElements, count);
      return NIBBLE_OK;
    case GgufType::Float32:
      readElements<float>(value.floatElements, count);
      return NIBBLE_OK;
    case GgufType::Float64:
      readElements<double>(value.floatElements, count);
      return NIBBLE_OK;
    case GgufType::Bool: {
      size_t start = pos;
      readElements<uint8_t>(value.unsignedElements, count);
      for (size_t i = 0; i < value.unsignedElements.size(); ++i)
        if (value.unsignedElements[i] > 1)
          return error(
              "key %s: bool element %zu is %llu at byte offset %zu, "
              "expected 0 or 1",
              quoted.c_str(), i,
              static_cast<unsigned long long>(value.unsignedElements[i]),
              start + i);
      return NIBBLE_OK;
    }
    case GgufType::String: {
      // Bounded by the check above: at most remaining() / 8 strings.
      value.stringElements.resize(static_cast<size_t>(count));
      for (size_t i = 0; i < value.stringElements.size(); ++i)
        if (nibble_status status = readString(value.stringElements[i],
                                              "element " + std::to_string(i) +
                                                  " of key " + quoted))
          return status;
      return NIBBLE_OK;
    }
    case GgufType::Array: {
      value.arrayElements.resize(static_cast<size_t>(count));
      for (GgufValue &element : value.arrayElements)
        if (nibble_status status =
                readValue(GgufType::Array, element, key, depth))
          return status;
      return NIBBLE_OK;
    }
    }
    return NIBBLE_OK;
  }

  const uint8_t *bytes;
  size_t size;
  size_t pos = 0;
  const std::string &path;
};

/// Formats a byte range [begin, end) for messages.
std::string formatRange(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

/// Formats ggml dims (ne) for messages: "[4096, 32000]".
std::string formatDims(const std::vector<uint64_t> &dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

} // namespace

const char *ggufTypeName(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
    return "uint8";
  case GgufType::Int8:
    return "int8";
  case GgufType::UInt16:
    return "uint16";
  case GgufType::Int16:
    return "int16";
  case GgufType::UInt32:
    return "uint32";
  case GgufType::Int32:
    return "int32";
  case GgufType::Float32:
    return "float32";
  case GgufType::Bool:
    return "bool";
  case GgufType::String:
    return "string";
  case GgufType::Array:
    return "array";
  case GgufType::UInt64:
    return "uint64";
  case GgufType::Int64:
    return "int64";
  case GgufType::Float64:
    return "float64";
  }
  return "unknown";
}

const GgmlTypeTraits *findGgmlType(uint32_t raw) {
  for (const GgmlTypeTraits &traits : kGgmlTypes)
    if (static_cast<uint32_t>(traits.type) == raw)
      return &traits;
  return nullptr;
}

uint64_t GgufValue::arraySize() const {
  if (type != GgufType::Array)
    return 0;
  switch (elementType) {
  case GgufType::UInt8:
  case GgufType::UInt16:
  case GgufType::UInt32:
  case GgufType::UInt64:
  case GgufType::Bool:
    return unsignedElements.size();
  case GgufType::Int8:
  case GgufType::Int16:
  case GgufType::Int32:
  case GgufType::Int64:
    return signedElements.size();
  case GgufType::Float32:
  case GgufType::Float64:
    return floatElements.size();
  case GgufType::String:
    return stringElements.size();
  case GgufType::Array:
    return arrayElements.size();
  }
  return 0;
}

std::vector<int64_t> GgufTensorInfo::rowMajorShape() const {
  return std::vector<int64_t>(dims.rbegin(), dims.rend());
}

GgufFile::GgufFile() = default;
GgufFile::~GgufFile() = default;

nibble_status GgufFile::open(const std::string &path) {
  // A failed open leaves nothing of an earlier file visible.
  file.reset();
  filePath = path;
  entries.clear();
  entryIndex.clear();
  tensorInfos.clear();
  tensorIndex.clear();
  dataSection = nullptr;
  auto mapping = std::make_unique<MappedFile>();
  if (nibble_status status = mapping->open(path))
    return status;
  if (nibble_status status = parse(mapping->data(), mapping->size(), path))
    return status;
  file = std::move(mapping);
  return NIBBLE_OK;
}

nibble_status GgufFile::parse(const uint8_t *bytes, size_t size,
                              const std::string &displayName) {
  nibble_status status = parseImage(bytes, size, displayName);
  if (status != NIBBLE_OK) {
    // Nothing of a rejected file stays visible.
    entries.clear();
    entryIndex.clear();
    tensorInfos.clear();
    tensorIndex.clear();
    dataSection = nullptr;
  }
  return status;
}

nibble_status GgufFile::parseImage(const uint8_t *bytes, size_t size,
                                   const std::string &displayName) {
  file.reset();
  filePath = displayName;
  fileVersion = 0;
  dataAlignment = kDefaultAlignment;
  entries.clear();
  entryIndex.clear();
  tensorInfos.clear();
  tensorIndex.clear();
  dataSection = nullptr;

  Parser parser(bytes, size, displayName);

  // Header.
  uint8_t magic[4];
  if (nibble_status status = parser.readBytes(magic, 4, "the magic \"GGUF\""))
    return status;
  if (std::memcmp(magic, "GGUF", 4) != 0)
    return parser.error("not a GGUF file: expected the magic \"GGUF\" "
                        "(47 47 55 46) at byte offset 0, found %02x %02x %02x "
                        "%02x",
                        magic[0], magic[1], magic[2], magic[3]);
  uint32_t version = 0;
  if (nibble_status status = parser.read(version, "the version"))
    return status;
  if (version == 1)
    return parser.error("GGUF version 1 is not supported (it has 32-bit "
                        "counts); expected version 2 or 3");
  if (version != 2 && version != 3) {
    uint32_t swapped = __builtin_bswap32(version);
    return parser.error("unsupported GGUF version %u at byte offset 4: "
                        "expected 2 or 3%s",
                        version,
                        swapped >= 1 && swapped <= 3
                            ? " (a big-endian file? only little-endian GGUF "
                              "is supported)"
                            : "");
  }
  uint64_t tensorCount = 0, kvCount = 0;
  if (nibble_status status = parser.read(tensorCount, "tensor_count"))
    return status;
  if (nibble_status status = parser.read(kvCount, "metadata_kv_count"))
    return status;
  // Each entry takes at least a key length, a type and a 1-byte value; each
  // tensor info a name length, n_dims, a type and an offset.
  const uint64_t minEntryBytes = 8 + 4 + 1, minTensorBytes = 8 + 4 + 4 + 8;
  if (kvCount > parser.remaining() / minEntryBytes)
    return parser.error("metadata_kv_count %llu at byte offset 16 cannot fit "
                        "in the %zu bytes left (at least %llu bytes each)",
                        static_cast<unsigned long long>(kvCount),
                        parser.remaining(),
                        static_cast<unsigned long long>(minEntryBytes));
  if (tensorCount > parser.remaining() / minTensorBytes ||
      tensorCount * minTensorBytes >
          parser.remaining() - kvCount * minEntryBytes)
    return parser.error(
        "tensor_count %llu at byte offset 8 cannot fit in the "
        "%zu bytes left (at least %llu bytes each, besides at "
        "least %llu bytes for the %llu metadata entries)",
        static_cast<unsigned long long>(tensorCount), parser.remaining(),
        static_cast<unsigned long long>(minTensorBytes),
        static_cast<unsigned long long>(kvCount * minEntryBytes),
        static_cast<unsigned long long>(kvCount));
  fileVersion = version;

  // Metadata.
  for (uint64_t i = 0; i < kvCount; ++i) {
    GgufMetadataEntry entry;
    const std::string what = "key " + std::to_string(i);
    size_t keyAt = parser.offset();
    if (nibble_status status = parser.readName(entry.key, what))
      return status;
    if (entry.key.empty())
      return parser.error("key %llu at byte offset %zu is empty",
                          static_cast<unsigned long long>(i), keyAt);
    const std::string quoted = quote(entry.key);
    auto inserted = entryIndex.emplace(entry.key, entries.size());
    if (!inserted.second)
      return parser.error("duplicate key %s at byte offset %zu (entries %zu "
                          "and %llu)",
                          quoted.c_str(), keyAt, inserted.first->second,
                          static_cast<unsigned long long>(i));
    size_t typeAt = parser.offset();
    uint32_t rawType = 0;
    if (nibble_status status =
            parser.read(rawType, "the value type of key " + quoted))
      return status;
    if (!isKnownValueType(rawType))
      return parser.error("key %s: unknown value type %u at byte offset %zu "
                          "(expected 0..12)",
                          quoted.c_str(), rawType, typeAt);
    if (nibble_status status = parser.readValue(static_cast<GgufType>(rawType),
                                                entry.value, entry.key, 0))
      return status;
    entries.push_back(std::move(entry));
  }

  // general.alignment: a uint32 power of two, as ggml requires.
  if (const GgufValue *alignment = find("general.alignment")) {
    if (alignment->type != GgufType::UInt32)
      return parser.error("key \"general.alignment\" has type %s, expected "
                          "uint32",
                          ggufTypeName(alignment->type));
    uint64_t value = alignment->unsignedValue;
    if (value == 0 || (value & (value - 1)) != 0)
      return parser.error("key \"general.alignment\" is %llu, expected a "
                          "power of two",
                          static_cast<unsigned long long>(value));
    dataAlignment = value;
  }

  // Tensor infos.
  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensorInfo info;
    size_t nameAt = parser.offset();
    if (nibble_status status =
            parser.readName(info.name, "tensor " + std::to_string(i) + " name"))
      return status;
    const std::string quoted = quote(info.name);
    const std::string what = "tensor " + quoted;
    auto inserted = tensorIndex.emplace(info.name, tensorInfos.size());
    if (!inserted.second)
      return parser.error("duplicate tensor name %s at byte offset %zu "
                          "(tensors %zu and %llu)",
                          quoted.c_str(), nameAt, inserted.first->second,
                          static_cast<unsigned long long>(i));
    size_t dimsAt = parser.offset();
    uint32_t nDims;
    if (nibble_status status = parser.read(nDims, "the n_dims of " + what))
      return status;
    if (nDims > kMaxDims)
      return parser.error("%s: n_dims %u at byte offset %zu, expected at "
                          "most %u",
                          what.c_str(), nDims, dimsAt, kMaxDims);
    info.dims.resize(nDims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < nDims; ++d) {
      size_t dimAt = parser.offset();
      if (nibble_status status = parser.read(
              info.dims[d], "dimension " + std::to_string(d) + " of " + what))
        return status;
      if (info.dims[d] == 0)
        return parser.error("%s: dimension %u (ne[%u]) at byte offset %zu is "
                            "0, expected at least 1",
                            what.c_str(), d, d, dimAt);
      if (__builtin_mul_overflow(elements, info.dims[d], &elements) ||
          elements > static_cast<uint64_t>(INT64_MAX)) {
        info.dims.resize(d + 1);
        return parser.error("%s: dimensions %s%s overflow: more than "
                            "INT64_MAX elements",
                            what.c_str(), formatDims(info.dims).c_str(),
                            d + 1 < nDims ? "..." : "");
      }
    }
    info.elements = elements;
    size_t typeAt = parser.offset();
    uint32_t rawType = 0;
    if (nibble_status status = parser.read(rawType, "the type of " + what))
      return status;
    const GgmlTypeTraits *traits = findGgmlType(rawType);
    if (!traits) {
      const char *name = unsupportedGgmlTypeName(rawType);
      return parser.error("%s: unsupported ggml type %u%s%s%s at byte offset "
                          "%zu",
                          what.c_str(), rawType, name ? " (" : "",
                          name ? name : "", name ? ")" : "", typeAt);
    }
    info.type = traits->type;
    uint64_t rowLength = nDims ? info.dims[0] : 1;
    if (rowLength % traits->blockElements != 0)
      return parser.error("%s: row length ne[0] = %llu is not a multiple of "
                          "the %s block size %u",
                          what.c_str(),
                          static_cast<unsigned long long>(rowLength),
                          traits->name, traits->blockElements);
    // elements / blockElements × blockBytes ≤ INT64_MAX / 32 × 292: no
    // overflow in uint64_t, but a tensor must also fit in the address space.
    uint64_t blocks = elements / traits->blockElements;
    if (__builtin_mul_overflow(blocks, traits->blockBytes, &info.bytes) ||
        info.bytes > static_cast<uint64_t>(INT64_MAX))
      return parser.error("%s: %s %s is more than INT64_MAX bytes",
                          what.c_str(), traits->name,
                          formatDims(info.dims).c_str());
    size_t offsetAt = parser.offset();
    if (nibble_status status =
            parser.read(info.offset, "the offset of " + what))
      return status;
    if (info.offset % dataAlignment != 0)
      return parser.error(
          "%s: data offset %llu (at byte offset %zu) is not a "
          "multiple of the alignment %llu",
          what.c_str(), static_cast<unsigned long long>(info.offset), offsetAt,
          static_cast<unsigned long long>(dataAlignment));
    tensorInfos.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t dataStart = parser.offset();
  if (!tensorInfos.empty()) {
    uint64_t padding =
        (dataAlignment - dataStart % dataAlignment) % dataAlignment;
    if (padding > size - dataStart)
      return parser.error("truncated file: the data section would start at "
                          "byte offset %llu (the tensor infos end at %llu, "
                          "aligned to %llu), past the end of the %zu-byte "
                          "file",
                          static_cast<unsigned long long>(dataStart + padding),
                          static_cast<unsigned long long>(dataStart),
                          static_cast<unsigned long long>(dataAlignment), size);
    dataStart += padding;
  }
  const uint64_t dataSize = size - dataStart;
  for (const GgufTensorInfo &info : tensorInfos)
    if (info.offset > dataSize || info.bytes > dataSize - info.offset)
      return parser.error(
          "tensor %s: data %s of the data section (file bytes %s) extends "
          "past the end of the file: the data section has %llu bytes",
          quote(info.name).c_str(),
          formatRange(info.offset, info.offset + info.bytes).c_str(),
          formatRange(dataStart + info.offset,
                      dataStart + info.offset + info.bytes)
              .c_str(),
          static_cast<unsigned long long>(dataSize));

  // Overlaps: sort the ranges by start and compare neighbours.
  std::vector<const GgufTensorInfo *> ranges;
  ranges.reserve(tensorInfos.size());
  for (const GgufTensorInfo &info : tensorInfos)
    ranges.push_back(&info);
  std::sort(ranges.begin(), ranges.end(),
            [](const GgufTensorInfo *a, const GgufTensorInfo *b) {
              return a->offset < b->offset;
            });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const GgufTensorInfo &a = *ranges[i - 1], &b = *ranges[i];
    if (b.offset < a.offset + a.bytes)
      return parser.error("tensors %s %s and %s %s overlap in the data section",
                          quote(a.name).c_str(),
                          formatRange(a.offset, a.offset + a.bytes).c_str(),
                          quote(b.name).c_str(),
                          formatRange(b.offset, b.offset + b.bytes).c_str());
  }
  dataSection = tensorInfos.empty() ? nullptr : bytes + dataStart;
  return NIBBLE_OK;
}

const GgufValue *GgufFile::find(const std::string &key) const {
  auto it = entryIndex.find(key);
  return it == entryIndex.end() ? nullptr : &entries[it->second].value;
}

const GgufTensorInfo *GgufFile::findTensor(const std::string &name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensorInfos[it->second];
}

namespace {

bool isUnsignedType(GgufType type) {
  return type == GgufType::UInt8 || type == GgufType::UInt16 ||
         type == GgufType::UInt32 || type == GgufType::UInt64;
}

bool isSignedType(GgufType type) {
  return type == GgufType::Int8 || type == GgufType::Int16 ||
         type == GgufType::Int32 || type == GgufType::Int64;
}

bool isFloatType(GgufType type) {
  return type == GgufType::Float32 || type == GgufType::Float64;
}

/// The type of `value` with its article for messages: "a uint32", "an
/// int8", "an array of string".
std::string describeType(const GgufValue &value) {
  if (value.isArray())
    return std::string("an array of ") + ggufTypeName(value.elementType);
  const char *name = ggufTypeName(value.type);
  return std::string(name[0] == 'i' ? "an " : "a ") + name;
}

} // namespace

/// Looks `key` up for a typed getter; fails naming the file and key.
#define NIBBLE_GGUF_LOOKUP(value, key)                                         \
  const GgufValue *value = find(key);                                          \
  if (!value)                                                                  \
    return fail(NIBBLE_ERROR_FORMAT, "%s: key \"%s\" is missing",              \
                filePath.c_str(), key.c_str());

nibble_status GgufFile::getString(const std::string &key,
                                  std::string &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (value->type != GgufType::String)
    return fail(NIBBLE_ERROR_FORMAT, "%s: key \"%s\" is %s, expected a string",
                filePath.c_str(), key.c_str(), describeType(*value).c_str());
  out = value->stringValue;
  return NIBBLE_OK;
}

nibble_status GgufFile::getUnsigned(const std::string &key,
                                    uint64_t &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (isUnsignedType(value->type)) {
    out = value->unsignedValue;
    return NIBBLE_OK;
  }
  if (isSignedType(value->type)) {
    if (value->signedValue < 0)
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"%s\" is %lld, expected a non-negative integer",
                  filePath.c_str(), key.c_str(),
                  static_cast<long long>(value->signedValue));
    out = static_cast<uint64_t>(value->signedValue);
    return NIBBLE_OK;
  }
  return fail(NIBBLE_ERROR_FORMAT,
              "%s: key \"%s\" is %s, expected an unsigned integer",
              filePath.c_str(), key.c_str(), describeType(*value).c_str());
}

nibble_status GgufFile::getSigned(const std::string &key, int64_t &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (isSignedType(value->type)) {
    out = value->signedValue;
    return NIBBLE_OK;
  }
  if (isUnsignedType(value->type)) {
    if (value->unsignedValue > static_cast<uint64_t>(INT64_MAX))
      return fail(NIBBLE_ERROR_FORMAT,
                  "%s: key \"%s\" is %llu, more than INT64_MAX",
                  filePath.c_str(), key.c_str(),
                  static_cast<unsigned long long>(value->unsignedValue));
    out = static_cast<int64_t>(value->unsignedValue);
    return NIBBLE_OK;
  }
  return fail(NIBBLE_ERROR_FORMAT, "%s: key \"%s\" is %s, expected an integer",
              filePath.c_str(), key.c_str(), describeType(*value).c_str());
}

nibble_status GgufFile::getFloat(const std::string &key, double &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (!isFloatType(value->type))
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"%s\" is %s, expected a float32 or float64",
                filePath.c_str(), key.c_str(), describeType(*value).c_str());
  out = value->floatValue;
  return NIBBLE_OK;
}

nibble_status GgufFile::getBool(const std::string &key, bool &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (value->type != GgufType::Bool)
    return fail(NIBBLE_ERROR_FORMAT, "%s: key \"%s\" is %s, expected a bool",
                filePath.c_str(), key.c_str(), describeType(*value).c_str());
  out = value->unsignedValue != 0;
  return NIBBLE_OK;
}

nibble_status
GgufFile::getStringArray(const std::string &key,
                         const std::vector<std::string> *&out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (!value->isArray() || value->elementType != GgufType::String)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"%s\" is %s, expected an array of string",
                filePath.c_str(), key.c_str(), describeType(*value).c_str());
  out = &value->stringElements;
  return NIBBLE_OK;
}

nibble_status GgufFile::getFloatArray(const std::string &key,
                                      const std::vector<double> *&out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (!value->isArray() || !isFloatType(value->elementType))
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: key \"%s\" is %s, expected an array of float32 or "
                "float64",
                filePath.c_str(), key.c_str(), describeType(*value).c_str());
  out = &value->floatElements;
  return NIBBLE_OK;
}

nibble_status GgufFile::getSignedArray(const std::string &key,
                                       std::vector<int64_t> &out) const {
  NIBBLE_GGUF_LOOKUP(value, key)
  if (value->isArray() && isSignedType(value->elementType)) {
    out = value->signedElements;
    return NIBBLE_OK;
  }
  if (value->isArray() && isUnsignedType(value->elementType)) {
    out.resize(value->unsignedElements.size());
    for (size_t i = 0; i < out.size(); ++i) {
      uint64_t element = value->unsignedElements[i];
      if (element > static_cast<uint64_t>(INT64_MAX))
        return fail(NIBBLE_ERROR_FORMAT,
                    "%s: key \"%s\": element %zu is %llu, more than INT64_MAX",
                    filePath.c_str(), key.c_str(), i,
                    static_cast<unsigned long long>(element));
      out[i] = static_cast<int64_t>(element);
    }
    return NIBBLE_OK;
  }
  return fail(NIBBLE_ERROR_FORMAT,
              "%s: key \"%s\" is %s, expected an array of integers",
              filePath.c_str(), key.c_str(), describeType(*value).c_str());
}

#undef NIBBLE_GGUF_LOOKUP

} // namespace runtime
} // namespace nibble

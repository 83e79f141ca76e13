//===- SafeTensors.cpp - Memory-mapped safetensors reader -----------------===//
//
// A strict recursive-descent parser for the fixed shape of a safetensors
// header (an object of tensor objects and string metadata), and the checks
// that keep every later access inside the mapping. See SafeTensors.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/SafeTensors.h"

#include "runtime/Status.h"

#include <algorithm>
#include <cstring>

namespace nibble {
namespace runtime {

namespace {

/// Element size of a safetensors dtype name, and its nibble_dtype (or -1);
/// false for a name that is no safetensors dtype.
bool lookupDType(const std::string &name, size_t &size, int &dtype) {
  struct Known {
    const char *name;
    size_t size;
    int dtype;
  };
  static const Known known[] = {
      {"F64", 8, NIBBLE_DTYPE_F64},
      {"F32", 4, NIBBLE_DTYPE_F32},
      {"F16", 2, NIBBLE_DTYPE_F16},
      {"BF16", 2, NIBBLE_DTYPE_BF16},
      {"I64", 8, NIBBLE_DTYPE_I64},
      {"I32", 4, NIBBLE_DTYPE_I32},
      {"I16", 2, NIBBLE_DTYPE_I16},
      {"I8", 1, NIBBLE_DTYPE_I8},
      {"U8", 1, NIBBLE_DTYPE_U8},
      {"BOOL", 1, NIBBLE_DTYPE_BOOL},
      {"U64", 8, -1},
      {"U32", 4, -1},
      {"U16", 2, -1},
      {"F8_E4M3", 1, -1},
      {"F8_E5M2", 1, -1},
      {"F8_E8M0", 1, -1},
      {"C64", 8, -1},
  };
  for (const Known &entry : known) {
    if (name == entry.name) {
      size = entry.size;
      dtype = entry.dtype;
      return true;
    }
  }
  return false;
}

/// Recursive-descent parser over the header text; every method returns
/// false after recording the first error in `error`.
class HeaderParser {
public:
  HeaderParser(const char *text, size_t length) : text(text), length(length) {}

  /// Parses the whole header into `header` (offsets not yet validated).
  bool parse(SafeTensorsHeader &header) {
    skipSpace();
    if (!expect('{', "'{' starting the header object"))
      return false;
    bool sawMetadata = false;
    std::unordered_map<std::string, size_t> seen;
    skipSpace();
    if (!peek('}')) {
      while (true) {
        std::string key;
        skipSpace();
        if (!parseString(key) || !expectAfterSpace(':', "':' after a key"))
          return false;
        if (key == "__metadata__") {
          if (sawMetadata)
            return failAt("duplicate key \"__metadata__\"");
          sawMetadata = true;
          if (!parseMetadata(header.metadata))
            return false;
        } else {
          if (!seen.emplace(key, header.tensors.size()).second)
            return failAt("duplicate tensor \"" + key + "\"");
          SafeTensorsEntry entry;
          entry.name = key;
          if (!parseTensor(entry))
            return false;
          header.tensors.push_back(std::move(entry));
        }
        skipSpace();
        if (peek('}'))
          break;
        if (!expect(',', "',' or '}' after a header entry"))
          return false;
      }
    }
    ++pos; // '}'
    skipSpace();
    if (pos != length)
      return failAt("unexpected text after the header object");
    return true;
  }

  std::string error;

private:
  bool failAt(const std::string &message) {
    if (error.empty())
      error = message + " at byte " + std::to_string(pos) + " of the header";
    return false;
  }

  void skipSpace() {
    while (pos < length && (text[pos] == ' ' || text[pos] == '\t' ||
                            text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool peek(char c) const { return pos < length && text[pos] == c; }

  bool expect(char c, const char *what) {
    if (!peek(c))
      return failAt(std::string("expected ") + what);
    ++pos;
    return true;
  }

  bool expectAfterSpace(char c, const char *what) {
    skipSpace();
    return expect(c, what);
  }

  /// Appends code point `cp` to `out` as UTF-8.
  static void appendUtf8(uint32_t cp, std::string &out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  /// Parses four hex digits of a \u escape.
  bool parseHex4(uint32_t &value) {
    value = 0;
    for (int i = 0; i < 4; ++i, ++pos) {
      if (pos >= length)
        return failAt("truncated \\u escape");
      char c = text[pos];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return failAt("invalid hex digit in \\u escape");
      value = value * 16 + digit;
    }
    return true;
  }

  /// Consumes one UTF-8 encoded code point (well-formed, shortest form, no
  /// surrogates) and appends its bytes to `out`.
  bool copyUtf8(std::string &out) {
    unsigned char lead = static_cast<unsigned char>(text[pos]);
    size_t count;
    uint32_t cp, min;
    if (lead >= 0xC2 && lead <= 0xDF) {
      count = 1, cp = lead & 0x1F, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      count = 2, cp = lead & 0x0F, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      count = 3, cp = lead & 0x07, min = 0x10000;
    } else {
      return failAt("invalid UTF-8 in a string");
    }
    if (length - pos <= count)
      return failAt("invalid UTF-8 in a string");
    for (size_t i = 1; i <= count; ++i) {
      unsigned char c = static_cast<unsigned char>(text[pos + i]);
      if ((c & 0xC0) != 0x80)
        return failAt("invalid UTF-8 in a string");
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return failAt("invalid UTF-8 in a string");
    out.append(text + pos, count + 1);
    pos += count + 1;
    return true;
  }

  /// Parses a JSON string (at the current position) into `out`.
  bool parseString(std::string &out) {
    if (!expect('"', "a string"))
      return false;
    while (true) {
      if (pos >= length)
        return failAt("unterminated string");
      unsigned char c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return failAt("control character in a string");
      if (c >= 0x80) {
        if (!copyUtf8(out))
          return false;
        continue;
      }
      ++pos;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos >= length)
        return failAt("unterminated string");
      char escape = text[pos++];
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return failAt("unpaired surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (pos + 2 > length || text[pos] != '\\' || text[pos + 1] != 'u')
            return failAt("unpaired surrogate in \\u escape");
          pos += 2;
          if (!parseHex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF)
            return failAt("unpaired surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(cp, out);
        break;
      }
      default:
        --pos;
        return failAt("invalid escape in a string");
      }
    }
  }

  /// Parses a non-negative JSON integer that fits in int64_t.
  bool parseInteger(int64_t &value) {
    skipSpace();
    size_t start = pos;
    uint64_t result = 0;
    while (pos < length && text[pos] >= '0' && text[pos] <= '9') {
      if (__builtin_mul_overflow(result, 10u, &result) ||
          __builtin_add_overflow(result, static_cast<uint64_t>(text[pos] - '0'),
                                 &result) ||
          result > static_cast<uint64_t>(INT64_MAX)) {
        pos = start;
        return failAt("integer too large");
      }
      ++pos;
    }
    if (pos == start)
      return failAt("expected a non-negative integer");
    if (text[start] == '0' && pos - start > 1) {
      pos = start;
      return failAt("integer with a leading zero");
    }
    if (pos < length &&
        (text[pos] == '.' || text[pos] == 'e' || text[pos] == 'E'))
      return failAt("expected an integer, found a fraction or exponent");
    value = static_cast<int64_t>(result);
    return true;
  }

  /// Parses "[int, ...]" into `values`.
  bool parseIntegerList(std::vector<int64_t> &values) {
    if (!expectAfterSpace('[', "'['"))
      return false;
    skipSpace();
    if (peek(']')) {
      ++pos;
      return true;
    }
    while (true) {
      int64_t value;
      if (!parseInteger(value))
        return false;
      values.push_back(value);
      skipSpace();
      if (peek(']')) {
        ++pos;
        return true;
      }
      if (!expect(',', "',' or ']' in a list of integers"))
        return false;
    }
  }

  /// Parses the "__metadata__" value: an object of strings.
  bool parseMetadata(std::vector<std::pair<std::string, std::string>> &out) {
    if (!expectAfterSpace('{', "'{' starting \"__metadata__\""))
      return false;
    skipSpace();
    if (peek('}')) {
      ++pos;
      return true;
    }
    while (true) {
      std::string key, value;
      skipSpace();
      if (!parseString(key) ||
          !expectAfterSpace(':', "':' after a metadata key"))
        return false;
      for (const auto &pair : out)
        if (pair.first == key)
          return failAt("duplicate metadata key \"" + key + "\"");
      skipSpace();
      if (!peek('"'))
        return failAt("metadata value of \"" + key + "\" is not a string");
      if (!parseString(value))
        return false;
      out.emplace_back(std::move(key), std::move(value));
      skipSpace();
      if (peek('}')) {
        ++pos;
        return true;
      }
      if (!expect(',', "',' or '}' in \"__metadata__\""))
        return false;
    }
  }

  /// Parses one tensor object into `entry` (whose name is set).
  bool parseTensor(SafeTensorsEntry &entry) {
    const std::string &name = entry.name;
    if (!expectAfterSpace('{', "'{' starting a tensor"))
      return false;
    bool hasDType = false, hasShape = false, hasOffsets = false;
    skipSpace();
    if (!peek('}')) {
      while (true) {
        std::string key;
        skipSpace();
        if (!parseString(key) || !expectAfterSpace(':', "':' after a key"))
          return false;
        if (key == "dtype" && !hasDType) {
          hasDType = true;
          skipSpace();
          if (!parseString(entry.dtypeName))
            return false;
          size_t size;
          if (!lookupDType(entry.dtypeName, size, entry.dtype))
            return failAt("tensor \"" + name + "\": unknown dtype \"" +
                          entry.dtypeName + "\"");
        } else if (key == "shape" && !hasShape) {
          hasShape = true;
          if (!parseIntegerList(entry.shape))
            return false;
        } else if (key == "data_offsets" && !hasOffsets) {
          hasOffsets = true;
          std::vector<int64_t> offsets;
          if (!parseIntegerList(offsets))
            return false;
          if (offsets.size() != 2)
            return failAt("tensor \"" + name +
                          "\": data_offsets must have 2 integers, found " +
                          std::to_string(offsets.size()));
          entry.begin = static_cast<uint64_t>(offsets[0]);
          entry.end = static_cast<uint64_t>(offsets[1]);
        } else if (key == "dtype" || key == "shape" || key == "data_offsets") {
          return failAt("tensor \"" + name + "\": duplicate key \"" + key +
                        "\"");
        } else {
          return failAt("tensor \"" + name + "\": unknown key \"" + key + "\"");
        }
        skipSpace();
        if (peek('}'))
          break;
        if (!expect(',', "',' or '}' in a tensor"))
          return false;
      }
    }
    ++pos; // '}'
    const char *missing = !hasDType     ? "dtype"
                          : !hasShape   ? "shape"
                          : !hasOffsets ? "data_offsets"
                                        : nullptr;
    if (missing)
      return failAt("tensor \"" + name + "\": missing \"" + missing + "\"");
    return true;
  }

  const char *text;
  size_t length;
  size_t pos = 0;
};

/// Formats [begin, end] for messages.
std::string formatRange(const SafeTensorsEntry &entry) {
  return "[" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
         "]";
}

} // namespace

nibble_status parseSafeTensorsHeader(const char *text, size_t length,
                                     uint64_t dataSize,
                                     SafeTensorsHeader &header) {
  header = SafeTensorsHeader();
  HeaderParser parser(text, length);
  if (!parser.parse(header))
    return fail(NIBBLE_ERROR_FORMAT, "malformed header: %s",
                parser.error.c_str());

  for (const SafeTensorsEntry &entry : header.tensors) {
    const char *name = entry.name.c_str();
    if (entry.begin > entry.end || entry.end > dataSize)
      return fail(NIBBLE_ERROR_FORMAT,
                  "tensor \"%s\": data_offsets %s outside the data section "
                  "of %llu bytes",
                  name, formatRange(entry).c_str(),
                  static_cast<unsigned long long>(dataSize));
    size_t elementSize = 0;
    int dtype;
    lookupDType(entry.dtypeName, elementSize, dtype);
    uint64_t count, bytes;
    if (!checkedElementCount(entry.shape.data(),
                             static_cast<int64_t>(entry.shape.size()),
                             elementSize, count, bytes))
      return fail(NIBBLE_ERROR_FORMAT, "tensor \"%s\": shape %s is too large",
                  name,
                  formatShape(entry.shape.data(), entry.shape.size()).c_str());
    if (bytes != entry.end - entry.begin)
      return fail(NIBBLE_ERROR_FORMAT,
                  "tensor \"%s\": data_offsets %s span %llu bytes, expected "
                  "%llu for %s %s",
                  name, formatRange(entry).c_str(),
                  static_cast<unsigned long long>(entry.end - entry.begin),
                  static_cast<unsigned long long>(bytes),
                  entry.dtypeName.c_str(),
                  formatShape(entry.shape.data(), entry.shape.size()).c_str());
  }

  // Overlaps: sort the non-empty ranges by start and compare neighbours.
  std::vector<const SafeTensorsEntry *> ranges;
  for (const SafeTensorsEntry &entry : header.tensors)
    if (entry.begin != entry.end)
      ranges.push_back(&entry);
  std::sort(ranges.begin(), ranges.end(),
            [](const SafeTensorsEntry *a, const SafeTensorsEntry *b) {
              return a->begin < b->begin;
            });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i]->begin < ranges[i - 1]->end)
      return fail(
          NIBBLE_ERROR_FORMAT, "tensors \"%s\" %s and \"%s\" %s overlap",
          ranges[i - 1]->name.c_str(), formatRange(*ranges[i - 1]).c_str(),
          ranges[i]->name.c_str(), formatRange(*ranges[i]).c_str());
  return NIBBLE_OK;
}

nibble_status SafeTensorsArchive::open(const std::string &path) {
  filePath = path;
  if (nibble_status status = file.open(path))
    return status;
  const std::string prefix = path + ": ";
  const size_t size = file.size();
  if (size < 8)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: truncated safetensors file: %zu bytes, too short for "
                "the 8-byte header length",
                path.c_str(), size);
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | file.data()[i];
  if (headerLength > size - 8)
    return fail(NIBBLE_ERROR_FORMAT,
                "%s: truncated safetensors file: header length %llu exceeds "
                "the %zu bytes after the length",
                path.c_str(), static_cast<unsigned long long>(headerLength),
                size - 8);
  const char *text = reinterpret_cast<const char *>(file.data() + 8);
  if (nibble_status status = parseSafeTensorsHeader(
          text, headerLength, size - 8 - headerLength, parsed))
    return addErrorContext(status, prefix);
  dataSection = file.data() + 8 + headerLength;
  byName.clear();
  for (size_t i = 0; i < parsed.tensors.size(); ++i)
    byName.emplace(parsed.tensors[i].name, i);
  return NIBBLE_OK;
}

const SafeTensorsEntry *
SafeTensorsArchive::find(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &parsed.tensors[it->second];
}

} // namespace runtime
} // namespace nibble

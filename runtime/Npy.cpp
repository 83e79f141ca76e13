//===- Npy.cpp - Reading and writing NumPy .npy files ---------------------===//
//
// A parser for the fixed shape of the .npy header dict (the keys 'descr',
// 'fortran_order' and 'shape'), validation of the header against the data,
// and a writer matching numpy.save byte for byte. See Npy.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"

#include "runtime/MappedFile.h"
#include "runtime/Status.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <atomic>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nibble {
namespace runtime {

namespace {

/// The six bytes every .npy file starts with.
const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

/// numpy aligns the start of the data to this many bytes.
constexpr size_t kArrayAlign = 64;

/// numpy pads the header so that the first dimension can grow to this many
/// digits in place (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS).
constexpr size_t kGrowthAxisMaxDigits = 21;

/// The dtype of a little-endian or byte-order free descr, or -1.
int parseDescr(const std::string &descr) {
  // One-byte types have no byte order: numpy writes '|', accept any prefix.
  std::string single = descr;
  if (!single.empty() && std::strchr("|<>=", single[0]))
    single.erase(0, 1);
  if (single == "i1")
    return NIBBLE_DTYPE_I8;
  if (single == "u1")
    return NIBBLE_DTYPE_U8;
  if (single == "b1")
    return NIBBLE_DTYPE_BOOL;
  for (nibble_dtype dtype :
       {NIBBLE_DTYPE_F64, NIBBLE_DTYPE_F32, NIBBLE_DTYPE_F16, NIBBLE_DTYPE_I64,
        NIBBLE_DTYPE_I32, NIBBLE_DTYPE_I16})
    if (descr == npyDescr(dtype))
      return dtype;
  return -1;
}

/// Parser for the header dict, a Python literal; methods return false after
/// recording the first error in `error`.
class HeaderParser {
public:
  HeaderParser(const char *text, size_t length) : text(text), length(length) {}

  /// Parses the dict; `descr` is empty if it was not a string.
  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape) {
    bool hasDescr = false, hasOrder = false, hasShape = false;
    if (!expect('{', "'{'"))
      return false;
    while (!consume('}')) {
      std::string key;
      if (!parseString(key) || !expect(':', "':' after a key"))
        return false;
      if (key == "descr" && !hasDescr) {
        hasDescr = true;
        skipSpace();
        if (pos < length && (text[pos] == '[' || text[pos] == '('))
          return failAt("unsupported descr: structured dtypes are not "
                        "supported");
        if (!parseString(descr))
          return false;
      } else if (key == "fortran_order" && !hasOrder) {
        hasOrder = true;
        skipSpace();
        if (consumeWord("True"))
          fortranOrder = true;
        else if (consumeWord("False"))
          fortranOrder = false;
        else
          return failAt("expected True or False for 'fortran_order'");
      } else if (key == "shape" && !hasShape) {
        hasShape = true;
        if (!parseShape(shape))
          return false;
      } else {
        return failAt("unexpected key '" + key + "'");
      }
      if (consume('}'))
        break;
      if (!expect(',', "',' or '}'"))
        return false;
    }
    skipSpace();
    if (pos != length)
      return failAt("unexpected text after the header dict");
    if (!hasDescr || !hasOrder || !hasShape)
      return failAt(std::string("missing key '") +
                    (!hasDescr   ? "descr"
                     : !hasOrder ? "fortran_order"
                                 : "shape") +
                    "'");
    return true;
  }

  std::string error;

private:
  bool failAt(const std::string &message) {
    if (error.empty())
      error = message + " at offset " + std::to_string(pos) + " of the header";
    return false;
  }

  void skipSpace() {
    while (pos < length && std::strchr(" \t\r\n", text[pos]) && text[pos])
      ++pos;
  }

  /// Consumes `c` after whitespace if it comes next.
  bool consume(char c) {
    skipSpace();
    if (pos < length && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  bool expect(char c, const char *what) {
    if (consume(c))
      return true;
    return failAt(std::string("expected ") + what);
  }

  bool consumeWord(const char *word) {
    size_t size = std::strlen(word);
    if (length - pos < size || std::memcmp(text + pos, word, size) != 0)
      return false;
    pos += size;
    return true;
  }

  /// Parses a Python string in single or double quotes.
  bool parseString(std::string &out) {
    skipSpace();
    if (pos >= length || (text[pos] != '\'' && text[pos] != '"'))
      return failAt("expected a string");
    char quote = text[pos++];
    while (pos < length && text[pos] != quote) {
      if (text[pos] == '\\' && pos + 1 < length)
        ++pos;
      out += text[pos++];
    }
    if (pos >= length)
      return failAt("unterminated string");
    ++pos;
    return true;
  }

  /// Parses a tuple (or list) of non-negative ints, each with Python 2's
  /// optional 'L' suffix.
  bool parseShape(std::vector<int64_t> &shape) {
    skipSpace();
    if (pos >= length || (text[pos] != '(' && text[pos] != '['))
      return failAt("expected a tuple for 'shape'");
    char close = text[pos++] == '(' ? ')' : ']';
    while (!consume(close)) {
      size_t start = pos;
      int64_t value = 0;
      while (pos < length && text[pos] >= '0' && text[pos] <= '9') {
        if (__builtin_mul_overflow(value, 10, &value) ||
            __builtin_add_overflow(value, text[pos] - '0', &value)) {
          pos = start;
          return failAt("dimension too large");
        }
        ++pos;
      }
      if (pos == start)
        return failAt("expected a non-negative integer in 'shape'");
      if (pos < length && (text[pos] == 'L' || text[pos] == 'l'))
        ++pos;
      shape.push_back(value);
      if (consume(close))
        break;
      if (!expect(',', "',' or the end of 'shape'"))
        return false;
    }
    return true;
  }

  const char *text;
  size_t length;
  size_t pos = 0;
};

} // namespace

const char *npyDescr(nibble_dtype dtype) {
  switch (dtype) {
  case NIBBLE_DTYPE_F64:
    return "<f8";
  case NIBBLE_DTYPE_F32:
    return "<f4";
  case NIBBLE_DTYPE_F16:
    return "<f2";
  case NIBBLE_DTYPE_I64:
    return "<i8";
  case NIBBLE_DTYPE_I32:
    return "<i4";
  case NIBBLE_DTYPE_I16:
    return "<i2";
  case NIBBLE_DTYPE_I8:
    return "|i1";
  case NIBBLE_DTYPE_U8:
    return "|u1";
  case NIBBLE_DTYPE_BOOL:
    return "|b1";
  case NIBBLE_DTYPE_BF16:
    return nullptr;
  }
  return nullptr;
}

std::string formatNpyShape(const int64_t *shape, size_t rank) {
  std::string text = "(";
  for (size_t i = 0; i < rank; ++i) {
    if (i != 0)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (rank == 1 ? ",)" : ")");
}

nibble_status parseNpy(const uint8_t *bytes, size_t size, NpyArray &array) {
  array = NpyArray();
  size_t magicBytes = size < kMagicSize ? size : kMagicSize;
  if (std::memcmp(bytes, kMagic, magicBytes) != 0)
    return fail(NIBBLE_ERROR_FORMAT,
                "not a .npy file: it does not start with \"\\x93NUMPY\"");
  if (size < kMagicSize + 2)
    return fail(NIBBLE_ERROR_FORMAT,
                "truncated .npy file: %zu bytes, too short for the magic and "
                "version",
                size);
  unsigned major = bytes[6], minor = bytes[7];
  if (minor != 0 || major < 1 || major > 3)
    return fail(NIBBLE_ERROR_FORMAT,
                "unsupported .npy format version %u.%u (supported: 1.0, 2.0, "
                "3.0)",
                major, minor);
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lengthSize;
  if (size < headerStart)
    return fail(NIBBLE_ERROR_FORMAT,
                "truncated .npy file: %zu bytes, too short for the header "
                "length",
                size);
  uint64_t headerLength = 0;
  for (size_t i = lengthSize; i-- > 0;)
    headerLength = (headerLength << 8) | bytes[8 + i];
  if (headerLength > size - headerStart)
    return fail(NIBBLE_ERROR_FORMAT,
                "truncated .npy file: header of %llu bytes, but only %zu "
                "follow",
                static_cast<unsigned long long>(headerLength),
                size - headerStart);

  std::string descr;
  bool fortranOrder = false;
  HeaderParser parser(reinterpret_cast<const char *>(bytes + headerStart),
                      headerLength);
  if (!parser.parse(descr, fortranOrder, array.shape))
    return fail(NIBBLE_ERROR_FORMAT, "malformed .npy header: %s",
                parser.error.c_str());
  int dtype = parseDescr(descr);
  if (dtype < 0)
    return fail(NIBBLE_ERROR_FORMAT,
                "unsupported descr '%s' (supported: <f8 <f4 <f2 <i8 <i4 <i2 "
                "|i1 |u1 |b1)",
                descr.c_str());
  array.dtype = static_cast<nibble_dtype>(dtype);
  size_t nonUnitDims = 0;
  for (int64_t dim : array.shape)
    nonUnitDims += dim != 1;
  if (fortranOrder && nonUnitDims > 1)
    return fail(NIBBLE_ERROR_FORMAT,
                "Fortran-order arrays are not supported (shape %s); save a "
                "C-order array (numpy.ascontiguousarray)",
                formatNpyShape(array.shape.data(), array.shape.size()).c_str());
  uint64_t count, expected;
  if (!checkedElementCount(array.shape.data(),
                           static_cast<int64_t>(array.shape.size()),
                           nibble_dtype_size(array.dtype), count, expected))
    return fail(NIBBLE_ERROR_FORMAT, "shape %s is too large",
                formatNpyShape(array.shape.data(), array.shape.size()).c_str());
  size_t dataStart = headerStart + headerLength;
  if (size - dataStart != expected)
    return fail(NIBBLE_ERROR_FORMAT,
                "data has %zu bytes, expected %llu for '%s' %s",
                size - dataStart, static_cast<unsigned long long>(expected),
                descr.c_str(),
                formatNpyShape(array.shape.data(), array.shape.size()).c_str());
  array.data.assign(bytes + dataStart, bytes + size);
  return NIBBLE_OK;
}

nibble_status readNpy(const std::string &path, NpyArray &array) {
  MappedFile file;
  if (nibble_status status = file.open(path))
    return status;
  static const uint8_t empty = 0;
  if (nibble_status status =
          parseNpy(file.size() ? file.data() : &empty, file.size(), array))
    return addErrorContext(status, path + ": ");
  return NIBBLE_OK;
}

nibble_status encodeNpy(nibble_dtype dtype, const int64_t *shape, size_t rank,
                        const void *data, size_t bytes, std::string &out) {
  const char *descr = npyDescr(dtype);
  if (!descr)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "dtype %s cannot be stored in a .npy file",
                nibble_dtype_name(dtype));
  uint64_t count, expected;
  if (!checkedElementCount(shape, static_cast<int64_t>(rank),
                           nibble_dtype_size(dtype), count, expected))
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT, "invalid shape %s",
                formatNpyShape(shape, rank).c_str());
  if (expected != bytes)
    return fail(NIBBLE_ERROR_INVALID_ARGUMENT,
                "%zu bytes of data, expected %llu for %s %s", bytes,
                static_cast<unsigned long long>(expected), descr,
                formatNpyShape(shape, rank).c_str());

  // numpy.lib.format._write_array_header: the dict, growth padding for the
  // first dimension, then spaces and '\n' up to a multiple of 64 bytes.
  std::string dict =
      std::string("{'descr': '") + descr +
      "', 'fortran_order': False, 'shape': " + formatNpyShape(shape, rank) +
      ", }";
  if (rank > 0) {
    size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisMaxDigits)
      dict.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  unsigned major = 1;
  size_t lengthSize = 2;
  size_t padding =
      kArrayAlign -
      (kMagicSize + 2 + lengthSize + dict.size() + 1) % kArrayAlign;
  if (dict.size() + 1 + padding > 0xFFFF) {
    major = 2;
    lengthSize = 4;
    padding = kArrayAlign -
              (kMagicSize + 2 + lengthSize + dict.size() + 1) % kArrayAlign;
  }
  size_t headerLength = dict.size() + padding + 1;
  out.assign(kMagic, kMagicSize);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < lengthSize; ++i)
    out += static_cast<char>((headerLength >> (8 * i)) & 0xFF);
  out += dict;
  out.append(padding, ' ');
  out += '\n';
  out.append(static_cast<const char *>(data), bytes);
  return NIBBLE_OK;
}

namespace {
/// Writes all of `bytes` to `fd`; returns 0 or the errno of the failure.
int writeAll(int fd, const std::string &bytes) {
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR)
      return errno;
    if (n > 0)
      done += size_t(n);
  }
  return 0;
}

/// Creates a new file next to `path` (mode 0666 less the umask, like any new
/// file) with a name no other writer uses; returns its descriptor or -1.
int createTemporaryNextTo(const std::string &path, std::string &temporary) {
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    temporary = path + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter++);
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0666);
    if (fd >= 0 || errno != EEXIST)
      return fd;
  }
  return -1;
}
} // namespace

nibble_status writeNpy(const std::string &path, nibble_dtype dtype,
                       const int64_t *shape, size_t rank, const void *data,
                       size_t bytes) {
  std::string encoded;
  if (nibble_status status =
          encodeNpy(dtype, shape, rank, data, bytes, encoded))
    return addErrorContext(status, path + ": ");
  // A device or pipe (/dev/stdout, a FIFO) is written in place: renaming a
  // file over it would replace it.
  struct stat target;
  if (::stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    int error = fd < 0 ? errno : writeAll(fd, encoded);
    if (fd >= 0 && ::close(fd) != 0 && !error)
      error = errno;
    if (error)
      return fail(NIBBLE_ERROR_IO, "%s: cannot write: %s", path.c_str(),
                  std::strerror(error));
    return NIBBLE_OK;
  }
  // A file is written to a temporary next to `path` and renamed into place,
  // so that `path` holds a complete array or nothing (a full disk, a killed
  // process).
  std::string temporary;
  int fd = createTemporaryNextTo(path, temporary);
  if (fd < 0)
    return fail(NIBBLE_ERROR_IO, "%s: cannot create a temporary file: %s",
                path.c_str(), std::strerror(errno));
  int error = writeAll(fd, encoded);
  if (::close(fd) != 0 && !error)
    error = errno ? errno : EIO;
  if (!error && std::rename(temporary.c_str(), path.c_str()) != 0)
    error = errno;
  if (error) {
    ::unlink(temporary.c_str());
    return fail(NIBBLE_ERROR_IO, "%s: cannot write: %s", path.c_str(),
                std::strerror(error));
  }
  return NIBBLE_OK;
}

} // namespace runtime
} // namespace nibble

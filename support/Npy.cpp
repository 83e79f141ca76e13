//===- Npy.cpp - Reading and writing NumPy .npy files ---------------------===//
//
// A small parser for the Python literal in the .npy header, validation of
// the header against the data, and a writer matching numpy.save byte for
// byte. See Npy.h for the format.
//
//===----------------------------------------------------------------------===//

#include "support/Npy.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace nibble {

namespace {

/// The six bytes every .npy file starts with.
constexpr StringRef kMagic("\x93NUMPY", 6);

/// numpy aligns the start of the data to this many bytes.
constexpr size_t kArrayAlign = 64;

/// numpy pads the header so that the first dimension can grow to this many
/// digits in place (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS).
constexpr size_t kGrowthAxisMaxDigits = 21;

/// Returns an error whose message is "<path>: <message>".
Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (path + ": " + message).str());
}

/// Formats `shape` as Python prints a tuple: "()", "(3,)", "(2, 3)".
std::string formatPythonTuple(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '(';
  llvm::interleaveComma(shape, os);
  if (shape.size() == 1)
    os << ',';
  os << ')';
  return text;
}

/// A Python literal from a .npy header.
struct PyValue {
  enum class Kind { None, Bool, Int, String, Tuple, List, Dict };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  std::string string;
  /// Elements of a tuple or list; values of a dict.
  std::vector<PyValue> items;
  /// Keys of a dict, parallel to `items`.
  std::vector<std::string> keys;
};

/// Returns a word for the kind of `value`, for error messages.
StringRef pyKindName(const PyValue &value) {
  switch (value.kind) {
  case PyValue::Kind::None:
    return "None";
  case PyValue::Kind::Bool:
    return "a bool";
  case PyValue::Kind::Int:
    return "an int";
  case PyValue::Kind::String:
    return "a string";
  case PyValue::Kind::Tuple:
    return "a tuple";
  case PyValue::Kind::List:
    return "a list";
  case PyValue::Kind::Dict:
    return "a dict";
  }
  llvm_unreachable("unknown PyValue kind");
}

/// Recursive-descent parser for the subset of Python literals numpy writes
/// in .npy headers: dicts with string keys, tuples, lists, strings, ints
/// (with Python 2's optional 'L' suffix), True, False and None.
class PyLiteralParser {
public:
  explicit PyLiteralParser(StringRef headerText) : text(headerText) {}

  /// Parses the whole text as one literal followed only by whitespace.
  /// On failure, `errorMessage` says what was expected where.
  std::optional<PyValue> parseAll() {
    std::optional<PyValue> value = parseValue(/*depth=*/0);
    if (!value)
      return std::nullopt;
    skipSpace();
    if (pos != text.size())
      return fail("end of header");
    return value;
  }

  /// Describes the first parse error.
  const std::string &error() const { return errorMessage; }

private:
  /// Nesting beyond this is rejected (numpy headers nest at most 2 deep
  /// except for structured dtypes), bounding the recursion.
  static constexpr unsigned kMaxDepth = 32;

  /// Records "expected <expected> at offset N, found ..." as the error.
  std::nullopt_t fail(StringRef expected) {
    if (errorMessage.empty()) {
      StringRef found = pos < text.size() ? text.substr(pos, 10) : "";
      errorMessage =
          llvm::formatv("expected {0} at offset {1}, found {2}", expected, pos,
                        found.empty() ? std::string("end of header")
                                      : "'" + found.str() + "'")
              .str();
    }
    return std::nullopt;
  }

  /// Records `message` as the error.
  std::nullopt_t failWith(const llvm::Twine &message) {
    if (errorMessage.empty())
      errorMessage = message.str();
    return std::nullopt;
  }

  void skipSpace() {
    while (pos < text.size() && StringRef(" \t\r\n").contains(text[pos]))
      ++pos;
  }

  /// Consumes `word` if the text continues with it.
  bool consumeWord(StringRef word) {
    if (!text.substr(pos).starts_with(word))
      return false;
    pos += word.size();
    return true;
  }

  /// Consumes `c` (after whitespace) if it comes next.
  bool consume(char c) {
    skipSpace();
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }

  std::optional<PyValue> parseValue(unsigned depth) {
    if (depth > kMaxDepth)
      return fail("less deeply nested literal");
    skipSpace();
    if (pos >= text.size())
      return fail("a value");
    char c = text[pos];
    if (c == '{')
      return parseDict(depth);
    if (c == '(' || c == '[')
      return parseSequence(depth);
    if (c == '\'' || c == '"')
      return parseString();
    if (c == '-' || llvm::isDigit(c))
      return parseInt();
    PyValue value;
    if (consumeWord("True")) {
      value.kind = PyValue::Kind::Bool;
      value.boolean = true;
      return value;
    }
    if (consumeWord("False")) {
      value.kind = PyValue::Kind::Bool;
      return value;
    }
    if (consumeWord("None"))
      return value;
    return fail("a value (dict, tuple, list, string, int, True, False or "
                "None)");
  }

  std::optional<PyValue> parseString() {
    char quote = text[pos++];
    PyValue value;
    value.kind = PyValue::Kind::String;
    while (pos < text.size() && text[pos] != quote) {
      if (text[pos] == '\\' && pos + 1 < text.size())
        ++pos;
      value.string.push_back(text[pos++]);
    }
    if (pos >= text.size())
      return fail("closing quote of string");
    ++pos;
    return value;
  }

  std::optional<PyValue> parseInt() {
    size_t start = pos;
    if (text[pos] == '-')
      ++pos;
    while (pos < text.size() && llvm::isDigit(text[pos]))
      ++pos;
    PyValue value;
    value.kind = PyValue::Kind::Int;
    StringRef digits = text.slice(start, pos);
    if (digits.getAsInteger(10, value.integer)) {
      pos = start;
      return fail("an integer that fits in 64 bits");
    }
    if (pos < text.size() && (text[pos] == 'L' || text[pos] == 'l'))
      ++pos; // Python 2 long suffix, as in shapes written by old numpy.
    return value;
  }

  std::optional<PyValue> parseSequence(unsigned depth) {
    char open = text[pos++];
    char close = open == '(' ? ')' : ']';
    PyValue value;
    value.kind = open == '(' ? PyValue::Kind::Tuple : PyValue::Kind::List;
    if (consume(close))
      return value;
    while (true) {
      std::optional<PyValue> item = parseValue(depth + 1);
      if (!item)
        return std::nullopt;
      value.items.push_back(std::move(*item));
      if (consume(close))
        return value;
      if (!consume(','))
        return fail(llvm::formatv("',' or '{0}'", close).str());
      if (consume(close))
        return value;
    }
  }

  std::optional<PyValue> parseDict(unsigned depth) {
    ++pos; // '{'
    PyValue value;
    value.kind = PyValue::Kind::Dict;
    if (consume('}'))
      return value;
    while (true) {
      skipSpace();
      if (pos >= text.size() || (text[pos] != '\'' && text[pos] != '"'))
        return fail("a string key");
      std::optional<PyValue> key = parseString();
      if (!key)
        return std::nullopt;
      if (llvm::is_contained(value.keys, key->string))
        return failWith("duplicate key '" + key->string + "'");
      if (!consume(':'))
        return fail("':' after key '" + key->string + "'");
      std::optional<PyValue> item = parseValue(depth + 1);
      if (!item)
        return std::nullopt;
      value.keys.push_back(std::move(key->string));
      value.items.push_back(std::move(*item));
      if (consume('}'))
        return value;
      if (!consume(','))
        return fail("',' or '}'");
      if (consume('}'))
        return value;
    }
  }

  StringRef text;
  size_t pos = 0;
  std::string errorMessage;
};

/// Returns the value of `key` in the dict `dict`, or nullptr.
const PyValue *findKey(const PyValue &dict, StringRef key) {
  for (size_t i = 0; i < dict.keys.size(); ++i)
    if (dict.keys[i] == key)
      return &dict.items[i];
  return nullptr;
}

/// Renders the .npy header dict exactly as numpy.lib.format does, including
/// the spare spaces for in-place growth of the first dimension.
std::string buildHeaderDict(StringRef descr, llvm::ArrayRef<int64_t> shape) {
  std::string header =
      llvm::formatv("{{'descr': '{0}', 'fortran_order': False, 'shape': {1}, }",
                    descr, formatPythonTuple(shape))
          .str();
  if (!shape.empty()) {
    size_t digits = std::to_string(shape.front()).size();
    if (digits < kGrowthAxisMaxDigits)
      header.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  return header;
}

} // namespace

int64_t NpyArray::numElements() const {
  return checkedNumElements(shape).value_or(-1);
}

std::optional<StringRef> npyDescr(DType dtype) {
  switch (dtype) {
  case DType::F64:
    return StringRef("<f8");
  case DType::F32:
    return StringRef("<f4");
  case DType::F16:
    return StringRef("<f2");
  case DType::BF16:
    return std::nullopt;
  case DType::I64:
    return StringRef("<i8");
  case DType::I32:
    return StringRef("<i4");
  case DType::I16:
    return StringRef("<i2");
  case DType::I8:
    return StringRef("|i1");
  case DType::U8:
    return StringRef("|u1");
  case DType::Bool:
    return StringRef("|b1");
  }
  llvm_unreachable("unknown DType");
}

std::optional<DType> parseNpyDescr(StringRef descr) {
  // One-byte types have no byte order; numpy writes '|', but accept any
  // prefix (or none).
  StringRef single = descr;
  if (!single.empty() && StringRef("|<>=").contains(single.front()))
    single = single.drop_front();
  std::optional<DType> oneByte =
      llvm::StringSwitch<std::optional<DType>>(single)
          .Case("i1", DType::I8)
          .Case("u1", DType::U8)
          .Case("b1", DType::Bool)
          .Default(std::nullopt);
  if (oneByte)
    return oneByte;
  return llvm::StringSwitch<std::optional<DType>>(descr)
      .Case("<f8", DType::F64)
      .Case("<f4", DType::F32)
      .Case("<f2", DType::F16)
      .Case("<i8", DType::I64)
      .Case("<i4", DType::I32)
      .Case("<i2", DType::I16)
      .Default(std::nullopt);
}

Expected<NpyArray> readNpy(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bufferOrErr =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    return fileError(path, "cannot open: " + bufferOrErr.getError().message());
  StringRef contents = (*bufferOrErr)->getBuffer();

  StringRef prefix = contents.take_front(kMagic.size());
  if (prefix != kMagic &&
      !(prefix.size() < kMagic.size() && kMagic.starts_with(prefix))) {
    std::string found;
    llvm::raw_string_ostream os(found);
    llvm::printEscapedString(prefix, os);
    return fileError(path, "not a .npy file: bad magic (expected "
                           "\"\\93NUMPY\", found \"" +
                               found + "\")");
  }
  if (contents.size() < kMagic.size() + 2)
    return fileError(path, llvm::formatv("truncated .npy file: {0} bytes, "
                                         "too short for the magic and version",
                                         contents.size()));
  unsigned major = static_cast<uint8_t>(contents[6]);
  unsigned minor = static_cast<uint8_t>(contents[7]);
  if (minor != 0 || major < 1 || major > 3)
    return fileError(path, llvm::formatv("unsupported .npy format version "
                                         "{0}.{1} (supported: 1.0, 2.0, 3.0)",
                                         major, minor));
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t headerStart = kMagic.size() + 2 + lengthSize;
  if (contents.size() < headerStart)
    return fileError(path, llvm::formatv("truncated .npy file: {0} bytes, "
                                         "too short for the header length",
                                         contents.size()));
  uint64_t headerLength =
      major == 1 ? llvm::support::endian::read16le(contents.data() + 8)
                 : llvm::support::endian::read32le(contents.data() + 8);
  if (headerLength > contents.size() - headerStart)
    return fileError(path, llvm::formatv("truncated .npy file: header length "
                                         "{0} exceeds the {1} bytes after the "
                                         "length field",
                                         headerLength,
                                         contents.size() - headerStart));
  StringRef header = contents.substr(headerStart, headerLength);
  StringRef data = contents.substr(headerStart + headerLength);

  auto headerError = [&](const llvm::Twine &message) {
    constexpr size_t kMaxShown = 160;
    StringRef shown = header.rtrim();
    return fileError(
        path, "malformed .npy header \"" + shown.take_front(kMaxShown) +
                  (shown.size() > kMaxShown ? "..." : "") + "\": " + message);
  };
  PyLiteralParser parser(header);
  std::optional<PyValue> dict = parser.parseAll();
  if (!dict)
    return headerError(parser.error());
  if (dict->kind != PyValue::Kind::Dict)
    return headerError("expected a dict, found " + pyKindName(*dict));
  for (const std::string &key : dict->keys)
    if (key != "descr" && key != "fortran_order" && key != "shape")
      return headerError("unexpected key '" + key +
                         "' (expected 'descr', 'fortran_order', 'shape')");

  NpyArray array;
  // descr.
  const PyValue *descr = findKey(*dict, "descr");
  if (!descr)
    return headerError("missing key 'descr'");
  if (descr->kind != PyValue::Kind::String)
    return fileError(path, "unsupported descr: " + pyKindName(*descr) +
                               " (structured dtypes are not supported)");
  std::optional<DType> dtype = parseNpyDescr(descr->string);
  if (!dtype) {
    StringRef text = descr->string;
    bool bigEndian = text.starts_with(">") && !text.ends_with("1");
    return fileError(path,
                     llvm::formatv("unsupported {0}descr '{1}' (supported: "
                                   "'<f8', '<f4', '<f2', '<i8', '<i4', '<i2', "
                                   "'|i1', '|u1', '|b1')",
                                   bigEndian ? "big-endian " : "", text));
  }
  array.dtype = *dtype;

  // shape.
  const PyValue *shape = findKey(*dict, "shape");
  if (!shape)
    return headerError("missing key 'shape'");
  if (shape->kind != PyValue::Kind::Tuple && shape->kind != PyValue::Kind::List)
    return headerError("'shape' must be a tuple, found " + pyKindName(*shape));
  for (size_t i = 0; i < shape->items.size(); ++i) {
    const PyValue &dim = shape->items[i];
    if (dim.kind != PyValue::Kind::Int)
      return headerError(llvm::formatv("'shape'[{0}] must be an int, found "
                                       "{1}",
                                       i, pyKindName(dim)));
    if (dim.integer < 0)
      return headerError(llvm::formatv("negative dimension {0} at "
                                       "'shape'[{1}]",
                                       dim.integer, i));
    array.shape.push_back(dim.integer);
  }

  // fortran_order. Arrays with at most one dimension have the same layout in
  // both orders, so only reject Fortran order where it matters.
  const PyValue *fortranOrder = findKey(*dict, "fortran_order");
  if (!fortranOrder)
    return headerError("missing key 'fortran_order'");
  if (fortranOrder->kind != PyValue::Kind::Bool)
    return headerError("'fortran_order' must be True or False, found " +
                       pyKindName(*fortranOrder));
  if (fortranOrder->boolean && array.shape.size() > 1)
    return fileError(path, llvm::formatv("fortran_order True is not supported "
                                         "(shape {0}); save a C-contiguous "
                                         "array instead",
                                         formatPythonTuple(array.shape)));

  std::optional<int64_t> expectedBytes =
      checkedByteSize(array.shape, array.dtype);
  if (!expectedBytes)
    return fileError(path, llvm::formatv("shape {0} of '{1}' is too large "
                                         "(byte size overflows 64 bits)",
                                         formatPythonTuple(array.shape),
                                         descr->string));
  if (static_cast<uint64_t>(*expectedBytes) != data.size())
    return fileError(
        path,
        llvm::formatv("shape {0} of '{1}' needs {2} data bytes, but the file "
                      "has {3}{4}",
                      formatPythonTuple(array.shape), descr->string,
                      *expectedBytes, data.size(),
                      static_cast<uint64_t>(*expectedBytes) > data.size()
                          ? " (truncated)"
                          : " (trailing bytes)"));
  array.data.assign(data.bytes_begin(), data.bytes_end());
  return array;
}

Error writeNpy(StringRef path, const NpyArray &array) {
  std::optional<StringRef> descr = npyDescr(array.dtype);
  if (!descr)
    return fileError(path, llvm::formatv("dtype {0} has no .npy descr",
                                         safetensorsName(array.dtype)));
  std::optional<int64_t> expectedBytes =
      checkedByteSize(array.shape, array.dtype);
  if (!expectedBytes)
    return fileError(path, llvm::formatv("invalid shape {0} (negative "
                                         "dimension or byte size overflow)",
                                         formatPythonTuple(array.shape)));
  if (static_cast<uint64_t>(*expectedBytes) != array.data.size())
    return fileError(path, llvm::formatv("shape {0} of '{1}' needs {2} data "
                                         "bytes, but the array has {3}",
                                         formatPythonTuple(array.shape), *descr,
                                         *expectedBytes, array.data.size()));

  // As numpy.lib.format._wrap_header: pad with spaces and a final '\n' so
  // that the data starts at a multiple of 64 bytes; fall back to version 2.0
  // (u32 length) if the header does not fit in a u16.
  std::string header = buildHeaderDict(*descr, array.shape);
  unsigned major = 1;
  size_t lengthSize = 2;
  auto padHeader = [&](size_t prefixSize) {
    size_t unpadded = header.size() + 1;
    return kArrayAlign - (prefixSize + unpadded) % kArrayAlign;
  };
  size_t padding = padHeader(kMagic.size() + 2 + lengthSize);
  if (header.size() + 1 + padding > UINT16_MAX) {
    major = 2;
    lengthSize = 4;
    padding = padHeader(kMagic.size() + 2 + lengthSize);
  }
  header.append(padding, ' ');
  header.push_back('\n');
  if (header.size() > UINT32_MAX)
    return fileError(path, llvm::formatv("header of {0} bytes is too long for "
                                         "the .npy format ({1} dimensions)",
                                         header.size(), array.shape.size()));

  Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%%%");
  if (!temp)
    return fileError(path, "cannot create a temporary file: " +
                               llvm::toString(temp.takeError()));
  std::error_code writeError;
  {
    llvm::raw_fd_ostream out(temp->FD, /*shouldClose=*/false);
    out << kMagic;
    out << static_cast<char>(major) << '\0';
    char length[4];
    if (major == 1)
      llvm::support::endian::write16le(length,
                                       static_cast<uint16_t>(header.size()));
    else
      llvm::support::endian::write32le(length,
                                       static_cast<uint32_t>(header.size()));
    out.write(length, lengthSize);
    out << header;
    out.write(reinterpret_cast<const char *>(array.data.data()),
              array.data.size());
    out.flush();
    writeError = out.error();
    out.clear_error();
  }
  std::string tempName = temp->TmpName;
  if (writeError) {
    llvm::consumeError(temp->discard());
    return fileError(path, "cannot write temporary file '" + tempName +
                               "': " + writeError.message());
  }
  if (Error err = temp->keep(path))
    return fileError(path,
                     "cannot rename temporary file '" + tempName +
                         "' into place: " + llvm::toString(std::move(err)));
  return Error::success();
}

} // namespace nibble

//===- SafeTensors.cpp - Reading and writing safetensors files ------------===//
//
// Header validation, the writer's layout, and dtype conversion to float32.
// See SafeTensors.h for the format.
//
//===----------------------------------------------------------------------===//

#include "support/SafeTensors.h"

#include "support/JsonDepth.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <tuple>

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace nibble {

namespace {

/// Name of the reserved header entry that holds string metadata.
constexpr StringRef kMetadataKey = "__metadata__";

/// Size of the little-endian u64 header length that starts every file.
constexpr uint64_t kHeaderLengthSize = 8;

/// Returns an error whose message is "<path>: <message>".
Error fileError(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 (path + ": " + message).str());
}

/// Returns the JSON kind of `value` as a word for error messages.
StringRef jsonKindName(const llvm::json::Value &value) {
  switch (value.kind()) {
  case llvm::json::Value::Null:
    return "null";
  case llvm::json::Value::Boolean:
    return "boolean";
  case llvm::json::Value::Number:
    return "number";
  case llvm::json::Value::String:
    return "string";
  case llvm::json::Value::Array:
    return "array";
  case llvm::json::Value::Object:
    return "object";
  }
  llvm_unreachable("unknown JSON kind");
}

/// Prints `value` compactly for error messages, truncated to a few dozen
/// characters.
std::string jsonSnippet(const llvm::json::Value &value) {
  std::string text = llvm::formatv("{0}", value).str();
  constexpr size_t kMaxLength = 40;
  if (text.size() > kMaxLength)
    text = text.substr(0, kMaxLength) + "...";
  return text;
}

/// The deepest JSON nesting a header may have. A safetensors header needs 3
/// (the root object, a tensor's entry, its shape or offsets array);
/// llvm::json::parse recurses once per level, so hostile nesting must be
/// refused before it runs.
constexpr int kMaxHeaderNesting = 64;

/// Finds the first key that occurs twice in one object of `text`, which must
/// be valid JSON. llvm::json::parse silently keeps one of two equal keys, so
/// a header naming a tensor twice has to be caught on the raw text. On a
/// duplicate, returns a description such as "duplicate tensor name 'w'".
std::optional<std::string> findDuplicateKey(StringRef text) {
  struct Frame {
    bool isObject;
    /// The key under which this container sits in its parent object.
    std::string parentKey;
    llvm::StringSet<> keys;
    std::string lastKey;
  };
  llvm::SmallVector<Frame, 4> frames;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' || c == '[') {
      std::string parentKey;
      if (!frames.empty() && frames.back().isObject)
        parentKey = frames.back().lastKey;
      frames.push_back(Frame{c == '{', std::move(parentKey), {}, {}});
      continue;
    }
    if (c == '}' || c == ']') {
      if (!frames.empty())
        frames.pop_back();
      continue;
    }
    if (c != '"')
      continue;
    // A string literal: find its closing quote, skipping escapes.
    size_t end = i + 1;
    bool hasEscape = false;
    while (end < text.size() && text[end] != '"') {
      if (text[end] == '\\') {
        hasEscape = true;
        ++end;
      }
      ++end;
    }
    StringRef literal = text.slice(i, end + 1);
    i = end;
    size_t next = text.find_first_not_of(" \t\r\n", end + 1);
    bool isKey = next != StringRef::npos && text[next] == ':';
    if (!isKey || frames.empty() || !frames.back().isObject)
      continue;
    std::string key = literal.drop_front().drop_back().str();
    if (hasEscape) {
      Expected<llvm::json::Value> decoded = llvm::json::parse(literal);
      if (!decoded) {
        llvm::consumeError(decoded.takeError());
        continue;
      }
      if (std::optional<StringRef> str = decoded->getAsString())
        key = str->str();
    }
    Frame &frame = frames.back();
    if (!frame.keys.insert(key).second) {
      if (frames.size() == 1)
        return key == kMetadataKey
                   ? std::string("duplicate '__metadata__' entry")
                   : "duplicate tensor name '" + key + "'";
      if (frames.size() == 2)
        return "duplicate key '" + key + "' in the entry for '" +
               frame.parentKey + "'";
      return "duplicate key '" + key + "'";
    }
    frame.lastKey = std::move(key);
  }
  return std::nullopt;
}

/// Reads the non-negative integer `value` (element `index` of the array
/// `field` of tensor `tensorName`) or reports what was found instead.
Expected<int64_t> readNonNegativeInteger(StringRef path, StringRef tensorName,
                                         StringRef field, size_t index,
                                         const llvm::json::Value &value) {
  std::optional<int64_t> integer = value.getAsInteger();
  if (!integer)
    return fileError(path,
                     llvm::formatv("tensor '{0}': '{1}'[{2}] must be a "
                                   "non-negative 64-bit integer, found "
                                   "{3} {4}",
                                   tensorName, field, index,
                                   jsonKindName(value), jsonSnippet(value)));
  if (*integer < 0)
    return fileError(path, llvm::formatv("tensor '{0}': '{1}'[{2}] must be "
                                         "non-negative, found {3}",
                                         tensorName, field, index, *integer));
  return *integer;
}

/// Looks up field `field` of the entry of tensor `tensorName`, which must be
/// a JSON value of kind `kind`.
Expected<const llvm::json::Value *>
getField(StringRef path, StringRef tensorName, const llvm::json::Object &entry,
         StringRef field, llvm::json::Value::Kind kind, StringRef kindName) {
  const llvm::json::Value *value = entry.get(field);
  if (!value)
    return fileError(path, llvm::formatv("tensor '{0}': missing '{1}' (every "
                                         "tensor needs 'dtype', 'shape' and "
                                         "'data_offsets')",
                                         tensorName, field));
  if (value->kind() != kind)
    return fileError(path,
                     llvm::formatv("tensor '{0}': '{1}' must be {2}, found {3} "
                                   "{4}",
                                   tensorName, field, kindName,
                                   jsonKindName(*value), jsonSnippet(*value)));
  return value;
}

/// A validated header entry; the byte range is relative to the data section.
struct ParsedTensor {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;
  int64_t begin;
  int64_t end;
};

/// Validates the header entry of tensor `name` against a data section of
/// `dataSize` bytes.
Expected<ParsedTensor> parseTensorEntry(StringRef path, StringRef name,
                                        const llvm::json::Value &value,
                                        uint64_t dataSize) {
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return fileError(path, llvm::formatv("tensor '{0}': entry must be a JSON "
                                         "object, found {1} {2}",
                                         name, jsonKindName(value),
                                         jsonSnippet(value)));
  ParsedTensor tensor;
  tensor.name = name.str();

  // dtype.
  Expected<const llvm::json::Value *> dtypeValue = getField(
      path, name, *entry, "dtype", llvm::json::Value::String, "a string");
  if (!dtypeValue)
    return dtypeValue.takeError();
  StringRef dtypeName = *(*dtypeValue)->getAsString();
  std::optional<DType> dtype = parseSafetensorsDType(dtypeName);
  if (!dtype)
    return fileError(path, llvm::formatv("tensor '{0}': unsupported dtype "
                                         "'{1}' (supported: {2})",
                                         name, dtypeName,
                                         supportedSafetensorsDTypes()));
  tensor.dtype = *dtype;

  // shape.
  Expected<const llvm::json::Value *> shapeValue = getField(
      path, name, *entry, "shape", llvm::json::Value::Array, "an array");
  if (!shapeValue)
    return shapeValue.takeError();
  const llvm::json::Array &shape = *(*shapeValue)->getAsArray();
  for (size_t i = 0; i < shape.size(); ++i) {
    std::optional<int64_t> dim = shape[i].getAsInteger();
    if (!dim)
      return fileError(path, llvm::formatv("tensor '{0}': 'shape'[{1}] must "
                                           "be an integer, found {2} {3}",
                                           name, i, jsonKindName(shape[i]),
                                           jsonSnippet(shape[i])));
    if (*dim < 0)
      return fileError(path, llvm::formatv("tensor '{0}': negative dimension "
                                           "{1} at 'shape'[{2}]",
                                           name, *dim, i));
    tensor.shape.push_back(*dim);
  }

  // data_offsets.
  Expected<const llvm::json::Value *> offsetsValue =
      getField(path, name, *entry, "data_offsets", llvm::json::Value::Array,
               "an array [begin, end]");
  if (!offsetsValue)
    return offsetsValue.takeError();
  const llvm::json::Array &offsets = *(*offsetsValue)->getAsArray();
  if (offsets.size() != 2)
    return fileError(path, llvm::formatv("tensor '{0}': 'data_offsets' must "
                                         "have 2 elements [begin, end], "
                                         "found {1}",
                                         name, offsets.size()));
  Expected<int64_t> begin =
      readNonNegativeInteger(path, name, "data_offsets", 0, offsets[0]);
  if (!begin)
    return begin.takeError();
  Expected<int64_t> end =
      readNonNegativeInteger(path, name, "data_offsets", 1, offsets[1]);
  if (!end)
    return end.takeError();
  tensor.begin = *begin;
  tensor.end = *end;
  if (tensor.begin > tensor.end)
    return fileError(path, llvm::formatv("tensor '{0}': data_offsets begin "
                                         "{1} is greater than end {2}",
                                         name, tensor.begin, tensor.end));
  if (static_cast<uint64_t>(tensor.end) > dataSize)
    return fileError(path,
                     llvm::formatv("tensor '{0}': data_offsets [{1}, "
                                   "{2}] extend past the end of the "
                                   "data section ({3} bytes)",
                                   name, tensor.begin, tensor.end, dataSize));

  std::optional<int64_t> expectedBytes =
      checkedByteSize(tensor.shape, tensor.dtype);
  if (!expectedBytes)
    return fileError(path,
                     llvm::formatv("tensor '{0}': shape {1} of {2} is "
                                   "too large (byte size overflows 64 "
                                   "bits)",
                                   name, formatShape(tensor.shape), dtypeName));
  int64_t actualBytes = tensor.end - tensor.begin;
  if (*expectedBytes != actualBytes)
    return fileError(
        path,
        llvm::formatv("tensor '{0}': shape {1} of {2} needs {3} bytes, "
                      "but data_offsets [{4}, {5}] span {6} bytes",
                      name, formatShape(tensor.shape), dtypeName,
                      *expectedBytes, tensor.begin, tensor.end, actualBytes));
  return tensor;
}

/// Reads the "__metadata__" entry into `metadata`.
Error parseMetadata(StringRef path, const llvm::json::Value &value,
                    std::map<std::string, std::string> &metadata) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return fileError(path,
                     llvm::formatv("'__metadata__' must be a JSON "
                                   "object of strings, found {0} {1}",
                                   jsonKindName(value), jsonSnippet(value)));
  for (const auto &[key, entry] : *object) {
    std::optional<StringRef> str = entry.getAsString();
    if (!str)
      return fileError(path, llvm::formatv("'__metadata__' value of '{0}' "
                                           "must be a string, found {1} {2}",
                                           StringRef(key), jsonKindName(entry),
                                           jsonSnippet(entry)));
    metadata[key.str()] = str->str();
  }
  return Error::success();
}

/// Converts IEEE binary16 bits to float (exact).
float halfBitsToFloat(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    // Zero or subnormal: mantissa × 2^-24, exact in float.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1f)
    bits = sign | 0x7f800000u | (mantissa << 13); // Inf or NaN.
  else
    bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
  return llvm::bit_cast<float>(bits);
}

/// Converts bfloat16 bits to float (exact: bfloat16 is the top half).
float bfloat16BitsToFloat(uint16_t bits) {
  return llvm::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

/// Returns whether the integer `value` is exactly representable as float:
/// its magnitude must have at most 24 significant bits.
bool isExactInFloat(int64_t value) {
  uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value)
                                 : static_cast<uint64_t>(value);
  if (magnitude == 0)
    return true;
  return (magnitude >> llvm::countr_zero(magnitude)) < (uint64_t(1) << 24);
}

} // namespace

//===----------------------------------------------------------------------===//
// TensorView
//===----------------------------------------------------------------------===//

int64_t TensorView::numElements() const {
  return checkedNumElements(shape).value_or(-1);
}

//===----------------------------------------------------------------------===//
// SafeTensorsFile
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<SafeTensorsFile>>
SafeTensorsFile::open(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bufferOrErr =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!bufferOrErr)
    return fileError(path, "cannot open: " + bufferOrErr.getError().message());
  std::unique_ptr<SafeTensorsFile> file(new SafeTensorsFile());
  file->filePath = path.str();
  file->buffer = std::move(*bufferOrErr);
  StringRef contents = file->buffer->getBuffer();

  if (contents.size() < kHeaderLengthSize)
    return fileError(path, llvm::formatv("truncated safetensors file: {0} "
                                         "bytes, expected at least {1} (the "
                                         "header length)",
                                         contents.size(), kHeaderLengthSize));
  uint64_t headerLength = llvm::support::endian::read64le(contents.data());
  uint64_t available = contents.size() - kHeaderLengthSize;
  if (headerLength > available)
    return fileError(path,
                     llvm::formatv("header length {0} exceeds the {1} "
                                   "bytes that follow the 8-byte "
                                   "length prefix (file is {2} bytes)",
                                   headerLength, available, contents.size()));
  StringRef headerText = contents.substr(kHeaderLengthSize, headerLength);
  StringRef data = contents.substr(kHeaderLengthSize + headerLength);

  if (jsonNestsDeeperThan(headerText, kMaxHeaderNesting))
    return fileError(path, llvm::formatv("header nests JSON arrays or objects "
                                         "more than {0} levels deep",
                                         kMaxHeaderNesting));
  Expected<llvm::json::Value> header = llvm::json::parse(headerText);
  if (!header)
    return fileError(path, "header is not valid JSON: " +
                               llvm::toString(header.takeError()));
  const llvm::json::Object *root = header->getAsObject();
  if (!root)
    return fileError(path, llvm::formatv("header must be a JSON object, "
                                         "found {0} {1}",
                                         jsonKindName(*header),
                                         jsonSnippet(*header)));
  if (std::optional<std::string> duplicate = findDuplicateKey(headerText))
    return fileError(path, "header has a " + *duplicate);

  // Visit entries in name order so that the first error reported does not
  // depend on the hash order of the JSON object.
  std::vector<StringRef> names;
  names.reserve(root->size());
  for (const auto &entry : *root)
    names.push_back(entry.first);
  llvm::sort(names);

  std::vector<ParsedTensor> parsed;
  parsed.reserve(names.size());
  for (StringRef name : names) {
    const llvm::json::Value &value = *root->get(name);
    if (name == kMetadataKey) {
      if (Error err = parseMetadata(path, value, file->metadataMap))
        return err;
      continue;
    }
    Expected<ParsedTensor> tensor =
        parseTensorEntry(path, name, value, data.size());
    if (!tensor)
      return tensor.takeError();
    parsed.push_back(std::move(*tensor));
  }

  llvm::sort(parsed, [](const ParsedTensor &a, const ParsedTensor &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  // Empty tensors occupy no bytes and overlap nothing; among the others, each
  // must start at or after the furthest end seen so far.
  const ParsedTensor *furthest = nullptr;
  for (const ParsedTensor &tensor : parsed) {
    if (tensor.begin == tensor.end)
      continue;
    if (furthest && tensor.begin < furthest->end)
      return fileError(path, llvm::formatv("tensors '{0}' (bytes [{1}, {2})) "
                                           "and '{3}' (bytes [{4}, {5})) "
                                           "overlap",
                                           furthest->name, furthest->begin,
                                           furthest->end, tensor.name,
                                           tensor.begin, tensor.end));
    if (!furthest || tensor.end > furthest->end)
      furthest = &tensor;
  }

  const uint8_t *dataStart = reinterpret_cast<const uint8_t *>(data.data());
  file->tensorList.reserve(parsed.size());
  for (ParsedTensor &tensor : parsed) {
    TensorView view;
    view.name = std::move(tensor.name);
    view.dtype = tensor.dtype;
    view.shape = std::move(tensor.shape);
    view.bytes = llvm::ArrayRef<uint8_t>(dataStart + tensor.begin,
                                         tensor.end - tensor.begin);
    file->indexByName[view.name] = file->tensorList.size();
    file->tensorList.push_back(std::move(view));
  }
  return file;
}

const TensorView *SafeTensorsFile::lookup(StringRef name) const {
  auto it = indexByName.find(name);
  if (it == indexByName.end())
    return nullptr;
  return &tensorList[it->second];
}

Expected<const TensorView *> SafeTensorsFile::get(StringRef name) const {
  if (const TensorView *tensor = lookup(name))
    return tensor;
  std::string message =
      llvm::formatv("tensor '{0}' not found (the file has {1} tensor{2})", name,
                    tensorList.size(), tensorList.size() == 1 ? "" : "s")
          .str();
  // Suggest the closest name when it is plausibly a typo.
  const TensorView *best = nullptr;
  unsigned bestDistance = 0;
  for (const TensorView &tensor : tensorList) {
    unsigned distance = StringRef(tensor.name)
                            .edit_distance(name, /*AllowReplacements=*/true,
                                           /*MaxEditDistance=*/bestDistance);
    if (!best || distance < bestDistance) {
      best = &tensor;
      bestDistance = distance;
    }
  }
  if (best && bestDistance <= std::max<size_t>(2, name.size() / 4))
    message += "; did you mean '" + best->name + "'?";
  return fileError(filePath, message);
}

//===----------------------------------------------------------------------===//
// SafeTensorsWriter
//===----------------------------------------------------------------------===//

Error SafeTensorsWriter::addTensor(StringRef name, DType dtype,
                                   llvm::ArrayRef<int64_t> shape,
                                   llvm::ArrayRef<uint8_t> bytes) {
  return add(name, dtype, shape, bytes, /*copy=*/true);
}

Error SafeTensorsWriter::addBorrowedTensor(StringRef name, DType dtype,
                                           llvm::ArrayRef<int64_t> shape,
                                           llvm::ArrayRef<uint8_t> bytes) {
  return add(name, dtype, shape, bytes, /*copy=*/false);
}

Error SafeTensorsWriter::addGeneratedTensor(StringRef name, DType dtype,
                                            llvm::ArrayRef<int64_t> shape,
                                            TensorGenerator generate) {
  if (!generate)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        ("tensor '" + name + "': no generator").str());
  return add(name, dtype, shape, {}, /*copy=*/false, std::move(generate));
}

Error SafeTensorsWriter::add(StringRef name, DType dtype,
                             llvm::ArrayRef<int64_t> shape,
                             llvm::ArrayRef<uint8_t> bytes, bool copy,
                             TensorGenerator generator) {
  auto error = [&](const llvm::Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   ("tensor '" + name + "': " + message).str());
  };
  if (name == kMetadataKey)
    return error("the name '__metadata__' is reserved for metadata");
  if (!llvm::json::isUTF8(name))
    return error("name is not valid UTF-8");
  if (indexByName.count(name))
    return error("duplicate tensor name");
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] < 0)
      return error(
          llvm::formatv("negative dimension {0} at shape[{1}]", shape[i], i));
  std::optional<int64_t> expectedBytes = checkedByteSize(shape, dtype);
  if (!expectedBytes)
    return error(llvm::formatv("shape {0} of {1} is too large (byte size "
                               "overflows 64 bits)",
                               formatShape(shape), safetensorsName(dtype)));
  if (!generator && static_cast<uint64_t>(*expectedBytes) != bytes.size())
    return error(llvm::formatv("shape {0} of {1} needs {2} bytes, got {3}",
                               formatShape(shape), safetensorsName(dtype),
                               *expectedBytes, bytes.size()));
  indexByName[name] = pending.size();
  PendingTensor &tensor = pending.emplace_back();
  tensor.name = name.str();
  tensor.dtype = dtype;
  tensor.shape.assign(shape.begin(), shape.end());
  tensor.byteSize = static_cast<uint64_t>(*expectedBytes);
  if (generator) {
    tensor.generator = std::move(generator);
    return Error::success();
  }
  tensor.isBorrowed = !copy;
  if (copy)
    tensor.owned.assign(bytes.begin(), bytes.end());
  else
    tensor.borrowed = bytes;
  return Error::success();
}

void SafeTensorsWriter::setMetadata(StringRef key, StringRef value) {
  auto fixed = [](StringRef text) {
    return llvm::json::isUTF8(text) ? text.str() : llvm::json::fixUTF8(text);
  };
  metadataMap[fixed(key)] = fixed(value);
}

Error SafeTensorsWriter::write(StringRef path) const {
  // Largest elements first, then by name: back to back, every tensor is then
  // aligned to its element size relative to the 8-byte aligned data section.
  std::vector<const PendingTensor *> order;
  order.reserve(pending.size());
  for (const PendingTensor &tensor : pending)
    order.push_back(&tensor);
  llvm::sort(order, [](const PendingTensor *a, const PendingTensor *b) {
    size_t sizeA = dtypeByteSize(a->dtype), sizeB = dtypeByteSize(b->dtype);
    if (sizeA != sizeB)
      return sizeA > sizeB;
    return a->name < b->name;
  });

  std::string header;
  {
    llvm::raw_string_ostream headerStream(header);
    llvm::json::OStream json(headerStream);
    json.object([&] {
      if (!metadataMap.empty())
        json.attributeObject(kMetadataKey, [&] {
          for (const auto &[key, value] : metadataMap)
            json.attribute(key, value);
        });
      uint64_t offset = 0;
      for (const PendingTensor *tensor : order) {
        json.attributeObject(tensor->name, [&] {
          json.attribute("dtype", safetensorsName(tensor->dtype));
          json.attributeArray("shape", [&] {
            for (int64_t dim : tensor->shape)
              json.value(dim);
          });
          json.attributeArray("data_offsets", [&] {
            json.value(offset);
            json.value(offset + tensor->byteSize);
          });
        });
        offset += tensor->byteSize;
      }
    });
  }
  header.append((8 - header.size() % 8) % 8, ' ');

  Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%%%");
  if (!temp)
    return fileError(path, "cannot create a temporary file: " +
                               llvm::toString(temp.takeError()));
  std::error_code writeError;
  // Why a generated tensor failed ("" = none).
  std::string generatorFailure;
  {
    llvm::raw_fd_ostream out(temp->FD, /*shouldClose=*/false);
    char lengthBytes[kHeaderLengthSize];
    llvm::support::endian::write64le(lengthBytes, header.size());
    out.write(lengthBytes, sizeof(lengthBytes));
    out << header;
    for (const PendingTensor *tensor : order) {
      if (!tensor->generator) {
        out.write(reinterpret_cast<const char *>(tensor->bytes().data()),
                  tensor->bytes().size());
        continue;
      }
      uint64_t emitted = 0;
      auto emit = [&](llvm::ArrayRef<uint8_t> piece) {
        // Past the declared size the file's layout would break: count, but
        // stop writing.
        if (emitted + piece.size() <= tensor->byteSize)
          out.write(reinterpret_cast<const char *>(piece.data()), piece.size());
        emitted += piece.size();
      };
      if (Error err = tensor->generator(emit)) {
        generatorFailure =
            "tensor '" + tensor->name + "': " + llvm::toString(std::move(err));
        break;
      }
      if (emitted != tensor->byteSize) {
        generatorFailure =
            llvm::formatv("tensor '{0}': the generator "
                          "produced {1} bytes, expected {2}",
                          tensor->name, emitted, tensor->byteSize);
        break;
      }
    }
    out.flush();
    writeError = out.error();
    out.clear_error();
  }
  if (!generatorFailure.empty() || writeError) {
    std::string tempName = temp->TmpName;
    Error discardError = temp->discard();
    llvm::consumeError(std::move(discardError));
    if (!generatorFailure.empty())
      return fileError(path, generatorFailure);
    return fileError(path, "cannot write temporary file '" + tempName +
                               "': " + writeError.message());
  }
  std::string tempName = temp->TmpName;
  if (Error err = temp->keep(path))
    return fileError(path,
                     "cannot rename temporary file '" + tempName +
                         "' into place: " + llvm::toString(std::move(err)));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// readAsFloat32
//===----------------------------------------------------------------------===//

Expected<std::vector<float>> readAsFloat32(const TensorView &tensor) {
  auto error = [&](const llvm::Twine &message) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        ("tensor '" + tensor.name + "': " + message).str());
  };
  StringRef dtypeName = safetensorsName(tensor.dtype);
  std::optional<int64_t> expectedBytes =
      checkedByteSize(tensor.shape, tensor.dtype);
  if (!expectedBytes)
    return error(llvm::formatv("invalid shape {0} for {1}",
                               formatShape(tensor.shape), dtypeName));
  if (static_cast<uint64_t>(*expectedBytes) != tensor.bytes.size())
    return error(llvm::formatv("shape {0} of {1} needs {2} bytes, but the "
                               "view has {3}",
                               formatShape(tensor.shape), dtypeName,
                               *expectedBytes, tensor.bytes.size()));

  size_t count = static_cast<size_t>(tensor.numElements());
  const uint8_t *bytes = tensor.bytes.data();
  std::vector<float> values(count);
  namespace endian = llvm::support::endian;
  // Checks that integer element `i` converts exactly and stores it.
  auto storeInteger = [&](size_t i, int64_t value) -> Error {
    if (!isExactInFloat(value))
      return error(llvm::formatv("{0} value {1} at element {2} is not exactly "
                                 "representable as float32",
                                 dtypeName, value, i));
    values[i] = static_cast<float>(value);
    return Error::success();
  };
  switch (tensor.dtype) {
  case DType::F32:
    for (size_t i = 0; i < count; ++i)
      values[i] = llvm::bit_cast<float>(endian::read32le(bytes + 4 * i));
    return values;
  case DType::F16:
    for (size_t i = 0; i < count; ++i)
      values[i] = halfBitsToFloat(endian::read16le(bytes + 2 * i));
    return values;
  case DType::BF16:
    for (size_t i = 0; i < count; ++i)
      values[i] = bfloat16BitsToFloat(endian::read16le(bytes + 2 * i));
    return values;
  case DType::F64:
    for (size_t i = 0; i < count; ++i) {
      double value = llvm::bit_cast<double>(endian::read64le(bytes + 8 * i));
      if (std::isfinite(value) && std::fabs(value) > FLT_MAX)
        return error(llvm::formatv("F64 value {0} at element {1} is outside "
                                   "the float32 range",
                                   value, i));
      values[i] = static_cast<float>(value);
    }
    return values;
  case DType::I64:
    for (size_t i = 0; i < count; ++i)
      if (Error err = storeInteger(
              i, static_cast<int64_t>(endian::read64le(bytes + 8 * i))))
        return err;
    return values;
  case DType::I32:
    for (size_t i = 0; i < count; ++i)
      if (Error err = storeInteger(
              i, static_cast<int32_t>(endian::read32le(bytes + 4 * i))))
        return err;
    return values;
  case DType::I16:
    for (size_t i = 0; i < count; ++i)
      values[i] = static_cast<int16_t>(endian::read16le(bytes + 2 * i));
    return values;
  case DType::I8:
    for (size_t i = 0; i < count; ++i)
      values[i] = static_cast<int8_t>(bytes[i]);
    return values;
  case DType::U8:
    for (size_t i = 0; i < count; ++i)
      values[i] = bytes[i];
    return values;
  case DType::Bool:
    break;
  }
  return error(llvm::formatv("readAsFloat32 does not support dtype {0} "
                             "(supported: F32, F16, BF16, F64 and integer "
                             "dtypes)",
                             dtypeName));
}

} // namespace nibble

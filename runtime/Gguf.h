//===- Gguf.h - Memory-mapped GGUF v3 reader --------------------*- C++ -*-===//
//
// GGUF (ggml's model file, https://github.com/ggml-org/ggml/blob/master/docs/
// gguf.md), little-endian, versions 2 and 3:
//
//   magic "GGUF" | u32 version | u64 tensor_count | u64 metadata_kv_count
//   metadata_kv_count × { gguf_string key | u32 value_type | value }
//   tensor_count × { gguf_string name | u32 n_dims | n_dims × u64 ne
//                    | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32)
//   data section: each tensor at data_start + offset (offset aligned)
//
// gguf_string is u64 length + bytes (no terminator). An array value is
// u32 element_type + u64 count + count elements (arrays of arrays allowed).
// ne[0] is the innermost (contiguous) dimension, so a PyTorch [N, K] weight
// has ne = {K, N}.
//
// The reader maps the file and validates everything before exposing it:
// magic, version, counts bounded by the file size, string lengths, value
// types, valid UTF-8 in keys and names, duplicate keys and tensor names,
// dimension products without overflow, known ggml types and a row length
// that is a multiple of the type's block size, aligned offsets, and every
// tensor's bytes inside the data section without overlapping another.
// Also rejected: empty keys, bools other than 0/1, arrays nested more than
// 8 deep, n_dims > 4, a zero dimension, `general.alignment` that is not a
// uint32 power of two. Value strings are not checked for UTF-8 (tokens of
// some vocabularies are raw bytes). A rejected file leaves the object empty.
// LLVM-free (the runtime reads tokenizers from GGUF metadata); the compiler's
// GGUF frontend uses it too.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_GGUF_H
#define NIBBLE_RUNTIME_GGUF_H

#include "runtime/MappedFile.h"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nibble {
namespace runtime {

/// GGUF metadata value types (gguf_type), numbered as in the file.
enum class GgufType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// The name of `type` as written in errors, e.g. "uint32", "array".
const char *ggufTypeName(GgufType type);

/// ggml tensor types (ggml_type), numbered as in the file. Only the types
/// the reader accepts are listed; any other number is rejected by name.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  BF16 = 30,
};

/// Block geometry of a ggml type: `blockElements` consecutive elements of a
/// row are stored in `blockBytes` bytes (1 and the element size for
/// F32/F16/BF16).
struct GgmlTypeTraits {
  GgmlType type;
  const char *name; ///< "Q4_K", as ggml names it.
  uint32_t blockElements;
  uint32_t blockBytes;
};

/// The traits of ggml type number `raw`, or nullptr if the reader does not
/// know it.
const GgmlTypeTraits *findGgmlType(uint32_t raw);

/// One metadata value. Scalars hold their value in the member matching their
/// type class; arrays hold their elements in the vector matching the element
/// type's class (nested arrays in `arrays`).
struct GgufValue {
  GgufType type = GgufType::UInt8;
  /// For arrays: the element type.
  GgufType elementType = GgufType::UInt8;

  /// UInt8/16/32/64 (and Bool as 0/1) scalars.
  uint64_t unsignedValue = 0;
  /// Int8/16/32/64 scalars.
  int64_t signedValue = 0;
  /// Float32/Float64 scalars.
  double floatValue = 0;
  /// String scalars.
  std::string stringValue;

  /// Array elements by class: unsigned integers and bools, signed integers,
  /// floats, strings, arrays.
  std::vector<uint64_t> unsignedElements;
  std::vector<int64_t> signedElements;
  std::vector<double> floatElements;
  std::vector<std::string> stringElements;
  std::vector<GgufValue> arrayElements;

  bool isArray() const { return type == GgufType::Array; }
  /// Number of array elements (0 for scalars).
  uint64_t arraySize() const;
};

/// One metadata key/value pair.
struct GgufMetadataEntry {
  std::string key;
  GgufValue value;
};

/// One tensor info.
struct GgufTensorInfo {
  std::string name;
  /// ggml's ne: dims[0] is the contiguous dimension.
  std::vector<uint64_t> dims;
  GgmlType type = GgmlType::F32;
  /// Byte offset from the start of the data section.
  uint64_t offset = 0;
  /// Size in bytes: product(dims) / blockElements × blockBytes.
  uint64_t bytes = 0;
  /// product(dims).
  uint64_t elements = 0;

  /// The shape in PyTorch/row-major order: dims reversed.
  std::vector<int64_t> rowMajorShape() const;
};

/// A memory-mapped, validated GGUF file.
class GgufFile {
public:
  GgufFile();
  GgufFile(const GgufFile &) = delete;
  GgufFile &operator=(const GgufFile &) = delete;
  ~GgufFile();

  /// Maps and validates the file at `path`. Fails with NIBBLE_ERROR_IO (open
  /// or map) or NIBBLE_ERROR_FORMAT; every message starts with the path and
  /// names the item (key, tensor, byte offset), expected and found.
  nibble_status open(const std::string &path);

  /// Parses and validates an in-memory image of a GGUF file (the bytes must
  /// outlive this object); `displayName` starts error messages. For tests
  /// and fuzzing.
  nibble_status parse(const uint8_t *bytes, size_t size,
                      const std::string &displayName);

  uint32_t version() const { return fileVersion; }
  uint64_t alignment() const { return dataAlignment; }
  const std::string &path() const { return filePath; }

  /// Metadata in file order.
  const std::vector<GgufMetadataEntry> &metadata() const { return entries; }
  /// The value of `key`, or nullptr.
  const GgufValue *find(const std::string &key) const;

  /// Typed look-ups. Each returns NIBBLE_OK and sets `out`; fails with
  /// NIBBLE_ERROR_FORMAT naming the file and key if the key is missing or
  /// holds another type (integers of any width and signedness convert when
  /// the value fits; float look-ups accept Float32/Float64).
  nibble_status getString(const std::string &key, std::string &out) const;
  nibble_status getUnsigned(const std::string &key, uint64_t &out) const;
  nibble_status getSigned(const std::string &key, int64_t &out) const;
  nibble_status getFloat(const std::string &key, double &out) const;
  nibble_status getBool(const std::string &key, bool &out) const;
  /// Array look-ups: the array's elements, which must have the named class
  /// (getSignedArray also converts unsigned elements that fit in int64_t).
  nibble_status getStringArray(const std::string &key,
                               const std::vector<std::string> *&out) const;
  nibble_status getFloatArray(const std::string &key,
                              const std::vector<double> *&out) const;
  nibble_status getSignedArray(const std::string &key,
                               std::vector<int64_t> &out) const;

  /// Tensor infos in file order.
  const std::vector<GgufTensorInfo> &tensors() const { return tensorInfos; }
  /// The tensor named `name`, or nullptr.
  const GgufTensorInfo *findTensor(const std::string &name) const;
  /// The first byte of `tensor`'s data in the mapping.
  const uint8_t *data(const GgufTensorInfo &tensor) const {
    return dataSection + tensor.offset;
  }

private:
  /// parse() without clearing the state on failure.
  nibble_status parseImage(const uint8_t *bytes, size_t size,
                           const std::string &displayName);

  std::unique_ptr<MappedFile> file;
  std::string filePath;
  uint32_t fileVersion = 0;
  uint64_t dataAlignment = 32;
  std::vector<GgufMetadataEntry> entries;
  std::unordered_map<std::string, size_t> entryIndex;
  std::vector<GgufTensorInfo> tensorInfos;
  std::unordered_map<std::string, size_t> tensorIndex;
  const uint8_t *dataSection = nullptr;
};

} // namespace runtime
} // namespace nibble

#endif // NIBBLE_RUNTIME_GGUF_H

//===- SafeTensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The safetensors format (https://github.com/huggingface/safetensors): an
// unsigned 64-bit little-endian header length N, N bytes of UTF-8 JSON
// header, then the data section. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// start of the data section) and may hold a "__metadata__" object of string
// to string.
//
// Reading memory-maps the file and validates the whole header up front, so
// that every TensorView handed out points at bytes that exist and have the
// size its shape and dtype imply. Malformed files produce an llvm::Error that
// names the file, the tensor, and what was expected and found.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_SUPPORT_SAFETENSORS_H
#define NIBBLE_SUPPORT_SAFETENSORS_H

#include "support/DType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nibble {

/// One tensor of a safetensors file; `bytes` points into the mapped file and
/// stays valid as long as the SafeTensorsFile that produced it. The bytes are
/// little-endian and need not be aligned to the element size.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  llvm::SmallVector<int64_t, 4> shape;
  llvm::ArrayRef<uint8_t> bytes;

  /// Returns the product of `shape` (1 for a scalar), or -1 if a dimension
  /// is negative or the product overflows int64_t (never the case for views
  /// handed out by SafeTensorsFile, which validates shapes).
  int64_t numElements() const;
};

/// A read-only, memory-mapped safetensors file whose header has been fully
/// validated: dtypes known, shapes non-negative, byte ranges inside the data
/// section, consistent with shape × dtype size, and not overlapping. Gaps
/// between tensors and bytes after the last one are tolerated.
class SafeTensorsFile {
public:
  /// Maps and validates the file at `path`. Errors are prefixed with `path`.
  static llvm::Expected<std::unique_ptr<SafeTensorsFile>>
  open(llvm::StringRef path);

  /// Returns the path the file was opened with.
  llvm::StringRef path() const { return filePath; }

  /// Returns the tensor called `name`, or nullptr if there is none.
  const TensorView *lookup(llvm::StringRef name) const;

  /// Returns the tensor called `name`, or an error "<file>: tensor '<name>'
  /// not found" that says how many tensors the file has (and suggests a
  /// close name if there is one).
  llvm::Expected<const TensorView *> get(llvm::StringRef name) const;

  /// Returns all tensors, ordered by their offset in the data section (ties,
  /// which only empty tensors can have, broken by name).
  llvm::ArrayRef<TensorView> tensors() const { return tensorList; }

  /// Returns the "__metadata__" entries of the header (empty if absent).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

private:
  SafeTensorsFile() = default;

  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::vector<TensorView> tensorList;
  llvm::StringMap<size_t> indexByName;
  std::map<std::string, std::string> metadataMap;
};

/// Collects tensors (copied, borrowed from the caller, or generated while
/// writing) and writes them, streaming, as a safetensors file in the layout
/// of the
/// reference implementation: compact JSON header ("__metadata__" first, then
/// the tensors in data order) padded with spaces to a multiple of 8 bytes,
/// then the tensors back to back, sorted by element size (largest first) and
/// then by name. The data section therefore starts 8-byte aligned and every
/// tensor is aligned to its element size.
class SafeTensorsWriter {
public:
  /// Adds a tensor, copying `bytes`. Errors if `name` was already added, is
  /// "__metadata__" or not valid UTF-8, a dimension is negative, or
  /// bytes.size() differs from product(shape) × dtypeByteSize(dtype).
  llvm::Error addTensor(llvm::StringRef name, DType dtype,
                        llvm::ArrayRef<int64_t> shape,
                        llvm::ArrayRef<uint8_t> bytes);

  /// Adds a tensor as addTensor does, without copying: `bytes` must stay
  /// valid and unchanged until write() returns. For data that already lives
  /// in memory (a mapped archive, a parsed model), so that writing an archive
  /// needs no second copy of it.
  llvm::Error addBorrowedTensor(llvm::StringRef name, DType dtype,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::ArrayRef<uint8_t> bytes);

  /// Receives the next piece of a generated tensor's bytes.
  using ByteSink = llvm::function_ref<void(llvm::ArrayRef<uint8_t>)>;
  /// Produces all bytes of a tensor, in order, as consecutive pieces.
  using TensorGenerator = std::function<llvm::Error(ByteSink emit)>;

  /// Adds a tensor, checked as addTensor does, whose bytes `generate`
  /// produces when write() reaches it, piece by piece: an archive of tensors
  /// computed on the fly (dequantized, converted) then never holds more than
  /// the piece being written. write() calls each generator once and fails,
  /// naming the tensor, if it fails or emits a total other than
  /// product(shape) × dtypeByteSize(dtype) bytes.
  llvm::Error addGeneratedTensor(llvm::StringRef name, DType dtype,
                                 llvm::ArrayRef<int64_t> shape,
                                 TensorGenerator generate);

  /// Sets "__metadata__"[key] to `value`, replacing an earlier value. Invalid
  /// UTF-8 is replaced by U+FFFD, as JSON requires.
  void setMetadata(llvm::StringRef key, llvm::StringRef value);

  /// Writes the file to a temporary file next to `path` and renames it into
  /// place, so a failed write never leaves a corrupt file at `path`, and
  /// writing over a file that a SafeTensorsFile currently maps is safe (the
  /// reader keeps seeing the old contents).
  llvm::Error write(llvm::StringRef path) const;

private:
  struct PendingTensor {
    std::string name;
    DType dtype;
    llvm::SmallVector<int64_t, 4> shape;
    /// The caller's data of a borrowed tensor.
    llvm::ArrayRef<uint8_t> borrowed;
    /// The copied data of the others.
    std::vector<uint8_t> owned;
    bool isBorrowed = false;
    /// The producer of a generated tensor (no bytes held).
    TensorGenerator generator;
    /// product(shape) × dtypeByteSize(dtype).
    uint64_t byteSize = 0;

    llvm::ArrayRef<uint8_t> bytes() const {
      return isBorrowed ? borrowed : llvm::ArrayRef<uint8_t>(owned);
    }
  };

  /// Checks a tensor and adds it; `copy` makes it owned; a `generator`
  /// makes it generated (`bytes` is then unused).
  llvm::Error add(llvm::StringRef name, DType dtype,
                  llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<uint8_t> bytes,
                  bool copy, TensorGenerator generator = nullptr);

  std::vector<PendingTensor> pending;
  llvm::StringMap<size_t> indexByName;
  std::map<std::string, std::string> metadataMap;
};

/// Converts `tensor` to float32 values. F32, F16 and BF16 convert exactly;
/// F64 rounds to nearest (a finite value outside the float32 range is an
/// error); integer dtypes convert exactly, and a value float32 cannot
/// represent exactly (|v| > 2^24 with too many significant bits) is an error.
/// BOOL is not numeric and is an error. Errors name the tensor.
llvm::Expected<std::vector<float>> readAsFloat32(const TensorView &tensor);

} // namespace nibble

#endif // NIBBLE_SUPPORT_SAFETENSORS_H

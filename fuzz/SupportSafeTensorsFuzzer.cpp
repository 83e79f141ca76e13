//===- SupportSafeTensorsFuzzer.cpp - Fuzzing the compiler's safetensors --===//
//
// Feeds the input, as a file, to nibble::SafeTensorsFile::open (the
// LLVM-based reader of the passes, nibblec and the ONNX importer). For an
// archive it accepts: every tensor must be found by name, lie inside the
// file (every byte is read) and convert with readAsFloat32 or fail cleanly;
// and writing all of it again with SafeTensorsWriter must read back the same
// tensors and metadata.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "support/SafeTensors.h"

#include "llvm/Support/Error.h"

using nibble::fuzz::fail;
using nibble::fuzz::MemoryFile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemoryFile file(data, size);
  llvm::Expected<std::unique_ptr<nibble::SafeTensorsFile>> archive =
      nibble::SafeTensorsFile::open(file.path());
  if (!archive) {
    llvm::consumeError(archive.takeError());
    return 0;
  }
  nibble::SafeTensorsWriter writer;
  volatile uint8_t sink = 0;
  for (const nibble::TensorView &tensor : (*archive)->tensors()) {
    if ((*archive)->lookup(tensor.name) != &tensor)
      fail("lookup() does not find a tensor of tensors()");
    int64_t count = tensor.numElements();
    if (count < 0 || (uint64_t)count * nibble::dtypeByteSize(tensor.dtype) !=
                         tensor.bytes.size())
      fail("a tensor's byte range differs from shape x element size");
    for (uint8_t byte : tensor.bytes)
      sink ^= byte;
    llvm::Expected<std::vector<float>> values =
        nibble::readAsFloat32(tensor);
    if (values) {
      if (values->size() != (size_t)count)
        fail("readAsFloat32 returned the wrong number of values");
    } else {
      llvm::consumeError(values.takeError());
    }
    if (llvm::Error error = writer.addBorrowedTensor(
            tensor.name, tensor.dtype, tensor.shape, tensor.bytes)) {
      llvm::consumeError(std::move(error));
      fail("SafeTensorsWriter rejected a tensor the reader accepted");
    }
  }
  for (const auto &[key, value] : (*archive)->metadata())
    writer.setMetadata(key, value);

  std::string out = nibble::fuzz::scratchDir() + "/archive.safetensors";
  if (llvm::Error error = writer.write(out)) {
    llvm::consumeError(std::move(error));
    fail("SafeTensorsWriter::write failed on an archive the reader accepted");
  }
  llvm::Expected<std::unique_ptr<nibble::SafeTensorsFile>> again =
      nibble::SafeTensorsFile::open(out);
  if (!again) {
    llvm::consumeError(again.takeError());
    fail("the reader rejected the writer's output");
  }
  if ((*again)->tensors().size() != (*archive)->tensors().size() ||
      (*again)->metadata() != (*archive)->metadata())
    fail("the rewritten archive has other tensors or metadata");
  for (const nibble::TensorView &tensor : (*archive)->tensors()) {
    const nibble::TensorView *copy = (*again)->lookup(tensor.name);
    if (!copy || copy->dtype != tensor.dtype || copy->shape != tensor.shape ||
        copy->bytes != tensor.bytes)
      fail("a tensor changed in the rewritten archive");
  }
  return 0;
}

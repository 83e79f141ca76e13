//===- SupportNpyFuzzer.cpp - Fuzzing the compiler's .npy reader ----------===//
//
// Feeds the input, as a file, to nibble::readNpy (what nibble-run and
// nibblec --bind-input read .npy files with). A successful read must
// describe exactly its data, and writing it again must read back the same.
//
//===----------------------------------------------------------------------===//

#include "fuzz/FuzzUtil.h"
#include "support/Npy.h"

#include "llvm/Support/Error.h"

using nibble::fuzz::fail;
using nibble::fuzz::MemoryFile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemoryFile file(data, size);
  llvm::Expected<nibble::NpyArray> array = nibble::readNpy(file.path());
  if (!array) {
    llvm::consumeError(array.takeError());
    return 0;
  }
  int64_t count = array->numElements();
  if (count < 0)
    fail("readNpy accepted an invalid shape");
  if ((uint64_t)count * nibble::dtypeByteSize(array->dtype) !=
      array->data.size())
    fail("readNpy's data size differs from shape x element size");
  // Write it back (writeNpy renames a temporary into place, so to a real
  // directory) and read it again.
  std::string out = nibble::fuzz::scratchDir() + "/array.npy";
  if (llvm::Error error = nibble::writeNpy(out, *array)) {
    llvm::consumeError(std::move(error));
    fail("writeNpy rejected an array readNpy produced");
  }
  llvm::Expected<nibble::NpyArray> again = nibble::readNpy(out);
  if (!again) {
    llvm::consumeError(again.takeError());
    fail("readNpy rejected writeNpy's output");
  }
  if (again->dtype != array->dtype || again->shape != array->shape ||
      again->data != array->data)
    fail("readNpy(writeNpy(a)) differs from a");
  return 0;
}

//===- OutputFiles.cpp - Atomic outputs and private scratch files ---------===//

#include "support/OutputFiles.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

namespace nibble {

llvm::Error writeFileAtomically(llvm::StringRef path,
                                llvm::StringRef contents) {
  // llvm::writeToOutput writes a temporary next to `path` and renames it.
  if (llvm::Error error = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
        os << contents;
        return llvm::Error::success();
      }))
    return llvm::createStringError("cannot write " + path + ": " +
                                   llvm::toString(std::move(error)));
  return llvm::Error::success();
}

bool isSameFile(llvm::StringRef a, llvm::StringRef b) {
  return a == b || llvm::sys::fs::equivalent(a, b);
}

ScratchDirectory::~ScratchDirectory() {
  if (!root.empty())
    llvm::sys::fs::remove_directories(root);
}

llvm::Expected<std::string> ScratchDirectory::file(llvm::StringRef name) {
  if (root.empty()) {
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(prefix, root))
      return llvm::createStringError("cannot create a temporary directory: " +
                                     ec.message());
  }
  llvm::SmallString<256> path(root);
  llvm::sys::path::append(path, name);
  llvm::sys::RemoveFileOnSignal(path);
  return std::string(path);
}

} // namespace nibble

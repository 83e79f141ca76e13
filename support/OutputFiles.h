//===- OutputFiles.h - Atomic outputs and private scratch files -*- C++ -*-===//
//
// How nibble's tools write files: every output appears complete or not at
// all (written to a temporary next to it, then renamed), and intermediate
// files live in a private directory that disappears with the tool.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_SUPPORT_OUTPUTFILES_H
#define NIBBLE_SUPPORT_OUTPUTFILES_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nibble {

/// Writes `contents` to `path` ("-" = stdout) atomically: into a temporary
/// file in the same directory, renamed over `path` once complete (the
/// temporary is removed on failure and on a fatal signal). Errors name
/// `path`.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef contents);

/// True if `a` and `b` name the same file (or are the same path, when
/// neither exists yet). Tools check their outputs against their inputs
/// with it.
bool isSameFile(llvm::StringRef a, llvm::StringRef b);

/// A private directory for a tool's intermediate files, created on first
/// use under the system's temporary directory ($TMPDIR) and removed with
/// everything in it when the object is destroyed, on success and on
/// failure alike.
class ScratchDirectory {
public:
  /// `prefix` starts the directory's name, e.g. "nibblec".
  explicit ScratchDirectory(llvm::StringRef prefix) : prefix(prefix) {}
  ScratchDirectory(const ScratchDirectory &) = delete;
  ScratchDirectory &operator=(const ScratchDirectory &) = delete;
  ~ScratchDirectory();

  /// Returns the path of `name` inside the directory, creating the
  /// directory if needed. The file is removed should the tool be killed by
  /// a signal.
  llvm::Expected<std::string> file(llvm::StringRef name);

private:
  std::string prefix;
  llvm::SmallString<256> root;
};

} // namespace nibble

#endif // NIBBLE_SUPPORT_OUTPUTFILES_H

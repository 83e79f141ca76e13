//===- GgufMetadataWriter.h - A GGUF file of metadata only ------*- C++ -*-===//
//
// Writes selected metadata key/values of a GGUF file into a new GGUF v3 file
// with no tensors. nibblec uses it to put a model's tokenizer (the
// `tokenizer.*` keys) next to a compiled model, where the runtime's
// Tokenizer opens it like the original file. Plain C++ over the runtime's
// GGUF reader, no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_GGUF_GGUFMETADATAWRITER_H
#define NIBBLE_FRONTENDS_GGUF_GGUFMETADATAWRITER_H

#include "runtime/Gguf.h"

#include <functional>
#include <string>

namespace nibble {
namespace gguf {

/// The bytes of a GGUF v3 file holding the metadata entries of `file` for
/// which `keep(key)` is true, in their original order, and no tensors.
std::string
serializeGgufMetadata(const runtime::GgufFile &file,
                      const std::function<bool(const std::string &)> &keep);

} // namespace gguf
} // namespace nibble

#endif // NIBBLE_FRONTENDS_GGUF_GGUFMETADATAWRITER_H

//===- FloatArchive.h - Streaming f32 archive writer (internal) -*- C++ -*-===//
//
// The part of writing a weight archive that GGUF files and Hugging Face
// directories share: each source tensor is a row reader under its Hugging
// Face name; writeFloatTensors checks the set against expectedTensors(),
// reorders q/k rows between RoPE layouts when the source's differs from the
// config's, and streams float32 rows into the archive through
// SafeTensorsWriter's generated tensors, so memory holds a few megabytes of
// rows, never a whole tensor; sources kept quantized are streamed the same
// way in their packed form. Internal to NibbleLlmFrontend.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_FRONTENDS_LLM_FLOATARCHIVE_H
#define NIBBLE_FRONTENDS_LLM_FLOATARCHIVE_H

#include "frontends/llm/PackedWeights.h"
#include "frontends/llm/TransformerWeights.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace nibble {
namespace llm {

/// One tensor of a source, read as float32 rows. A tensor of shape
/// [d0, d1, ...] has d0 rows of d1 × ... elements (a vector: d0 rows of 1).
struct FloatTensorSource {
  /// The Hugging Face name it provides.
  std::string name;
  /// Row-major (PyTorch) shape.
  llvm::SmallVector<int64_t, 2> shape;
  /// Where it comes from, for messages: "'blk.0.attn_q.weight' of <file>".
  std::string origin;
  /// For q/k projections, their biases and norms: whether the rows are in
  /// the interleaved RoPE order (llama.cpp's permuted "llama" layout).
  bool interleavedRope = false;
  /// Writes rows [firstRow, firstRow + rowCount) to `out`.
  std::function<llvm::Error(int64_t firstRow, int64_t rowCount, float *out)>
      readRows;
};

/// A source tensor kept in a packed form (PackedWeights.h): the archive
/// holds <module>.qweight, .scales (and .mins) in place of the float tensor
/// `name`, and the float tensor as well when `alsoFloat` (a tied embedding:
/// the gather reads floats, the LM head the codes). Its float source (same
/// name, in `sources`) gives the shape and the RoPE row order.
struct PackedTensorSource {
  std::string name;
  PackedWeightLayout layout;
  bool alsoFloat = false;
  /// Writes the packed rows [firstRow, firstRow + rowCount) to `out`.
  std::function<llvm::Error(int64_t firstRow, int64_t rowCount,
                            PackedRows &out)>
      readRows;
};

/// Writes the tensors expectedTensors(config) lists from `sources` to
/// `archivePath`, those named in `packed` in their packed form (each
/// layout recorded in the archive's metadata). Errors, naming `sourceName`
/// (the file or directory): a missing tensor (all missing names listed), a
/// shape other than expected (each mismatch listed), a packed tensor that
/// is not a matrix whose rows are whole groups, or a failing read. Sources
/// the archive does not need are listed in the summary's ignoredTensors
/// together with `alreadyIgnored`.
llvm::Expected<ArchiveSummary>
writeFloatTensors(std::vector<FloatTensorSource> sources,
                  const TransformerConfig &config, llvm::StringRef sourceName,
                  llvm::StringRef archivePath, const ArchiveOptions &options,
                  std::vector<std::string> alreadyIgnored = {},
                  std::vector<PackedTensorSource> packed = {});

/// An llvm::Error with `message`.
llvm::Error makeError(const llvm::Twine &message);

/// `value` for messages: the shortest of up to 17 significant digits that
/// reads back as `value` ("0.5", "1e-06", "10000").
std::string formatNumber(double value);

} // namespace llm
} // namespace nibble

#endif // NIBBLE_FRONTENDS_LLM_FLOATARCHIVE_H

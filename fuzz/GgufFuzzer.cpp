//===- GgufFuzzer.cpp - Fuzzing the GGUF reader and ggml dequantizers -----===//
//
// Feeds the input to runtime::GgufFile::parse (the in-memory entry point of
// what the tokenizer and the GGUF frontend open models with). For a file it
// accepts: every key and tensor is found by name; every typed look-up either
// succeeds or fails cleanly; every tensor's size is product(dims) / block
// size × block bytes and lies inside the input; and the first row of each
// tensor (up to 64 Ki elements) dequantizes with dequantizeRow and, for the
// quantized types, unpacks and reconstructs to the same floats.
//
//===----------------------------------------------------------------------===//

#include "frontends/gguf/GgmlDequantize.h"
#include "fuzz/FuzzUtil.h"
#include "runtime/Gguf.h"

#include <cstring>
#include <vector>

using nibble::fuzz::fail;
using namespace nibble::runtime;
using namespace nibble::gguf;

namespace {

/// The first `count` floats of the first row again through the structure
/// helpers; they must equal `row` bit for bit.
void checkStructure(const GgufTensorInfo &t, const uint8_t *bytes,
                    const std::vector<float> &row) {
  unsigned bits;
  int zero;
  bool hasMins;
  float rebuilt[kSuperBlock];
  if (block32Geometry(t.type, bits, zero)) {
    GgmlBlock32 block;
    if (!unpackBlocks32(t.type, bytes, 1, &block))
      fail("unpackBlocks32 refused its own type");
    for (uint8_t code : block.codes)
      if (code >> bits)
        fail("a 32-element block code has more bits than its type");
    reconstructBlock32(t.type, block, rebuilt);
    if (std::memcmp(rebuilt, row.data(), kBlock32 * sizeof(float)) != 0)
      fail("reconstructBlock32 differs from dequantizeRow");
  } else if (superBlockGeometry(t.type, bits, zero, hasMins)) {
    GgmlSuperBlock block;
    if (!unpackSuperBlocks(t.type, bytes, 1, &block))
      fail("unpackSuperBlocks refused its own type");
    for (uint8_t code : block.codes)
      if (code >> bits)
        fail("a super-block code has more bits than its type");
    reconstructSuperBlock(t.type, block, rebuilt);
    if (std::memcmp(rebuilt, row.data(), kSuperBlock * sizeof(float)) != 0)
      fail("reconstructSuperBlock differs from dequantizeRow");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  GgufFile file;
  if (file.parse(data, size, "fuzz.gguf") != NIBBLE_OK) {
    if (!file.metadata().empty() || !file.tensors().empty())
      fail("a rejected file kept its contents");
    return 0;
  }
  if (size < 24 || std::memcmp(data, "GGUF", 4) != 0)
    fail("parse() accepted a file without the GGUF header");

  for (const GgufMetadataEntry &entry : file.metadata()) {
    if (file.find(entry.key) != &entry.value)
      fail("find() does not find a key of the file");
    // Every look-up must either succeed or fail cleanly.
    std::string s;
    uint64_t u;
    int64_t i;
    double f;
    bool b;
    const std::vector<std::string> *strings;
    const std::vector<double> *floats;
    std::vector<int64_t> ints;
    (void)file.getString(entry.key, s);
    (void)file.getUnsigned(entry.key, u);
    (void)file.getSigned(entry.key, i);
    (void)file.getFloat(entry.key, f);
    (void)file.getBool(entry.key, b);
    (void)file.getStringArray(entry.key, strings);
    (void)file.getFloatArray(entry.key, floats);
    (void)file.getSignedArray(entry.key, ints);
  }

  std::vector<float> row;
  for (const GgufTensorInfo &t : file.tensors()) {
    if (file.findTensor(t.name) != &t)
      fail("findTensor() does not find a tensor of the file");
    const GgmlTypeTraits *traits = findGgmlType(static_cast<uint32_t>(t.type));
    if (!traits)
      fail("a tensor has a type the reader does not know");
    if (t.dims.size() > 4)
      fail("a tensor has more than 4 dimensions");
    uint64_t elements = 1;
    for (uint64_t dim : t.dims) {
      if (dim == 0 || __builtin_mul_overflow(elements, dim, &elements))
        fail("a tensor's dimensions are zero or overflow");
    }
    if (elements != t.elements)
      fail("a tensor's element count differs from its dimensions");
    const uint64_t rowLength = t.dims.empty() ? 1 : t.dims[0];
    if (rowLength % traits->blockElements != 0)
      fail("a tensor's row is not a whole number of blocks");
    if (t.bytes != elements / traits->blockElements * traits->blockBytes)
      fail("a tensor's byte size differs from its shape and type");
    const uint8_t *bytes = file.data(t);
    const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
    const uintptr_t at = reinterpret_cast<uintptr_t>(bytes);
    if (at < begin || at - begin > size || t.bytes > size - (at - begin))
      fail("a tensor lies outside the input");
    if (t.offset % file.alignment() != 0)
      fail("a tensor offset is not aligned");

    // The first row, within a bound.
    if (rowLength > (1u << 16))
      continue;
    row.assign(rowLength, 0.0f);
    if (!dequantizeRow(t.type, bytes, row.data(), rowLength))
      fail("dequantizeRow refused an accepted tensor's row");
    checkStructure(t, bytes, row);
  }
  return 0;
}

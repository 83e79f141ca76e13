//===- GgufPackingTest.cpp - GGUF quantized weights kept packed -----------===//
//
// ggml's quantized rows in nibble's packed form (GgufPacking.h) decode, with
// the formula of docs/Formats.md implemented here from scratch, to exactly
// the floats gguf::dequantizeRow gives (which matches ggml and gguf's numpy
// dequantizer, GgmlDequantizeTest): on random blocks of every packed type,
// and on every kept tensor of the small GGUF models, whose kept archives
// must equal the float archives tensor for tensor (in both RoPE row orders).
//
//===----------------------------------------------------------------------===//

#include "frontends/llm/GgufPacking.h"
#include "frontends/gguf/GgmlDequantize.h"
#include "frontends/llm/ModelLoader.h"
#include "frontends/llm/PackedWeights.h"

#include "LlmTestUtil.h"

#include "support/SafeTensors.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>
#include <random>

using namespace nibble;
using namespace nibble::llm;
using nibble::runtime::GgmlType;
using nibble::test::llmInput;
using nibble::test::TempDir;
using testing::HasSubstr;

namespace {

/// Every type with a packed layout.
const GgmlType kPackedTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                 GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q2_K,
                                 GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                 GgmlType::Q6_K};

/// Byte offsets of the f16 fields of one block of `type` (ggml-common.h).
std::vector<size_t> f16Fields(GgmlType type) {
  switch (type) {
  case GgmlType::Q4_1:
  case GgmlType::Q5_1:
  case GgmlType::Q4_K:
  case GgmlType::Q5_K:
    return {0, 2};
  case GgmlType::Q2_K:
    return {80, 82};
  case GgmlType::Q3_K:
    return {108};
  case GgmlType::Q6_K:
    return {208};
  default:
    return {0};
  }
}

/// Random blocks of `type` for `elements` elements: random bytes, with
/// finite f16 scale fields of either sign and magnitude below 2^-2.
std::vector<uint8_t> randomBlocks(GgmlType type, uint64_t elements,
                                  uint32_t seed) {
  const runtime::GgmlTypeTraits *traits =
      runtime::findGgmlType(static_cast<uint32_t>(type));
  uint64_t blocks = elements / traits->blockElements;
  std::mt19937 rng(seed);
  std::vector<uint8_t> bytes(blocks * traits->blockBytes);
  for (uint8_t &byte : bytes)
    byte = static_cast<uint8_t>(rng());
  for (uint64_t b = 0; b < blocks; ++b) {
    for (size_t offset : f16Fields(type)) {
      uint16_t sign = static_cast<uint16_t>((rng() & 1) << 15);
      uint16_t exponent = static_cast<uint16_t>((1 + rng() % 12) << 10);
      uint16_t mantissa = static_cast<uint16_t>(rng() % 1024);
      uint16_t half = sign | exponent | mantissa;
      std::memcpy(&bytes[b * traits->blockBytes + offset], &half, 2);
    }
  }
  return bytes;
}

/// The float of scale (or min) `index` of a row-major scale matrix.
float loadScale(const uint8_t *bytes, int64_t index, bool f16) {
  if (f16) {
    uint16_t half;
    std::memcpy(&half, bytes + 2 * index, 2);
    return gguf::halfToFloat(half);
  }
  float value;
  std::memcpy(&value, bytes + 4 * index, 4);
  return value;
}

/// Decodes a packed [rows, cols] weight as docs/Formats.md says: code k of a
/// row in byte k * c / 8 at bit (k mod 8 / c) * c; float(u - 2^(b-1)) * s,
/// or float(u) * s + m with mins.
std::vector<float> decodePacked(const PackedWeightLayout &layout,
                                const uint8_t *codes, const uint8_t *scales,
                                const uint8_t *mins, int64_t rows,
                                int64_t cols) {
  unsigned c = layout.containerBits();
  int64_t rowBytes = cols * c / 8, groups = cols / layout.groupSize;
  std::vector<float> out(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      uint8_t byte = codes[r * rowBytes + k * c / 8];
      int u = (byte >> ((k % (8 / c)) * c)) & ((1 << c) - 1);
      int64_t g = r * groups + k / layout.groupSize;
      float scale = loadScale(scales, g, layout.f16Scales);
      if (layout.hasMins) {
        float scaled = static_cast<float>(u) * scale;
        out[r * cols + k] = scaled + loadScale(mins, g, layout.f16Scales);
      } else {
        out[r * cols + k] =
            static_cast<float>(u - (1 << (layout.bits - 1))) * scale;
      }
    }
  }
  return out;
}

/// Whether two float vectors hold the same bits.
::testing::AssertionResult sameBits(const std::vector<float> &got,
                                    const std::vector<float> &want) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << got.size() << " values, expected " << want.size();
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "value " << i << ": " << got[i]
                                           << " vs dequantizeRow's " << want[i];
  return ::testing::AssertionSuccess();
}

TEST(GgufPacking, EveryPackedTypeDecodesToDequantizeRow) {
  const int64_t rows = 3, cols = 512;
  for (GgmlType type : kPackedTypes) {
    const runtime::GgmlTypeTraits *traits =
        runtime::findGgmlType(static_cast<uint32_t>(type));
    SCOPED_TRACE(traits->name);
    std::optional<PackedWeightLayout> layout = packedLayoutForGgmlType(type);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->source, traits->name);
    std::vector<uint8_t> blocks =
        randomBlocks(type, rows * cols, static_cast<uint32_t>(type));
    std::vector<float> want(rows * cols);
    ASSERT_TRUE(
        gguf::dequantizeRow(type, blocks.data(), want.data(), rows * cols));

    PackedRows packed;
    ASSERT_TRUE(packGgmlRows(type, blocks.data(), rows, cols, packed));
    int64_t groups = cols / layout->groupSize;
    size_t scaleBytes = layout->f16Scales ? 2 : 4;
    EXPECT_EQ(packed.codes.size(),
              size_t(rows * cols) * layout->containerBits() / 8);
    EXPECT_EQ(packed.scales.size(), size_t(rows * groups) * scaleBytes);
    EXPECT_EQ(packed.mins.size(),
              layout->hasMins ? size_t(rows * groups) * scaleBytes : 0u);
    EXPECT_TRUE(sameBits(decodePacked(*layout, packed.codes.data(),
                                      packed.scales.data(), packed.mins.data(),
                                      rows, cols),
                         want));
  }
}

TEST(GgufPacking, LayoutsOfTheTypes) {
  struct Expected {
    GgmlType type;
    unsigned bits;
    int64_t group;
    bool mins, f16;
  };
  for (Expected e : {Expected{GgmlType::Q4_0, 4, 32, false, true},
                     Expected{GgmlType::Q4_1, 4, 32, true, true},
                     Expected{GgmlType::Q5_0, 5, 32, false, true},
                     Expected{GgmlType::Q5_1, 5, 32, true, true},
                     Expected{GgmlType::Q8_0, 8, 32, false, true},
                     Expected{GgmlType::Q2_K, 2, 16, true, false},
                     Expected{GgmlType::Q3_K, 3, 16, false, false},
                     Expected{GgmlType::Q4_K, 4, 32, true, false},
                     Expected{GgmlType::Q5_K, 5, 32, true, false},
                     Expected{GgmlType::Q6_K, 6, 16, false, false}}) {
    std::optional<PackedWeightLayout> layout = packedLayoutForGgmlType(e.type);
    ASSERT_TRUE(layout);
    EXPECT_EQ(layout->bits, e.bits);
    EXPECT_EQ(layout->groupSize, e.group);
    EXPECT_EQ(layout->hasMins, e.mins);
    EXPECT_EQ(layout->f16Scales, e.f16);
  }
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16,
                        GgmlType::Q8_1, GgmlType::Q8_K})
    EXPECT_FALSE(packedLayoutForGgmlType(type));
  PackedRows rows;
  uint8_t bytes[64] = {};
  EXPECT_FALSE(packGgmlRows(GgmlType::F32, bytes, 1, 16, rows));
  EXPECT_FALSE(packGgmlRows(GgmlType::Q4_0, bytes, 1, 48, rows));
}

TEST(GgufPacking, LayoutMetadataRoundTrip) {
  PackedWeightLayout layout = *packedLayoutForGgmlType(GgmlType::Q4_1);
  EXPECT_EQ(layout.encode(), "bits=4 group=32 offset=min scale=f16 "
                             "source=Q4_1");
  llvm::Expected<PackedWeightLayout> decoded =
      decodePackedWeightLayout("w", layout.encode());
  ASSERT_TRUE(bool(decoded)) << llvm::toString(decoded.takeError());
  EXPECT_TRUE(*decoded == layout);
  EXPECT_EQ(packedTensorName("model.layers.0.mlp.up_proj.weight", "mins"),
            "model.layers.0.mlp.up_proj.mins");

  auto error = [](llvm::StringRef text) {
    llvm::Expected<PackedWeightLayout> result =
        decodePackedWeightLayout("a.weight", text);
    EXPECT_FALSE(bool(result)) << text.str();
    return result ? std::string() : llvm::toString(result.takeError());
  };
  EXPECT_THAT(error("bits=9 group=32 offset=sym scale=f16"),
              HasSubstr("packed weight 'a.weight': bits must be 2..8, found "
                        "'9'"));
  EXPECT_THAT(error("bits=4 group=0 offset=sym scale=f16"),
              HasSubstr("group must be a positive integer, found '0'"));
  EXPECT_THAT(error("bits=4 group=32 offset=asym scale=f16"),
              HasSubstr("offset must be sym or min, found 'asym'"));
  EXPECT_THAT(error("bits=4 group=32 offset=sym scale=bf16"),
              HasSubstr("scale must be f16 or f32, found 'bf16'"));
  EXPECT_THAT(error("bits=4 group=32 offset=sym scale=f16 zero=1"),
              HasSubstr("unknown key 'zero'"));
  EXPECT_THAT(error("bits=4 group=32"),
              HasSubstr("expected bits, group, offset and scale"));
}

/// The float32 values of archive tensor `name`.
std::vector<float> floatTensor(const SafeTensorsFile &archive,
                               llvm::StringRef name) {
  const TensorView *tensor = archive.lookup(name);
  EXPECT_NE(tensor, nullptr) << name.str();
  if (!tensor)
    return {};
  EXPECT_EQ(tensor->dtype, DType::F32) << name.str();
  std::vector<float> values(tensor->bytes.size() / sizeof(float));
  std::memcpy(values.data(), tensor->bytes.data(), tensor->bytes.size());
  return values;
}

/// Loads `model` twice, as float32 and keeping its quantization (RoPE rows
/// as the file has them, or in the other order), and checks that every
/// kept weight decodes to the float archive's tensor bit for bit, that
/// `keptCount` weights (all linears of a packed type) were kept, and that
/// every other tensor is the same float32 tensor in both archives.
void checkKeptArchive(const std::string &model, bool otherRopeOrder,
                      size_t keptCount) {
  std::string path = llmInput(model);
  TempDir dir;
  std::string report;
  llvm::raw_string_ostream progress(report);
  LoadOptions options;
  options.rotateHalfRope = otherRopeOrder;
  options.archive.progress = &progress;
  llvm::Expected<LoadedModel> floats =
      loadModel(path, dir.file("f32.safetensors"), options);
  ASSERT_TRUE(bool(floats)) << llvm::toString(floats.takeError());
  EXPECT_TRUE(floats->archive.packedWeights.empty());
  EXPECT_EQ(report, "");
  options.keepQuantization = true;
  llvm::Expected<LoadedModel> kept =
      loadModel(path, dir.file("kept.safetensors"), options);
  ASSERT_TRUE(bool(kept)) << llvm::toString(kept.takeError());
  EXPECT_EQ(kept->archive.packedWeights.size(), keptCount);
  EXPECT_THAT(report, HasSubstr("nibble: " + path + ": kept quantized"));
  EXPECT_EQ(report, "nibble: " + kept->archive.quantizationReport + "\n");

  llvm::Expected<PackedWeights> declared =
      readPackedWeights(dir.file("kept.safetensors"));
  ASSERT_TRUE(bool(declared)) << llvm::toString(declared.takeError());
  EXPECT_TRUE(*declared == kept->archive.packedWeights);

  auto floatArchive = SafeTensorsFile::open(dir.file("f32.safetensors"));
  auto keptArchive = SafeTensorsFile::open(dir.file("kept.safetensors"));
  ASSERT_TRUE(bool(floatArchive) && bool(keptArchive));
  for (const ExpectedTensor &tensor : expectedTensors(kept->config)) {
    SCOPED_TRACE(tensor.name);
    std::vector<float> want = floatTensor(**floatArchive, tensor.name);
    auto packed = kept->archive.packedWeights.find(tensor.name);
    if (packed == kept->archive.packedWeights.end() ||
        tensor.name == "model.embed_tokens.weight") {
      // Float in the kept archive too (a tied embedding in both forms).
      EXPECT_TRUE(sameBits(floatTensor(**keptArchive, tensor.name), want));
    }
    if (packed == kept->archive.packedWeights.end())
      continue;
    EXPECT_TRUE(isLinearWeight(tensor.name, kept->config));
    const PackedWeightLayout &layout = packed->second;
    int64_t rows = tensor.shape[0], cols = tensor.shape[1];
    int64_t groups = cols / layout.groupSize;
    DType scaleType = layout.f16Scales ? DType::F16 : DType::F32;
    const TensorView *codes =
        (*keptArchive)->lookup(packedTensorName(tensor.name, "qweight"));
    const TensorView *scales =
        (*keptArchive)->lookup(packedTensorName(tensor.name, "scales"));
    const TensorView *mins =
        (*keptArchive)->lookup(packedTensorName(tensor.name, "mins"));
    ASSERT_TRUE(codes && scales);
    ASSERT_EQ(mins != nullptr, layout.hasMins);
    EXPECT_EQ(codes->dtype, DType::I8);
    EXPECT_THAT(codes->shape,
                testing::ElementsAre(rows, cols * layout.containerBits() / 8));
    EXPECT_EQ(scales->dtype, scaleType);
    EXPECT_THAT(scales->shape, testing::ElementsAre(rows, groups));
    if (mins) {
      EXPECT_EQ(mins->dtype, scaleType);
      EXPECT_THAT(mins->shape, testing::ElementsAre(rows, groups));
    }
    EXPECT_TRUE(
        sameBits(decodePacked(layout, codes->bytes.data(), scales->bytes.data(),
                              mins ? mins->bytes.data() : nullptr, rows, cols),
                 want));
  }
}

TEST(GgufPackedArchive, LlamaEveryGgmlType) {
  // 11 of the 15 linears: layer 1's attn_k (BF16), attn_v (F16) and ffn_gate
  // (F32) and the untied output.weight (F16) stay float, as does the
  // (untied, Q8_0) embedding, which is no linear.
  checkKeptArchive("tiny-llama.gguf", /*otherRopeOrder=*/false, 11);
}

TEST(GgufPackedArchive, LlamaInRotateHalfOrder) {
  checkKeptArchive("tiny-llama.gguf", /*otherRopeOrder=*/true, 11);
}

TEST(GgufPackedArchive, Gemma3TiedEmbedding) {
  // 14 linears and the tied Q8_0 embedding, kept for the LM head.
  checkKeptArchive("tiny-gemma3.gguf", /*otherRopeOrder=*/false, 15);
}

TEST(GgufPackedArchive, Report) {
  TempDir dir;
  LoadOptions options;
  options.keepQuantization = true;
  options.archive.progress = nullptr;
  std::string path = llmInput("tiny-llama.gguf");
  llvm::Expected<LoadedModel> kept =
      loadModel(path, dir.file("kept.safetensors"), options);
  ASSERT_TRUE(bool(kept)) << llvm::toString(kept.takeError());
  EXPECT_EQ(kept->archive.quantizationReport,
            path + ": kept quantized (nibble.qlinear): 1 Q2_K, 1 Q3_K, "
                   "1 Q4_0, 1 Q4_1, 1 Q4_K, 2 Q5_0, 1 Q5_1, 1 Q5_K, 1 Q6_K, "
                   "1 Q8_0; dequantized to f32: 1 BF16, 2 F16, 6 F32, 1 Q8_0");
}

TEST(GgufPackedArchive, RefusesHuggingFaceDirectory) {
  TempDir dir;
  LoadOptions options;
  options.keepQuantization = true;
  llvm::Expected<LoadedModel> model = loadModel(
      test::tinyModel("tiny-llama"), dir.file("x.safetensors"), options);
  ASSERT_FALSE(bool(model));
  EXPECT_THAT(llvm::toString(model.takeError()),
              HasSubstr("tiny-llama: keeping the quantization needs a GGUF "
                        "file; a Hugging Face directory's weights are float"));
}

} // namespace

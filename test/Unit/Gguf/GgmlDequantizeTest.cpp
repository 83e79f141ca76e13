//===- GgmlDequantizeTest.cpp - ggml dequantizers vs gguf's numpy ---------===//
//
// Every comparison here is bit-exact (the float bit patterns must be equal,
// memcmp; no tolerance): the reference is the PyPI gguf package's numpy
// dequantizer (gguf.quants.dequantize), which follows ggml's
// dequantize_row_* operation for operation, run by
// Inputs/make_gguf_fixtures.py on random blocks of every type, on data gguf
// quantized itself, on all 65536 f16 values, and on every tensor of the two
// real models (SmolLM2 Q4_1/Q8_0/F32, Gemma 3 Q5_0/Q4_K/Q6_K/Q8_0/F32).
// The structure helpers (unpack + reconstruct) must reproduce the same
// floats, and their codes and scales must lie in the documented ranges.
//
//===----------------------------------------------------------------------===//

#include "GgufTestUtil.h"

#include "frontends/gguf/GgmlDequantize.h"
#include "runtime/Gguf.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <set>
#include <vector>

using namespace nibble::gguf;
using namespace nibble::runtime;
using namespace nibble::test;

namespace {

/// Compares `count` floats bit for bit; on a difference, says where and
/// what (the first few).
::testing::AssertionResult sameBits(const float *actual, const float *expected,
                                    uint64_t count) {
  if (std::memcmp(actual, expected, count * sizeof(float)) == 0)
    return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure();
  int shown = 0;
  uint64_t differing = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (std::memcmp(&actual[i], &expected[i], sizeof(float)) == 0)
      continue;
    ++differing;
    if (shown++ < 5)
      failure << "element " << i << ": " << floatBits(actual[i]) << " ("
              << actual[i] << "), expected " << floatBits(expected[i]) << " ("
              << expected[i] << "); ";
  }
  return failure << differing << " of " << count << " elements differ";
}

/// The fixture file of random and quantized blocks with their references.
class DequantFixture : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    file = new GgufFile();
    if (file->open(ggufInput("dequant.gguf")) != NIBBLE_OK) {
      error = nibble_last_error();
      delete file;
      file = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete file;
    file = nullptr;
  }

  void SetUp() override { ASSERT_NE(file, nullptr) << error; }

  /// The fixture tensors "<T>.random" and "<T>.quantized" (where present)
  /// of every type, paired with their references.
  struct Case {
    const GgufTensorInfo *data;
    const GgufTensorInfo *expected;
  };
  static std::vector<Case> cases() {
    std::vector<Case> out;
    for (const GgufTensorInfo &t : file->tensors()) {
      const std::string &name = t.name;
      if (name.size() > 9 && name.compare(name.size() - 9, 9, ".expected") == 0)
        continue;
      out.push_back({&t, file->findTensor(name + ".expected")});
    }
    return out;
  }

  /// The reference floats of `c`.
  static const float *expectedFloats(const Case &c) {
    return reinterpret_cast<const float *>(file->data(*c.expected));
  }

  static GgufFile *file;
  static std::string error;
};

GgufFile *DequantFixture::file = nullptr;
std::string DequantFixture::error;

const GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                              GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                              GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q8_1,
                              GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                              GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_K};

TEST_F(DequantFixture, EveryTypeHasRandomAndReferenceTensors) {
  std::set<GgmlType> random, quantized;
  for (const Case &c : cases()) {
    ASSERT_NE(c.expected, nullptr) << c.data->name << " has no reference";
    EXPECT_EQ(c.expected->type, GgmlType::F32);
    EXPECT_EQ(c.expected->dims, c.data->dims) << c.data->name;
    const std::string &name = c.data->name;
    const std::string typeName = findGgmlType(uint32_t(c.data->type))->name;
    if (name == typeName + ".random")
      random.insert(c.data->type);
    else if (name == typeName + ".quantized")
      quantized.insert(c.data->type);
    else
      ADD_FAILURE() << "unexpected fixture tensor " << name;
  }
  EXPECT_EQ(random.size(), std::size(kAllTypes));
  for (GgmlType type : kAllTypes)
    EXPECT_EQ(random.count(type), 1u) << findGgmlType(uint32_t(type))->name;
  EXPECT_EQ(quantized,
            (std::set<GgmlType>{GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0,
                                GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q8_0}));
}

TEST_F(DequantFixture, RowsMatchGgufBitExactly) {
  for (const Case &c : cases()) {
    ASSERT_NE(c.expected, nullptr);
    const GgufTensorInfo &t = *c.data;
    const GgmlTypeTraits *traits = findGgmlType(uint32_t(t.type));
    const uint64_t rowLength = t.dims[0];
    const uint64_t rows = t.elements / rowLength;
    const uint64_t rowBytes =
        rowLength / traits->blockElements * traits->blockBytes;
    std::vector<float> out(t.elements, -12345.0f);
    for (uint64_t r = 0; r < rows; ++r)
      ASSERT_TRUE(dequantizeRow(t.type, file->data(t) + r * rowBytes,
                                out.data() + r * rowLength, rowLength));
    EXPECT_TRUE(sameBits(out.data(), expectedFloats(c), t.elements)) << t.name;

    // The whole tensor in one call gives the same.
    std::vector<float> whole(t.elements);
    ASSERT_TRUE(dequantizeRow(t.type, file->data(t), whole.data(), t.elements));
    EXPECT_TRUE(sameBits(whole.data(), expectedFloats(c), t.elements))
        << t.name;
  }
}

TEST_F(DequantFixture, Block32StructureReconstructsBitExactly) {
  int checked = 0;
  for (const Case &c : cases()) {
    const GgufTensorInfo &t = *c.data;
    unsigned bits;
    int zero;
    if (!block32Geometry(t.type, bits, zero))
      continue;
    ++checked;
    const uint64_t blocks = t.elements / kBlock32;
    std::vector<GgmlBlock32> unpacked(blocks);
    ASSERT_TRUE(unpackBlocks32(t.type, file->data(t), blocks, unpacked.data()));
    std::vector<float> out(t.elements);
    const bool hasMin = t.type == GgmlType::Q4_1 || t.type == GgmlType::Q5_1;
    for (uint64_t b = 0; b < blocks; ++b) {
      const GgmlBlock32 &block = unpacked[b];
      for (uint8_t code : block.codes)
        ASSERT_LT(code, 1u << bits) << t.name;
      if (!hasMin)
        EXPECT_EQ(block.min, 0.0f);
      reconstructBlock32(t.type, block, out.data() + b * kBlock32);
      // The documented formula, element by element.
      for (uint32_t j = 0; j < kBlock32; ++j) {
        float formula = hasMin
                            ? float(block.codes[j]) * block.scale + block.min
                            : float(int(block.codes[j]) - zero) * block.scale;
        ASSERT_TRUE(sameBits(&out[b * kBlock32 + j], &formula, 1));
      }
    }
    EXPECT_TRUE(sameBits(out.data(), expectedFloats(c), t.elements)) << t.name;
  }
  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 random and quantized; Q8_1 random.
  EXPECT_EQ(checked, 11);
}

TEST_F(DequantFixture, SuperBlockStructureReconstructsBitExactly) {
  int checked = 0;
  for (const Case &c : cases()) {
    const GgufTensorInfo &t = *c.data;
    unsigned bits;
    int zero;
    bool hasMins;
    if (!superBlockGeometry(t.type, bits, zero, hasMins))
      continue;
    ++checked;
    const uint64_t blocks = t.elements / kSuperBlock;
    std::vector<GgmlSuperBlock> unpacked(blocks);
    ASSERT_TRUE(
        unpackSuperBlocks(t.type, file->data(t), blocks, unpacked.data()));
    std::vector<float> out(t.elements);
    for (uint64_t b = 0; b < blocks; ++b) {
      const GgmlSuperBlock &block = unpacked[b];
      const bool eight = t.type == GgmlType::Q4_K || t.type == GgmlType::Q5_K;
      EXPECT_EQ(block.subBlocks, eight ? 8u : 16u);
      EXPECT_EQ(block.subBlockElements, eight ? 32u : 16u);
      EXPECT_EQ(block.subBlocks * block.subBlockElements, kSuperBlock);
      for (uint8_t code : block.codes)
        ASSERT_LT(code, 1u << bits) << t.name;
      for (uint32_t s = 0; s < block.subBlocks; ++s) {
        int scale = block.scales[s];
        switch (t.type) {
        case GgmlType::Q2_K:
          EXPECT_TRUE(scale >= 0 && scale <= 15 && block.mins[s] <= 15);
          break;
        case GgmlType::Q3_K:
          EXPECT_TRUE(scale >= -32 && scale <= 31);
          break;
        case GgmlType::Q4_K:
        case GgmlType::Q5_K:
          EXPECT_TRUE(scale >= 0 && scale <= 63 && block.mins[s] <= 63);
          break;
        default:
          break;
        }
        if (!hasMins)
          EXPECT_EQ(block.mins[s], 0);
      }
      if (!hasMins)
        EXPECT_EQ(block.dmin, 0.0f);
      reconstructSuperBlock(t.type, block, out.data() + b * kSuperBlock);
    }
    EXPECT_TRUE(sameBits(out.data(), expectedFloats(c), t.elements)) << t.name;
  }
  EXPECT_EQ(checked, 5); // Q2_K ... Q6_K, random blocks
}

TEST(GgmlDequantizeTest, HalfToFloatOfEveryPattern) {
  // Spot values from IEEE 754 binary16, then all 65536 patterns against the
  // checksum of numpy's conversion.
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0xFC00), -INFINITY);
  float negativeZero = halfToFloat(0x8000);
  EXPECT_TRUE(negativeZero == 0.0f && std::signbit(negativeZero));
  EXPECT_EQ(floatBits(halfToFloat(0x7E00)), "0x7fc00000");
  EXPECT_EQ(floatBits(halfToFloat(0xFC01)), "0xff802000"); // payload kept

  GgufFile file;
  ASSERT_EQ(file.open(ggufInput("dequant.gguf")), NIBBLE_OK)
      << nibble_last_error();
  uint64_t expected = 0;
  ASSERT_EQ(file.getUnsigned("nibble.f16_all.checksum", expected), NIBBLE_OK);
  std::vector<uint16_t> patterns(65536);
  for (uint32_t i = 0; i < 65536; ++i)
    patterns[i] = static_cast<uint16_t>(i);
  std::vector<float> floats(65536);
  ASSERT_TRUE(dequantizeRow(GgmlType::F16,
                            reinterpret_cast<const uint8_t *>(patterns.data()),
                            floats.data(), 65536));
  FloatChecksum checksum;
  checksum.add(floats.data(), floats.size());
  EXPECT_EQ(checksum.value(), expected);
  for (uint32_t i = 0; i < 65536; ++i)
    ASSERT_EQ(floatBits(floats[i]), floatBits(halfToFloat(uint16_t(i))));
}

TEST(GgmlDequantizeTest, RejectsPartialBlocksAndUnknownTypes) {
  std::vector<uint8_t> blocks(292 * 2, 0);
  std::vector<float> out(512, 7.0f);
  EXPECT_FALSE(dequantizeRow(GgmlType::Q4_0, blocks.data(), out.data(), 48));
  EXPECT_FALSE(dequantizeRow(GgmlType::Q4_K, blocks.data(), out.data(), 32));
  EXPECT_FALSE(
      dequantizeRow(static_cast<GgmlType>(4), blocks.data(), out.data(), 32));
  EXPECT_EQ(out[0], 7.0f); // nothing written
  EXPECT_TRUE(dequantizeRow(GgmlType::Q8_K, blocks.data(), out.data(), 512));
  EXPECT_EQ(out[0], 0.0f);
  GgmlBlock32 b32;
  GgmlSuperBlock super;
  EXPECT_FALSE(unpackBlocks32(GgmlType::Q4_K, blocks.data(), 1, &b32));
  EXPECT_FALSE(unpackSuperBlocks(GgmlType::Q8_K, blocks.data(), 1, &super));
  EXPECT_FALSE(unpackSuperBlocks(GgmlType::Q4_0, blocks.data(), 1, &super));
}

/// Every tensor of the real models, dequantized whole, against the checksum
/// and first values of gguf's numpy dequantizer (Inputs/real_models.gguf).
TEST(GgmlDequantizeTest, RealModelTensorsMatchGgufBitExactly) {
  GgufFile expectations;
  ASSERT_EQ(expectations.open(ggufInput("real_models.gguf")), NIBBLE_OK)
      << nibble_last_error()
      << " (make_gguf_fixtures.py writes it when the models are present)";
  std::set<GgmlType> typesSeen;
  for (int m = 0; m < 2; ++m) {
    const std::string prefix = "model" + std::to_string(m) + ".";
    std::string modelName;
    const std::vector<std::string> *names = nullptr;
    const std::vector<double> *firsts = nullptr;
    std::vector<int64_t> types;
    ASSERT_EQ(expectations.getString(prefix + "file", modelName), NIBBLE_OK);
    ASSERT_EQ(expectations.getStringArray(prefix + "names", names), NIBBLE_OK);
    ASSERT_EQ(expectations.getSignedArray(prefix + "types", types), NIBBLE_OK);
    ASSERT_EQ(expectations.getFloatArray(prefix + "first_values", firsts),
              NIBBLE_OK);
    const GgufValue *sums = expectations.find(prefix + "checksums");
    ASSERT_NE(sums, nullptr);
    ASSERT_EQ(sums->unsignedElements.size(), names->size());
    ASSERT_EQ(types.size(), names->size());
    ASSERT_EQ(firsts->size(), 4 * names->size());

    const std::string path = ggufModel(modelName);
    ASSERT_TRUE(fileExists(path))
        << path << " is missing: run scripts/fetch-models.sh";
    GgufFile model;
    ASSERT_EQ(model.open(path), NIBBLE_OK) << nibble_last_error();
    ASSERT_EQ(model.tensors().size(), names->size()) << modelName;
    std::vector<float> row;
    for (size_t i = 0; i < names->size(); ++i) {
      const GgufTensorInfo &t = model.tensors()[i];
      ASSERT_EQ(t.name, (*names)[i]);
      ASSERT_EQ(static_cast<int64_t>(t.type), types[i]) << t.name;
      typesSeen.insert(t.type);
      const GgmlTypeTraits *traits = findGgmlType(uint32_t(t.type));
      const uint64_t rowLength = t.dims[0];
      const uint64_t rowBytes =
          rowLength / traits->blockElements * traits->blockBytes;
      row.resize(rowLength);
      FloatChecksum checksum;
      for (uint64_t r = 0; r < t.elements / rowLength; ++r) {
        ASSERT_TRUE(dequantizeRow(t.type, model.data(t) + r * rowBytes,
                                  row.data(), rowLength));
        if (r == 0)
          for (int k = 0; k < 4; ++k) {
            float expected = static_cast<float>((*firsts)[4 * i + k]);
            EXPECT_TRUE(sameBits(&row[k], &expected, 1))
                << modelName << " " << t.name << " element " << k;
          }
        checksum.add(row.data(), rowLength);
      }
      EXPECT_EQ(checksum.value(), sums->unsignedElements[i])
          << modelName << " " << t.name << " ("
          << findGgmlType(uint32_t(t.type))->name << ")";
    }
  }
  EXPECT_EQ(typesSeen, (std::set<GgmlType>{GgmlType::F32, GgmlType::Q4_1,
                                           GgmlType::Q8_0, GgmlType::Q5_0,
                                           GgmlType::Q4_K, GgmlType::Q6_K}));
}

/// The structure of real Q4_K and Q6_K super-blocks reconstructs them: the
/// whole Gemma 3 tensors of those types, checked against dequantizeRow
/// (itself checked against gguf above).
TEST(GgmlDequantizeTest, RealSuperBlocksReconstruct) {
  const std::string path = ggufModel("gemma-3-270m-q4_k_m.gguf");
  ASSERT_TRUE(fileExists(path))
      << path << " is missing: run scripts/fetch-models.sh";
  GgufFile model;
  ASSERT_EQ(model.open(path), NIBBLE_OK) << nibble_last_error();
  int checked = 0;
  for (const GgufTensorInfo &t : model.tensors()) {
    if (t.type != GgmlType::Q4_K && t.type != GgmlType::Q6_K &&
        t.type != GgmlType::Q5_0)
      continue;
    std::vector<float> expected(t.elements), actual(t.elements);
    ASSERT_TRUE(
        dequantizeRow(t.type, model.data(t), expected.data(), t.elements));
    if (t.type == GgmlType::Q5_0) {
      std::vector<GgmlBlock32> blocks(t.elements / kBlock32);
      ASSERT_TRUE(
          unpackBlocks32(t.type, model.data(t), blocks.size(), blocks.data()));
      for (size_t b = 0; b < blocks.size(); ++b)
        reconstructBlock32(t.type, blocks[b], actual.data() + b * kBlock32);
    } else {
      std::vector<GgmlSuperBlock> blocks(t.elements / kSuperBlock);
      ASSERT_TRUE(unpackSuperBlocks(t.type, model.data(t), blocks.size(),
                                    blocks.data()));
      for (size_t b = 0; b < blocks.size(); ++b)
        reconstructSuperBlock(t.type, blocks[b],
                              actual.data() + b * kSuperBlock);
    }
    EXPECT_TRUE(sameBits(actual.data(), expected.data(), t.elements)) << t.name;
    ++checked;
  }
  EXPECT_EQ(checked, 27 + 9 + 81);
}

} // namespace

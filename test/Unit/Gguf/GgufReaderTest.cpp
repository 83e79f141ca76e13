//===- GgufReaderTest.cpp - Tests of the runtime's GGUF reader ------------===//
//
// Metadata of every value type and tensor infos read back from a file the
// PyPI gguf package wrote (Inputs/metadata.gguf; the values repeat those of
// make_gguf_fixtures.py), the two real models, and one case per rejection,
// built byte by byte here (independent of the reader) and checked for a
// message that starts with the file name and names the item.
//
//===----------------------------------------------------------------------===//

#include "GgufTestUtil.h"

#include "runtime/Gguf.h"
#include "runtime/Status.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

using namespace nibble::runtime;
using namespace nibble::test;

namespace {

//===----------------------------------------------------------------------===//
// A GGUF writer for hand-made (and broken) files
//===----------------------------------------------------------------------===//

/// Little-endian encodings of GGUF's primitives.
std::string u8(uint8_t v) { return std::string(1, static_cast<char>(v)); }
std::string u32(uint32_t v) {
  return std::string(reinterpret_cast<const char *>(&v), 4);
}
std::string u64(uint64_t v) {
  return std::string(reinterpret_cast<const char *>(&v), 8);
}
std::string str(const std::string &s) { return u64(s.size()) + s; }

/// One metadata entry: key, value type, value bytes.
std::string kv(const std::string &key, uint32_t type,
               const std::string &value) {
  return str(key) + u32(type) + value;
}
std::string kvU32(const std::string &key, uint32_t v) {
  return kv(key, 4, u32(v));
}
std::string kvString(const std::string &key, const std::string &v) {
  return kv(key, 8, str(v));
}

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type;
  uint64_t offset;
};

std::string tensorInfo(const TensorSpec &t) {
  std::string out = str(t.name) + u32(static_cast<uint32_t>(t.dims.size()));
  for (uint64_t d : t.dims)
    out += u64(d);
  return out + u32(t.type) + u64(t.offset);
}

/// A whole file: header, entries, tensor infos, zero padding to
/// `alignment`, `dataBytes` bytes of data (value i % 251).
struct FileSpec {
  uint32_t version = 3;
  std::vector<std::string> entries = {kvString("general.architecture", "tttt")};
  std::vector<TensorSpec> tensors = {{"a", {8}, 0, 0}, {"b", {32, 2}, 2, 32}};
  uint64_t alignment = 32;
  uint64_t dataBytes = 68;
  /// Counts written in the header instead of the real ones.
  uint64_t tensorCount = UINT64_MAX, kvCount = UINT64_MAX;

  std::string build() const {
    std::string out = "GGUF" + u32(version);
    out += u64(tensorCount != UINT64_MAX ? tensorCount : tensors.size());
    out += u64(kvCount != UINT64_MAX ? kvCount : entries.size());
    for (const std::string &entry : entries)
      out += entry;
    for (const TensorSpec &t : tensors)
      out += tensorInfo(t);
    out.append((alignment - out.size() % alignment) % alignment, '\0');
    for (uint64_t i = 0; i < dataBytes; ++i)
      out += static_cast<char>(i % 251);
    return out;
  }
};

/// The default FileSpec's layout: header 24 bytes, the entry to 68, tensor
/// "a" to 101, "b" to 142 (its dimension 1 at 122), padding to 160, data
/// to 228.
constexpr size_t kDefaultFileSize = 228;

/// Parses `bytes` as "case.gguf"; succeeds if it is rejected with
/// NIBBLE_ERROR_FORMAT, a message starting "case.gguf: " and containing
/// every fragment, and nothing left visible.
::testing::AssertionResult rejected(const std::string &bytes,
                                    const std::vector<std::string> &fragments) {
  GgufFile file;
  nibble_status status =
      file.parse(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                 "case.gguf");
  std::string message = nibble_last_error();
  if (status != NIBBLE_ERROR_FORMAT)
    return ::testing::AssertionFailure()
           << "status " << status << " (" << message << ")";
  if (message.rfind("case.gguf: ", 0) != 0)
    return ::testing::AssertionFailure()
           << "message does not start with the file name: " << message;
  for (const std::string &fragment : fragments)
    if (message.find(fragment) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message lacks \"" << fragment << "\": " << message;
  if (!file.metadata().empty() || !file.tensors().empty())
    return ::testing::AssertionFailure() << "a rejected file kept its contents";
  return ::testing::AssertionSuccess() << message;
}

/// Parses `bytes`, expecting success.
::testing::AssertionResult accepted(const std::string &bytes, GgufFile &file) {
  if (file.parse(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                 "case.gguf") != NIBBLE_OK)
    return ::testing::AssertionFailure() << nibble_last_error();
  return ::testing::AssertionSuccess();
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

//===----------------------------------------------------------------------===//
// Valid files
//===----------------------------------------------------------------------===//

TEST(GgufReaderTest, HandMadeFileParses) {
  const std::string bytes = FileSpec().build();
  ASSERT_EQ(bytes.size(), kDefaultFileSize);
  GgufFile file;
  ASSERT_TRUE(accepted(bytes, file));
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 32u);
  EXPECT_EQ(file.path(), "case.gguf");
  ASSERT_EQ(file.tensors().size(), 2u);
  const GgufTensorInfo *b = file.findTensor("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, GgmlType::Q4_0);
  EXPECT_EQ(b->dims, (std::vector<uint64_t>{32, 2}));
  EXPECT_EQ(b->rowMajorShape(), (std::vector<int64_t>{2, 32}));
  EXPECT_EQ(b->elements, 64u);
  EXPECT_EQ(b->bytes, 36u);
  EXPECT_EQ(b->offset, 32u);
  // The data section starts at 160: b's first byte is data byte 32.
  EXPECT_EQ(file.data(*b) - reinterpret_cast<const uint8_t *>(bytes.data()),
            160 + 32);
  EXPECT_EQ(file.data(*b)[0], 32);
  EXPECT_EQ(file.findTensor("c"), nullptr);
}

TEST(GgufReaderTest, Version2ParsesLikeVersion3) {
  FileSpec spec;
  spec.version = 2;
  GgufFile file;
  ASSERT_TRUE(accepted(spec.build(), file));
  EXPECT_EQ(file.version(), 2u);
  EXPECT_EQ(file.tensors().size(), 2u);
}

TEST(GgufReaderTest, EmptyFileAndScalarTensor) {
  FileSpec empty;
  empty.entries.clear();
  empty.tensors.clear();
  empty.dataBytes = 0;
  GgufFile file;
  ASSERT_TRUE(accepted(empty.build(), file));
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_TRUE(file.tensors().empty());

  // n_dims = 0: one element.
  FileSpec scalar;
  scalar.tensors = {{"s", {}, 0, 0}};
  scalar.dataBytes = 4;
  ASSERT_TRUE(accepted(scalar.build(), file));
  EXPECT_EQ(file.tensors()[0].elements, 1u);
  EXPECT_EQ(file.tensors()[0].bytes, 4u);
  EXPECT_TRUE(file.tensors()[0].rowMajorShape().empty());
}

TEST(GgufReaderTest, MetadataOfEveryTypeFromGgufWriter) {
  GgufFile file;
  ASSERT_EQ(file.open(ggufInput("metadata.gguf")), NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.alignment(), 64u);

  // File order: the writer's architecture and alignment, then METADATA.
  const char *keys[] = {"general.architecture",
                        "general.alignment",
                        "t.uint8",
                        "t.int8",
                        "t.uint16",
                        "t.int16",
                        "t.uint32",
                        "t.int32",
                        "t.float32",
                        "t.bool",
                        "t.bool_false",
                        "t.string",
                        "t.uint64",
                        "t.int64",
                        "t.float64"};
  ASSERT_GE(file.metadata().size(), std::size(keys));
  for (size_t i = 0; i < std::size(keys); ++i)
    EXPECT_EQ(file.metadata()[i].key, keys[i]);
  EXPECT_EQ(file.metadata().size(), 30u);

  struct Scalar {
    const char *key;
    GgufType type;
  };
  const Scalar scalars[] = {
      {"t.uint8", GgufType::UInt8},     {"t.int8", GgufType::Int8},
      {"t.uint16", GgufType::UInt16},   {"t.int16", GgufType::Int16},
      {"t.uint32", GgufType::UInt32},   {"t.int32", GgufType::Int32},
      {"t.float32", GgufType::Float32}, {"t.bool", GgufType::Bool},
      {"t.string", GgufType::String},   {"t.uint64", GgufType::UInt64},
      {"t.int64", GgufType::Int64},     {"t.float64", GgufType::Float64}};
  for (const Scalar &s : scalars) {
    const GgufValue *value = file.find(s.key);
    ASSERT_NE(value, nullptr) << s.key;
    EXPECT_EQ(value->type, s.type) << s.key;
    EXPECT_FALSE(value->isArray());
    EXPECT_EQ(value->arraySize(), 0u);
  }

  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  EXPECT_EQ(file.getUnsigned("t.uint8", u), NIBBLE_OK);
  EXPECT_EQ(u, 200u);
  EXPECT_EQ(file.getSigned("t.int8", i), NIBBLE_OK);
  EXPECT_EQ(i, -100);
  EXPECT_EQ(file.getUnsigned("t.uint16", u), NIBBLE_OK);
  EXPECT_EQ(u, 60000u);
  EXPECT_EQ(file.getSigned("t.int16", i), NIBBLE_OK);
  EXPECT_EQ(i, -30000);
  EXPECT_EQ(file.getUnsigned("t.uint32", u), NIBBLE_OK);
  EXPECT_EQ(u, 4000000000u);
  EXPECT_EQ(file.getSigned("t.int32", i), NIBBLE_OK);
  EXPECT_EQ(i, -2000000000);
  EXPECT_EQ(file.getFloat("t.float32", f), NIBBLE_OK);
  EXPECT_EQ(f, static_cast<double>(0.1f));
  EXPECT_EQ(file.getBool("t.bool", b), NIBBLE_OK);
  EXPECT_TRUE(b);
  EXPECT_EQ(file.getBool("t.bool_false", b), NIBBLE_OK);
  EXPECT_FALSE(b);
  EXPECT_EQ(file.getString("t.string", s), NIBBLE_OK);
  EXPECT_EQ(s, "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x98\x80");
  EXPECT_EQ(file.getUnsigned("t.uint64", u), NIBBLE_OK);
  EXPECT_EQ(u, 18000000000000000000u);
  EXPECT_EQ(file.getSigned("t.int64", i), NIBBLE_OK);
  EXPECT_EQ(i, -9000000000000000000);
  EXPECT_EQ(file.getFloat("t.float64", f), NIBBLE_OK);
  EXPECT_EQ(f, -2.5e300);
  EXPECT_EQ(file.getString("general.architecture", s), NIBBLE_OK);
  EXPECT_EQ(s, "nibble-test");
  // Integer conversions: a uint fits int64, a positive int fits uint64.
  EXPECT_EQ(file.getSigned("t.uint32", i), NIBBLE_OK);
  EXPECT_EQ(i, 4000000000);
  EXPECT_EQ(file.getUnsigned("general.alignment", u), NIBBLE_OK);
  EXPECT_EQ(u, 64u);

  // Arrays of each element type.
  auto array = [&](const char *key, GgufType elementType, uint64_t size) {
    const GgufValue *value = file.find(key);
    EXPECT_NE(value, nullptr) << key;
    if (!value)
      return value;
    EXPECT_TRUE(value->isArray()) << key;
    EXPECT_EQ(value->elementType, elementType) << key;
    EXPECT_EQ(value->arraySize(), size) << key;
    return value;
  };
  const GgufValue *v;
  if ((v = array("t.array.uint8", GgufType::UInt8, 3))) {
    EXPECT_EQ(v->unsignedElements, (std::vector<uint64_t>{0, 1, 255}));
  }
  if ((v = array("t.array.int8", GgufType::Int8, 3))) {
    EXPECT_EQ(v->signedElements, (std::vector<int64_t>{-128, 0, 127}));
  }
  if ((v = array("t.array.uint16", GgufType::UInt16, 2))) {
    EXPECT_EQ(v->unsignedElements, (std::vector<uint64_t>{0, 65535}));
  }
  if ((v = array("t.array.int16", GgufType::Int16, 2))) {
    EXPECT_EQ(v->signedElements, (std::vector<int64_t>{-32768, 32767}));
  }
  if ((v = array("t.array.uint32", GgufType::UInt32, 3))) {
    EXPECT_EQ(v->unsignedElements, (std::vector<uint64_t>{1, 2, 4294967295u}));
  }
  if ((v = array("t.array.int32", GgufType::Int32, 3))) {
    EXPECT_EQ(v->signedElements, (std::vector<int64_t>{-1, 0, 2147483647}));
  }
  if ((v = array("t.array.float32", GgufType::Float32, 3))) {
    EXPECT_EQ(v->floatElements, (std::vector<double>{1.5, -0.25, 3.0e38f}));
  }
  if ((v = array("t.array.bool", GgufType::Bool, 3))) {
    EXPECT_EQ(v->unsignedElements, (std::vector<uint64_t>{1, 0, 1}));
  }
  if ((v = array("t.array.string", GgufType::String, 4))) {
    EXPECT_EQ(v->stringElements, (std::vector<std::string>{"a", "",
                                                           "\xc3\xbc"
                                                           "ber",
                                                           "<0x0A>"}));
  }
  if ((v = array("t.array.uint64", GgufType::UInt64, 2))) {
    EXPECT_EQ(v->unsignedElements,
              (std::vector<uint64_t>{0, 18446744073709551615u}));
  }
  if ((v = array("t.array.int64", GgufType::Int64, 2))) {
    EXPECT_EQ(v->signedElements, (std::vector<int64_t>{INT64_MIN, 5}));
  }
  if ((v = array("t.array.float64", GgufType::Float64, 2))) {
    EXPECT_EQ(v->floatElements, (std::vector<double>{1e-300, -0.5}));
  }

  // Nested arrays: [[1, 2], [3], [4, 5, 6]] of int32 (the writer's default
  // for Python ints), [["x", "yz"], ["w"]], [[[7, 8]], [[9]]].
  if ((v = array("t.array.nested", GgufType::Array, 3))) {
    const std::vector<std::vector<int64_t>> expected = {{1, 2}, {3}, {4, 5, 6}};
    for (size_t k = 0; k < 3; ++k) {
      const GgufValue &inner = v->arrayElements[k];
      EXPECT_TRUE(inner.isArray());
      EXPECT_EQ(inner.elementType, GgufType::Int32);
      EXPECT_EQ(inner.signedElements, expected[k]);
    }
  }
  if ((v = array("t.array.nested_strings", GgufType::Array, 2))) {
    EXPECT_EQ(v->arrayElements[0].stringElements,
              (std::vector<std::string>{"x", "yz"}));
    EXPECT_EQ(v->arrayElements[1].stringElements,
              (std::vector<std::string>{"w"}));
  }
  if ((v = array("t.array.deep", GgufType::Array, 2))) {
    ASSERT_EQ(v->arrayElements[0].arraySize(), 1u);
    EXPECT_EQ(v->arrayElements[0].elementType, GgufType::Array);
    EXPECT_EQ(v->arrayElements[0].arrayElements[0].signedElements,
              (std::vector<int64_t>{7, 8}));
    EXPECT_EQ(v->arrayElements[1].arrayElements[0].signedElements,
              (std::vector<int64_t>{9}));
  }

  // Array look-ups.
  const std::vector<std::string> *strings = nullptr;
  EXPECT_EQ(file.getStringArray("t.array.string", strings), NIBBLE_OK);
  ASSERT_NE(strings, nullptr);
  EXPECT_EQ(strings->size(), 4u);
  const std::vector<double> *floats = nullptr;
  EXPECT_EQ(file.getFloatArray("t.array.float64", floats), NIBBLE_OK);
  ASSERT_NE(floats, nullptr);
  EXPECT_EQ(floats->size(), 2u);
  std::vector<int64_t> ints;
  EXPECT_EQ(file.getSignedArray("t.array.int32", ints), NIBBLE_OK);
  EXPECT_EQ(ints, (std::vector<int64_t>{-1, 0, 2147483647}));
  EXPECT_EQ(file.getSignedArray("t.array.uint16", ints), NIBBLE_OK);
  EXPECT_EQ(ints, (std::vector<int64_t>{0, 65535}));

  // Tensors: ne is the numpy shape reversed; offsets aligned to 64.
  ASSERT_EQ(file.tensors().size(), 4u);
  const char *names[] = {"one_d", "two_d", "three_d", "four_d.q4_0"};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(file.tensors()[k].name, names[k]);
    EXPECT_EQ(file.tensors()[k].offset % 64, 0u);
  }
  const GgufTensorInfo *one = file.findTensor("one_d");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->type, GgmlType::F32);
  EXPECT_EQ(one->dims, (std::vector<uint64_t>{5}));
  float values[5];
  std::memcpy(values, file.data(*one), sizeof values);
  for (int k = 0; k < 5; ++k)
    EXPECT_EQ(values[k], static_cast<float>(k));
  const GgufTensorInfo *two = file.findTensor("two_d");
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(two->type, GgmlType::F16);
  EXPECT_EQ(two->rowMajorShape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(two->bytes, 24u);
  const GgufTensorInfo *three = file.findTensor("three_d");
  ASSERT_NE(three, nullptr);
  EXPECT_EQ(three->dims, (std::vector<uint64_t>{4, 3, 2}));
  const GgufTensorInfo *four = file.findTensor("four_d.q4_0");
  ASSERT_NE(four, nullptr);
  EXPECT_EQ(four->type, GgmlType::Q4_0);
  EXPECT_EQ(four->dims, (std::vector<uint64_t>{64, 5, 3, 2}));
  EXPECT_EQ(four->rowMajorShape(), (std::vector<int64_t>{2, 3, 5, 64}));
  EXPECT_EQ(four->elements, 64u * 5 * 3 * 2);
  EXPECT_EQ(four->bytes, 2u * 5 * 3 * 2 * 18);
}

TEST(GgufReaderTest, TypedLookupsNameKeyAndType) {
  GgufFile file;
  ASSERT_EQ(file.open(ggufInput("metadata.gguf")), NIBBLE_OK)
      << nibble_last_error();
  const std::string prefix = ggufInput("metadata.gguf") + ": ";
  auto expectError = [&](nibble_status status, const std::string &message) {
    EXPECT_EQ(status, NIBBLE_ERROR_FORMAT);
    EXPECT_EQ(nibble_last_error(), prefix + message);
  };
  std::string s;
  uint64_t u;
  int64_t i;
  double f;
  bool b;
  const std::vector<std::string> *strings;
  const std::vector<double> *floats;
  std::vector<int64_t> ints;
  expectError(file.getString("missing.key", s),
              "key \"missing.key\" is missing");
  expectError(file.getString("t.uint8", s),
              "key \"t.uint8\" is a uint8, expected a string");
  expectError(file.getUnsigned("t.int8", u),
              "key \"t.int8\" is -100, expected a non-negative integer");
  expectError(file.getUnsigned("t.float32", u),
              "key \"t.float32\" is a float32, expected an unsigned integer");
  expectError(file.getSigned("t.array.uint64", i),
              "key \"t.array.uint64\" is an array of uint64, expected an "
              "integer");
  expectError(file.getSigned("t.uint64", i), // 1.8e19 > INT64_MAX
              "key \"t.uint64\" is 18000000000000000000, more than "
              "INT64_MAX");
  expectError(file.getFloat("t.int32", f),
              "key \"t.int32\" is an int32, expected a float32 or float64");
  expectError(file.getBool("t.uint8", b),
              "key \"t.uint8\" is a uint8, expected a bool");
  expectError(file.getStringArray("t.array.nested_strings", strings),
              "key \"t.array.nested_strings\" is an array of array, expected "
              "an array of string");
  expectError(file.getFloatArray("t.array.int8", floats),
              "key \"t.array.int8\" is an array of int8, expected an array of "
              "float32 or float64");
  expectError(file.getSignedArray("t.array.string", ints),
              "key \"t.array.string\" is an array of string, expected an "
              "array of integers");
  expectError(file.getSignedArray("t.array.uint64", ints),
              "key \"t.array.uint64\": element 1 is 18446744073709551615, "
              "more than INT64_MAX");
}

TEST(GgufReaderTest, OpenFailsOnMissingFile) {
  GgufFile file;
  EXPECT_EQ(file.open(ggufInput("no-such-file.gguf")), NIBBLE_ERROR_IO);
  EXPECT_NE(std::string(nibble_last_error()).find("no-such-file.gguf: cannot"),
            std::string::npos)
      << nibble_last_error();
}

TEST(GgufReaderTest, RealModelsOpen) {
  const std::string smol = ggufModel("SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::string gemma = ggufModel("gemma-3-270m-q4_k_m.gguf");
  ASSERT_TRUE(fileExists(smol) && fileExists(gemma))
      << "the real models are missing (" << smol << ", " << gemma
      << "): run scripts/fetch-models.sh";

  GgufFile file;
  ASSERT_EQ(file.open(smol), NIBBLE_OK) << nibble_last_error();
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.tensors().size(), 272u);
  EXPECT_EQ(file.metadata().size(), 33u);
  std::string s;
  uint64_t u;
  ASSERT_EQ(file.getString("general.architecture", s), NIBBLE_OK);
  EXPECT_EQ(s, "llama");
  ASSERT_EQ(file.getUnsigned("llama.block_count", u), NIBBLE_OK);
  EXPECT_EQ(u, 30u);
  ASSERT_EQ(file.getUnsigned("llama.embedding_length", u), NIBBLE_OK);
  EXPECT_EQ(u, 576u);
  const std::vector<std::string> *tokens = nullptr;
  ASSERT_EQ(file.getStringArray("tokenizer.ggml.tokens", tokens), NIBBLE_OK);
  EXPECT_EQ(tokens->size(), 49152u);
  const std::vector<std::string> *merges = nullptr;
  ASSERT_EQ(file.getStringArray("tokenizer.ggml.merges", merges), NIBBLE_OK);
  EXPECT_EQ(merges->size(), 48900u);
  std::vector<int64_t> tokenTypes;
  ASSERT_EQ(file.getSignedArray("tokenizer.ggml.token_type", tokenTypes),
            NIBBLE_OK);
  EXPECT_EQ(tokenTypes.size(), 49152u);
  const GgufTensorInfo *embedding = file.findTensor("token_embd.weight");
  ASSERT_NE(embedding, nullptr);
  EXPECT_EQ(embedding->type, GgmlType::Q8_0);
  EXPECT_EQ(embedding->dims, (std::vector<uint64_t>{576, 49152}));
  EXPECT_EQ(embedding->rowMajorShape(), (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(embedding->bytes, 49152u * 576 / 32 * 34);

  ASSERT_EQ(file.open(gemma), NIBBLE_OK) << nibble_last_error();
  EXPECT_EQ(file.tensors().size(), 236u);
  ASSERT_EQ(file.getString("general.architecture", s), NIBBLE_OK);
  EXPECT_EQ(s, "gemma3");
  ASSERT_EQ(file.getUnsigned("gemma3.block_count", u), NIBBLE_OK);
  EXPECT_EQ(u, 18u);
  ASSERT_EQ(file.getStringArray("tokenizer.ggml.tokens", tokens), NIBBLE_OK);
  EXPECT_EQ(tokens->size(), 262144u);
  const std::vector<double> *scores = nullptr;
  ASSERT_EQ(file.getFloatArray("tokenizer.ggml.scores", scores), NIBBLE_OK);
  EXPECT_EQ(scores->size(), 262144u);
  bool addBos = false;
  ASSERT_EQ(file.getBool("tokenizer.ggml.add_bos_token", addBos), NIBBLE_OK);
  EXPECT_TRUE(addBos);
  const GgufTensorInfo *down = file.findTensor("blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->type, GgmlType::Q6_K);
  EXPECT_EQ(down->dims, (std::vector<uint64_t>{2048, 640}));
}

//===----------------------------------------------------------------------===//
// Rejections
//===----------------------------------------------------------------------===//

TEST(GgufReaderTest, RejectsBadMagic) {
  std::string bytes = FileSpec().build();
  bytes[3] = 'G';
  EXPECT_TRUE(rejected(bytes, {"not a GGUF file", "\"GGUF\"",
                               "at byte offset 0, found 47 47 55 47"}));
}

TEST(GgufReaderTest, RejectsVersion1) {
  FileSpec spec;
  spec.version = 1;
  EXPECT_TRUE(rejected(spec.build(), {"GGUF version 1 is not supported",
                                      "expected version 2 or 3"}));
}

TEST(GgufReaderTest, RejectsVersion4) {
  FileSpec spec;
  spec.version = 4;
  EXPECT_TRUE(rejected(spec.build(), {"unsupported GGUF version 4 at byte "
                                      "offset 4: expected 2 or 3"}));
  spec.version = 0x03000000; // 3, big-endian
  EXPECT_TRUE(rejected(spec.build(),
                       {"unsupported GGUF version 50331648", "big-endian"}));
}

TEST(GgufReaderTest, RejectsTruncatedHeader) {
  const std::string bytes = FileSpec().build();
  struct Cut {
    size_t size;
    std::string fragment;
  };
  const Cut cuts[] = {
      {0, "truncated file: expected 4 bytes of the magic \"GGUF\" at byte "
          "offset 0, found 0"},
      {3, "of the magic \"GGUF\" at byte offset 0, found 3"},
      {6, "expected 4 bytes of the version at byte offset 4, found 2"},
      {12, "expected 8 bytes of tensor_count at byte offset 8, found 4"},
      {20, "expected 8 bytes of metadata_kv_count at byte offset 16, found 4"},
      {30, "metadata_kv_count 1 at byte offset 16 cannot fit in the 6 bytes "
           "left"},
      {122, "expected 8 bytes of dimension 1 of tensor \"b\" at byte offset "
            "122, found 0"},
      {150, "the data section would start at byte offset 160"},
      {200, "tensor \"b\": data [32, 68) of the data section (file bytes "
            "[192, 228)) extends past the end of the file: the data section "
            "has 40 bytes"},
  };
  for (const Cut &cut : cuts)
    EXPECT_TRUE(rejected(bytes.substr(0, cut.size), {cut.fragment}))
        << "cut at " << cut.size;
  // Every proper prefix fails (the file ends with its last tensor).
  for (size_t size = 0; size < bytes.size(); ++size)
    EXPECT_TRUE(rejected(bytes.substr(0, size), {}))
        << "prefix of " << size << " bytes";
}

TEST(GgufReaderTest, RejectsPrefixesOfGgufWriterFile) {
  const std::string bytes = readAll(ggufInput("metadata.gguf"));
  ASSERT_FALSE(bytes.empty());
  GgufFile file;
  ASSERT_TRUE(accepted(bytes, file));
  // The writer pads the last tensor to the alignment: prefixes that still
  // hold every tensor's bytes are valid.
  uint64_t end = 0;
  for (const GgufTensorInfo &t : file.tensors())
    end = std::max<uint64_t>(
        end, file.data(t) - reinterpret_cast<const uint8_t *>(bytes.data()) +
                 t.bytes);
  for (size_t size = 0; size < bytes.size(); ++size) {
    GgufFile prefix;
    nibble_status status = prefix.parse(
        reinterpret_cast<const uint8_t *>(bytes.data()), size, "case.gguf");
    EXPECT_EQ(status, size < end ? NIBBLE_ERROR_FORMAT : NIBBLE_OK)
        << size << " of " << bytes.size() << " bytes: " << nibble_last_error();
    if (status != NIBBLE_OK) {
      EXPECT_EQ(std::string(nibble_last_error()).rfind("case.gguf: ", 0), 0u);
    }
  }
}

TEST(GgufReaderTest, RejectsAbsurdCounts) {
  FileSpec spec;
  spec.kvCount = uint64_t(1) << 60;
  EXPECT_TRUE(rejected(spec.build(), {"metadata_kv_count 1152921504606846976 "
                                      "at byte offset 16 cannot fit"}));
  spec = FileSpec();
  spec.tensorCount = uint64_t(1) << 60;
  EXPECT_TRUE(rejected(spec.build(),
                       {"tensor_count 1152921504606846976 at byte offset 8 "
                        "cannot fit"}));
  spec = FileSpec();
  spec.tensorCount = UINT64_MAX - 1;
  EXPECT_TRUE(rejected(spec.build(), {"tensor_count 18446744073709551614"}));
  // An array count: elements of every type, including strings and arrays.
  for (uint32_t type : {0u, 6u, 8u, 9u, 12u}) {
    spec = FileSpec();
    spec.entries.push_back(
        kv("big.array", 9, u32(type) + u64(uint64_t(1) << 60)));
    EXPECT_TRUE(rejected(spec.build(), {"key \"big.array\": array of "
                                        "1152921504606846976"}))
        << "element type " << type;
  }
}

TEST(GgufReaderTest, RejectsStringLengthPastEnd) {
  FileSpec spec;
  spec.entries = {u64(uint64_t(1) << 63) + "general.architecture"};
  EXPECT_TRUE(rejected(spec.build(), {"key 0: string length "
                                      "9223372036854775808 exceeds the",
                                      "at byte offset 32"}));
  spec = FileSpec();
  spec.entries.push_back(kv("s", 8, u64(1000) + "short"));
  EXPECT_TRUE(rejected(spec.build(), {"the value of key \"s\": string length "
                                      "1000 exceeds the"}));
  spec = FileSpec();
  spec.entries.push_back(
      kv("strings", 9, u32(8) + u64(2) + str("x") + u64(uint64_t(1) << 40)));
  EXPECT_TRUE(rejected(spec.build(), {"element 1 of key \"strings\": string "
                                      "length 1099511627776"}));
  spec = FileSpec();
  spec.tensors[1].name = std::string(4, 'b');
  std::string bytes = spec.build();
  // Tensor b's name length (at 101) made larger than the rest of the file.
  uint64_t huge = 5000;
  std::memcpy(&bytes[101], &huge, 8);
  EXPECT_TRUE(rejected(bytes, {"tensor 1 name: string length 5000"}));
}

TEST(GgufReaderTest, RejectsUnknownValueType) {
  FileSpec spec;
  spec.entries.push_back(kv("odd", 13, u32(0)));
  EXPECT_TRUE(rejected(spec.build(), {"key \"odd\": unknown value type 13 at "
                                      "byte offset 79 (expected 0..12)"}));
  spec = FileSpec();
  spec.entries.push_back(kv("odd.array", 9, u32(0xFFFFFFFF) + u64(1)));
  EXPECT_TRUE(rejected(spec.build(), {"key \"odd.array\": unknown array "
                                      "element type 4294967295"}));
}

TEST(GgufReaderTest, RejectsArraysNestedTooDeep) {
  // `depth` arrays around one uint8.
  auto nested = [](int depth) {
    std::string inner = u32(0) + u64(1) + u8(5);
    for (int d = 1; d < depth; ++d)
      inner = u32(9) + u64(1) + inner;
    return inner;
  };
  FileSpec spec;
  spec.entries.push_back(kv("deep", 9, nested(8)));
  GgufFile file;
  ASSERT_TRUE(accepted(spec.build(), file));
  const GgufValue *value = file.find("deep");
  ASSERT_NE(value, nullptr);
  for (int d = 1; d < 8; ++d) {
    ASSERT_EQ(value->elementType, GgufType::Array);
    ASSERT_EQ(value->arrayElements.size(), 1u);
    value = &value->arrayElements[0];
  }
  EXPECT_EQ(value->unsignedElements, (std::vector<uint64_t>{5}));

  spec.entries.back() = kv("deep", 9, nested(9));
  EXPECT_TRUE(rejected(spec.build(), {"key \"deep\": arrays nested deeper "
                                      "than 8"}));
}

TEST(GgufReaderTest, RejectsBoolOtherThanZeroOrOne) {
  FileSpec spec;
  spec.entries.push_back(kv("flag", 7, u8(2)));
  EXPECT_TRUE(rejected(spec.build(), {"key \"flag\": bool value 2 at byte "
                                      "offset 84, expected 0 or 1"}));
  spec.entries.back() = kv("flags", 9, u32(7) + u64(3) + u8(1) + u8(0) + u8(7));
  EXPECT_TRUE(rejected(spec.build(), {"key \"flags\": bool element 2 is 7"}));
}

TEST(GgufReaderTest, RejectsUnknownGgmlType) {
  struct Case {
    uint32_t type;
    std::string fragment;
  };
  const Case cases[] = {
      {4, "tensor \"b\": unsupported ggml type 4 (Q4_2) at byte offset 130"},
      {16, "unsupported ggml type 16 (IQ2_XXS)"},
      {28, "unsupported ggml type 28 (F64)"},
      {39, "unsupported ggml type 39 (MXFP4)"},
      {1000, "tensor \"b\": unsupported ggml type 1000 at byte offset 130"},
  };
  for (const Case &c : cases) {
    FileSpec spec;
    spec.tensors[1].type = c.type;
    EXPECT_TRUE(rejected(spec.build(), {c.fragment})) << c.type;
  }
}

TEST(GgufReaderTest, RejectsFiveDimensions) {
  FileSpec spec;
  spec.tensors[1].dims = {32, 1, 1, 1, 2};
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": n_dims 5 at byte offset "
                                      "110, expected at most 4"}));
  spec.tensors[1].dims = {32, 1, 1, 2};
  GgufFile file;
  EXPECT_TRUE(accepted(spec.build(), file));
}

TEST(GgufReaderTest, RejectsZeroDimension) {
  FileSpec spec;
  spec.tensors[1].dims = {32, 0};
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": dimension 1 (ne[1]) at "
                                      "byte offset 122 is 0"}));
}

TEST(GgufReaderTest, RejectsDimensionOverflow) {
  FileSpec spec;
  spec.tensors[1] = {"b", {uint64_t(1) << 32, uint64_t(1) << 32}, 0, 32};
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": dimensions [4294967296, "
                                      "4294967296] overflow"}));
  spec.tensors[1] = {"b", {uint64_t(1) << 62, 2, 3}, 0, 32};
  EXPECT_TRUE(rejected(spec.build(), {"dimensions [4611686018427387904, "
                                      "2]... overflow"}));
  // Elements fit, bytes do not: 2^62 F32 elements are 2^64 bytes.
  spec.tensors[1] = {"b", {4, uint64_t(1) << 60}, 0, 32};
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": F32 [4, "
                                      "1152921504606846976] is more than "
                                      "INT64_MAX bytes"}));
}

TEST(GgufReaderTest, RejectsRowNotMultipleOfBlock) {
  FileSpec spec;
  spec.tensors[1].dims = {48, 2};
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": row length ne[0] = 48 "
                                      "is not a multiple of the Q4_0 block "
                                      "size 32"}));
  spec.tensors[1] = {"b", {96, 2}, 12, 32};
  EXPECT_TRUE(rejected(spec.build(), {"ne[0] = 96 is not a multiple of the "
                                      "Q4_K block size 256"}));
}

TEST(GgufReaderTest, RejectsMisalignedOffset) {
  FileSpec spec;
  spec.tensors[1].offset = 48;
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": data offset 48 (at byte "
                                      "offset 134) is not a multiple of the "
                                      "alignment 32"}));
  // With general.alignment = 64, offset 32 is misaligned too.
  spec = FileSpec();
  spec.entries.push_back(kvU32("general.alignment", 64));
  spec.alignment = 64;
  EXPECT_TRUE(rejected(spec.build(),
                       {"tensor \"b\": data offset 32", "the alignment 64"}));
}

TEST(GgufReaderTest, RejectsDataPastEnd) {
  FileSpec spec;
  spec.tensors[1].offset = 64;
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": data [64, 100) of the "
                                      "data section",
                                      "past the end of the "
                                      "file: the data section has 68 bytes"}));
  spec.tensors[1].offset = uint64_t(1) << 63;
  EXPECT_TRUE(rejected(spec.build(), {"tensor \"b\": data "
                                      "[9223372036854775808, "}));
}

TEST(GgufReaderTest, RejectsOverlappingTensors) {
  FileSpec spec;
  spec.tensors[0].dims = {16}; // 64 bytes: [0, 64) against b's [32, 68)
  EXPECT_TRUE(rejected(spec.build(), {"tensors \"a\" [0, 64) and \"b\" [32, "
                                      "68) overlap"}));
  // Order in the file does not matter.
  std::swap(spec.tensors[0], spec.tensors[1]);
  EXPECT_TRUE(rejected(spec.build(), {"tensors \"a\" [0, 64) and \"b\" [32, "
                                      "68) overlap"}));
}

TEST(GgufReaderTest, RejectsDuplicateKey) {
  FileSpec spec;
  spec.entries.push_back(kvU32("n", 1));
  spec.entries.push_back(kvString("general.architecture", "u"));
  EXPECT_TRUE(rejected(spec.build(), {"duplicate key "
                                      "\"general.architecture\" at byte "
                                      "offset 85 (entries 0 and 2)"}));
}

TEST(GgufReaderTest, RejectsEmptyKey) {
  FileSpec spec;
  spec.entries.push_back(kvU32("", 1));
  EXPECT_TRUE(rejected(spec.build(), {"key 1 at byte offset 68 is empty"}));
}

TEST(GgufReaderTest, RejectsDuplicateTensorName) {
  FileSpec spec;
  spec.tensors[1].name = "a";
  EXPECT_TRUE(rejected(spec.build(), {"duplicate tensor name \"a\" at byte "
                                      "offset 101 (tensors 0 and 1)"}));
}

TEST(GgufReaderTest, RejectsBadAlignment) {
  const std::pair<std::string, std::string> cases[] = {
      {kvU32("general.alignment", 48),
       "key \"general.alignment\" is 48, expected a power of two"},
      {kvU32("general.alignment", 0),
       "key \"general.alignment\" is 0, expected a power of two"},
      {kv("general.alignment", 10, u64(32)),
       "key \"general.alignment\" has type uint64, expected uint32"},
      {kvString("general.alignment", "32"),
       "key \"general.alignment\" has type string, expected uint32"},
  };
  for (const auto &c : cases) {
    FileSpec spec;
    spec.entries.push_back(c.first);
    EXPECT_TRUE(rejected(spec.build(), {c.second}));
  }
  FileSpec spec;
  spec.entries.push_back(kvU32("general.alignment", 1));
  spec.tensors[1].offset = 33;
  spec.alignment = 1;
  spec.dataBytes = 69;
  GgufFile file;
  EXPECT_TRUE(accepted(spec.build(), file));
  EXPECT_EQ(file.alignment(), 1u);
}

TEST(GgufReaderTest, RejectsInvalidUtf8) {
  const std::pair<std::string, std::string> keys[] = {
      {"\xff", "\\xff"},                   // not a lead byte
      {"ab\xc0\xaf", "ab\\xc0\\xaf"},      // overlong '/'
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"}, // surrogate U+D800
      {"\xf4\x90\x80\x80", "\\xf4\\x90"},  // above U+10FFFF
      {"x\xe2\x82", "x\\xe2\\x82"},        // truncated sequence
      {"\xe2(\xa1", "\\xe2(\\xa1"},        // bad continuation
  };
  for (const auto &key : keys) {
    FileSpec spec;
    spec.entries.push_back(kvU32(key.first, 1));
    size_t bad = key.first[0] == 'a' ? 2 : key.first[0] == 'x' ? 1 : 0;
    EXPECT_TRUE(rejected(
        spec.build(), {"key 1 \"" + key.second, "invalid UTF-8 at byte "
                                                "offset " +
                                                    std::to_string(76 + bad)}))
        << key.second;
  }
  FileSpec spec;
  spec.tensors[1].name = "b\xc3";
  EXPECT_TRUE(rejected(spec.build(), {"tensor 1 name \"b\\xc3\": invalid "
                                      "UTF-8 at byte offset 110"}));
  // Valid multi-byte keys and names are fine.
  spec = FileSpec();
  spec.entries.push_back(kvU32("caf\xc3\xa9.\xf0\x9f\x98\x80", 1));
  spec.tensors[1].name = "\xe2\x82\xac";
  GgufFile file;
  EXPECT_TRUE(accepted(spec.build(), file));
  EXPECT_NE(file.findTensor("\xe2\x82\xac"), nullptr);
}

} // namespace

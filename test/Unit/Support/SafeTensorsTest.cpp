//===- SafeTensorsTest.cpp - Tests for the safetensors reader and writer --===//
//
// Every input file is built byte by byte in a fresh temporary directory, so
// the tests need no fixtures. Each malformed-file test checks that the error
// names the file and the specific fact that is wrong.
//
//===----------------------------------------------------------------------===//

#include "support/SafeTensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace nibble;
using llvm::StringRef;
using testing::AllOf;
using testing::HasSubstr;

namespace {

/// Little-endian bytes of `values`.
std::vector<uint8_t> floatBytes(std::initializer_list<float> values) {
  std::vector<uint8_t> bytes(values.size() * 4);
  size_t i = 0;
  for (float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    llvm::support::endian::write32le(bytes.data() + 4 * i++, bits);
  }
  return bytes;
}

/// Little-endian bytes of the 16-bit patterns `values`.
std::vector<uint8_t> halfBytes(std::initializer_list<uint16_t> values) {
  std::vector<uint8_t> bytes(values.size() * 2);
  size_t i = 0;
  for (uint16_t value : values)
    llvm::support::endian::write16le(bytes.data() + 2 * i++, value);
  return bytes;
}

/// The 8-byte little-endian encoding of `value`.
std::string u64le(uint64_t value) {
  char bytes[8];
  llvm::support::endian::write64le(bytes, value);
  return std::string(bytes, 8);
}

class SafeTensorsTest : public testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("nibble-safetensors-test", dir));
  }

  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  /// Returns the path of `name` inside the temporary directory.
  std::string pathFor(StringRef name) const {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  }

  /// Writes `contents` verbatim to `name` and returns its path.
  std::string writeRaw(StringRef name, StringRef contents) const {
    std::string path = pathFor(name);
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    EXPECT_FALSE(ec) << ec.message();
    out << contents;
    return path;
  }

  /// Writes a safetensors file with the given header text and data section
  /// (the header length prefix is computed) and returns its path.
  std::string writeFile(StringRef name, StringRef header,
                        StringRef data = "") const {
    return writeRaw(name, u64le(header.size()) + header.str() + data.str());
  }

  /// Opens `path`, expects failure, and returns the error message.
  static std::string openError(StringRef path) {
    auto file = SafeTensorsFile::open(path);
    if (file) {
      ADD_FAILURE() << "expected opening " << path.str() << " to fail";
      return "";
    }
    return llvm::toString(file.takeError());
  }

  /// Writes a file whose header holds one tensor "w" with the given JSON
  /// entry and `dataSize` zero bytes of data; returns the open error.
  std::string entryError(StringRef fileName, StringRef entry,
                         size_t dataSize = 8) const {
    std::string header = "{\"w\":" + entry.str() + "}";
    return openError(writeFile(fileName, header, std::string(dataSize, '\0')));
  }

  llvm::SmallString<128> dir;
};

//===----------------------------------------------------------------------===//
// Reading well-formed files
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, ReadsHandBuiltUpstreamFile) {
  std::vector<uint8_t> data = floatBytes({1.0f, -2.5f});
  std::string path = writeFile(
      "upstream.safetensors",
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
      StringRef(reinterpret_cast<const char *>(data.data()), data.size()));
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->path(), path);
  ASSERT_EQ((*file)->tensors().size(), 1u);
  const TensorView *a = (*file)->lookup("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_THAT(a->shape, testing::ElementsAre(2));
  EXPECT_EQ(a->numElements(), 2);
  EXPECT_EQ(std::vector<uint8_t>(a->bytes.begin(), a->bytes.end()), data);
  EXPECT_TRUE((*file)->metadata().empty());
  auto values = readAsFloat32(*a);
  ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
  EXPECT_THAT(*values, testing::ElementsAre(1.0f, -2.5f));
}

TEST_F(SafeTensorsTest, ReadsMetadataScalarsEmptyTensorsAndGaps) {
  // A scalar, two empty tensors sharing an offset, a 4-byte gap before "b",
  // and trailing bytes after it: all legal.
  std::string header =
      R"({"__metadata__":{"format":"pt","note":"x"},)"
      R"("s":{"dtype":"I32","shape":[],"data_offsets":[0,4]},)"
      R"("e1":{"dtype":"F16","shape":[0,5],"data_offsets":[4,4]},)"
      R"("e2":{"dtype":"U8","shape":[0],"data_offsets":[4,4]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})";
  std::string data = std::string("\x07\0\0\0", 4) + "gap!" + "ok" + "tail";
  auto file =
      SafeTensorsFile::open(writeFile("misc.safetensors", header, data));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->metadata(), (std::map<std::string, std::string>{
                                     {"format", "pt"}, {"note", "x"}}));
  std::vector<std::string> order;
  for (const TensorView &tensor : (*file)->tensors())
    order.push_back(tensor.name);
  EXPECT_THAT(order, testing::ElementsAre("s", "e1", "e2", "b"));
  const TensorView *s = (*file)->lookup("s");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->numElements(), 1);
  auto scalar = readAsFloat32(*s);
  ASSERT_TRUE(bool(scalar));
  EXPECT_THAT(*scalar, testing::ElementsAre(7.0f));
  EXPECT_EQ((*file)->lookup("e1")->numElements(), 0);
  StringRef b(
      reinterpret_cast<const char *>((*file)->lookup("b")->bytes.data()), 2);
  EXPECT_EQ(b, "ok");
  EXPECT_EQ((*file)->lookup("__metadata__"), nullptr);
}

//===----------------------------------------------------------------------===//
// Malformed files: each error names the file and the specific fact
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, MissingFile) {
  std::string path = pathFor("absent.safetensors");
  EXPECT_THAT(openError(path), AllOf(HasSubstr(path), HasSubstr("cannot open"),
                                     HasSubstr("o such file")));
}

TEST_F(SafeTensorsTest, FileShorterThanHeaderLength) {
  std::string path =
      writeRaw("short.safetensors", StringRef("\x05\0\0\0\0", 5));
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("truncated"),
                    HasSubstr("5 bytes, expected at least 8")));
}

TEST_F(SafeTensorsTest, EmptyFile) {
  std::string path = writeRaw("empty.safetensors", "");
  EXPECT_THAT(
      openError(path),
      AllOf(HasSubstr(path), HasSubstr("0 bytes, expected at least 8")));
}

TEST_F(SafeTensorsTest, HeaderLengthPastEndOfFile) {
  std::string path = writeRaw("long.safetensors", u64le(100) + "{\"a\":1}");
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("header length 100 exceeds the "
                                               "7 bytes")));
}

TEST_F(SafeTensorsTest, HeaderLengthNearUInt64MaxDoesNotWrap) {
  std::string path = writeRaw("huge.safetensors",
                              u64le(UINT64_MAX - 3) + std::string(16, ' '));
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path),
                    HasSubstr("header length 18446744073709551612 exceeds")));
}

TEST_F(SafeTensorsTest, HeaderNotValidJSON) {
  std::string path = writeFile("badjson.safetensors", "{\"a\": [1, 2");
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("header is not valid JSON")));
}

// A 200 KB header nesting arrays 100,000 deep used to overflow the stack
// inside llvm::json::parse; the nesting is bounded before parsing.
TEST_F(SafeTensorsTest, DeeplyNestedHeaderIsRejectedNotRecursed) {
  std::string header =
      "{\"w\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  std::string path = writeFile("deep.safetensors", header);
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path),
                    HasSubstr("header nests JSON arrays or objects more than "
                              "64 levels deep")));
  // Brackets inside strings do not count.
  std::string quoted = "{\"__metadata__\":{\"k\":\"" + std::string(1000, '[') +
                       "\"},\"w\":{\"dtype\":\"F32\",\"shape\":[1],"
                       "\"data_offsets\":[0,4]}}";
  auto file = SafeTensorsFile::open(
      writeFile("quoted.safetensors", quoted, std::string(4, '\0')));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->metadata().at("k"), std::string(1000, '['));
}

// A 10-byte data section cannot back a tensor that claims 100 GB: the
// claim is checked against the file before anything is read or allocated.
TEST_F(SafeTensorsTest, SmallFileClaimingHugeTensor) {
  std::string path =
      writeFile("claim.safetensors",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[26843545600],"
                "\"data_offsets\":[0,107374182400]}}",
                std::string(10, '\0'));
  EXPECT_THAT(openError(path), HasSubstr(path));
}

TEST_F(SafeTensorsTest, HeaderNotAnObject) {
  std::string path = writeFile("array.safetensors", "[1, 2, 3]");
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path),
                    HasSubstr("header must be a JSON object, found array")));
}

TEST_F(SafeTensorsTest, TensorEntryNotAnObject) {
  std::string path = pathFor("entry.safetensors");
  EXPECT_THAT(entryError("entry.safetensors", "[0, 8]"),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
                    HasSubstr("entry must be a JSON object, found array")));
}

TEST_F(SafeTensorsTest, MissingDType) {
  std::string path = pathFor("nodtype.safetensors");
  EXPECT_THAT(entryError("nodtype.safetensors",
                         R"({"shape":[2],"data_offsets":[0,8]})"),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w': missing 'dtype'")));
}

TEST_F(SafeTensorsTest, MissingShape) {
  std::string path = pathFor("noshape.safetensors");
  EXPECT_THAT(entryError("noshape.safetensors",
                         R"({"dtype":"F32","data_offsets":[0,8]})"),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w': missing 'shape'")));
}

TEST_F(SafeTensorsTest, MissingDataOffsets) {
  std::string path = pathFor("nooffsets.safetensors");
  EXPECT_THAT(
      entryError("nooffsets.safetensors", R"({"dtype":"F32","shape":[2]})"),
      AllOf(HasSubstr(path), HasSubstr("tensor 'w': missing 'data_offsets'")));
}

TEST_F(SafeTensorsTest, DTypeNotAString) {
  std::string path = pathFor("dtypeint.safetensors");
  EXPECT_THAT(entryError("dtypeint.safetensors",
                         R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})"),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
                    HasSubstr("'dtype' must be a string, found number 4")));
}

TEST_F(SafeTensorsTest, ShapeNotAnArray) {
  std::string path = pathFor("shapestr.safetensors");
  EXPECT_THAT(entryError("shapestr.safetensors",
                         R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})"),
              AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
                    HasSubstr("'shape' must be an array, found string")));
}

TEST_F(SafeTensorsTest, ShapeElementNotAnInteger) {
  std::string path = pathFor("shapeelt.safetensors");
  EXPECT_THAT(
      entryError("shapeelt.safetensors",
                 R"({"dtype":"F32","shape":[1,"2"],"data_offsets":[0,8]})"),
      AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
            HasSubstr("'shape'[1] must be an integer, found string")));
  std::string fractional = pathFor("shapefrac.safetensors");
  EXPECT_THAT(
      entryError("shapefrac.safetensors",
                 R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,8]})"),
      AllOf(HasSubstr(fractional),
            HasSubstr("'shape'[0] must be an integer, found number 1.5")));
}

TEST_F(SafeTensorsTest, DataOffsetsNotAnArray) {
  std::string path = pathFor("offobj.safetensors");
  EXPECT_THAT(
      entryError("offobj.safetensors",
                 R"({"dtype":"F32","shape":[2],"data_offsets":{"b":0}})"),
      AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
            HasSubstr("'data_offsets' must be an array [begin, end], found "
                      "object")));
}

TEST_F(SafeTensorsTest, DataOffsetsWrongLength) {
  std::string path = pathFor("off3.safetensors");
  EXPECT_THAT(
      entryError("off3.safetensors",
                 R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"),
      AllOf(HasSubstr(path), HasSubstr("tensor 'w'"),
            HasSubstr("'data_offsets' must have 2 elements [begin, end], "
                      "found 3")));
}

TEST_F(SafeTensorsTest, DataOffsetNegativeOrNotAnInteger) {
  std::string negative = pathFor("offneg.safetensors");
  EXPECT_THAT(
      entryError("offneg.safetensors",
                 R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"),
      AllOf(HasSubstr(negative), HasSubstr("tensor 'w'"),
            HasSubstr("'data_offsets'[0] must be non-negative, found -8")));
  std::string text = pathFor("offstr.safetensors");
  EXPECT_THAT(
      entryError("offstr.safetensors",
                 R"({"dtype":"F32","shape":[2],"data_offsets":[0,"8"]})"),
      AllOf(HasSubstr(text),
            HasSubstr("'data_offsets'[1] must be a non-negative 64-bit "
                      "integer, found string \"8\"")));
}

TEST_F(SafeTensorsTest, DataOffsetBeyondInt64DoesNotWrap) {
  std::string path = pathFor("offhuge.safetensors");
  EXPECT_THAT(entryError("offhuge.safetensors",
                         R"({"dtype":"U8","shape":[2],)"
                         R"("data_offsets":[0,18446744073709551615]})"),
              AllOf(HasSubstr(path), HasSubstr("'data_offsets'[1] must be a "
                                               "non-negative 64-bit integer, "
                                               "found number "
                                               "18446744073709551615")));
}

TEST_F(SafeTensorsTest, NegativeShapeDimension) {
  std::string path = pathFor("negdim.safetensors");
  EXPECT_THAT(
      entryError("negdim.safetensors",
                 R"({"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]})"),
      AllOf(HasSubstr(path),
            HasSubstr("tensor 'w': negative dimension -1 at 'shape'[1]")));
}

TEST_F(SafeTensorsTest, UnknownDType) {
  std::string path = pathFor("fp8.safetensors");
  EXPECT_THAT(
      entryError("fp8.safetensors",
                 R"({"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]})"),
      AllOf(HasSubstr(path),
            HasSubstr("tensor 'w': unsupported dtype 'F8_E4M3'"),
            HasSubstr("supported: F64, F32")));
}

TEST_F(SafeTensorsTest, DataOffsetsBeginAfterEnd) {
  std::string path = pathFor("backwards.safetensors");
  EXPECT_THAT(
      entryError("backwards.safetensors",
                 R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})"),
      AllOf(HasSubstr(path),
            HasSubstr("tensor 'w': data_offsets begin 8 is greater than "
                      "end 4")));
}

TEST_F(SafeTensorsTest, DataOffsetsPastEndOfDataSection) {
  std::string path = pathFor("pastend.safetensors");
  EXPECT_THAT(
      entryError("pastend.safetensors",
                 R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})",
                 /*dataSize=*/8),
      AllOf(HasSubstr(path),
            HasSubstr("tensor 'w': data_offsets [0, 16] extend past the end "
                      "of the data section (8 bytes)")));
}

TEST_F(SafeTensorsTest, OverlappingTensors) {
  std::string path =
      writeFile("overlap.safetensors",
                R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                std::string(12, '\0'));
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("tensors 'a' (bytes [0, 8)) "
                                               "and 'b' (bytes [4, 12)) "
                                               "overlap")));
}

TEST_F(SafeTensorsTest, TensorInsideAnotherOverlaps) {
  // "inner" lies within "outer" and starts after it, so comparing only with
  // the previous tensor's end would not be enough.
  std::string path =
      writeFile("nested.safetensors",
                R"({"outer":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},)"
                R"("mid":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                R"("inner":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})",
                std::string(16, '\0'));
  EXPECT_THAT(openError(path), AllOf(HasSubstr(path), HasSubstr("'outer'"),
                                     HasSubstr("'mid'"), HasSubstr("overlap")));
}

TEST_F(SafeTensorsTest, ShapeDoesNotMatchByteLength) {
  std::string path = pathFor("size.safetensors");
  EXPECT_THAT(
      entryError("size.safetensors",
                 R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,20]})",
                 /*dataSize=*/24),
      AllOf(HasSubstr(path),
            HasSubstr("tensor 'w': shape [2, 3] of F32 needs 24 bytes, but "
                      "data_offsets [0, 20] span 20 bytes")));
}

TEST_F(SafeTensorsTest, ShapeProductOverflowDoesNotWrap) {
  // 2^32 × 2^32 wraps to 0 in 64 bits, which would match the empty range.
  std::string path = pathFor("overflow.safetensors");
  EXPECT_THAT(entryError("overflow.safetensors",
                         R"({"dtype":"U8","shape":[4294967296,4294967296],)"
                         R"("data_offsets":[0,0]})"),
              AllOf(HasSubstr(path),
                    HasSubstr("tensor 'w': shape [4294967296, 4294967296] of "
                              "U8 is too large")));
  // 2^62 elements fit, 2^62 × 4 bytes wrap to 0.
  std::string bytes = pathFor("overflow4.safetensors");
  EXPECT_THAT(entryError("overflow4.safetensors",
                         R"({"dtype":"F32","shape":[4611686018427387904],)"
                         R"("data_offsets":[0,0]})"),
              AllOf(HasSubstr(bytes), HasSubstr("is too large")));
}

TEST_F(SafeTensorsTest, DuplicateTensorNames) {
  // llvm::json::parse keeps one of two equal keys without complaint, so the
  // reader scans the raw header for duplicates.
  std::string path =
      writeFile("dup.safetensors",
                R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                std::string(8, '\0'));
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("duplicate tensor name 'w'")));
}

TEST_F(SafeTensorsTest, DuplicateTensorNamesSpelledWithEscapes) {
  std::string path =
      writeFile("dupesc.safetensors",
                R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("\u0077":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                std::string(8, '\0'));
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path), HasSubstr("duplicate tensor name 'w'")));
}

TEST_F(SafeTensorsTest, DuplicateKeyInTensorEntry) {
  std::string path = pathFor("dupfield.safetensors");
  EXPECT_THAT(entryError("dupfield.safetensors",
                         R"({"dtype":"F32","dtype":"I32","shape":[2],)"
                         R"("data_offsets":[0,8]})"),
              AllOf(HasSubstr(path),
                    HasSubstr("duplicate key 'dtype' in the entry for 'w'")));
}

TEST_F(SafeTensorsTest, QuotesAndBracesInsideNamesAreNotStructure) {
  // Names containing '{', '"' and ':' must not confuse the duplicate scan.
  std::string path =
      writeFile("tricky.safetensors",
                R"({"a{\":":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                R"("b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                "xy");
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_NE((*file)->lookup("a{\":"), nullptr);
  EXPECT_NE((*file)->lookup("b"), nullptr);
}

TEST_F(SafeTensorsTest, MetadataMustBeAnObjectOfStrings) {
  std::string path =
      writeFile("meta.safetensors", R"({"__metadata__":{"epochs":3}})");
  EXPECT_THAT(openError(path),
              AllOf(HasSubstr(path),
                    HasSubstr("'__metadata__' value of 'epochs' must be a "
                              "string, found number 3")));
  std::string notObject =
      writeFile("meta2.safetensors", R"({"__metadata__":"pt"})");
  EXPECT_THAT(openError(notObject),
              AllOf(HasSubstr(notObject),
                    HasSubstr("'__metadata__' must be a JSON object of "
                              "strings, found string")));
}

TEST_F(SafeTensorsTest, GetMissingTensor) {
  SafeTensorsWriter writer;
  ASSERT_FALSE(bool(writer.addTensor("layer.weight", DType::U8, {1}, {1})));
  ASSERT_FALSE(bool(writer.addTensor("layer.bias", DType::U8, {1}, {2})));
  std::string path = pathFor("get.safetensors");
  ASSERT_FALSE(bool(writer.write(path)));
  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());

  EXPECT_EQ((*file)->lookup("layer.weights"), nullptr);
  auto missing = (*file)->get("layer.weights");
  ASSERT_FALSE(bool(missing));
  EXPECT_THAT(llvm::toString(missing.takeError()),
              AllOf(HasSubstr(path),
                    HasSubstr("tensor 'layer.weights' not found (the file has "
                              "2 tensors)"),
                    HasSubstr("did you mean 'layer.weight'?")));

  auto unrelated = (*file)->get("embedding");
  ASSERT_FALSE(bool(unrelated));
  std::string message = llvm::toString(unrelated.takeError());
  EXPECT_THAT(message, HasSubstr("tensor 'embedding' not found"));
  EXPECT_THAT(message, testing::Not(HasSubstr("did you mean")));

  auto found = (*file)->get("layer.bias");
  ASSERT_TRUE(bool(found)) << llvm::toString(found.takeError());
  EXPECT_EQ((*found)->bytes[0], 2);
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

TEST_F(SafeTensorsTest, WriteThenReadRoundTrip) {
  struct Input {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
  };
  std::vector<Input> inputs = {
      {"z.f64", DType::F64, {3}},      {"a.u8", DType::U8, {5}},
      {"m.f32", DType::F32, {2, 3}},   {"b.bool", DType::Bool, {3}},
      {"c.bf16", DType::BF16, {1, 3}}, {"d.f16", DType::F16, {3}},
      {"e.i64", DType::I64, {2}},      {"f.i32", DType::I32, {1}},
      {"g.i16", DType::I16, {3}},      {"h.i8", DType::I8, {2, 2}},
      {"scalar", DType::F32, {}},      {"empty", DType::F16, {0, 7}},
  };
  SafeTensorsWriter writer;
  std::map<std::string, std::vector<uint8_t>> expected;
  uint8_t next = 1;
  for (const Input &input : inputs) {
    size_t size = dtypeByteSize(input.dtype);
    for (int64_t dim : input.shape)
      size *= dim;
    std::vector<uint8_t> bytes(size);
    for (uint8_t &byte : bytes)
      byte = input.dtype == DType::Bool ? next++ % 2 : next++;
    ASSERT_FALSE(
        bool(writer.addTensor(input.name, input.dtype, input.shape, bytes)));
    expected[input.name] = bytes;
  }
  writer.setMetadata("format", "pt");
  writer.setMetadata("quantizer", "rtn w4 g128");
  std::string path = pathFor("roundtrip.safetensors");
  ASSERT_FALSE(bool(writer.write(path)));

  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->metadata(),
            (std::map<std::string, std::string>{{"format", "pt"},
                                                {"quantizer", "rtn w4 g128"}}));
  ASSERT_EQ((*file)->tensors().size(), inputs.size());
  for (const Input &input : inputs) {
    SCOPED_TRACE(input.name);
    const TensorView *tensor = (*file)->lookup(input.name);
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dtype, input.dtype);
    EXPECT_EQ(std::vector<int64_t>(tensor->shape.begin(), tensor->shape.end()),
              input.shape);
    EXPECT_EQ(std::vector<uint8_t>(tensor->bytes.begin(), tensor->bytes.end()),
              expected[input.name]);
  }

  // Layout: header padded with spaces to a multiple of 8, tensors sorted by
  // element size (largest first) then name, back to back, each aligned to its
  // element size within the file.
  auto buffer = llvm::MemoryBuffer::getFile(path);
  ASSERT_TRUE(bool(buffer));
  StringRef contents = (*buffer)->getBuffer();
  uint64_t headerLength = llvm::support::endian::read64le(contents.data());
  EXPECT_EQ(headerLength % 8, 0u);
  StringRef header = contents.substr(8, headerLength);
  EXPECT_TRUE(header.starts_with("{\"__metadata__\":{\"format\":\"pt\","));
  EXPECT_EQ(header.rtrim(' ').back(), '}');
  // The first tensor starts the data section; offsets are relative to it.
  const uint8_t *dataStart = (*file)->tensors().front().bytes.data();
  std::vector<std::string> order;
  size_t expectedOffset = 0;
  for (const TensorView &tensor : (*file)->tensors()) {
    order.push_back(tensor.name);
    size_t offset = tensor.bytes.data() - dataStart;
    EXPECT_EQ(offset, expectedOffset) << tensor.name;
    EXPECT_EQ((8 + headerLength + offset) % dtypeByteSize(tensor.dtype), 0u)
        << tensor.name;
    expectedOffset += tensor.bytes.size();
  }
  EXPECT_EQ(8 + headerLength + expectedOffset, contents.size());
  EXPECT_EQ(StringRef(reinterpret_cast<const char *>(dataStart), 8),
            contents.substr(8 + headerLength, 8));
  EXPECT_THAT(order, testing::ElementsAre("e.i64", "z.f64", "f.i32", "m.f32",
                                          "scalar", "c.bf16", "d.f16", "empty",
                                          "g.i16", "a.u8", "b.bool", "h.i8"));
}

TEST_F(SafeTensorsTest, WriterOutputIsDeterministic) {
  auto build = [&](bool reversed, StringRef name) {
    SafeTensorsWriter writer;
    std::vector<std::string> names = {"x", "y", "w"};
    if (reversed)
      std::reverse(names.begin(), names.end());
    for (const std::string &tensorName : names)
      EXPECT_FALSE(bool(
          writer.addTensor(tensorName, DType::F32, {1}, floatBytes({1.0f}))));
    writer.setMetadata(reversed ? "b" : "a", reversed ? "2" : "1");
    writer.setMetadata(reversed ? "a" : "b", reversed ? "1" : "2");
    std::string path = pathFor(name);
    EXPECT_FALSE(bool(writer.write(path)));
    return (*llvm::MemoryBuffer::getFile(path))->getBuffer().str();
  };
  EXPECT_EQ(build(false, "one.safetensors"), build(true, "two.safetensors"));
}

TEST_F(SafeTensorsTest, WriterBorrowsWithoutCopying) {
  // A borrowed tensor is read at write() time: changing the caller's buffer
  // in between shows in the file, while a copied tensor keeps its value.
  std::vector<uint8_t> borrowed = floatBytes({1.0f, 2.0f});
  std::vector<uint8_t> copied = floatBytes({3.0f});
  SafeTensorsWriter writer;
  ASSERT_FALSE(bool(writer.addBorrowedTensor("b", DType::F32, {2}, borrowed)));
  ASSERT_FALSE(bool(writer.addTensor("c", DType::F32, {1}, copied)));
  // Many more tensors, so the writer's own storage grows and moves.
  for (int i = 0; i < 100; ++i)
    ASSERT_FALSE(bool(writer.addTensor("t" + std::to_string(i), DType::U8, {1},
                                       {static_cast<uint8_t>(i)})));
  std::vector<uint8_t> changed = floatBytes({5.0f, 6.0f});
  std::copy(changed.begin(), changed.end(), borrowed.begin());
  std::fill(copied.begin(), copied.end(), 0);
  std::string path = pathFor("borrowed.safetensors");
  ASSERT_FALSE(bool(writer.write(path)));

  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  auto readFloats = [&](StringRef name) {
    auto tensor = (*file)->get(name);
    EXPECT_TRUE(bool(tensor));
    return *readAsFloat32(**tensor);
  };
  EXPECT_EQ(readFloats("b"), (std::vector<float>{5.0f, 6.0f}));
  EXPECT_EQ(readFloats("c"), (std::vector<float>{3.0f}));
  auto last = (*file)->get("t99");
  ASSERT_TRUE(bool(last));
  EXPECT_EQ((*last)->bytes[0], 99);

  // Borrowed tensors are checked like copied ones.
  llvm::Error mismatch =
      writer.addBorrowedTensor("x", DType::F32, {3}, borrowed);
  ASSERT_TRUE(bool(mismatch));
  EXPECT_THAT(llvm::toString(std::move(mismatch)),
              HasSubstr("tensor 'x': shape [3] of F32 needs 12 bytes, got 8"));
}

TEST_F(SafeTensorsTest, WriterStreamsGeneratedTensors) {
  // A generated tensor is produced piece by piece while writing, between a
  // copied one and a borrowed one, and reads back byte for byte.
  SafeTensorsWriter writer;
  std::vector<uint8_t> borrowed = floatBytes({7.0f});
  ASSERT_FALSE(bool(writer.addTensor("a", DType::F32, {1}, floatBytes({1}))));
  int calls = 0;
  ASSERT_FALSE(bool(writer.addGeneratedTensor(
      "g", DType::F32, {3, 2}, [&](SafeTensorsWriter::ByteSink emit) {
        ++calls;
        for (int row = 0; row < 3; ++row) {
          std::vector<uint8_t> piece = floatBytes(
              {static_cast<float>(2 * row), static_cast<float>(2 * row + 1)});
          emit(piece);
        }
        return llvm::Error::success();
      })));
  ASSERT_FALSE(bool(writer.addBorrowedTensor("z", DType::F32, {1}, borrowed)));
  EXPECT_EQ(calls, 0);
  std::string path = pathFor("generated.safetensors");
  ASSERT_FALSE(bool(writer.write(path)));
  EXPECT_EQ(calls, 1);

  auto file = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  auto tensor = (*file)->get("g");
  ASSERT_TRUE(bool(tensor));
  EXPECT_EQ((*tensor)->shape, (llvm::SmallVector<int64_t, 4>{3, 2}));
  EXPECT_EQ(*readAsFloat32(**tensor), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(*readAsFloat32(**(*file)->get("a")), (std::vector<float>{1}));
  EXPECT_EQ(*readAsFloat32(**(*file)->get("z")), (std::vector<float>{7}));
}

TEST_F(SafeTensorsTest, WriterRejectsFailingOrShortGenerators) {
  std::string path = pathFor("generated.safetensors");
  {
    SafeTensorsWriter writer;
    ASSERT_FALSE(bool(writer.addGeneratedTensor(
        "short", DType::F32, {4}, [](SafeTensorsWriter::ByteSink emit) {
          emit(floatBytes({1, 2, 3}));
          return llvm::Error::success();
        })));
    llvm::Error err = writer.write(path);
    ASSERT_TRUE(bool(err));
    EXPECT_THAT(llvm::toString(std::move(err)),
                AllOf(HasSubstr(path), HasSubstr("tensor 'short': the "
                                                 "generator produced 12 "
                                                 "bytes, expected 16")));
  }
  {
    SafeTensorsWriter writer;
    ASSERT_FALSE(bool(writer.addGeneratedTensor(
        "long", DType::U8, {1}, [](SafeTensorsWriter::ByteSink emit) {
          emit(std::vector<uint8_t>{1, 2});
          return llvm::Error::success();
        })));
    llvm::Error err = writer.write(path);
    ASSERT_TRUE(bool(err));
    EXPECT_THAT(llvm::toString(std::move(err)),
                HasSubstr("tensor 'long': the generator produced 2 bytes, "
                          "expected 1"));
  }
  {
    SafeTensorsWriter writer;
    ASSERT_FALSE(bool(writer.addGeneratedTensor(
        "bad", DType::U8, {1}, [](SafeTensorsWriter::ByteSink) {
          return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                         "cannot dequantize");
        })));
    llvm::Error err = writer.write(path);
    ASSERT_TRUE(bool(err));
    EXPECT_THAT(llvm::toString(std::move(err)),
                HasSubstr("tensor 'bad': cannot dequantize"));
  }
  // No file was left behind by the failed writes.
  EXPECT_FALSE(llvm::sys::fs::exists(path));
  // Generated tensors are checked like the others.
  SafeTensorsWriter writer;
  llvm::Error negative = writer.addGeneratedTensor(
      "n", DType::U8, {-1},
      [](SafeTensorsWriter::ByteSink) { return llvm::Error::success(); });
  ASSERT_TRUE(bool(negative));
  EXPECT_THAT(llvm::toString(std::move(negative)),
              HasSubstr("tensor 'n': negative dimension -1 at shape[0]"));
}

TEST_F(SafeTensorsTest, WriterRejectsDuplicateName) {
  SafeTensorsWriter writer;
  ASSERT_FALSE(bool(writer.addTensor("w", DType::U8, {1}, {0})));
  llvm::Error err = writer.addTensor("w", DType::U8, {1}, {0});
  ASSERT_TRUE(bool(err));
  EXPECT_THAT(llvm::toString(std::move(err)),
              HasSubstr("tensor 'w': duplicate tensor name"));
}

TEST_F(SafeTensorsTest, WriterRejectsSizeMismatch) {
  SafeTensorsWriter writer;
  llvm::Error err =
      writer.addTensor("w", DType::F32, {2, 3}, std::vector<uint8_t>(20));
  ASSERT_TRUE(bool(err));
  EXPECT_THAT(llvm::toString(std::move(err)),
              HasSubstr("tensor 'w': shape [2, 3] of F32 needs 24 bytes, got "
                        "20"));
}

TEST_F(SafeTensorsTest, WriterRejectsBadShapesAndNames) {
  SafeTensorsWriter writer;
  llvm::Error negative = writer.addTensor("n", DType::U8, {-1}, {});
  ASSERT_TRUE(bool(negative));
  EXPECT_THAT(llvm::toString(std::move(negative)),
              HasSubstr("tensor 'n': negative dimension -1 at shape[0]"));
  llvm::Error overflow =
      writer.addTensor("o", DType::I64, {int64_t(1) << 61}, {});
  ASSERT_TRUE(bool(overflow));
  EXPECT_THAT(llvm::toString(std::move(overflow)),
              HasSubstr("tensor 'o': shape [2305843009213693952] of I64 is too "
                        "large"));
  llvm::Error reserved = writer.addTensor("__metadata__", DType::U8, {0}, {});
  ASSERT_TRUE(bool(reserved));
  EXPECT_THAT(llvm::toString(std::move(reserved)), HasSubstr("reserved"));
  llvm::Error utf8 = writer.addTensor("\xff", DType::U8, {0}, {});
  ASSERT_TRUE(bool(utf8));
  EXPECT_THAT(llvm::toString(std::move(utf8)), HasSubstr("not valid UTF-8"));
}

TEST_F(SafeTensorsTest, WriteIntoMissingDirectoryFailsCleanly) {
  SafeTensorsWriter writer;
  ASSERT_FALSE(bool(writer.addTensor("w", DType::U8, {1}, {0})));
  std::string path = pathFor("no-such-dir/out.safetensors");
  llvm::Error err = writer.write(path);
  ASSERT_TRUE(bool(err));
  EXPECT_THAT(llvm::toString(std::move(err)),
              AllOf(HasSubstr(path), HasSubstr("temporary file")));
  EXPECT_FALSE(llvm::sys::fs::exists(path));
}

TEST_F(SafeTensorsTest, OverwritingAMappedFileKeepsTheReaderValid) {
  std::string path = pathFor("live.safetensors");
  std::vector<uint8_t> oldBytes(1 << 20, 0xab);
  {
    SafeTensorsWriter writer;
    ASSERT_FALSE(bool(writer.addTensor("w", DType::U8,
                                       {int64_t(oldBytes.size())}, oldBytes)));
    ASSERT_FALSE(bool(writer.write(path)));
  }
  auto oldFile = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(oldFile)) << llvm::toString(oldFile.takeError());
  {
    SafeTensorsWriter writer;
    ASSERT_FALSE(
        bool(writer.addTensor("v", DType::F32, {1}, floatBytes({3.0f}))));
    ASSERT_FALSE(bool(writer.write(path)));
  }
  const TensorView *w = (*oldFile)->lookup("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(std::vector<uint8_t>(w->bytes.begin(), w->bytes.end()), oldBytes);

  auto newFile = SafeTensorsFile::open(path);
  ASSERT_TRUE(bool(newFile)) << llvm::toString(newFile.takeError());
  EXPECT_EQ((*newFile)->lookup("w"), nullptr);
  ASSERT_NE((*newFile)->lookup("v"), nullptr);

  // No temporary files are left behind.
  std::error_code ec;
  size_t entries = 0;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec))
    ++entries;
  EXPECT_EQ(entries, 1u);
}

//===----------------------------------------------------------------------===//
// readAsFloat32
//===----------------------------------------------------------------------===//

/// Returns a view of `bytes` as a tensor of `dtype` with one dimension.
TensorView makeView(StringRef name, DType dtype,
                    const std::vector<uint8_t> &bytes) {
  TensorView view;
  view.name = name.str();
  view.dtype = dtype;
  view.shape = {int64_t(bytes.size() / dtypeByteSize(dtype))};
  view.bytes = bytes;
  return view;
}

TEST(ReadAsFloat32Test, F16KnownBitPatterns) {
  std::vector<uint8_t> bytes = halfBytes(
      {0x3c00, 0xc100, 0x0001, 0x8000, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x3555});
  auto values = readAsFloat32(makeView("h", DType::F16, bytes));
  ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
  ASSERT_EQ(values->size(), 9u);
  EXPECT_EQ((*values)[0], 1.0f);
  EXPECT_EQ((*values)[1], -2.5f);
  EXPECT_EQ((*values)[2], std::ldexp(1.0f, -24)); // Smallest subnormal.
  EXPECT_EQ((*values)[3], 0.0f);
  EXPECT_TRUE(std::signbit((*values)[3]));
  EXPECT_EQ((*values)[4], std::ldexp(1.0f, -14)); // Smallest normal.
  EXPECT_EQ((*values)[5], 65504.0f);              // Largest finite.
  EXPECT_EQ((*values)[6], INFINITY);
  EXPECT_EQ((*values)[7], -INFINITY);
  EXPECT_EQ((*values)[8], 1365.0f / 4096.0f); // 0x3555 = 0.333251953125.

  auto nan = readAsFloat32(makeView("n", DType::F16, halfBytes({0x7e00})));
  ASSERT_TRUE(bool(nan));
  EXPECT_TRUE(std::isnan((*nan)[0]));
}

TEST(ReadAsFloat32Test, BF16KnownBitPatterns) {
  std::vector<uint8_t> bytes =
      halfBytes({0x3f80, 0xc020, 0x0001, 0x7f7f, 0x3eab});
  auto values = readAsFloat32(makeView("b", DType::BF16, bytes));
  ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
  ASSERT_EQ(values->size(), 5u);
  EXPECT_EQ((*values)[0], 1.0f);
  EXPECT_EQ((*values)[1], -2.5f);
  EXPECT_EQ((*values)[2], std::ldexp(1.0f, -133));  // Smallest subnormal.
  EXPECT_EQ((*values)[3], std::ldexp(255.0f, 120)); // Largest finite.
  EXPECT_EQ((*values)[4], 0.333984375f);
}

TEST(ReadAsFloat32Test, IntegersConvertExactly) {
  std::vector<uint8_t> i8 = {0x80, 0xff, 0x00, 0x7f};
  auto fromI8 = readAsFloat32(makeView("i8", DType::I8, i8));
  ASSERT_TRUE(bool(fromI8));
  EXPECT_THAT(*fromI8, testing::ElementsAre(-128.0f, -1.0f, 0.0f, 127.0f));

  auto fromU8 = readAsFloat32(makeView("u8", DType::U8, i8));
  ASSERT_TRUE(bool(fromU8));
  EXPECT_THAT(*fromU8, testing::ElementsAre(128.0f, 255.0f, 0.0f, 127.0f));

  auto fromI16 =
      readAsFloat32(makeView("i16", DType::I16, halfBytes({0x8000, 0x7fff})));
  ASSERT_TRUE(bool(fromI16));
  EXPECT_THAT(*fromI16, testing::ElementsAre(-32768.0f, 32767.0f));

  // 2^24 and -2^31 are exact in float32; so is 2^62 as an I64.
  std::vector<uint8_t> i32(8);
  llvm::support::endian::write32le(i32.data(), 1u << 24);
  llvm::support::endian::write32le(i32.data() + 4, 0x80000000u);
  auto fromI32 = readAsFloat32(makeView("i32", DType::I32, i32));
  ASSERT_TRUE(bool(fromI32));
  EXPECT_THAT(*fromI32, testing::ElementsAre(16777216.0f, -2147483648.0f));

  std::vector<uint8_t> i64(8);
  llvm::support::endian::write64le(i64.data(), uint64_t(1) << 62);
  auto fromI64 = readAsFloat32(makeView("i64", DType::I64, i64));
  ASSERT_TRUE(bool(fromI64));
  EXPECT_EQ((*fromI64)[0], std::ldexp(1.0f, 62));
}

TEST(ReadAsFloat32Test, InexactIntegerIsAnError) {
  std::vector<uint8_t> i32(8);
  llvm::support::endian::write32le(i32.data(), 5);
  llvm::support::endian::write32le(i32.data() + 4, (1u << 24) + 1);
  auto values = readAsFloat32(makeView("ids", DType::I32, i32));
  ASSERT_FALSE(bool(values));
  EXPECT_THAT(llvm::toString(values.takeError()),
              HasSubstr("tensor 'ids': I32 value 16777217 at element 1 is not "
                        "exactly representable as float32"));
}

TEST(ReadAsFloat32Test, F64RoundsAndRejectsOutOfRange) {
  std::vector<uint8_t> bytes(16);
  llvm::support::endian::write64le(bytes.data(), llvm::bit_cast<uint64_t>(0.1));
  llvm::support::endian::write64le(bytes.data() + 8,
                                   llvm::bit_cast<uint64_t>(-3.0));
  auto values = readAsFloat32(makeView("d", DType::F64, bytes));
  ASSERT_TRUE(bool(values));
  EXPECT_THAT(*values, testing::ElementsAre(0.1f, -3.0f));

  llvm::support::endian::write64le(bytes.data() + 8,
                                   llvm::bit_cast<uint64_t>(1e300));
  auto outOfRange = readAsFloat32(makeView("d", DType::F64, bytes));
  ASSERT_FALSE(bool(outOfRange));
  EXPECT_THAT(llvm::toString(outOfRange.takeError()),
              AllOf(HasSubstr("tensor 'd': F64 value"),
                    HasSubstr("at element 1 is outside the float32 range")));
}

TEST(ReadAsFloat32Test, BoolIsUnsupported) {
  std::vector<uint8_t> bytes = {0, 1};
  auto values = readAsFloat32(makeView("mask", DType::Bool, bytes));
  ASSERT_FALSE(bool(values));
  EXPECT_THAT(llvm::toString(values.takeError()),
              HasSubstr("tensor 'mask': readAsFloat32 does not support dtype "
                        "BOOL"));
}

TEST(ReadAsFloat32Test, ViewWithWrongByteCountIsAnError) {
  std::vector<uint8_t> bytes(6);
  TensorView view = makeView("w", DType::F32, bytes);
  view.shape = {2};
  auto values = readAsFloat32(view);
  ASSERT_FALSE(bool(values));
  EXPECT_THAT(llvm::toString(values.takeError()),
              HasSubstr("tensor 'w': shape [2] of F32 needs 8 bytes, but the "
                        "view has 6"));
}

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

TEST(DTypeTest, NamesRoundTripAndSizes) {
  const std::pair<DType, size_t> all[] = {
      {DType::F64, 8}, {DType::F32, 4}, {DType::F16, 2}, {DType::BF16, 2},
      {DType::I64, 8}, {DType::I32, 4}, {DType::I16, 2}, {DType::I8, 1},
      {DType::U8, 1},  {DType::Bool, 1}};
  for (auto [dtype, size] : all) {
    EXPECT_EQ(parseSafetensorsDType(safetensorsName(dtype)), dtype);
    EXPECT_EQ(dtypeByteSize(dtype), size);
  }
  EXPECT_EQ(safetensorsName(DType::Bool), "BOOL");
  EXPECT_EQ(safetensorsName(DType::BF16), "BF16");
  EXPECT_EQ(parseSafetensorsDType("f32"), std::nullopt);
  EXPECT_EQ(parseSafetensorsDType("U16"), std::nullopt);
}

TEST(DTypeTest, CheckedSizes) {
  EXPECT_EQ(checkedNumElements({}), 1);
  EXPECT_EQ(checkedNumElements({2, 3, 4}), 24);
  EXPECT_EQ(checkedNumElements({int64_t(1) << 40, int64_t(1) << 40, 0}), 0);
  EXPECT_EQ(checkedNumElements({int64_t(1) << 32, int64_t(1) << 32}),
            std::nullopt);
  EXPECT_EQ(checkedNumElements({3, -1}), std::nullopt);
  EXPECT_EQ(checkedByteSize({int64_t(1) << 61}, DType::F32), std::nullopt);
  EXPECT_EQ(checkedByteSize({int64_t(1) << 61}, DType::U8), int64_t(1) << 61);
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatShape({2, 3}), "[2, 3]");
}

} // namespace

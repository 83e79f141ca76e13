//===- NpyTest.cpp - Tests for the .npy reader and writer -----------------===//
//
// Every input file is built byte by byte in a fresh temporary directory, so
// the tests need no fixtures (and no Python). Each malformed-file test checks
// that the error names the file and the specific fact that is wrong.
//
//===----------------------------------------------------------------------===//

#include "support/Npy.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

using namespace nibble;
using llvm::StringRef;
using testing::AllOf;
using testing::HasSubstr;

namespace {

/// Builds a .npy file: magic, version `major`.0, header length, `header`
/// padded with spaces and a final '\n' to a multiple of 64 bytes as numpy
/// does, then `data`.
std::string npyBytes(StringRef header, StringRef data, unsigned major = 1) {
  size_t lengthSize = major == 1 ? 2 : 4;
  size_t prefixSize = 6 + 2 + lengthSize;
  std::string padded = header.str();
  size_t unpadded = prefixSize + padded.size() + 1;
  padded.append((64 - unpadded % 64) % 64, ' ');
  padded.push_back('\n');
  std::string bytes("\x93NUMPY", 6);
  bytes.push_back(static_cast<char>(major));
  bytes.push_back('\0');
  char length[4];
  llvm::support::endian::write32le(length,
                                   static_cast<uint32_t>(padded.size()));
  bytes.append(length, lengthSize);
  return bytes + padded + data.str();
}

class NpyTest : public testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("nibble-npy-test", dir));
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

  /// Returns the contents of the file at `path`.
  static std::string readRaw(StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    EXPECT_TRUE(bool(buffer));
    return buffer ? (*buffer)->getBuffer().str() : "";
  }

  /// Reads `path`, expects failure, and returns the error message.
  static std::string readError(StringRef path) {
    auto array = readNpy(path);
    if (array) {
      ADD_FAILURE() << "expected reading " << path.str() << " to fail";
      return "";
    }
    return llvm::toString(array.takeError());
  }

  /// Writes a version 1.0 file with header dict `header` and `data`, and
  /// returns the error of reading it.
  std::string headerError(StringRef fileName, StringRef header,
                          StringRef data = "") const {
    return readError(writeRaw(fileName, npyBytes(header, data)));
  }

  llvm::SmallString<128> dir;
};

//===----------------------------------------------------------------------===//
// Reading well-formed files
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, ReadsFileExactlyAsNumpyWritesIt) {
  // numpy.save(f, np.arange(6, dtype=np.float32).reshape(2, 3)) with numpy
  // 2.x: 21 - len("2") spaces reserved for growing the first dimension, then
  // padding to a 128-byte header ending in '\n'.
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string header = dict + std::string(127 - 10 - dict.size(), ' ') + "\n";
  ASSERT_EQ(header.size(), 118u);
  std::string data;
  for (float value : {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f}) {
    char bytes[4];
    llvm::support::endian::write32le(bytes, llvm::bit_cast<uint32_t>(value));
    data.append(bytes, 4);
  }
  std::string contents =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header + data;
  ASSERT_EQ(contents.size(), 152u);
  std::string path = writeRaw("numpy.npy", contents);

  auto array = readNpy(path);
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_EQ(array->dtype, DType::F32);
  EXPECT_THAT(array->shape, testing::ElementsAre(2, 3));
  EXPECT_EQ(array->numElements(), 6);
  EXPECT_EQ(StringRef(reinterpret_cast<const char *>(array->data.data()),
                      array->data.size()),
            data);

  // Writing the array back reproduces numpy's bytes exactly.
  std::string copy = pathFor("copy.npy");
  ASSERT_FALSE(bool(writeNpy(copy, *array)));
  EXPECT_EQ(readRaw(copy), contents);
}

TEST_F(NpyTest, ReadsVersions2And3) {
  std::string data("\x01\x00\x02\x00\x03\x00", 6);
  for (unsigned major : {2u, 3u}) {
    SCOPED_TRACE(major);
    std::string path = writeRaw(
        "v" + std::to_string(major) + ".npy",
        npyBytes("{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }",
                 data, major));
    auto array = readNpy(path);
    ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
    EXPECT_EQ(array->dtype, DType::I16);
    EXPECT_THAT(array->shape, testing::ElementsAre(3));
    EXPECT_EQ(std::string(array->data.begin(), array->data.end()), data);
  }
}

TEST_F(NpyTest, ReadsOlderHeaderSpellings) {
  // Python 2 numpy wrote longs as "3L", keys may be double-quoted, spacing
  // and key order vary, and old files padded to 16 rather than 64 bytes.
  std::string dict =
      "{\"shape\":(3L,),\"fortran_order\":False,\"descr\":\"<i4\"}";
  std::string header =
      dict + std::string(16 - (10 + dict.size() + 1) % 16, ' ') + "\n";
  std::string data(12, '\0');
  data[0] = 7;
  std::string contents = std::string("\x93NUMPY\x01\x00", 8) +
                         std::string(1, char(header.size())) +
                         std::string(1, '\0') + header + data;
  auto array = readNpy(writeRaw("old.npy", contents));
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_EQ(array->dtype, DType::I32);
  EXPECT_THAT(array->shape, testing::ElementsAre(3));
  EXPECT_EQ(array->data[0], 7);
}

TEST_F(NpyTest, ScalarShapeHasOneElement) {
  std::string path = writeRaw(
      "scalar.npy",
      npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
               std::string(8, '\0')));
  auto array = readNpy(path);
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_EQ(array->dtype, DType::F64);
  EXPECT_TRUE(array->shape.empty());
  EXPECT_EQ(array->numElements(), 1);
  EXPECT_EQ(array->data.size(), 8u);
}

TEST_F(NpyTest, OneByteDescrsAcceptAnyByteOrder) {
  const std::pair<const char *, DType> cases[] = {
      {"|i1", DType::I8},   {"<i1", DType::I8}, {"|u1", DType::U8},
      {"<u1", DType::U8},   {">u1", DType::U8}, {"=u1", DType::U8},
      {"|b1", DType::Bool}, {"u1", DType::U8}};
  for (auto [descr, dtype] : cases) {
    SCOPED_TRACE(descr);
    std::string header = "{'descr': '" + std::string(descr) +
                         "', 'fortran_order': False, 'shape': (2,), }";
    auto array = readNpy(
        writeRaw("byte.npy", npyBytes(header, StringRef("\x01\x00", 2))));
    ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
    EXPECT_EQ(array->dtype, dtype);
  }
}

TEST_F(NpyTest, FortranOrderIsAcceptedWhereLayoutsAgree) {
  std::string path = writeRaw(
      "fortran1d.npy",
      npyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }",
               "abc"));
  auto array = readNpy(path);
  ASSERT_TRUE(bool(array)) << llvm::toString(array.takeError());
  EXPECT_THAT(array->shape, testing::ElementsAre(3));
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, RoundTripsEveryDType) {
  const DType dtypes[] = {DType::F64, DType::F32, DType::F16,
                          DType::I64, DType::I32, DType::I16,
                          DType::I8,  DType::U8,  DType::Bool};
  const std::vector<int64_t> shapes[] = {{}, {5}, {2, 3}, {0, 4}, {1, 2, 1, 3}};
  uint8_t next = 0;
  for (DType dtype : dtypes) {
    for (const std::vector<int64_t> &shape : shapes) {
      SCOPED_TRACE(std::string(safetensorsName(dtype)) + " " +
                   formatShape(shape));
      NpyArray array;
      array.dtype = dtype;
      array.shape.assign(shape.begin(), shape.end());
      array.data.resize(*checkedByteSize(shape, dtype));
      for (uint8_t &byte : array.data)
        byte = dtype == DType::Bool ? next++ % 2 : next++;
      std::string path = pathFor("roundtrip.npy");
      ASSERT_FALSE(bool(writeNpy(path, array)));

      std::string contents = readRaw(path);
      ASSERT_GE(contents.size(), 10u);
      EXPECT_EQ(contents.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
      size_t headerLength =
          llvm::support::endian::read16le(contents.data() + 8);
      EXPECT_EQ((10 + headerLength) % 64, 0u);
      EXPECT_EQ(contents[10 + headerLength - 1], '\n');
      EXPECT_EQ(contents.size(), 10 + headerLength + array.data.size());

      auto back = readNpy(path);
      ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
      EXPECT_EQ(back->dtype, dtype);
      EXPECT_EQ(back->shape, array.shape);
      EXPECT_EQ(back->data, array.data);
    }
  }
}

TEST_F(NpyTest, WriterHeaderMatchesNumpy) {
  NpyArray array;
  array.dtype = DType::Bool;
  array.shape = {5};
  array.data = {1, 0, 1, 0, 1};
  std::string path = pathFor("bool.npy");
  ASSERT_FALSE(bool(writeNpy(path, array)));
  std::string contents = readRaw(path);
  // numpy.save(f, np.zeros(5, np.bool_)): header length 0x76, dict, 20
  // growth spaces, padding and '\n' up to byte 128.
  std::string dict =
      "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }";
  std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict +
                         std::string(127 - 10 - dict.size(), ' ') + "\n" +
                         std::string("\x01\x00\x01\x00\x01", 5);
  EXPECT_EQ(contents, expected);
}

TEST_F(NpyTest, WriterFallsBackToVersion2ForHugeHeaders) {
  NpyArray array;
  array.dtype = DType::U8;
  array.shape.assign(25000, 1); // "1, " × 25000 does not fit in a u16.
  array.data = {42};
  std::string path = pathFor("huge.npy");
  ASSERT_FALSE(bool(writeNpy(path, array)));
  std::string contents = readRaw(path);
  EXPECT_EQ(contents.substr(0, 8), std::string("\x93NUMPY\x02\x00", 8));
  EXPECT_EQ((12 + llvm::support::endian::read32le(contents.data() + 8)) % 64,
            0u);
  auto back = readNpy(path);
  ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->shape.size(), 25000u);
  EXPECT_THAT(back->data, testing::ElementsAre(42));
}

TEST_F(NpyTest, WriterRejectsBF16) {
  NpyArray array;
  array.dtype = DType::BF16;
  array.shape = {1};
  array.data = {0, 0};
  std::string path = pathFor("bf16.npy");
  llvm::Error err = writeNpy(path, array);
  ASSERT_TRUE(bool(err));
  EXPECT_THAT(
      llvm::toString(std::move(err)),
      AllOf(HasSubstr(path), HasSubstr("dtype BF16 has no .npy descr")));
  EXPECT_FALSE(llvm::sys::fs::exists(path));
}

TEST_F(NpyTest, WriterRejectsSizeMismatchAndBadShapes) {
  NpyArray array;
  array.dtype = DType::F32;
  array.shape = {2, 3};
  array.data.resize(20);
  std::string path = pathFor("bad.npy");
  llvm::Error mismatch = writeNpy(path, array);
  ASSERT_TRUE(bool(mismatch));
  EXPECT_THAT(llvm::toString(std::move(mismatch)),
              AllOf(HasSubstr(path), HasSubstr("shape (2, 3) of '<f4' needs "
                                               "24 data bytes, but the array "
                                               "has 20")));
  array.shape = {-1};
  llvm::Error negative = writeNpy(path, array);
  ASSERT_TRUE(bool(negative));
  EXPECT_THAT(llvm::toString(std::move(negative)),
              AllOf(HasSubstr(path), HasSubstr("invalid shape (-1,)")));
  EXPECT_FALSE(llvm::sys::fs::exists(path));
}

//===----------------------------------------------------------------------===//
// Malformed files: each error names the file and the specific fact
//===----------------------------------------------------------------------===//

TEST_F(NpyTest, MissingFile) {
  std::string path = pathFor("absent.npy");
  EXPECT_THAT(readError(path),
              AllOf(HasSubstr(path), HasSubstr("cannot open")));
}

TEST_F(NpyTest, BadMagic) {
  std::string path = writeRaw("magic.npy", "PK\x03\x04 this is a zip file");
  EXPECT_THAT(readError(path),
              AllOf(HasSubstr(path), HasSubstr("not a .npy file: bad magic"),
                    HasSubstr("found \"PK\\03\\04 t\"")));
}

TEST_F(NpyTest, TruncatedBeforeHeader) {
  std::string magicOnly = writeRaw("magic-only.npy", "\x93NUM");
  EXPECT_THAT(
      readError(magicOnly),
      AllOf(HasSubstr(magicOnly), HasSubstr("truncated .npy file: 4 bytes")));
  // Version 2.0 needs a 4-byte header length; only 2 bytes follow.
  std::string shortLength = writeRaw(
      "short-length.npy", std::string("\x93NUMPY\x02\x00\x10\x00", 10));
  EXPECT_THAT(readError(shortLength),
              AllOf(HasSubstr(shortLength),
                    HasSubstr("truncated .npy file: 10 bytes, too short for "
                              "the header length")));
}

TEST_F(NpyTest, HeaderLengthPastEndOfFile) {
  std::string path = writeRaw(
      "long.npy", std::string("\x93NUMPY\x01\x00\xff\x00", 10) + "{'descr'");
  EXPECT_THAT(readError(path),
              AllOf(HasSubstr(path),
                    HasSubstr("header length 255 exceeds the 8 bytes")));
}

TEST_F(NpyTest, UnsupportedVersion) {
  std::string contents =
      npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
               std::string(4, '\0'));
  contents[6] = 4;
  std::string v4 = writeRaw("v4.npy", contents);
  EXPECT_THAT(
      readError(v4),
      AllOf(HasSubstr(v4), HasSubstr("unsupported .npy format version 4.0")));
  contents[6] = 1;
  contents[7] = 1;
  std::string v11 = writeRaw("v11.npy", contents);
  EXPECT_THAT(
      readError(v11),
      AllOf(HasSubstr(v11), HasSubstr("unsupported .npy format version 1.1")));
}

TEST_F(NpyTest, BigEndianDescr) {
  std::string path = pathFor("big.npy");
  EXPECT_THAT(
      headerError("big.npy",
                  "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                  std::string(4, '\0')),
      AllOf(HasSubstr(path), HasSubstr("unsupported big-endian descr '>f4'")));
}

TEST_F(NpyTest, UnsupportedDescr) {
  std::string path = pathFor("u16.npy");
  EXPECT_THAT(
      headerError("u16.npy",
                  "{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }",
                  std::string(2, '\0')),
      AllOf(HasSubstr(path), HasSubstr("unsupported descr '<u2'"),
            HasSubstr("supported: '<f8'")));
  std::string complex = pathFor("c8.npy");
  EXPECT_THAT(
      headerError("c8.npy",
                  "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                  std::string(8, '\0')),
      AllOf(HasSubstr(complex), HasSubstr("unsupported descr '<c8'")));
}

TEST_F(NpyTest, StructuredDescr) {
  std::string path = pathFor("struct.npy");
  EXPECT_THAT(headerError("struct.npy",
                          "{'descr': [('x', '<f4'), ('y', '<i4')], "
                          "'fortran_order': False, 'shape': (1,), }",
                          std::string(8, '\0')),
              AllOf(HasSubstr(path), HasSubstr("unsupported descr: a list"),
                    HasSubstr("structured dtypes are not supported")));
}

TEST_F(NpyTest, FortranOrder) {
  std::string path = pathFor("fortran.npy");
  EXPECT_THAT(
      headerError("fortran.npy",
                  "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                  std::string(24, '\0')),
      AllOf(HasSubstr(path),
            HasSubstr("fortran_order True is not supported (shape (2, 3))")));
}

TEST_F(NpyTest, MalformedHeaderDict) {
  struct Case {
    const char *header;
    const char *fact;
  };
  const Case cases[] = {
      {"('<f4', False, (1,))", "expected a dict, found a tuple"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}",
       "expected ':' after key 'descr' at offset 9"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}",
       "expected ',' or '}' at offset 17, found 'fortran_or'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",
       "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'shape': (1,)}", "missing key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (1,)}", "missing key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
       "unexpected key 'x'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': 1}",
       "'shape' must be a tuple, found an int"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2)}",
       "negative dimension -2 at 'shape'[1]"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}",
       "'shape'[0] must be an int, found a string"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
       "'fortran_order' must be True or False, found an int"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': (1,)}",
       "duplicate key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} extra",
       "expected end of header"},
      {"{'descr': '<f4', 'fortran_order': Flase, 'shape': (1,)}",
       "expected a value"},
      {"{'descr': '<f4', 'fortran_order': False, "
       "'shape': (99999999999999999999,)}",
       "expected an integer that fits in 64 bits"},
      {"", "expected a value"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.header);
    std::string path = pathFor("malformed.npy");
    EXPECT_THAT(headerError("malformed.npy", c.header, std::string(4, '\0')),
                AllOf(HasSubstr(path), HasSubstr("malformed .npy header"),
                      HasSubstr(c.fact)));
  }
}

TEST_F(NpyTest, DeeplyNestedHeaderIsRejectedWithoutRecursingForever) {
  std::string header = std::string(10000, '(') + std::string(10000, ')');
  std::string path = pathFor("nested.npy");
  EXPECT_THAT(headerError("nested.npy", header),
              AllOf(HasSubstr(path), HasSubstr("less deeply nested")));
}

TEST_F(NpyTest, DataShorterThanShape) {
  std::string path = pathFor("short.npy");
  EXPECT_THAT(
      headerError("short.npy",
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                  std::string(20, '\0')),
      AllOf(HasSubstr(path),
            HasSubstr("shape (2, 3) of '<f4' needs 24 data bytes, but the "
                      "file has 20 (truncated)")));
}

TEST_F(NpyTest, DataLongerThanShape) {
  std::string path = pathFor("long-data.npy");
  EXPECT_THAT(
      headerError("long-data.npy",
                  "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }",
                  "abcd"),
      AllOf(HasSubstr(path), HasSubstr("needs 3 data bytes, but the file has "
                                       "4 (trailing bytes)")));
}

TEST_F(NpyTest, ShapeProductOverflowDoesNotWrap) {
  std::string path = pathFor("overflow.npy");
  EXPECT_THAT(headerError("overflow.npy",
                          "{'descr': '|u1', 'fortran_order': False, "
                          "'shape': (4294967296, 4294967296), }"),
              AllOf(HasSubstr(path),
                    HasSubstr("shape (4294967296, 4294967296) of '|u1' is too "
                              "large")));
}

TEST(NpyDescrTest, DescrsRoundTrip) {
  const DType all[] = {DType::F64, DType::F32, DType::F16,
                       DType::I64, DType::I32, DType::I16,
                       DType::I8,  DType::U8,  DType::Bool};
  for (DType dtype : all) {
    std::optional<StringRef> descr = npyDescr(dtype);
    ASSERT_TRUE(descr.has_value());
    EXPECT_EQ(parseNpyDescr(*descr), dtype);
  }
  EXPECT_EQ(npyDescr(DType::BF16), std::nullopt);
  EXPECT_EQ(parseNpyDescr(">f4"), std::nullopt);
  EXPECT_EQ(parseNpyDescr("|f4"), std::nullopt);
  EXPECT_EQ(parseNpyDescr("<u8"), std::nullopt);
}

} // namespace

//===- NpyTest.cpp - Tests of the runtime's .npy reader and writer --------===//
//
// Round trips for every dtype, files exactly as numpy writes them (bytes
// captured from numpy), and the errors of the reader.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "runtime/Npy.h"
#include "runtime/Status.h"

#include "gtest/gtest.h"

#include <cstring>
#include <map>

using namespace nibble::runtime;
using namespace nibble::test;

namespace {

/// Files written by numpy, byte for byte.
const std::map<std::string, std::string> &numpyFiles() {
  static const std::map<std::string, std::string> files = {
      // Generated with numpy 2.4.6 (np.save unless noted).
      // np.array([[1.5, -2, 3], [0.25, 1e-3, -7]], '<f4')
      {"f4_2x3",
       std::string("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': "
                   "False, 'shape': (2, 3), }                                  "
                   "                        "
                   "\x0a\x00\x00\xc0\x3f\x00\x00\x00\xc0\x00\x00@@\x00\x00\x80>"
                   "o\x12\x83:\x00\x00\xe0\xc0",
                   152)},
      // np.array([True, False, True])
      {"b1_3",
       std::string("\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': "
                   "False, 'shape': (3,), }                                    "
                   "                        \x0a\x01\x00\x01",
                   131)},
      // np.array(-5, '<i8')
      {"i8_scalar",
       std::string(
           "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, "
           "'shape': (), }                                                     "
           "         \x0a\xfb\xff\xff\xff\xff\xff\xff\xff",
           136)},
      // np.zeros((0, 4), '<f2')
      {"f2_empty",
       std::string("\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': "
                   "False, 'shape': (0, 4), }                                  "
                   "                        \x0a",
                   128)},
      // write_array(np.array([[1, -2]], '<i2'), version=(2, 0))
      {"i2_v2",
       std::string(
           "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i2', 'fortran_order': "
           "False, 'shape': (1, 2), }                                          "
           "              \x0a\x01\x00\xfe\xff",
           132)},
      // write_array(np.array([7, 255], 'u1'), version=(3, 0))
      {"u1_v3",
       std::string("\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '|u1', "
                   "'fortran_order': False, 'shape': (2,), }                   "
                   "                                       \x0a\x07\xff",
                   130)},
  };
  return files;
}

TEST(NpyTest, ReadsFilesWrittenByNumpy) {
  NpyArray array;
  const std::string &f4 = numpyFiles().at("f4_2x3");
  ASSERT_EQ(
      parseNpy(reinterpret_cast<const uint8_t *>(f4.data()), f4.size(), array),
      NIBBLE_OK)
      << nibble_last_error();
  EXPECT_EQ(array.dtype, NIBBLE_DTYPE_F32);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  std::vector<float> expected = {1.5f, -2, 3, 0.25f, 1e-3f, -7};
  ASSERT_EQ(array.data.size(), 24u);
  EXPECT_EQ(std::memcmp(array.data.data(), expected.data(), 24), 0);

  struct Case {
    const char *name;
    nibble_dtype dtype;
    std::vector<int64_t> shape;
    std::string data;
  };
  const std::vector<Case> cases = {
      {"b1_3", NIBBLE_DTYPE_BOOL, {3}, std::string("\x01\x00\x01", 3)},
      {"i8_scalar", NIBBLE_DTYPE_I64, {}, bytesOf(std::vector<int64_t>{-5})},
      {"f2_empty", NIBBLE_DTYPE_F16, {0, 4}, ""},
      {"i2_v2", NIBBLE_DTYPE_I16, {1, 2}, bytesOf(std::vector<int16_t>{1, -2})},
      {"u1_v3", NIBBLE_DTYPE_U8, {2}, std::string("\x07\xff", 2)},
  };
  for (const Case &c : cases) {
    const std::string &file = numpyFiles().at(c.name);
    ASSERT_EQ(parseNpy(reinterpret_cast<const uint8_t *>(file.data()),
                       file.size(), array),
              NIBBLE_OK)
        << c.name << ": " << nibble_last_error();
    EXPECT_EQ(array.dtype, c.dtype) << c.name;
    EXPECT_EQ(array.shape, c.shape) << c.name;
    EXPECT_EQ(std::string(array.data.begin(), array.data.end()), c.data)
        << c.name;
  }
}

TEST(NpyTest, WritesExactlyWhatNumpyWrites) {
  std::string encoded;
  std::vector<float> f4 = {1.5f, -2, 3, 0.25f, 1e-3f, -7};
  int64_t shape2x3[] = {2, 3};
  ASSERT_EQ(encodeNpy(NIBBLE_DTYPE_F32, shape2x3, 2, f4.data(), 24, encoded),
            NIBBLE_OK);
  EXPECT_EQ(encoded, numpyFiles().at("f4_2x3"));

  int64_t shape3[] = {3};
  ASSERT_EQ(encodeNpy(NIBBLE_DTYPE_BOOL, shape3, 1, "\x01\x00\x01", 3, encoded),
            NIBBLE_OK);
  EXPECT_EQ(encoded, numpyFiles().at("b1_3"));

  int64_t minusFive = -5;
  ASSERT_EQ(encodeNpy(NIBBLE_DTYPE_I64, nullptr, 0, &minusFive, 8, encoded),
            NIBBLE_OK);
  EXPECT_EQ(encoded, numpyFiles().at("i8_scalar"));

  int64_t shape0x4[] = {0, 4};
  ASSERT_EQ(encodeNpy(NIBBLE_DTYPE_F16, shape0x4, 2, nullptr, 0, encoded),
            NIBBLE_OK);
  EXPECT_EQ(encoded, numpyFiles().at("f2_empty"));
}

TEST(NpyTest, RoundTripsEveryDType) {
  TempDir dir;
  for (nibble_dtype dtype :
       {NIBBLE_DTYPE_F32, NIBBLE_DTYPE_F16, NIBBLE_DTYPE_F64, NIBBLE_DTYPE_I8,
        NIBBLE_DTYPE_U8, NIBBLE_DTYPE_I16, NIBBLE_DTYPE_I32, NIBBLE_DTYPE_I64,
        NIBBLE_DTYPE_BOOL}) {
    for (const std::vector<int64_t> &shape : std::vector<std::vector<int64_t>>{
             {}, {7}, {2, 3, 4}, {0, 3}, {12345678901, 0}}) {
      size_t count = 1;
      for (int64_t dim : shape)
        count *= static_cast<size_t>(dim);
      std::string data(count * nibble_dtype_size(dtype), '\0');
      for (size_t i = 0; i < data.size(); ++i)
        data[i] =
            static_cast<char>(dtype == NIBBLE_DTYPE_BOOL ? i % 2 : i * 37 + 11);
      std::string path = dir.file(std::string(nibble_dtype_name(dtype)) + "_" +
                                  std::to_string(shape.size()) + ".npy");
      ASSERT_EQ(writeNpy(path, dtype, shape.data(), shape.size(), data.data(),
                         data.size()),
                NIBBLE_OK)
          << nibble_last_error();
      // numpy aligns the data to 64 bytes.
      std::string file = readFile(path);
      EXPECT_EQ((file.size() - data.size()) % 64, 0u);
      NpyArray array;
      ASSERT_EQ(readNpy(path, array), NIBBLE_OK) << nibble_last_error();
      EXPECT_EQ(array.dtype, dtype);
      EXPECT_EQ(array.shape, shape);
      EXPECT_EQ(std::string(array.data.begin(), array.data.end()), data)
          << nibble_dtype_name(dtype);
    }
  }
}

TEST(NpyTest, WriteErrors) {
  TempDir dir;
  uint16_t bf16 = 0x3f80;
  int64_t one = 1;
  EXPECT_EQ(writeNpy(dir.file("a.npy"), NIBBLE_DTYPE_BF16, &one, 1, &bf16, 2),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("a.npy: dtype BF16 cannot be stored in a .npy file"),
            std::string::npos);
  float value = 0;
  EXPECT_EQ(writeNpy(dir.file("b.npy"), NIBBLE_DTYPE_F32, &one, 1, &value, 8),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("8 bytes of data, expected 4 for <f4 (1,)"),
            std::string::npos);
  int64_t negative = -1;
  EXPECT_EQ(
      writeNpy(dir.file("c.npy"), NIBBLE_DTYPE_F32, &negative, 1, &value, 4),
      NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(
      writeNpy(dir.file("missing/d.npy"), NIBBLE_DTYPE_F32, &one, 1, &value, 4),
      NIBBLE_ERROR_IO);
  EXPECT_NE(std::string(nibble_last_error())
                .find("missing/d.npy: cannot "
                      "create"),
            std::string::npos);
}

/// A version 1.0 file with header dict `dict` (padded like numpy's) and
/// `data`.
std::string npyWithHeader(const std::string &dict, const std::string &data) {
  std::string header = dict;
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size() & 0xFF);
  file += static_cast<char>(header.size() >> 8);
  return file + header + data;
}

TEST(NpyTest, ReadErrors) {
  const std::string f4 = std::string(8, '\0');
  const std::string shape = "'shape': (2,), }";
  struct Case {
    const char *what;
    std::string file;
    const char *message;
  };
  const std::vector<Case> cases = {
      {"empty", "", "truncated .npy file: 0 bytes"},
      {"bad magic", "PK\x03\x04 not npy", "not a .npy file"},
      {"short", "\x93NUM", "truncated .npy file: 4 bytes"},
      {"version", std::string("\x93NUMPY\x04\x00\x00\x00", 10),
       "unsupported .npy format version 4.0"},
      {"no length", std::string("\x93NUMPY\x02\x00\x10", 9),
       "too short for the header length"},
      {"header past end", std::string("\x93NUMPY\x01\x00\xff\x00{", 11),
       "header of 255 bytes, but only 1 follow"},
      {"big endian",
       npyWithHeader("{'descr': '>f4', 'fortran_order': False, " + shape, f4),
       "unsupported descr '>f4'"},
      {"unicode",
       npyWithHeader("{'descr': '<U3', 'fortran_order': False, " + shape, f4),
       "unsupported descr '<U3'"},
      {"structured",
       npyWithHeader(
           "{'descr': [('a', '<f4')], 'fortran_order': False, " + shape, f4),
       "structured dtypes are not supported"},
      {"fortran",
       npyWithHeader(
           "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", f4),
       ""},
      {"fortran 2-D",
       npyWithHeader(
           "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
           f4 + f4),
       "Fortran-order arrays are not supported (shape (2, 2))"},
      {"missing key", npyWithHeader("{'descr': '<f4', " + shape, f4),
       "missing key 'fortran_order'"},
      {"unknown key",
       npyWithHeader(
           "{'descr': '<f4', 'fortran_order': False, 'x': 1, " + shape, f4),
       "unexpected key 'x'"},
      {"bad bool",
       npyWithHeader("{'descr': '<f4', 'fortran_order': 0, " + shape, f4),
       "expected True or False"},
      {"negative dim",
       npyWithHeader(
           "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", f4),
       "expected a non-negative integer in 'shape'"},
      {"not a dict", npyWithHeader("['descr']", f4), "expected '{'"},
      {"unterminated", npyWithHeader("{'descr': '<f4", ""),
       "unterminated string"},
      {"too little data",
       npyWithHeader("{'descr': '<f4', 'fortran_order': False, " + shape,
                     f4.substr(0, 7)),
       "data has 7 bytes, expected 8 for '<f4' (2,)"},
      {"too much data",
       npyWithHeader("{'descr': '<f4', 'fortran_order': False, " + shape,
                     f4 + "x"),
       "data has 9 bytes, expected 8"},
      {"huge shape",
       npyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': "
                     "(4294967296, 4294967296), }",
                     ""),
       "shape (4294967296, 4294967296) is too large"},
  };
  for (const Case &c : cases) {
    NpyArray array;
    nibble_status status = parseNpy(
        reinterpret_cast<const uint8_t *>(c.file.data()), c.file.size(), array);
    if (!*c.message) {
      EXPECT_EQ(status, NIBBLE_OK) << c.what << ": " << nibble_last_error();
      continue;
    }
    EXPECT_EQ(status, NIBBLE_ERROR_FORMAT) << c.what;
    EXPECT_NE(std::string(nibble_last_error()).find(c.message),
              std::string::npos)
        << c.what << ": " << nibble_last_error();
  }
}

TEST(NpyTest, ReadErrorsNameTheFile) {
  TempDir dir;
  NpyArray array;
  EXPECT_EQ(readNpy(dir.file("none.npy"), array), NIBBLE_ERROR_IO);
  EXPECT_NE(std::string(nibble_last_error()).find("none.npy: cannot open"),
            std::string::npos);
  ASSERT_TRUE(writeFile(dir.file("bad.npy"), "hello"));
  EXPECT_EQ(readNpy(dir.file("bad.npy"), array), NIBBLE_ERROR_FORMAT);
  EXPECT_NE(std::string(nibble_last_error()).find("bad.npy: not a .npy file"),
            std::string::npos);
}

} // namespace

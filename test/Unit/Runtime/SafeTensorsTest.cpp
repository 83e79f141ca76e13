//===- SafeTensorsTest.cpp - Tests of the runtime's safetensors reader ----===//
//
// Valid headers (metadata, escapes, gaps between tensors, empty tensors) and
// one case per rejection of the strict header parser and the offset checks.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "runtime/SafeTensors.h"
#include "runtime/Status.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace nibble::runtime;
using namespace nibble::test;

namespace {

nibble_status parse(const std::string &json, uint64_t dataSize,
                    SafeTensorsHeader &header) {
  return parseSafeTensorsHeader(json.data(), json.size(), dataSize, header);
}

TEST(SafeTensorsTest, ParsesTensorsAndMetadata) {
  SafeTensorsHeader header;
  std::string json =
      " {\"__metadata__\": {\"format\": \"pt\", \"note\": "
      "\"a\\\"b\\u00e9\\n\"},"
      "\n \"layer.0\\/w\": {\"shape\": [2, 3], \"dtype\": \"BF16\", "
      "\"data_offsets\": [16, 28]},"
      "\"caf\xc3\xa9 \\ud83d\\ude00\": {\"dtype\": \"BOOL\", \"shape\": [], "
      "\"data_offsets\": [0, 1]},"
      "\"empty\": {\"dtype\": \"I64\", \"shape\": [0, 5], \"data_offsets\": "
      "[8, 8]},"
      "\"fp8\": {\"dtype\": \"F8_E4M3\", \"shape\": [4], \"data_offsets\": "
      "[4, 8]}}   ";
  ASSERT_EQ(parse(json, 32, header), NIBBLE_OK) << nibble_last_error();
  ASSERT_EQ(header.metadata.size(), 2u);
  EXPECT_EQ(header.metadata[0].first, "format");
  EXPECT_EQ(header.metadata[1].second, "a\"b\xc3\xa9\n");
  ASSERT_EQ(header.tensors.size(), 4u);
  const SafeTensorsEntry &w = header.tensors[0];
  EXPECT_EQ(w.name, "layer.0/w");
  EXPECT_EQ(w.dtype, NIBBLE_DTYPE_BF16);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w.begin, 16u);
  EXPECT_EQ(w.end, 28u);
  EXPECT_EQ(header.tensors[1].name, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_TRUE(header.tensors[1].shape.empty());
  EXPECT_EQ(header.tensors[2].shape, (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(header.tensors[3].dtype, -1);
  EXPECT_EQ(header.tensors[3].dtypeName, "F8_E4M3");

  ASSERT_EQ(parse("{}", 0, header), NIBBLE_OK);
  EXPECT_TRUE(header.tensors.empty());
}

struct BadHeader {
  const char *what;
  std::string json;
  uint64_t dataSize;
  const char *message;
};

TEST(SafeTensorsTest, RejectsMalformedHeaders) {
  const std::string t = "\"t\":{\"dtype\":\"F32\",\"shape\":[2],";
  const std::vector<BadHeader> cases = {
      {"empty", "", 0, "expected '{' starting the header object at byte 0"},
      {"array", "[]", 0, "expected '{'"},
      {"unterminated", "{", 0, "expected a string at byte 1"},
      {"trailing text", "{} x", 0, "unexpected text after the header object"},
      {"two objects", "{}{}", 0, "unexpected text"},
      {"missing colon", "{\"t\" {}}", 0, "expected ':' after a key"},
      {"trailing comma", "{" + t + "\"data_offsets\":[0,8]},}", 8,
       "expected a string"},
      {"unquoted key", "{t:1}", 0, "expected a string"},
      {"tensor not an object", "{\"t\":[1]}", 0,
       "expected '{' starting a tensor"},
      {"duplicate tensor",
       "{" + t + "\"data_offsets\":[0,8]}," + t + "\"data_offsets\":[8,16]}}",
       16, "duplicate tensor \"t\""},
      {"duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0,
       "duplicate key \"__metadata__\""},
      {"metadata not strings", "{\"__metadata__\":{\"n\":1}}", 0,
       "metadata value of \"n\" is not a string"},
      {"metadata duplicate key", "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}",
       0, "duplicate metadata key \"a\""},
      {"unknown key", "{" + t + "\"data_offsets\":[0,8],\"extra\":1}}", 8,
       "tensor \"t\": unknown key \"extra\""},
      {"duplicate key", "{" + t + "\"data_offsets\":[0,8],\"shape\":[2]}}", 8,
       "tensor \"t\": duplicate key \"shape\""},
      {"missing offsets", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8,
       "tensor \"t\": missing \"data_offsets\""},
      {"missing dtype", "{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
       "missing \"dtype\""},
      {"unknown dtype",
       "{\"t\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
       "unknown dtype \"F33\""},
      {"negative dim",
       "{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
       "expected a non-negative integer"},
      {"fraction", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],", 8,
       "found a fraction or exponent"},
      {"exponent", "{\"t\":{\"dtype\":\"F32\",\"shape\":[2e0],", 8,
       "found a fraction or exponent"},
      {"leading zero", "{\"t\":{\"dtype\":\"F32\",\"shape\":[02],", 8,
       "leading zero"},
      {"huge integer",
       "{\"t\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],", 8,
       "integer too large"},
      {"string dim", "{\"t\":{\"dtype\":\"F32\",\"shape\":[\"2\"],", 8,
       "expected a non-negative integer"},
      {"three offsets", "{" + t + "\"data_offsets\":[0,4,8]}}", 8,
       "data_offsets must have 2 integers, found 3"},
      {"offsets reversed", "{" + t + "\"data_offsets\":[8,0]}}", 8,
       "data_offsets [8, 0] outside the data section of 8 bytes"},
      {"offsets past the end", "{" + t + "\"data_offsets\":[4,12]}}", 8,
       "data_offsets [4, 12] outside the data section of 8 bytes"},
      {"size mismatch", "{" + t + "\"data_offsets\":[0,12]}}", 16,
       "data_offsets [0, 12] span 12 bytes, expected 8 for F32 [2]"},
      {"shape overflow",
       "{\"t\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],"
       "\"data_offsets\":[0,8]}}",
       8, "shape [4294967296, 4294967296] is too large"},
      {"overlap",
       "{" + t +
           "\"data_offsets\":[0,8]},\"u\":{\"dtype\":\"U8\",\"shape\":[2]"
           ",\"data_offsets\":[7,9]}}",
       16, "tensors \"t\" [0, 8] and \"u\" [7, 9] overlap"},
      {"control character", "{\"a\nb\":{}}", 0, "control character"},
      {"bad escape", "{\"a\\xb\":{}}", 0, "invalid escape"},
      {"lone surrogate", "{\"\\ud800x\":{}}", 0, "unpaired surrogate"},
      {"bad hex", "{\"\\u00g0\":{}}", 0, "invalid hex digit"},
      {"invalid UTF-8", "{\"\xff\":{}}", 0, "invalid UTF-8"},
      {"overlong UTF-8", "{\"\xc0\xaf\":{}}", 0, "invalid UTF-8"},
      {"truncated UTF-8", "{\"\xe2\x82", 0, "invalid UTF-8"},
      {"unterminated string", "{\"abc", 0, "unterminated string"},
  };
  for (const BadHeader &bad : cases) {
    SafeTensorsHeader header;
    nibble_status status = parse(bad.json, bad.dataSize, header);
    EXPECT_EQ(status, NIBBLE_ERROR_FORMAT) << bad.what;
    EXPECT_NE(std::string(nibble_last_error()).find(bad.message),
              std::string::npos)
        << bad.what << ": " << nibble_last_error();
  }
}

TEST(SafeTensorsTest, ArchiveMapsTensorData) {
  TempDir dir;
  std::vector<int16_t> a = {1, -2, 3};
  std::vector<double> b = {0.5, -0.25};
  // Gaps between tensors (alignment padding, as some writers leave) are fine.
  std::string file = buildSafeTensors(
      {{"a", "I16", {3}, bytesOf(a)}, {"b", "F64", {2, 1}, bytesOf(b)}},
      "{\"k\":\"v\"}", 8, 0, /*gapBytes=*/2);
  ASSERT_TRUE(writeFile(dir.file("x.safetensors"), file));
  SafeTensorsArchive archive;
  ASSERT_EQ(archive.open(dir.file("x.safetensors")), NIBBLE_OK)
      << nibble_last_error();
  ASSERT_EQ(archive.header().tensors.size(), 2u);
  const SafeTensorsEntry *entry = archive.find("b");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->begin, 8u);
  EXPECT_EQ(std::memcmp(archive.data(*entry), b.data(), 16), 0);
  entry = archive.find("a");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(std::memcmp(archive.data(*entry), a.data(), 6), 0);
  EXPECT_EQ(archive.find("c"), nullptr);
  EXPECT_EQ(archive.header().metadata.size(), 1u);
}

TEST(SafeTensorsTest, ArchiveErrorsNameTheFile) {
  TempDir dir;
  SafeTensorsArchive missing;
  EXPECT_EQ(missing.open(dir.file("none.safetensors")), NIBBLE_ERROR_IO);
  EXPECT_NE(std::string(nibble_last_error())
                .find("none.safetensors: cannot "
                      "open"),
            std::string::npos);
  SafeTensorsArchive directory;
  EXPECT_EQ(directory.open(dir.path()), NIBBLE_ERROR_IO);
  EXPECT_NE(std::string(nibble_last_error()).find("not a regular file"),
            std::string::npos);

  ASSERT_TRUE(
      writeFile(dir.file("bad.safetensors"), rawSafeTensors("{\"t\":3}", "")));
  SafeTensorsArchive bad;
  EXPECT_EQ(bad.open(dir.file("bad.safetensors")), NIBBLE_ERROR_FORMAT);
  EXPECT_NE(std::string(nibble_last_error())
                .find("bad.safetensors: malformed header: expected '{' "
                      "starting a tensor at byte 5"),
            std::string::npos)
      << nibble_last_error();
}

} // namespace

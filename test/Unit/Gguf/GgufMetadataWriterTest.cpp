//===- GgufMetadataWriterTest.cpp - Metadata-only GGUF files --------------===//
//
// serializeGgufMetadata against the reader: every value type of the gguf
// package's fixture (scalars, strings, arrays of each class, nested arrays)
// survives a round trip entry for entry; the filter keeps exactly the keys
// it accepts, in order; and a real model's tokenizer.* metadata written this
// way tokenizes text into the same ids as the original file.
//
//===----------------------------------------------------------------------===//

#include "GgufTestUtil.h"

#include "frontends/gguf/GgufMetadataWriter.h"
#include "runtime/Tokenizer.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

using namespace nibble::runtime;
using nibble::gguf::serializeGgufMetadata;
using namespace nibble::test;

namespace {

/// Whether `a` and `b` hold the same value (type, scalars and elements).
::testing::AssertionResult sameValue(const GgufValue &a, const GgufValue &b) {
  if (a.type != b.type || a.elementType != b.elementType ||
      a.unsignedValue != b.unsignedValue || a.signedValue != b.signedValue ||
      a.stringValue != b.stringValue ||
      a.unsignedElements != b.unsignedElements ||
      a.signedElements != b.signedElements ||
      a.stringElements != b.stringElements ||
      a.arrayElements.size() != b.arrayElements.size())
    return ::testing::AssertionFailure() << "values differ";
  // Floats compare bit for bit, NaN included, through their f64 form.
  if (std::memcmp(&a.floatValue, &b.floatValue, sizeof(double)) != 0 ||
      a.floatElements.size() != b.floatElements.size() ||
      (!a.floatElements.empty() &&
       std::memcmp(a.floatElements.data(), b.floatElements.data(),
                   a.floatElements.size() * sizeof(double)) != 0))
    return ::testing::AssertionFailure() << "float values differ";
  for (size_t i = 0; i < a.arrayElements.size(); ++i)
    if (::testing::AssertionResult nested =
            sameValue(a.arrayElements[i], b.arrayElements[i]);
        !nested)
      return nested << " (array element " << i << ")";
  return ::testing::AssertionSuccess();
}

/// Parses `bytes` as a GGUF file, expecting success.
void parseOrFail(const std::string &bytes, GgufFile &file) {
  ASSERT_EQ(file.parse(reinterpret_cast<const uint8_t *>(bytes.data()),
                       bytes.size(), "written.gguf"),
            NIBBLE_OK)
      << nibble_last_error();
}

TEST(GgufMetadataWriterTest, EveryValueTypeRoundTrips) {
  GgufFile original;
  ASSERT_EQ(original.open(ggufInput("metadata.gguf")), NIBBLE_OK)
      << nibble_last_error();
  std::string bytes =
      serializeGgufMetadata(original, [](const std::string &) { return true; });
  GgufFile copy;
  parseOrFail(bytes, copy);
  EXPECT_EQ(copy.version(), 3u);
  EXPECT_TRUE(copy.tensors().empty());
  ASSERT_EQ(copy.metadata().size(), original.metadata().size());
  for (size_t i = 0; i < original.metadata().size(); ++i) {
    EXPECT_EQ(copy.metadata()[i].key, original.metadata()[i].key);
    EXPECT_TRUE(
        sameValue(copy.metadata()[i].value, original.metadata()[i].value))
        << original.metadata()[i].key;
  }
}

TEST(GgufMetadataWriterTest, KeepsOnlyTheKeysTheFilterAccepts) {
  GgufFile original;
  ASSERT_EQ(original.open(ggufInput("metadata.gguf")), NIBBLE_OK)
      << nibble_last_error();
  std::string bytes = serializeGgufMetadata(
      original, [](const std::string &key) { return key.rfind("t.", 0) == 0; });
  GgufFile copy;
  parseOrFail(bytes, copy);
  std::vector<std::string> expected, found;
  for (const GgufMetadataEntry &entry : original.metadata())
    if (entry.key.rfind("t.", 0) == 0)
      expected.push_back(entry.key);
  for (const GgufMetadataEntry &entry : copy.metadata())
    found.push_back(entry.key);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(found, expected);
}

TEST(GgufMetadataWriterTest, TokenizerOfARealModelTokenizesAlike) {
  const std::string model = ggufModel("SmolLM2-135M-Instruct.Q4_1.gguf");
  if (!fileExists(model))
    GTEST_SKIP() << model << " is missing (scripts/fetch-models.sh)";
  GgufFile original;
  ASSERT_EQ(original.open(model), NIBBLE_OK) << nibble_last_error();
  std::string bytes = serializeGgufMetadata(original, [](const std::string &k) {
    return k.rfind("tokenizer.", 0) == 0 || k == "general.architecture";
  });
  std::string path = ::testing::TempDir() + "tokenizer-" +
                     std::to_string(::getpid()) + ".gguf";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  EXPECT_LT(bytes.size(), 4u << 20) << "only the tokenizer, not the weights";
  Tokenizer full, written;
  ASSERT_EQ(full.open(model), NIBBLE_OK) << nibble_last_error();
  ASSERT_EQ(written.open(path), NIBBLE_OK) << nibble_last_error();
  std::remove(path.c_str());
  const std::string text = "<|im_start|>user\nHéllo, wörld! 123  \t tabs "
                           "and ünïcödé 日本語<|im_end|>\n";
  EXPECT_EQ(written.encode(text, true, true), full.encode(text, true, true));
  EXPECT_EQ(written.chatTemplate(), full.chatTemplate());
  EXPECT_EQ(written.eosId(), full.eosId());
}

} // namespace

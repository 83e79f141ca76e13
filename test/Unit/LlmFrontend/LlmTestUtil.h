//===- LlmTestUtil.h - Helpers shared by the LLM frontend tests -*- C++ -*-===//
//
// Where the fixtures are, temporary directories, reading an archive back,
// and float comparison in ulps.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TEST_UNIT_LLMFRONTEND_LLMTESTUTIL_H
#define NIBBLE_TEST_UNIT_LLMFRONTEND_LLMTESTUTIL_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nibble {
namespace test {

/// `name` in test/Unit/LlmFrontend/Inputs.
inline std::string llmInput(llvm::StringRef name) {
  return (llvm::Twine(LLM_INPUTS_DIR) + "/" + name).str();
}

/// `name` in test/LLM/Inputs (the tiny Hugging Face models).
inline std::string tinyModel(llvm::StringRef name) {
  return (llvm::Twine(LLM_TINY_MODELS_DIR) + "/" + name).str();
}

/// `name` in the models directory: $NIBBLE_MODELS_DIR if set, else the
/// directory CMake recorded.
inline std::string realModel(llvm::StringRef name) {
  const char *dir = std::getenv("NIBBLE_MODELS_DIR");
  return (llvm::Twine(dir && *dir ? dir : NIBBLE_MODELS_DIR) + "/" + name)
      .str();
}

/// Whether `path` is an existing regular file.
inline bool fileExists(const std::string &path) {
  return llvm::sys::fs::is_regular_file(path);
}

/// Accumulates checksum(y) = sum over i of (2 i + 1) * bits(y[i]) mod 2^64
/// over consecutive floats, as the fixture scripts compute it.
class FloatChecksum {
public:
  void add(const float *values, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i, ++index) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], sizeof bits);
      sum += (2 * index + 1) * static_cast<uint64_t>(bits);
    }
  }
  uint64_t value() const { return sum; }

private:
  uint64_t sum = 0;
  uint64_t index = 0;
};

/// The message of `error` (consumed), or "" for success.
inline std::string errorMessage(llvm::Error error) {
  if (!error)
    return "";
  return llvm::toString(std::move(error));
}

/// The distance in ulps between two finite floats of the same sign.
inline int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0)
    ia = INT32_MIN - ia;
  if (ib < 0)
    ib = INT32_MIN - ib;
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

/// A fresh temporary directory, removed with its files at destruction.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("nibble-llm-test", path);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> full(path);
    llvm::sys::path::append(full, name);
    return full.str().str();
  }
  std::string dir() const { return path.str().str(); }

private:
  llvm::SmallString<256> path;
};

/// Writes `text` to `path`.
inline void writeTextFile(const std::string &path, llvm::StringRef text) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
  out << text;
}

} // namespace test
} // namespace nibble

#endif // NIBBLE_TEST_UNIT_LLMFRONTEND_LLMTESTUTIL_H

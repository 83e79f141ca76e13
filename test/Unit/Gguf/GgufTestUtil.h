//===- GgufTestUtil.h - Helpers shared by the GGUF tests --------*- C++ -*-===//
//
// Where the fixtures (Inputs/, made by Inputs/make_gguf_fixtures.py) and the
// real models (scripts/fetch-models.sh) are, and the float checksum the
// fixture script computes with numpy.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TEST_UNIT_GGUF_GGUFTESTUTIL_H
#define NIBBLE_TEST_UNIT_GGUF_GGUFTESTUTIL_H

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>

namespace nibble {
namespace test {

/// `name` in test/Unit/Gguf/Inputs.
inline std::string ggufInput(const std::string &name) {
  return std::string(GGUF_INPUTS_DIR) + "/" + name;
}

/// `name` in the models directory: $NIBBLE_MODELS_DIR if set, else the
/// directory CMake recorded (~/.cache/nibble/models of whoever configured;
/// lit does not pass $HOME through).
inline std::string ggufModel(const std::string &name) {
  const char *dir = std::getenv("NIBBLE_MODELS_DIR");
  return std::string(dir && *dir ? dir : NIBBLE_MODELS_DIR) + "/" + name;
}

inline bool fileExists(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

/// Accumulates checksum(y) = sum over i of (2 i + 1) * bits(y[i]) mod 2^64
/// over consecutive floats, as make_gguf_fixtures.py computes it.
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

/// The bits of `value` as "0x3f800000" for messages.
inline std::string floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", bits);
  return text;
}

} // namespace test
} // namespace nibble

#endif // NIBBLE_TEST_UNIT_GGUF_GGUFTESTUTIL_H

//===- TestUtil.h - Helpers shared by the runtime tests ---------*- C++ -*-===//
//
// Temporary directories, whole-file I/O, and a safetensors writer that is
// independent of the runtime's reader (the bytes are assembled by hand).
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_TEST_UNIT_RUNTIME_TESTUTIL_H
#define NIBBLE_TEST_UNIT_RUNTIME_TESTUTIL_H

#include "runtime/nibble_model_abi.h"

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
/// The models of FakeModel.c, compiled into the test executable too.
const nibble_model_abi *fake_linear_model_abi(void);
const nibble_model_abi *fake_sum_model_abi(void);
const nibble_model_abi *fake_accumulator_model_abi(void);
/// The runner the runtime installed into the fake models (NULL: none).
nibble_parallel_runner fake_installed_runner(void);
}

namespace nibble {
namespace test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
/// destruction.
class TempDir {
public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return dir; }
  /// `path()/name`.
  std::string file(const std::string &name) const { return dir + "/" + name; }

private:
  std::string dir;
};

/// Writes `bytes` to `path` (replacing it); returns false on failure.
bool writeFile(const std::string &path, const std::string &bytes);

/// The whole contents of `path` ("" if it cannot be read).
std::string readFile(const std::string &path);

/// Copies `from` to `to` with permission bits `mode`.
bool copyFile(const std::string &from, const std::string &to, unsigned mode);

/// The little-endian bytes of `values` of the trivially copyable type T.
template <typename T> std::string bytesOf(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(T));
}

/// One tensor to put in a safetensors file.
struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

/// Encodes `tensors` as a safetensors file: the JSON header (with
/// `metadataJson`, the value of "__metadata__", if not empty) padded with
/// spaces to a multiple of `headerAlign` bytes plus `extraHeaderBytes`
/// spaces, then the data in order with `gapBytes` zero bytes after each.
std::string buildSafeTensors(const std::vector<TensorSpec> &tensors,
                             const std::string &metadataJson = "",
                             size_t headerAlign = 8,
                             size_t extraHeaderBytes = 0, size_t gapBytes = 0);

/// 8-byte little-endian length + `json` + `data`: a raw safetensors file.
std::string rawSafeTensors(const std::string &json, const std::string &data);

/// Weights for the fake linear model: w = [[0.5, -1, 2], [1.5, 0.25, -0.75]],
/// b = [0.125, -3].
std::vector<float> linearWeightW();
std::vector<float> linearWeightB();

/// The fake linear model's archive with `w` and `b` as above.
std::string linearArchive(size_t headerAlign = 8, size_t extraHeaderBytes = 0);

/// y[m][n] = sum_k x[m][k] * w[n][k] + b[n] for the 2×3 input `x`, computed
/// in the same order as the fake model (so equal to the last bit).
std::vector<float> linearReference(const std::vector<float> &x);

/// Runs `command` through the shell; stores its exit status (or -1 if it
/// did not exit normally) and what it wrote to stdout and stderr.
int runCommand(const std::string &command, std::string &out, std::string &err);

} // namespace test
} // namespace nibble

#endif // NIBBLE_TEST_UNIT_RUNTIME_TESTUTIL_H

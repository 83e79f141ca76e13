//===- TestUtil.cpp - Helpers shared by the runtime tests -----------------===//
//
// See TestUtil.h.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ftw.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nibble {
namespace test {

TempDir::TempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/nibble-runtime-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()))
    dir = buffer.data();
}

TempDir::~TempDir() {
  if (dir.empty())
    return;
  ::nftw(
      dir.c_str(),
      [](const char *path, const struct stat *, int, struct FTW *) {
        return ::remove(path);
      },
      16, FTW_DEPTH | FTW_PHYS);
}

bool writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(file);
}

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

bool copyFile(const std::string &from, const std::string &to, unsigned mode) {
  std::ifstream in(from, std::ios::binary);
  if (!in)
    return false;
  std::ostringstream contents;
  contents << in.rdbuf();
  return writeFile(to, contents.str()) && ::chmod(to.c_str(), mode) == 0;
}

static std::string le64(uint64_t value) {
  std::string bytes;
  for (int i = 0; i < 8; ++i)
    bytes += static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

std::string rawSafeTensors(const std::string &json, const std::string &data) {
  return le64(json.size()) + json + data;
}

std::string buildSafeTensors(const std::vector<TensorSpec> &tensors,
                             const std::string &metadataJson,
                             size_t headerAlign, size_t extraHeaderBytes,
                             size_t gapBytes) {
  std::string json = "{";
  std::string data;
  if (!metadataJson.empty())
    json += "\"__metadata__\":" + metadataJson;
  for (const TensorSpec &tensor : tensors) {
    if (json.size() > 1)
      json += ",";
    json += "\"" + tensor.name + "\":{\"dtype\":\"" + tensor.dtype +
            "\",\"shape\":[";
    for (size_t i = 0; i < tensor.shape.size(); ++i)
      json += (i ? "," : "") + std::to_string(tensor.shape[i]);
    json += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
            std::to_string(data.size() + tensor.bytes.size()) + "]}";
    data += tensor.bytes;
    data.append(gapBytes, '\0');
  }
  json += "}";
  json.append((headerAlign - json.size() % headerAlign) % headerAlign, ' ');
  json.append(extraHeaderBytes, ' ');
  return rawSafeTensors(json, data);
}

std::vector<float> linearWeightW() {
  return {0.5f, -1, 2, 1.5f, 0.25f, -0.75f};
}
std::vector<float> linearWeightB() { return {0.125f, -3}; }

std::string linearArchive(size_t headerAlign, size_t extraHeaderBytes) {
  return buildSafeTensors({{"w", "F32", {2, 3}, bytesOf(linearWeightW())},
                           {"b", "F32", {2}, bytesOf(linearWeightB())}},
                          "{\"format\":\"pt\"}", headerAlign, extraHeaderBytes);
}

std::vector<float> linearReference(const std::vector<float> &x) {
  std::vector<float> w = linearWeightW(), b = linearWeightB(), y(4);
  for (int m = 0; m < 2; ++m) {
    for (int n = 0; n < 2; ++n) {
      float acc = 0.0f;
      for (int k = 0; k < 3; ++k)
        acc += x[m * 3 + k] * w[n * 3 + k];
      y[m * 2 + n] = acc + b[n];
    }
  }
  return y;
}

int runCommand(const std::string &command, std::string &out, std::string &err) {
  TempDir logs;
  std::string outPath = logs.file("stdout"), errPath = logs.file("stderr");
  int status =
      std::system((command + " >" + outPath + " 2>" + errPath).c_str());
  out = readFile(outPath);
  err = readFile(errPath);
  if (status == -1 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

} // namespace test
} // namespace nibble

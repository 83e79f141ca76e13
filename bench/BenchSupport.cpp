//===- BenchSupport.cpp - Helpers shared by the benchmark binaries --------===//

#include "bench/BenchSupport.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace nibble::bench {

bool parseCounts(const char *text, std::vector<int> &counts, long limit) {
  counts.clear();
  while (*text) {
    char *end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end == text || value < 1 || value > limit)
      return false;
    counts.push_back(static_cast<int>(value));
    text = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0')
      return false;
  }
  return !counts.empty();
}

namespace {

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
struct Lcg {
  uint64_t state;
  /// A double in [-1, 1).
  double next() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return double(state >> 11) / double(1ull << 53) * 2.0 - 1.0;
  }
};

} // namespace

void fillRandom(std::vector<unsigned char> &bytes, nibble_dtype dtype) {
  Lcg generator{0x9E3779B97F4A7C15ull};
  size_t size = nibble_dtype_size(dtype);
  for (size_t offset = 0; offset + size <= bytes.size(); offset += size) {
    double unit = generator.next();
    unsigned char *out = bytes.data() + offset;
    switch (dtype) {
    case NIBBLE_DTYPE_F32: {
      float value = float(unit);
      std::memcpy(out, &value, 4);
      break;
    }
    case NIBBLE_DTYPE_F64:
      std::memcpy(out, &unit, 8);
      break;
    case NIBBLE_DTYPE_F16:
    case NIBBLE_DTYPE_BF16:
      out[0] = 0;
      out[1] = dtype == NIBBLE_DTYPE_F16 ? 0x38 : 0x3F; // 0.5
      break;
    default: {
      int64_t value = int64_t(unit * 8);
      std::memcpy(out, &value, size); // Little-endian low bytes.
      break;
    }
    }
  }
}

void fillRandomFloats(float *values, size_t count, uint64_t seed) {
  Lcg generator{seed * 0x9E3779B97F4A7C15ull + 1};
  for (size_t i = 0; i < count; ++i)
    values[i] = float(generator.next());
}

double medianOf(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double weightBytes(const nibble_model_abi *abi) {
  double total = 0;
  for (int32_t i = 0; i < abi->num_weights; ++i) {
    double count = 1;
    for (int32_t d = 0; d < abi->weights[i].rank; ++d)
      count *= double(abi->weights[i].shape[d]);
    total += count * double(nibble_dtype_size(abi->weights[i].dtype));
  }
  return total;
}

bool bindSelectedEntry(nibble_model *model, EntryBuffers &buffers) {
  buffers.inputs.clear();
  buffers.outputs.clear();
  int32_t numInputs = nibble_model_num_inputs(model);
  int32_t numOutputs = nibble_model_num_outputs(model);
  buffers.inputs.reserve(numInputs);
  buffers.outputs.reserve(numOutputs);
  for (int32_t i = 0; i < numInputs; ++i) {
    nibble_tensor_desc desc;
    if (nibble_model_input_info(model, i, &desc) != NIBBLE_OK)
      return false;
    std::vector<int64_t> shape(desc.shape, desc.shape + desc.rank);
    int64_t count = 1;
    for (int64_t &size : shape)
      count *= (size = size < 0 ? 1 : size);
    buffers.inputs.emplace_back(count * nibble_dtype_size(desc.dtype));
    fillRandom(buffers.inputs.back(), desc.dtype);
    if (nibble_model_bind_input(model, i, buffers.inputs.back().data(),
                                shape.data(), desc.rank) != NIBBLE_OK)
      return false;
  }
  for (int32_t i = 0; i < numOutputs; ++i) {
    size_t bytes = 0;
    if (nibble_model_output_bytes(model, i, &bytes) != NIBBLE_OK)
      return false;
    buffers.outputs.emplace_back(bytes);
    if (nibble_model_bind_output(model, i, buffers.outputs.back().data(),
                                 bytes) != NIBBLE_OK)
      return false;
  }
  return true;
}

std::vector<double> timeRuns(const TimingPolicy &policy,
                             const std::function<bool()> &operation) {
  for (int run = 0; run < policy.warmup; ++run) {
    if (policy.beforeEachRun)
      policy.beforeEachRun();
    if (!operation())
      return {};
  }
  std::vector<double> seconds;
  double total = 0;
  while (int(seconds.size()) < policy.maxRuns &&
         (int(seconds.size()) < policy.minRuns || total < policy.minSeconds)) {
    if (policy.beforeEachRun)
      policy.beforeEachRun();
    auto start = std::chrono::steady_clock::now();
    if (!operation())
      return {};
    std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start;
    seconds.push_back(elapsed.count());
    total += elapsed.count();
  }
  return seconds;
}

bool matchFlag(const char *arg, const char *name, std::string &value) {
  size_t length = std::strlen(name);
  if (std::strncmp(arg, "--", 2) != 0 ||
      std::strncmp(arg + 2, name, length) != 0 || arg[2 + length] != '=')
    return false;
  value = arg + 3 + length;
  return true;
}

} // namespace nibble::bench

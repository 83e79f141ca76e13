//===- ModelBench.cpp - Time a compiled model at several thread counts ----===//
//
//   nibble-bench MODEL.so [--threads=1,2] [--iterations=N] [--warmup=N]
//
// Opens a model compiled by `nibblec --emit=lib`, binds every input to
// deterministic pseudo-random data of its dtype and shape (dynamic
// dimensions get size 1), and times nibble_model_run at each thread count in
// one process, so the numbers are comparable. Prints one line per count:
// the median milliseconds per run, the speedup over the first count, and
// the weight bytes read per second (the params' total size / time).
//
// Links the runtime only (no LLVM), as any program running a model does.
//
//===----------------------------------------------------------------------===//

#include "runtime/nibble_runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string model;
  std::vector<int> threads = {1, 2};
  int iterations = 5;
  int warmup = 1;
};

/// Parses "1,2,4" into positive counts; false on anything else.
bool parseCounts(const char *text, std::vector<int> &counts) {
  counts.clear();
  while (*text) {
    char *end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end == text || value < 1 || value > 1024)
      return false;
    counts.push_back(static_cast<int>(value));
    text = *end == ',' ? end + 1 : end;
    if (*end != ',' && *end != '\0')
      return false;
  }
  return !counts.empty();
}

bool parseArguments(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (std::strncmp(arg, "--threads=", 10) == 0) {
      if (!parseCounts(arg + 10, options.threads))
        return false;
    } else if (std::strncmp(arg, "--iterations=", 13) == 0) {
      options.iterations = std::atoi(arg + 13);
    } else if (std::strncmp(arg, "--warmup=", 9) == 0) {
      options.warmup = std::atoi(arg + 9);
    } else if (arg[0] == '-' || !options.model.empty()) {
      return false;
    } else {
      options.model = arg;
    }
  }
  return !options.model.empty() && options.iterations >= 1 &&
         options.warmup >= 0;
}

/// Fills `bytes` with values in [-1, 1) (floats) or [-8, 8) (integers) of
/// `dtype`, from a fixed-seed generator. F16/BF16 get small exact halves.
void fillRandom(std::vector<unsigned char> &bytes, nibble_dtype dtype) {
  uint64_t state = 0x9E3779B97F4A7C15ull;
  size_t size = nibble_dtype_size(dtype);
  for (size_t offset = 0; offset + size <= bytes.size(); offset += size) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    double unit = double(state >> 11) / double(1ull << 53) * 2.0 - 1.0;
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

double medianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parseArguments(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s MODEL.so [--threads=1,2] [--iterations=N] "
                 "[--warmup=N]\n",
                 argv[0]);
    return 2;
  }
  nibble_model *model = nullptr;
  if (nibble_model_open(options.model.c_str(), &model) != NIBBLE_OK) {
    std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
    return 1;
  }
  const nibble_model_abi *abi = nibble_model_get_model_abi(model);

  std::vector<std::vector<unsigned char>> buffers;
  const nibble_entry_desc &entry = abi->entries[0];
  for (int32_t i = 0; i < entry.num_inputs; ++i) {
    const nibble_tensor_desc &desc = entry.inputs[i];
    std::vector<int64_t> shape(desc.shape, desc.shape + desc.rank);
    int64_t count = 1;
    for (int64_t &size : shape)
      count *= (size = size < 0 ? 1 : size);
    buffers.emplace_back(count * nibble_dtype_size(desc.dtype));
    fillRandom(buffers.back(), desc.dtype);
    if (nibble_model_bind_input(model, i, buffers.back().data(), shape.data(),
                                desc.rank) != NIBBLE_OK) {
      std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
      return 1;
    }
  }
  for (int32_t i = 0; i < entry.num_outputs; ++i) {
    size_t bytes = 0;
    nibble_model_output_bytes(model, i, &bytes);
    buffers.emplace_back(bytes);
    nibble_model_bind_output(model, i, buffers.back().data(), bytes);
  }
  double weightBytes = 0;
  for (int32_t i = 0; i < abi->num_weights; ++i) {
    double count = 1;
    for (int32_t d = 0; d < abi->weights[i].rank; ++d)
      count *= double(abi->weights[i].shape[d]);
    weightBytes += count * double(nibble_dtype_size(abi->weights[i].dtype));
  }

  std::printf("model %s: %.2f MB of weights, %d iterations per count\n",
              options.model.c_str(), weightBytes / 1e6, options.iterations);
  double baseline = 0;
  for (int threads : options.threads) {
    if (nibble_set_num_threads(threads) != NIBBLE_OK) {
      std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
      return 1;
    }
    std::vector<double> times;
    for (int run = 0; run < options.warmup + options.iterations; ++run) {
      auto start = std::chrono::steady_clock::now();
      if (nibble_model_run(model) != NIBBLE_OK) {
        std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
        return 1;
      }
      std::chrono::duration<double, std::milli> elapsed =
          std::chrono::steady_clock::now() - start;
      if (run >= options.warmup)
        times.push_back(elapsed.count());
    }
    double median = medianOf(times);
    if (baseline == 0)
      baseline = median;
    std::printf("  threads %2d: %10.3f ms/run  speedup %5.2fx  weights "
                "%7.2f GB/s\n",
                threads, median, baseline / median,
                weightBytes / (median * 1e-3) / 1e9);
  }
  nibble_model_close(model);
  return 0;
}

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

#include "bench/BenchSupport.h"
#include "runtime/nibble_runtime.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace nibble::bench;

namespace {

struct Options {
  std::string model;
  std::vector<int> threads = {1, 2};
  int iterations = 5;
  int warmup = 1;
};

bool parseArguments(int argc, char **argv, Options &options) {
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (std::strncmp(arg, "--threads=", 10) == 0) {
      if (!parseCounts(arg + 10, options.threads, 1024))
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
  EntryBuffers buffers;
  if (!bindSelectedEntry(model, buffers)) {
    std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
    return 1;
  }
  double totalWeightBytes = weightBytes(nibble_model_get_model_abi(model));

  std::printf("model %s: %.2f MB of weights, %d iterations per count\n",
              options.model.c_str(), totalWeightBytes / 1e6,
              options.iterations);
  TimingPolicy policy;
  policy.warmup = options.warmup;
  policy.minRuns = policy.maxRuns = options.iterations;
  double baseline = 0;
  for (int threads : options.threads) {
    if (nibble_set_num_threads(threads) != NIBBLE_OK) {
      std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
      return 1;
    }
    std::vector<double> times =
        timeRuns(policy, [&] { return nibble_model_run(model) == NIBBLE_OK; });
    if (times.empty()) {
      std::fprintf(stderr, "nibble-bench: %s\n", nibble_last_error());
      return 1;
    }
    double median = medianOf(times) * 1e3;
    if (baseline == 0)
      baseline = median;
    std::printf("  threads %2d: %10.3f ms/run  speedup %5.2fx  weights "
                "%7.2f GB/s\n",
                threads, median, baseline / median,
                totalWeightBytes / (median * 1e-3) / 1e9);
  }
  nibble_model_close(model);
  return 0;
}

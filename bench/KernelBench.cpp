//===- KernelBench.cpp - Time linear-layer kernels and their baselines ----===//
//
//   nibble-kernel-bench dram  [--threads=1,2] [--mib=512]
//   nibble-kernel-bench sgemm --m=1,8 --n=N --k=K [--copies=L] [--threads=1,2]
//   nibble-kernel-bench model LIB.so [--entries=m1,m8] [--threads=1,2]
//   nibble-kernel-bench info
//   common: [--warmup=1] [--runs=3] [--max-runs=1000] [--min-time=0.5]
//
// The timing half of bench/kernels.py, which generates and compiles the
// models and prints the tables. Each subcommand prints one line per
// measurement, a kind followed by key=value pairs, on stdout:
//
//   dram: streams through a buffer of --mib MiB (far more than the L3) with
//     the runtime's thread pool (nibble_parallel_for at each thread count),
//     summing 64-bit words: the machine's DRAM read bandwidth as the models
//     see it.
//   sgemm: OpenBLAS cblas_sgemm computing y[M,N] = x[M,K] · W[N,K]ᵀ (W row
//     major, as nibble.linear's weight) at each thread count
//     (openblas_set_num_threads); with --copies=L, each run multiplies by L
//     distinct W in turn (decode shapes: weights larger than the caches) and
//     the time is per multiplication.
//   model: runs entries of a library compiled by nibblec at each thread count
//     (nibble_set_num_threads), inputs bound to pseudo-random data; prints
//     the time per run, the entry's number of outputs and the weight bytes
//     of the library, from which the driver derives the time per linear.
//   info: whether OpenBLAS is linked in, and which of its kernels it runs.
//
// Times are medians of the timed runs after --warmup untimed ones; there are
// at least --runs timed runs and more until --min-time seconds have passed.
// Run the subcommands in separate processes (the driver does): OpenBLAS's
// threads and the runtime's pool then never compete for the cores.
//
//===----------------------------------------------------------------------===//

#include "bench/BenchSupport.h"
#include "runtime/nibble_runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef NIBBLE_HAVE_OPENBLAS
#include <cblas.h>
#endif

using namespace nibble::bench;

namespace {

/// Options common to every subcommand, and those of each.
struct Options {
  std::string command;
  std::string library;
  std::vector<int> threads = {1, 2};
  TimingPolicy policy;
  int mib = 512;
  std::vector<int> m;
  int n = 0, k = 0, copies = 1;
  std::vector<std::string> entries;
};

/// Splits "a,b,c" into its non-empty parts.
std::vector<std::string> splitList(const std::string &text) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos)
      end = text.size();
    if (end > begin)
      parts.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

/// Parses an integer in [`low`, `high`]; false on anything else.
bool parseInteger(const std::string &text, int &value, long low, long high) {
  char *end = nullptr;
  long parsed = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || parsed < low || parsed > high)
    return false;
  value = static_cast<int>(parsed);
  return true;
}

bool parseArguments(int argc, char **argv, Options &options) {
  if (argc < 2)
    return false;
  options.command = argv[1];
  options.policy.minSeconds = 0.5;
  for (int i = 2; i < argc; ++i) {
    const char *arg = argv[i];
    std::string value;
    bool ok = true;
    if (matchFlag(arg, "threads", value)) {
      ok = parseCounts(value.c_str(), options.threads, 1024);
    } else if (matchFlag(arg, "warmup", value)) {
      ok = parseInteger(value, options.policy.warmup, 0, 1000);
    } else if (matchFlag(arg, "runs", value)) {
      ok = parseInteger(value, options.policy.minRuns, 1, 1000000);
    } else if (matchFlag(arg, "max-runs", value)) {
      ok = parseInteger(value, options.policy.maxRuns, 1, 1000000);
    } else if (matchFlag(arg, "min-time", value)) {
      char *end = nullptr;
      options.policy.minSeconds = std::strtod(value.c_str(), &end);
      ok = !value.empty() && *end == '\0' && options.policy.minSeconds >= 0;
    } else if (matchFlag(arg, "mib", value)) {
      ok = parseInteger(value, options.mib, 1, 1 << 20);
    } else if (matchFlag(arg, "m", value)) {
      ok = parseCounts(value.c_str(), options.m);
    } else if (matchFlag(arg, "n", value)) {
      ok = parseInteger(value, options.n, 1, 1 << 24);
    } else if (matchFlag(arg, "k", value)) {
      ok = parseInteger(value, options.k, 1, 1 << 24);
    } else if (matchFlag(arg, "copies", value)) {
      ok = parseInteger(value, options.copies, 1, 1 << 16);
    } else if (matchFlag(arg, "entries", value)) {
      options.entries = splitList(value);
    } else if (arg[0] != '-' && options.command == "model" &&
               options.library.empty()) {
      options.library = arg;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "nibble-kernel-bench: bad argument '%s'\n", arg);
      return false;
    }
  }
  options.policy.maxRuns =
      std::max(options.policy.maxRuns, options.policy.minRuns);
  if (options.command == "model")
    return !options.library.empty();
  if (options.command == "sgemm")
    return !options.m.empty() && options.n > 0 && options.k > 0;
  return options.command == "dram" || options.command == "info";
}

//===----------------------------------------------------------------------===//
// DRAM read bandwidth
//===----------------------------------------------------------------------===//

/// Four 64-bit lanes (two SSE registers without AVX, one with AVX2).
typedef uint64_t Lanes __attribute__((vector_size(32)));

/// The buffer a streaming read walks, in blocks that the thread pool hands
/// out, and where the sums go so the reads are not optimized away.
struct StreamJob {
  const Lanes *data = nullptr;
  int64_t lanesPerBlock = 0;
  std::atomic<uint64_t> sink{0};
};

/// Sums blocks [begin, end) of the job's buffer (a nibble_parallel_task).
void sumBlocks(void *context, int64_t begin, int64_t end) {
  auto *job = static_cast<StreamJob *>(context);
  const Lanes *p = job->data + begin * job->lanesPerBlock;
  int64_t count = (end - begin) * job->lanesPerBlock;
  Lanes a = {}, b = {}, c = {}, d = {};
  for (int64_t i = 0; i + 4 <= count; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  Lanes sum = a + b + c + d;
  job->sink.fetch_add(sum[0] ^ sum[1] ^ sum[2] ^ sum[3],
                      std::memory_order_relaxed);
}

int runDram(const Options &options) {
  constexpr int64_t blockBytes = 1 << 20;
  int64_t blocks = int64_t(options.mib);
  std::vector<Lanes> buffer(blocks * blockBytes / sizeof(Lanes));
  for (size_t i = 0; i < buffer.size(); ++i)
    buffer[i] = Lanes{i, i + 1, i + 2, i + 3};
  StreamJob job;
  job.data = buffer.data();
  job.lanesPerBlock = blockBytes / sizeof(Lanes);
  double bytes = double(blocks) * blockBytes;
  for (int threads : options.threads) {
    nibble_set_num_threads(threads);
    std::vector<double> times = timeRuns(options.policy, [&] {
      nibble_parallel_for(0, blocks, sumBlocks, &job);
      return true;
    });
    double median = medianOf(times);
    std::printf("dram threads=%d mib=%d runs=%zu median_s=%.6f gbps=%.3f\n",
                threads, options.mib, times.size(), median,
                bytes / median / 1e9);
    std::fflush(stdout);
  }
  return job.sink.load() == 42 ? 3 : 0; // Uses the sums.
}

//===----------------------------------------------------------------------===//
// OpenBLAS sgemm
//===----------------------------------------------------------------------===//

int runInfo() {
#ifdef NIBBLE_HAVE_OPENBLAS
  // The configuration's words joined by ',', one value of a key=value line.
  std::string config = openblas_get_config();
  std::replace(config.begin(), config.end(), ' ', ',');
  std::printf("info openblas=1 corename=%s config=%s\n",
              openblas_get_corename(), config.c_str());
#else
  std::printf("info openblas=0\n");
#endif
  return 0;
}

int runSgemm(const Options &options) {
#ifndef NIBBLE_HAVE_OPENBLAS
  (void)options;
  std::fprintf(stderr, "nibble-kernel-bench: built without OpenBLAS "
                       "(install libopenblas-dev and reconfigure)\n");
  return 1;
#else
  int n = options.n, k = options.k, copies = options.copies;
  int maxM = *std::max_element(options.m.begin(), options.m.end());
  std::vector<float> weights(size_t(copies) * n * k), x(size_t(maxM) * k),
      y(size_t(maxM) * n);
  fillRandomFloats(weights.data(), weights.size(), 1);
  fillRandomFloats(x.data(), x.size(), 2);
  for (int threads : options.threads) {
    openblas_set_num_threads(threads);
    for (int m : options.m) {
      std::vector<double> times = timeRuns(options.policy, [&] {
        for (int copy = 0; copy < copies; ++copy)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
                      x.data(), k, weights.data() + size_t(copy) * n * k, k,
                      0.0f, y.data(), n);
        return true;
      });
      double seconds = medianOf(times) / copies;
      std::printf("sgemm m=%d n=%d k=%d threads=%d copies=%d runs=%zu "
                  "ms=%.6f gflops=%.3f\n",
                  m, n, k, threads, copies, times.size(), seconds * 1e3,
                  2.0 * m * n * k / seconds / 1e9);
      std::fflush(stdout);
    }
  }
  return 0;
#endif
}

//===----------------------------------------------------------------------===//
// Compiled models
//===----------------------------------------------------------------------===//

int fail(const char *what) {
  std::fprintf(stderr, "nibble-kernel-bench: %s: %s\n", what,
               nibble_last_error());
  return 1;
}

int runModel(const Options &options) {
  nibble_model *model = nullptr;
  if (nibble_model_open(options.library.c_str(), &model) != NIBBLE_OK)
    return fail(options.library.c_str());
  std::vector<std::string> entries = options.entries;
  if (entries.empty())
    for (int32_t i = 0; i < nibble_model_num_entries(model); ++i)
      entries.push_back(nibble_model_entry_name(model, i));
  // Each entry keeps its own bindings: bind them all once.
  std::vector<EntryBuffers> buffers(entries.size());
  for (size_t i = 0; i < entries.size(); ++i)
    if (nibble_model_select_entry(model, entries[i].c_str()) != NIBBLE_OK ||
        !bindSelectedEntry(model, buffers[i]))
      return fail(entries[i].c_str());
  double bytes = weightBytes(nibble_model_get_model_abi(model));
  for (int threads : options.threads) {
    if (nibble_set_num_threads(threads) != NIBBLE_OK)
      return fail("threads");
    for (size_t i = 0; i < entries.size(); ++i) {
      if (nibble_model_select_entry(model, entries[i].c_str()) != NIBBLE_OK)
        return fail(entries[i].c_str());
      std::vector<double> times = timeRuns(
          options.policy, [&] { return nibble_model_run(model) == NIBBLE_OK; });
      if (times.empty())
        return fail(entries[i].c_str());
      std::printf("model entry=%s threads=%d outputs=%d weight_bytes=%.0f "
                  "runs=%zu ms=%.6f\n",
                  entries[i].c_str(), threads, int(buffers[i].outputs.size()),
                  bytes, times.size(), medianOf(times) * 1e3);
      std::fflush(stdout);
    }
  }
  nibble_model_close(model);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  if (!parseArguments(argc, argv, options)) {
    std::fprintf(
        stderr,
        "usage: %s dram [--threads=1,2] [--mib=512]\n"
        "       %s sgemm --m=1,8 --n=N --k=K [--copies=L] [--threads=1,2]\n"
        "       %s model LIB.so [--entries=E1,E2] [--threads=1,2]\n"
        "       %s info\n"
        "  timing: [--warmup=1] [--runs=3] [--max-runs=1000] "
        "[--min-time=0.5]\n",
        argv[0], argv[0], argv[0], argv[0]);
    return 2;
  }
  if (options.command == "dram")
    return runDram(options);
  if (options.command == "sgemm")
    return runSgemm(options);
  if (options.command == "model")
    return runModel(options);
  return runInfo();
}

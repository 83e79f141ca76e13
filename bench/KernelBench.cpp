//===- KernelBench.cpp - Time linear-layer kernels and their baselines ----===//
//
//   nibble-kernel-bench dram  [--threads=1,2] [--mib=512] [--streams=1,2,4,8]
//   nibble-kernel-bench sgemm --m=1,8 --n=N --k=K [--copies=L] [--threads=1,2]
//   nibble-kernel-bench model LIB.so [--entries=m1,m8] [--threads=1,2]
//   nibble-kernel-bench pool  [--threads=1,2] [--loops=10000]
//   nibble-kernel-bench info
//   common: [--warmup=1] [--runs=3] [--max-runs=1000] [--min-time=0.5]
//           [--flush-mib=0]
//
// The timing half of bench/kernels.py, which generates and compiles the
// models and prints the tables. Each subcommand prints one line per
// measurement, a kind followed by key=value pairs, on stdout:
//
//   dram: streams through a buffer of --mib MiB (far more than the L3) with
//     the runtime's thread pool (nibble_parallel_for at each thread count),
//     summing 64-bit words: the machine's DRAM read bandwidth as the models
//     see it. Each thread reads its share as S runs side by side, for each
//     S of --streams (one sequential stream keeps fewer misses in flight
//     than a kernel reading several weight rows at once).
//   sgemm: OpenBLAS cblas_sgemm computing y[M,N] = x[M,K] · W[N,K]ᵀ (W row
//     major, as nibble.linear's weight) at each thread count
//     (openblas_set_num_threads); with --copies=L, each run multiplies by L
//     distinct W in turn (decode shapes: weights larger than the caches) and
//     the time is per multiplication; max_rel_err checks a few entries of
//     the result against double precision.
//   model: runs entries of a library compiled by nibblec at each thread count
//     (nibble_set_num_threads), inputs bound to pseudo-random data; prints
//     the time per run, the entry's number of outputs and the weight bytes
//     of the library, from which the driver derives the time per linear.
//   pool: runs --loops parallel loops of 16 iterations that do nothing,
//     back to back, through the runtime's thread pool at each thread count:
//     the cost of one loop's hand-out and join (a decode step runs hundreds
//     of loops).
//   info: whether OpenBLAS is linked in, and which of its kernels it runs.
//
// Times are medians of the timed runs after --warmup untimed ones; there are
// at least --runs timed runs and more until --min-time seconds have passed.
// With --flush-mib=N (sgemm, model), every run is preceded by an untimed
// read of an N MiB buffer on the calling thread, which evicts the caches:
// weights then come from DRAM (decode).
// Run the subcommands in separate processes (the driver does): OpenBLAS's
// threads and the runtime's pool then never compete for the cores.
//
//===----------------------------------------------------------------------===//

#include "bench/BenchSupport.h"
#include "runtime/nibble_runtime.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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
  int flushMib = 0;
  std::vector<int> streams = {1, 2, 4, 8};
  std::vector<int> m;
  int n = 0, k = 0, copies = 1;
  int loops = 10000;
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
    } else if (matchFlag(arg, "flush-mib", value)) {
      ok = parseInteger(value, options.flushMib, 0, 1 << 20);
    } else if (matchFlag(arg, "streams", value)) {
      ok = parseCounts(value.c_str(), options.streams, 64);
    } else if (matchFlag(arg, "m", value)) {
      ok = parseCounts(value.c_str(), options.m);
    } else if (matchFlag(arg, "n", value)) {
      ok = parseInteger(value, options.n, 1, 1 << 24);
    } else if (matchFlag(arg, "k", value)) {
      ok = parseInteger(value, options.k, 1, 1 << 24);
    } else if (matchFlag(arg, "copies", value)) {
      ok = parseInteger(value, options.copies, 1, 1 << 16);
    } else if (matchFlag(arg, "loops", value)) {
      ok = parseInteger(value, options.loops, 1, 100000000);
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
  return options.command == "dram" || options.command == "pool" ||
         options.command == "info";
}

//===----------------------------------------------------------------------===//
// DRAM read bandwidth
//===----------------------------------------------------------------------===//

/// Function versions for the widest vectors the CPU has (x86-64), so that
/// the loop is bound by memory, not by its instructions.
#if defined(__x86_64__) && defined(__GNUC__)
#define NIBBLE_WIDEST_VECTORS                                                  \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NIBBLE_WIDEST_VECTORS
#endif

/// The sum of `count` (a multiple of 32) 64-bit words at `words`, in 32
/// independent lanes that the compiler vectorizes.
NIBBLE_WIDEST_VECTORS uint64_t sumWords(const uint64_t *words, int64_t count) {
  uint64_t lanes[32] = {};
  for (int64_t i = 0; i < count; i += 32)
    for (int lane = 0; lane < 32; ++lane)
      lanes[lane] += words[i + lane];
  uint64_t sum = 0;
  for (uint64_t lane : lanes)
    sum += lane;
  return sum;
}

/// The sum of `streams` runs of `count` (a multiple of 32) 64-bit words,
/// starting at `words` + i × `stride`, read side by side: each step takes
/// 256 bytes from every run, as a kernel reading several weight rows at once
/// does, so more cache misses are in flight than with one sequential stream.
NIBBLE_WIDEST_VECTORS uint64_t sumStreams(const uint64_t *words, int streams,
                                          int64_t stride, int64_t count) {
  uint64_t lanes[32] = {};
  for (int64_t i = 0; i < count; i += 32)
    for (int stream = 0; stream < streams; ++stream) {
      const uint64_t *run = words + stream * stride + i;
      for (int lane = 0; lane < 32; ++lane)
        lanes[lane] += run[lane];
    }
  uint64_t sum = 0;
  for (uint64_t lane : lanes)
    sum += lane;
  return sum;
}

/// The buffer a streaming read walks, in blocks that the thread pool hands
/// out, and where the sums go so the reads are not optimized away.
struct StreamJob {
  const uint64_t *words = nullptr;
  int64_t wordsPerBlock = 0;
  int streams = 1;
  std::atomic<uint64_t> sink{0};
};

/// Sums blocks [begin, end) of the job's buffer (a nibble_parallel_task) as
/// `streams` runs of consecutive blocks read side by side.
void sumBlocks(void *context, int64_t begin, int64_t end) {
  auto *job = static_cast<StreamJob *>(context);
  int64_t blocks = end - begin;
  int streams = int(std::min<int64_t>(job->streams, blocks));
  int64_t perStream = blocks / streams;
  const uint64_t *words = job->words + begin * job->wordsPerBlock;
  uint64_t sum = sumStreams(words, streams, perStream * job->wordsPerBlock,
                            perStream * job->wordsPerBlock);
  // Blocks left over when `streams` does not divide the range.
  int64_t done = perStream * streams;
  if (done < blocks)
    sum += sumWords(words + done * job->wordsPerBlock,
                    (blocks - done) * job->wordsPerBlock);
  job->sink.fetch_add(sum, std::memory_order_relaxed);
}

/// Evicts the caches by reading a buffer of `mib` MiB (several times the
/// L3) on the calling thread: set as a TimingPolicy's beforeEachRun, every
/// run then finds its data in DRAM. (Cycling through a working set twice
/// the L3 is not enough: this machine's L3 keeps a good part of it.)
class CacheFlusher {
public:
  explicit CacheFlusher(int mib)
      : buffer(size_t(mib) << 17) { // 2^20 / 8 words per MiB.
    for (size_t i = 0; i < buffer.size(); ++i)
      buffer[i] = i;
  }
  void operator()() {
    sink += sumWords(buffer.data(), int64_t(buffer.size()) & ~int64_t(31));
  }
  /// Installs the flusher into `policy` if `mib` > 0.
  static void install(TimingPolicy &policy, int mib) {
    if (mib > 0)
      policy.beforeEachRun = [flusher = std::make_shared<CacheFlusher>(mib)] {
        (*flusher)();
      };
  }
  static inline volatile uint64_t sink = 0;

private:
  std::vector<uint64_t> buffer;
};

int runDram(const Options &options) {
  constexpr int64_t blockBytes = 1 << 20;
  int64_t blocks = int64_t(options.mib);
  std::vector<uint64_t> buffer(blocks * blockBytes / sizeof(uint64_t));
  for (size_t i = 0; i < buffer.size(); ++i)
    buffer[i] = i;
  StreamJob job;
  job.words = buffer.data();
  job.wordsPerBlock = blockBytes / sizeof(uint64_t);
  double bytes = double(blocks) * blockBytes;
  for (int threads : options.threads) {
    nibble_set_num_threads(threads);
    for (int streams : options.streams) {
      job.streams = streams;
      std::vector<double> times = timeRuns(options.policy, [&] {
        nibble_parallel_for(0, blocks, sumBlocks, &job);
        return true;
      });
      double median = medianOf(times);
      std::printf("dram threads=%d mib=%d streams=%d runs=%zu median_s=%.6f "
                  "gbps=%.3f\n",
                  threads, options.mib, streams, times.size(), median,
                  bytes / median / 1e9);
      std::fflush(stdout);
    }
  }
  return job.sink.load() == 42 ? 3 : 0; // Uses the sums.
}

//===----------------------------------------------------------------------===//
// Thread pool overhead
//===----------------------------------------------------------------------===//

/// A nibble_parallel_task that only counts its iterations.
void countIterations(void *context, int64_t begin, int64_t end) {
  static_cast<std::atomic<int64_t> *>(context)->fetch_add(
      end - begin, std::memory_order_relaxed);
}

int runPool(const Options &options) {
  constexpr int64_t iterations = 16;
  for (int threads : options.threads) {
    nibble_set_num_threads(threads);
    std::atomic<int64_t> count{0};
    std::vector<double> times = timeRuns(options.policy, [&] {
      for (int loop = 0; loop < options.loops; ++loop)
        nibble_parallel_for(0, iterations, countIterations, &count);
      return true;
    });
    // Every iteration of every loop ran exactly once.
    int64_t expected = int64_t(options.policy.warmup + times.size()) *
                       options.loops * iterations;
    if (count.load() != expected) {
      std::fprintf(stderr,
                   "nibble-kernel-bench: the pool ran %lld iterations, "
                   "expected %lld\n",
                   static_cast<long long>(count.load()),
                   static_cast<long long>(expected));
      return 3;
    }
    double median = medianOf(times);
    std::printf("pool threads=%d loops=%d iterations=%lld runs=%zu "
                "median_s=%.6f us_per_loop=%.3f\n",
                threads, options.loops, static_cast<long long>(iterations),
                times.size(), median, median / options.loops * 1e6);
    std::fflush(stdout);
  }
  return 0;
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

#ifdef NIBBLE_HAVE_OPENBLAS
/// The largest error of y = x · Wᵀ ([m, n] from [m, k] and [n, k]) at a few
/// sampled entries against a double-precision dot product, relative to the
/// sum of the products' magnitudes: a check that the kernel OpenBLAS picked
/// (OPENBLAS_CORETYPE) computes what is timed.
double sampledError(const float *x, const float *w, const float *y, int m,
                    int n, int k) {
  double worst = 0;
  for (int sample = 0; sample < 16; ++sample) {
    int row = int((sample * 7919ll) % m), col = int((sample * 104729ll) % n);
    double exact = 0, magnitude = 0;
    for (int i = 0; i < k; ++i) {
      double product = double(x[size_t(row) * k + i]) * w[size_t(col) * k + i];
      exact += product;
      magnitude += std::fabs(product);
    }
    double error = std::fabs(y[size_t(row) * n + col] - exact);
    worst = std::max(worst, magnitude > 0 ? error / magnitude : error);
  }
  return worst;
}
#endif

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
  TimingPolicy policy = options.policy;
  CacheFlusher::install(policy, options.flushMib);
  for (int threads : options.threads) {
    openblas_set_num_threads(threads);
    for (int m : options.m) {
      std::vector<double> times = timeRuns(policy, [&] {
        for (int copy = 0; copy < copies; ++copy)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
                      x.data(), k, weights.data() + size_t(copy) * n * k, k,
                      0.0f, y.data(), n);
        return true;
      });
      double seconds = medianOf(times) / copies;
      std::printf("sgemm m=%d n=%d k=%d threads=%d copies=%d runs=%zu "
                  "ms=%.6f gflops=%.3f max_rel_err=%.2e\n",
                  m, n, k, threads, copies, times.size(), seconds * 1e3,
                  2.0 * m * n * k / seconds / 1e9,
                  sampledError(x.data(),
                               weights.data() + size_t(copies - 1) * n * k,
                               y.data(), m, n, k));
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
  TimingPolicy policy = options.policy;
  CacheFlusher::install(policy, options.flushMib);
  for (int threads : options.threads) {
    if (nibble_set_num_threads(threads) != NIBBLE_OK)
      return fail("threads");
    for (size_t i = 0; i < entries.size(); ++i) {
      if (nibble_model_select_entry(model, entries[i].c_str()) != NIBBLE_OK)
        return fail(entries[i].c_str());
      std::vector<double> times = timeRuns(
          policy, [&] { return nibble_model_run(model) == NIBBLE_OK; });
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
        "usage: %s dram [--threads=1,2] [--mib=512] [--streams=1,2,4,8]\n"
        "       %s sgemm --m=1,8 --n=N --k=K [--copies=L] [--threads=1,2]\n"
        "       %s model LIB.so [--entries=E1,E2] [--threads=1,2]\n"
        "       %s pool [--threads=1,2] [--loops=10000]\n"
        "       %s info\n"
        "  timing: [--warmup=1] [--runs=3] [--max-runs=1000] "
        "[--min-time=0.5] [--flush-mib=0]\n",
        argv[0], argv[0], argv[0], argv[0], argv[0]);
    return 2;
  }
  if (options.command == "dram")
    return runDram(options);
  if (options.command == "sgemm")
    return runSgemm(options);
  if (options.command == "model")
    return runModel(options);
  if (options.command == "pool")
    return runPool(options);
  return runInfo();
}

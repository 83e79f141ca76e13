//===- BenchSupport.h - Helpers shared by the benchmarks --------*- C++ -*-===//
//
// Argument parsing, deterministic input data, binding a compiled model's
// entry point to buffers, and a timing loop (warm-up, then repetitions until
// a count and a minimum time are both reached, median). Used by
// nibble-bench (ModelBench.cpp) and nibble-kernel-bench (KernelBench.cpp).
// Runtime only: no LLVM, like every program that runs a model.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_BENCH_BENCHSUPPORT_H
#define NIBBLE_BENCH_BENCHSUPPORT_H

#include "runtime/nibble_runtime.h"

#include <functional>
#include <string>
#include <vector>

namespace nibble::bench {

/// Parses "1,2,4" into positive counts (at most `limit` each); false on
/// anything else.
bool parseCounts(const char *text, std::vector<int> &counts,
                 long limit = 1 << 20);

/// Fills `bytes` with values in [-1, 1) (floats) or [-8, 8) (integers) of
/// `dtype`, from a fixed-seed generator. F16/BF16 get small exact halves.
void fillRandom(std::vector<unsigned char> &bytes, nibble_dtype dtype);

/// Fills `values` with floats in [-1, 1) from a generator seeded by `seed`.
void fillRandomFloats(float *values, size_t count, uint64_t seed);

/// The median of `values` (the upper one of an even count); 0 if empty.
double medianOf(std::vector<double> values);

/// Total bytes of the weights in `abi`'s weight table.
double weightBytes(const nibble_model_abi *abi);

/// The buffers bound to one entry point of a model (inputs: pseudo-random
/// data of their dtype and shape, dynamic dimensions of size 1; outputs:
/// zeroed). They must outlive every run of the entry.
struct EntryBuffers {
  std::vector<std::vector<unsigned char>> inputs, outputs;
};

/// Binds every input and output of `model`'s selected entry to new buffers
/// in `buffers`. On failure returns false with nibble_last_error() set.
bool bindSelectedEntry(nibble_model *model, EntryBuffers &buffers);

/// How many times to run a measured operation.
struct TimingPolicy {
  /// Untimed runs first (page faults, cold caches, thread start-up).
  int warmup = 1;
  /// Timed runs: at least `minRuns`, and more until `minSeconds` of timed
  /// runs have passed, but never more than `maxRuns`.
  int minRuns = 3;
  int maxRuns = 1000;
  double minSeconds = 0.0;
  /// Called before every run, untimed (e.g. to evict the caches); may be
  /// empty.
  std::function<void()> beforeEachRun;
};

/// Runs `operation` as `policy` says and returns the seconds of each timed
/// run; empty if an operation returned false (it stops there).
std::vector<double> timeRuns(const TimingPolicy &policy,
                             const std::function<bool()> &operation);

/// Parses "--name=value" into `value` when `arg` starts with "--name=".
bool matchFlag(const char *arg, const char *name, std::string &value);

} // namespace nibble::bench

#endif // NIBBLE_BENCH_BENCHSUPPORT_H

//===- ThreadPool.h - Threads that run parallel loops -----------*- C++ -*-===//
//
// The runtime's one pool of worker threads. Compiled models hand it their
// large parallel loops through nibble_parallel_for (installed into each model
// with nibble_model_abi::set_parallel_runner); it splits the iteration range
// into chunks that the workers and the calling thread take in turn. Idle
// workers poll for the next loop for $NIBBLE_SPIN_US microseconds (1000 by
// default) before they sleep, so that the many small loops of a decode step
// do not each pay for waking a thread.
//
// libstdc++ only: this file is part of the runtime, which has no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef NIBBLE_RUNTIME_THREADPOOL_H
#define NIBBLE_RUNTIME_THREADPOOL_H

#include "runtime/nibble_model_abi.h"

#include <cstdint>

namespace nibble::runtime {

/// Runs `task(context, b, e)` on sub-ranges [b, e) that together cover
/// [begin, end) exactly once, on up to numThreads() threads (the caller is
/// one of them), and returns when all have finished. Runs the whole range on
/// the calling thread when it is a single iteration, when only one thread is
/// configured, when called from inside a task (nested loops), or while
/// another thread is using the pool.
void parallelFor(int64_t begin, int64_t end, nibble_parallel_task task,
                 void *context);

/// Sets the number of threads (at least 1) for later parallelFor calls.
/// Must not be called while a parallelFor is running.
void setNumThreads(int numThreads);

/// The number of threads parallelFor uses: setNumThreads', else
/// $NIBBLE_NUM_THREADS, else the number of CPUs.
int numThreads();

} // namespace nibble::runtime

#endif // NIBBLE_RUNTIME_THREADPOOL_H

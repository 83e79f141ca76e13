//===- ThreadPool.cpp - Threads that run parallel loops -------------------===//

#include "runtime/ThreadPool.h"
#include "runtime/Status.h"
#include "runtime/nibble_runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace nibble::runtime {
namespace {

/// True on a thread while it runs a task, so that nested loops run inline.
thread_local bool insideTask = false;

/// A non-negative integer from environment variable `name` (at most `limit`),
/// or `fallback` when it is unset or malformed.
long integerFromEnvironment(const char *name, long limit, long fallback) {
  if (const char *text = std::getenv(name)) {
    char *end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && value >= 0 && value <= limit)
      return value;
  }
  return fallback;
}

/// The threads count from $NIBBLE_NUM_THREADS, else the number of CPUs.
int defaultNumThreads() {
  long fromEnvironment = integerFromEnvironment("NIBBLE_NUM_THREADS", 4096, 0);
  if (fromEnvironment >= 1)
    return static_cast<int>(fromEnvironment);
  return std::max(1u, std::thread::hardware_concurrency());
}

/// How long an idle thread of the pool polls for the next loop before it
/// sleeps: $NIBBLE_SPIN_US microseconds, 1000 by default. A decode step runs
/// hundreds of small loops a few microseconds apart; waking a sleeping thread
/// for each costs more than the loop itself.
std::chrono::microseconds spinDuration() {
  return std::chrono::microseconds(
      integerFromEnvironment("NIBBLE_SPIN_US", 10'000'000, 1000));
}

/// Tells the CPU that this thread is polling.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// Polls `done()` for up to `duration`, yielding the CPU now and then so that
/// an oversubscribed machine still makes progress. Returns whether it became
/// true.
template <typename Predicate>
bool pollFor(std::chrono::microseconds duration, Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + duration;
  for (unsigned polls = 1;; ++polls) {
    if (done())
      return true;
    cpuRelax();
    if (polls % 64 == 0) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::yield();
    }
  }
}

/// A pool of threads that poll for work for a while after each loop, then
/// sleep on a condition variable. Announcing a loop is one atomic increment
/// while the workers poll, and takes the mutex only when one sleeps.
class ThreadPool {
public:
  ~ThreadPool() { stopWorkers(); }

  void run(int64_t begin, int64_t end, nibble_parallel_task task,
           void *context) {
    int64_t iterations = end - begin;
    if (iterations <= 0)
      return;
    std::unique_lock<std::mutex> user(userMutex, std::try_to_lock);
    if (iterations == 1 || insideTask || !user.owns_lock() || threads() == 1) {
      task(context, begin, end);
      return;
    }
    startWorkers();

    // A few chunks per thread balance uneven threads without much traffic.
    int64_t chunks = std::min<int64_t>(iterations, int64_t(threads()) * 4);
    job.task = task;
    job.context = context;
    job.end = end;
    job.chunk = (iterations + chunks - 1) / chunks;
    job.next.store(begin, std::memory_order_relaxed);
    busyWorkers.store(static_cast<int>(workers.size()),
                      std::memory_order_relaxed);
    // Publishes the job (the sequentially consistent increment orders the
    // stores above before it, and before the sleepers check below).
    generation.fetch_add(1);
    if (sleepingWorkers.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex);
      wake.notify_all();
    }
    work();
    waitForWorkers();
  }

  void setThreads(int count) {
    std::lock_guard<std::mutex> user(userMutex);
    stopWorkers();
    configuredThreads.store(std::max(1, count), std::memory_order_relaxed);
  }

  int threads() {
    int count = configuredThreads.load(std::memory_order_relaxed);
    if (count == 0) {
      count = defaultNumThreads();
      configuredThreads.store(count, std::memory_order_relaxed);
    }
    return count;
  }

private:
  /// The loop being run.
  struct Job {
    nibble_parallel_task task = nullptr;
    void *context = nullptr;
    int64_t end = 0;
    int64_t chunk = 1;
    /// The first iteration no thread has taken yet.
    std::atomic<int64_t> next{0};
  };

  /// Takes chunks of the current job until none is left.
  void work() {
    insideTask = true;
    for (;;) {
      int64_t first = job.next.fetch_add(job.chunk, std::memory_order_relaxed);
      if (first >= job.end)
        break;
      job.task(job.context, first, std::min(job.end, first + job.chunk));
    }
    insideTask = false;
  }

  /// The caller's wait for the workers to finish the current job: polls,
  /// then sleeps. The loads are sequentially consistent: against the last
  /// worker's decrement and check of callerSleeping, either the caller sees
  /// the job finished or the worker sees the caller asleep.
  void waitForWorkers() {
    auto finishedJob = [&] { return busyWorkers.load() == 0; };
    if (pollFor(spin, finishedJob))
      return;
    std::unique_lock<std::mutex> lock(mutex);
    callerSleeping.store(true);
    finished.wait(lock, finishedJob);
    callerSleeping.store(false);
  }

  /// A worker's life: run each job announced after generation `seen`.
  void workerLoop(uint64_t seen) {
    // Sequentially consistent loads: against run()'s increment and check of
    // sleepingWorkers, either a sleeping worker sees the new generation or
    // run() sees it asleep and wakes it.
    auto announced = [&] {
      return stopping.load() || generation.load() != seen;
    };
    for (;;) {
      if (!pollFor(spin, announced)) {
        std::unique_lock<std::mutex> lock(mutex);
        sleepingWorkers.fetch_add(1);
        wake.wait(lock, announced);
        sleepingWorkers.fetch_sub(1);
      }
      if (stopping.load())
        return;
      seen = generation.load();
      work();
      // The last worker to finish wakes the caller if it went to sleep.
      if (busyWorkers.fetch_sub(1) == 1 && callerSleeping.load()) {
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_one();
      }
    }
  }

  void startWorkers() {
    if (!workers.empty())
      return;
    stopping.store(false);
    spin = spinDuration();
    uint64_t current = generation.load();
    for (int i = 1; i < threads(); ++i)
      workers.emplace_back([this, current] { workerLoop(current); });
  }

  void stopWorkers() {
    stopping.store(true);
    {
      std::lock_guard<std::mutex> lock(mutex);
      wake.notify_all();
    }
    for (std::thread &worker : workers)
      worker.join();
    workers.clear();
  }

  /// Held by the one thread using the pool; others run their loops inline.
  std::mutex userMutex;
  /// Taken only to sleep and to wake sleepers (the waits' predicates read
  /// the atomics below).
  std::mutex mutex;
  std::condition_variable wake, finished;
  std::vector<std::thread> workers;
  Job job;
  /// Incremented once per announced job.
  std::atomic<uint64_t> generation{0};
  /// Workers still running the current job.
  std::atomic<int> busyWorkers{0};
  /// Workers asleep on `wake`; the caller in `finished`.
  std::atomic<int> sleepingWorkers{0};
  std::atomic<bool> callerSleeping{false};
  std::atomic<bool> stopping{false};
  /// How long idle threads poll before they sleep ($NIBBLE_SPIN_US).
  std::chrono::microseconds spin{0};
  /// 0 until first asked for, then the number of threads including the
  /// caller.
  std::atomic<int> configuredThreads{0};
};

ThreadPool &pool() {
  static ThreadPool instance;
  return instance;
}

} // namespace

void parallelFor(int64_t begin, int64_t end, nibble_parallel_task task,
                 void *context) {
  pool().run(begin, end, task, context);
}

void setNumThreads(int numThreads) { pool().setThreads(numThreads); }

int numThreads() { return pool().threads(); }

} // namespace nibble::runtime

extern "C" {

nibble_status nibble_set_num_threads(int32_t num_threads) {
  if (num_threads < 1)
    return nibble::runtime::fail(
        NIBBLE_ERROR_INVALID_ARGUMENT,
        "the number of threads must be at least 1, got %d", num_threads);
  nibble::runtime::setNumThreads(num_threads);
  return NIBBLE_OK;
}

int32_t nibble_get_num_threads(void) { return nibble::runtime::numThreads(); }

void nibble_parallel_for(int64_t begin, int64_t end, nibble_parallel_task task,
                         void *context) {
  nibble::runtime::parallelFor(begin, end, task, context);
}

} // extern "C"

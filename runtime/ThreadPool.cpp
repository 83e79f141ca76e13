//===- ThreadPool.cpp - Threads that run parallel loops -------------------===//

#include "runtime/ThreadPool.h"
#include "runtime/Status.h"
#include "runtime/nibble_runtime.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace nibble::runtime {
namespace {

/// True on a thread while it runs a task, so that nested loops run inline.
thread_local bool insideTask = false;

/// The threads count from $NIBBLE_NUM_THREADS, else the number of CPUs.
int defaultNumThreads() {
  if (const char *text = std::getenv("NIBBLE_NUM_THREADS")) {
    char *end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end != text && *end == '\0' && value >= 1 && value <= 4096)
      return static_cast<int>(value);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

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
    {
      std::lock_guard<std::mutex> lock(mutex);
      job.task = task;
      job.context = context;
      job.end = end;
      job.chunk = (iterations + chunks - 1) / chunks;
      job.next.store(begin, std::memory_order_relaxed);
      busyWorkers = static_cast<int>(workers.size());
      ++generation;
    }
    wake.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [&] { return busyWorkers == 0; });
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

  /// A worker's life: run each job announced after generation `seen`.
  void workerLoop(uint64_t seen) {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return stopping || generation != seen; });
      if (stopping)
        return;
      seen = generation;
      lock.unlock();
      work();
      lock.lock();
      if (--busyWorkers == 0)
        finished.notify_one();
    }
  }

  void startWorkers() {
    if (!workers.empty())
      return;
    std::lock_guard<std::mutex> lock(mutex);
    stopping = false;
    uint64_t current = generation;
    for (int i = 1; i < threads(); ++i)
      workers.emplace_back([this, current] { workerLoop(current); });
  }

  void stopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    for (std::thread &worker : workers)
      worker.join();
    workers.clear();
  }

  /// Held by the one thread using the pool; others run their loops inline.
  std::mutex userMutex;
  /// Guards generation, busyWorkers, stopping and the job's set-up.
  std::mutex mutex;
  std::condition_variable wake, finished;
  std::vector<std::thread> workers;
  Job job;
  uint64_t generation = 0;
  int busyWorkers = 0;
  bool stopping = false;
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

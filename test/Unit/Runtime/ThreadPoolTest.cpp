//===- ThreadPoolTest.cpp - The runtime's parallel-for --------------------===//
//
// Properties of nibble_parallel_for: every iteration of [begin, end) runs
// exactly once, sub-ranges stay inside the range, several threads take part
// when configured, nested and concurrent loops run inline, threads that went
// to sleep between loops wake for the next one, and the thread count can be
// changed.
//
//===----------------------------------------------------------------------===//

#include "runtime/nibble_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Counts how often each iteration of [begin, end) ran.
struct Coverage {
  int64_t begin, end;
  std::vector<std::atomic<int>> counts;
  std::atomic<int> outOfRange{0};

  Coverage(int64_t begin, int64_t end)
      : begin(begin), end(end), counts(end - begin) {}

  static void task(void *context, int64_t b, int64_t e) {
    auto *self = static_cast<Coverage *>(context);
    if (b < self->begin || e > self->end || b >= e)
      ++self->outOfRange;
    for (int64_t i = std::max(b, self->begin); i < std::min(e, self->end); ++i)
      ++self->counts[i - self->begin];
  }

  /// Number of iterations that did not run exactly once.
  int64_t wrong() const {
    int64_t count = 0;
    for (const std::atomic<int> &c : counts)
      count += c.load() != 1;
    return count;
  }
};

/// Restores the default thread count after a test changes it.
struct ThreadCount {
  int32_t saved = nibble_get_num_threads();
  explicit ThreadCount(int32_t count) {
    EXPECT_EQ(nibble_set_num_threads(count), NIBBLE_OK);
  }
  ~ThreadCount() { nibble_set_num_threads(saved); }
};

TEST(ThreadPoolTest, EveryIterationRunsExactlyOnce) {
  ThreadCount threads(4);
  for (auto [begin, end] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 100003}, {-7, 13}, {5, 6}, {0, 3}, {1000, 1017}}) {
    Coverage coverage(begin, end);
    nibble_parallel_for(begin, end, Coverage::task, &coverage);
    EXPECT_EQ(coverage.wrong(), 0) << "[" << begin << ", " << end << ")";
    EXPECT_EQ(coverage.outOfRange.load(), 0);
  }
}

TEST(ThreadPoolTest, EmptyRangeRunsNothing) {
  ThreadCount threads(4);
  std::atomic<int> calls{0};
  auto task = [](void *context, int64_t, int64_t) {
    ++*static_cast<std::atomic<int> *>(context);
  };
  nibble_parallel_for(0, 0, task, &calls);
  nibble_parallel_for(10, 3, task, &calls);
  EXPECT_EQ(calls.load(), 0);
}

/// Records the threads that ran a task; the first task waits (up to 30 s)
/// until a second thread has joined, so a working pool shows two threads
/// however loaded the machine is.
struct ThreadRecorder {
  std::mutex mutex;
  std::set<std::thread::id> ids;

  static void task(void *context, int64_t, int64_t) {
    auto *self = static_cast<ThreadRecorder *>(context);
    {
      std::lock_guard<std::mutex> lock(self->mutex);
      self->ids.insert(std::this_thread::get_id());
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(self->mutex);
        if (self->ids.size() >= 2)
          return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
};

TEST(ThreadPoolTest, SeveralThreadsTakePart) {
  ThreadCount threads(2);
  EXPECT_EQ(nibble_get_num_threads(), 2);
  ThreadRecorder recorder;
  nibble_parallel_for(0, 64, ThreadRecorder::task, &recorder);
  EXPECT_GE(recorder.ids.size(), 2u);
  EXPECT_LE(recorder.ids.size(), 2u);
}

TEST(ThreadPoolTest, OneThreadRunsOnTheCaller) {
  ThreadCount threads(1);
  struct Caller {
    std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> elsewhere{0};
    static void task(void *context, int64_t, int64_t) {
      auto *self = static_cast<Caller *>(context);
      if (std::this_thread::get_id() != self->caller)
        ++self->elsewhere;
    }
  } caller;
  nibble_parallel_for(0, 1000, Caller::task, &caller);
  EXPECT_EQ(caller.elsewhere.load(), 0);
}

TEST(ThreadPoolTest, NestedLoopsRunInline) {
  ThreadCount threads(4);
  struct Outer {
    Coverage inner{0, 1000};
    std::atomic<int> innerElsewhere{0};
    static void task(void *context, int64_t b, int64_t e) {
      auto *self = static_cast<Outer *>(context);
      for (int64_t i = b; i < e; ++i) {
        struct Probe {
          std::thread::id thread = std::this_thread::get_id();
          Outer *outer;
          int64_t row;
        } probe{std::this_thread::get_id(), self, i};
        nibble_parallel_for(
            i * 10, i * 10 + 10,
            [](void *context, int64_t b, int64_t e) {
              auto *probe = static_cast<Probe *>(context);
              if (std::this_thread::get_id() != probe->thread)
                ++probe->outer->innerElsewhere;
              Coverage::task(&probe->outer->inner, b, e);
            },
            &probe);
      }
    }
  } outer;
  nibble_parallel_for(0, 100, Outer::task, &outer);
  EXPECT_EQ(outer.inner.wrong(), 0);
  EXPECT_EQ(outer.innerElsewhere.load(), 0);
}

TEST(ThreadPoolTest, ConcurrentCallersBothComplete) {
  ThreadCount threads(2);
  Coverage first(0, 200000), second(0, 200000);
  std::thread other([&] {
    for (int round = 0; round < 20; ++round)
      nibble_parallel_for(round * 10000, round * 10000 + 10000, Coverage::task,
                          &first);
  });
  for (int round = 0; round < 20; ++round)
    nibble_parallel_for(round * 10000, round * 10000 + 10000, Coverage::task,
                        &second);
  other.join();
  EXPECT_EQ(first.wrong(), 0);
  EXPECT_EQ(second.wrong(), 0);
}

TEST(ThreadPoolTest, ManySmallLoopsAndThreadCountChanges) {
  for (int32_t count : {3, 2, 5}) {
    ThreadCount threads(count);
    EXPECT_EQ(nibble_get_num_threads(), count);
    Coverage coverage(0, 2000 * 7);
    for (int64_t round = 0; round < 2000; ++round)
      nibble_parallel_for(round * 7, round * 7 + 7, Coverage::task, &coverage);
    EXPECT_EQ(coverage.wrong(), 0) << count << " threads";
  }
}

/// Sets $NIBBLE_SPIN_US for the pool's next workers, and restores it.
struct SpinDuration {
  std::string saved;
  bool wasSet;
  explicit SpinDuration(const char *microseconds) {
    const char *old = std::getenv("NIBBLE_SPIN_US");
    wasSet = old != nullptr;
    saved = wasSet ? old : "";
    setenv("NIBBLE_SPIN_US", microseconds, 1);
  }
  ~SpinDuration() {
    if (wasSet)
      setenv("NIBBLE_SPIN_US", saved.c_str(), 1);
    else
      unsetenv("NIBBLE_SPIN_US");
  }
};

TEST(ThreadPoolTest, SleepingThreadsWakeForTheNextLoop) {
  // With no polling, every loop wakes sleeping workers, and a caller that
  // finishes first sleeps until the last worker wakes it.
  for (const char *spin : {"0", "50"}) {
    SpinDuration duration(spin);
    ThreadCount threads(2);
    for (int round = 0; round < 50; ++round) {
      // Longer than the polling, so that threads go to sleep in between.
      if (round % 10 == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      Coverage coverage(0, 64);
      struct Slow {
        Coverage *coverage;
        std::thread::id caller = std::this_thread::get_id();
        static void task(void *context, int64_t b, int64_t e) {
          auto *self = static_cast<Slow *>(context);
          // Workers are slower than the caller: the caller has to wait.
          if (std::this_thread::get_id() != self->caller)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          Coverage::task(self->coverage, b, e);
        }
      } slow{&coverage};
      nibble_parallel_for(0, 64, Slow::task, &slow);
      EXPECT_EQ(coverage.wrong(), 0) << "spin " << spin << " round " << round;
    }
    ThreadRecorder recorder;
    nibble_parallel_for(0, 64, ThreadRecorder::task, &recorder);
    EXPECT_EQ(recorder.ids.size(), 2u) << "spin " << spin;
  }
}

TEST(ThreadPoolTest, InvalidThreadCount) {
  EXPECT_EQ(nibble_set_num_threads(0), NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error()).find("at least 1"),
            std::string::npos)
      << nibble_last_error();
}

} // namespace

//===- LanguageModelBenchTest.cpp - What nibble-run bench times -----------===//
//
// benchPrefill and benchDecode against a model that records its calls: the
// prefill is one call from position 0, the decode fills the context in
// chunks of at most 512 and then runs single tokens at the next positions,
// every id valid, and the timing is the median repetition.
//
//===----------------------------------------------------------------------===//

#include "runtime/LanguageModelBench.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

using namespace nibble::runtime;

namespace {

/// A model of vocabulary 7 and capacity 2048 that records (start, count) of
/// every call and checks the ids.
class RecordingModel : public LanguageModel {
public:
  int64_t vocabSize() const override { return 7; }
  int64_t capacity() const override { return 2048; }
  nibble_status run(const int32_t *tokens, int64_t count, int64_t start,
                    bool allLogits, float *logits) override {
    if (nibble_status status = checkRun(tokens, count, start))
      return status;
    calls.push_back({start, count});
    lastLogitsRows = allLogits ? count : 1;
    logits[0] = 0;
    return NIBBLE_OK;
  }
  std::vector<std::pair<int64_t, int64_t>> calls;
  int64_t lastLogitsRows = 0;
};

TEST(LanguageModelBenchTest, PrefillIsOneCallFromTheStart) {
  RecordingModel model;
  BenchTiming timing;
  ASSERT_EQ(benchPrefill(model, 128, 3, timing), NIBBLE_OK);
  using Call = std::pair<int64_t, int64_t>;
  // One warm-up call, then the 3 timed ones.
  EXPECT_EQ(model.calls,
            (std::vector<Call>{{0, 128}, {0, 128}, {0, 128}, {0, 128}}));
  EXPECT_EQ(model.lastLogitsRows, 1);
  EXPECT_GE(timing.seconds, 0.0);
  if (timing.seconds > 0) {
    EXPECT_NEAR(timing.tokensPerSecond * timing.seconds, 128.0, 1e-6);
  }
}

TEST(LanguageModelBenchTest, DecodeFillsTheContextThenStepsOneToken) {
  RecordingModel model;
  BenchTiming timing;
  ASSERT_EQ(benchDecode(model, 1030, 3, 1, timing), NIBBLE_OK);
  using Call = std::pair<int64_t, int64_t>;
  // A warm-up repetition, then the timed one: the same calls twice.
  std::vector<Call> repetition = {{0, 512},  {512, 512}, {1024, 6},
                                  {1030, 1}, {1031, 1},  {1032, 1}};
  std::vector<Call> expected = repetition;
  expected.insert(expected.end(), repetition.begin(), repetition.end());
  EXPECT_EQ(model.calls, expected);
  // No context: decode from position 0 (warm-up and 2 repetitions).
  model.calls.clear();
  ASSERT_EQ(benchDecode(model, 0, 2, 2, timing), NIBBLE_OK);
  EXPECT_EQ(model.calls, (std::vector<Call>{
                             {0, 1}, {1, 1}, {0, 1}, {1, 1}, {0, 1}, {1, 1}}));
}

TEST(LanguageModelBenchTest, Errors) {
  RecordingModel model;
  BenchTiming timing;
  EXPECT_EQ(benchPrefill(model, 0, 1, timing), NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(benchPrefill(model, 4, 0, timing), NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(benchDecode(model, -1, 4, 1, timing),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  // Past the capacity: the model's own check, with its message.
  EXPECT_EQ(benchDecode(model, 2048, 1, 1, timing),
            NIBBLE_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(nibble_last_error()).find("capacity of 2048"),
            std::string::npos)
      << nibble_last_error();
}

} // namespace

#include "runtime/kafka/stage_worker.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/kafka/testing/kafka_test_util.h"

namespace zarc::kafka {
namespace {

using ::testing::HasSubstr;

StageRunnerOptions OptionsFor(std::vector<std::string> topics) {
  return StageRunnerOptions{.stage = "converter", .group_id = "zarc-converter",
                            .input_topics = std::move(topics)};
}

absl::StatusOr<std::vector<OutgoingRecord>> NoOutputs(const Record&) {
  return std::vector<OutgoingRecord>{};
}

// Waits until the worker's runner has returned, or `timeout` passes.
bool WaitUntilStopped(StageWorker& worker, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (worker.running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  return !worker.running();
}

TEST(StageWorkerTest, ARunnerThatStoppedOnAnErrorIsUnhealthyAndSaysWhy) {
  // An invalid topic pattern makes Run() fail at once, as a fatal client error would later.
  absl::StatusOr<std::unique_ptr<StageWorker>> worker = StageWorker::Start(
      testing::FastTestConfig("127.0.0.1:1"), OptionsFor({"^("}), NoOutputs);
  ASSERT_TRUE(worker.ok()) << worker.status();
  ASSERT_TRUE(WaitUntilStopped(**worker, absl::Seconds(10)));
  const absl::Status health = (*worker)->health();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(health.message(), HasSubstr("stage converter stopped"));
  EXPECT_THAT(health.message(), HasSubstr("cannot subscribe"));
  EXPECT_FALSE((*worker)->status().ok());
}

TEST(StageWorkerTest, ARunningStageIsHealthyUntilItStops) {
  absl::StatusOr<std::unique_ptr<StageWorker>> worker = StageWorker::Start(
      testing::FastTestConfig("127.0.0.1:1"), OptionsFor({"zarc.meetings"}), NoOutputs);
  ASSERT_TRUE(worker.ok()) << worker.status();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_TRUE((*worker)->health().ok()) << (*worker)->health();
  (*worker)->Stop();
  EXPECT_EQ((*worker)->health().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT((*worker)->health().message(), HasSubstr("stage converter is stopped"));
}

}  // namespace
}  // namespace zarc::kafka

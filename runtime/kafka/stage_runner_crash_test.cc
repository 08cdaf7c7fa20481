// Crash safety of StageRunner across real processes: a stage process (kafka_crash_stage) dies
// between acknowledging a record's outputs and committing it; the next process in the same
// consumer group must get exactly the uncommitted records again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/stage_runner.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/testing/subprocess.h"

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using zarc::testing::Subprocess;

constexpr absl::Duration kWait = absl::Seconds(40);

// Offsets the child reported as "<verb> 0/<offset>", in order.
std::vector<int64_t> Reported(const std::string& output, absl::string_view verb) {
  std::vector<int64_t> offsets;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    const std::string prefix = absl::StrCat(verb, " 0/");
    if (!absl::ConsumePrefix(&line, prefix)) continue;
    int64_t offset = 0;
    if (absl::SimpleAtoi(line, &offset)) offsets.push_back(offset);
  }
  return offsets;
}

std::vector<int64_t> Range(int64_t from, int64_t to_inclusive) {
  std::vector<int64_t> v;
  for (int64_t i = from; i <= to_inclusive; ++i) v.push_back(i);
  return v;
}

class StageRunnerCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
        EmbeddedCluster::Start(1, {{"crash.in", 1}, {"crash.out", 1}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    config_ = testing::FastTestConfig(cluster_->bootstrap_servers());
  }

  void Produce(int from, int to_inclusive) {
    absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::vector<OutgoingRecord> batch;
    for (int i = from; i <= to_inclusive; ++i) {
      batch.push_back({"crash.in", "k", absl::StrCat("in ", i), {}});
    }
    ASSERT_TRUE((*producer)->ProduceAndWait(batch, kWait).ok());
  }

  std::unique_ptr<Subprocess> StartStage(std::vector<std::string> extra_args) {
    std::vector<std::string> argv = {zarc::testing::TestBinPath("kafka_crash_stage"),
                                     "--bootstrap",
                                     cluster_->bootstrap_servers(),
                                     "--group",
                                     "crash-group",
                                     "--in",
                                     "crash.in",
                                     "--out",
                                     "crash.out"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Start({argv});
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? *std::move(child) : nullptr;
  }

  // Runs a stage until it has acknowledged `last_offset`, then stops it with SIGTERM; returns
  // what it printed.
  std::string RunCleanlyUntil(int64_t last_offset) {
    std::unique_ptr<Subprocess> stage = StartStage({});
    if (stage == nullptr) return "";
    const absl::StatusOr<std::string> line =
        stage->WaitForLine(absl::StrCat("acked 0/", last_offset), kWait);
    EXPECT_TRUE(line.ok()) << line.status();
    stage->Signal(SIGTERM);
    EXPECT_EQ(stage->Wait(kWait).value_or(-1), 0) << stage->output();
    return stage->ReadRemaining(absl::Seconds(5));
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  KafkaConfig config_;
};

TEST_F(StageRunnerCrashTest, ExitBeforeCommitRedeliversFromTheUncommittedRecord) {
  Produce(0, 9);
  {
    std::unique_ptr<Subprocess> doomed = StartStage({"--die-before-commit-at", "4"});
    ASSERT_NE(doomed, nullptr);
    EXPECT_EQ(doomed->Wait(kWait).value_or(-1), 3);
    const std::string output = doomed->ReadRemaining(absl::Seconds(5));
    EXPECT_THAT(Reported(output, "acked"), ElementsAreArray(Range(0, 4))) << output;
  }
  // 0..3 were committed; 4's output was acknowledged but its commit never happened.
  const std::string second = RunCleanlyUntil(9);
  EXPECT_THAT(Reported(second, "handled"), ElementsAreArray(Range(4, 9))) << second;

  // That run committed everything and left: a third run sees only new records.
  Produce(10, 11);
  const std::string third = RunCleanlyUntil(11);
  EXPECT_THAT(Reported(third, "handled"), ElementsAre(10, 11)) << third;

  // At-least-once: every input has an output; only the record in hand at the crash has two.
  absl::StatusOr<std::vector<Record>> out = ReadTopic(config_, "crash.out");
  ASSERT_TRUE(out.ok()) << out.status();
  std::map<std::string, int> copies;
  for (const Record& r : *out) ++copies[r.value];
  EXPECT_EQ(copies.size(), 12u);
  for (const auto& [value, n] : copies) EXPECT_EQ(n, value == "copy of 0/4" ? 2 : 1) << value;
}

TEST_F(StageRunnerCrashTest, SigkillWhileBlockedBeforeCommitRedeliversTheRecordInHand) {
  Produce(0, 5);
  {
    std::unique_ptr<Subprocess> doomed = StartStage({"--hang-before-commit-at", "2"});
    ASSERT_NE(doomed, nullptr);
    ASSERT_TRUE(doomed->WaitForLine("hanging 0/2", kWait).ok()) << doomed->output();
    doomed->Signal(SIGKILL);
    EXPECT_EQ(doomed->Wait(kWait).value_or(-1), 128 + SIGKILL);
    EXPECT_THAT(Reported(doomed->output(), "handled"), ElementsAre(0, 1, 2));
  }
  const std::string second = RunCleanlyUntil(5);
  EXPECT_THAT(Reported(second, "handled"), ElementsAreArray(Range(2, 5))) << second;
}

}  // namespace
}  // namespace zarc::kafka

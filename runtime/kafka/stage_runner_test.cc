#include "runtime/kafka/stage_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "runtime/kafka/admin.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::UnorderedElementsAreArray;

constexpr absl::Duration kWait = absl::Seconds(30);

// A runner on its own thread; stopped and joined on destruction.
class RunningStage {
 public:
  explicit RunningStage(std::unique_ptr<StageRunner> runner) : runner_(std::move(runner)) {
    thread_ = std::thread([this] {
      absl::Status s = runner_->Run();
      absl::MutexLock lock(&mu_);
      result_ = s;
      done_ = true;
    });
  }
  ~RunningStage() { StopAndJoin(); }

  // Returns how long Run() took to return after Stop().
  absl::Duration StopAndJoin() {
    if (!thread_.joinable()) return absl::ZeroDuration();
    const absl::Time start = absl::Now();
    runner_->Stop();
    thread_.join();
    return absl::Now() - start;
  }
  StageRunner& runner() { return *runner_; }
  absl::Status result() {
    absl::MutexLock lock(&mu_);
    return result_;
  }

 private:
  std::unique_ptr<StageRunner> runner_;
  std::thread thread_;
  absl::Mutex mu_;
  absl::Status result_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// What a handler saw, thread-safe (the handler runs on the runner's thread).
class Seen {
 public:
  void Add(const Record& r) {
    absl::MutexLock lock(&mu_);
    values_.push_back(r.value);
    offsets_.push_back(r.offset);
  }
  std::vector<std::string> values() {
    absl::MutexLock lock(&mu_);
    return values_;
  }
  std::vector<int64_t> offsets() {
    absl::MutexLock lock(&mu_);
    return offsets_;
  }
  int Count(const std::string& value) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count(values_.begin(), values_.end(), value));
  }
  // Waits until the handler has seen `n` records.
  bool WaitFor(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return values_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> values_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> offsets_ ABSL_GUARDED_BY(mu_);
};

double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : metric.label) got[l.name] = l.value;
      if (got != labels) continue;
      if (family.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(metric.histogram.sample_count);
      }
      if (family.type == prometheus::MetricType::Gauge) return metric.gauge.value;
      return metric.counter.value;
    }
  }
  return -1;
}

class StageRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster = EmbeddedCluster::Start(
        1, {{"in", 3}, {"in1", 1}, {"tx", 1}, {"ty", 1}, {"out", 3}, {std::string(kDeadLetterTopic), 1}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    config_ = testing::FastTestConfig(cluster_->bootstrap_servers());
    absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
    ASSERT_TRUE(producer.ok()) << producer.status();
    producer_ = *std::move(producer);
  }

  void ProduceValues(const std::string& topic, const std::vector<std::string>& values) {
    std::vector<OutgoingRecord> batch;
    for (const std::string& v : values)
      batch.push_back({topic, "key-" + v, v, {{"origin", "test"}}});
    ASSERT_TRUE(producer_->ProduceAndWait(batch, kWait).ok());
  }

  StageRunnerOptions Options(const std::string& group, const std::string& input) {
    StageRunnerOptions options;
    options.stage = "test-stage";
    options.group_id = group;
    options.input_topics = {input};
    options.initial_backoff = absl::Milliseconds(20);
    options.max_backoff = absl::Milliseconds(200);
    options.produce_timeout = absl::Seconds(10);
    return options;
  }

  std::unique_ptr<RunningStage> Start(StageRunnerOptions options, StageHandler handler) {
    absl::StatusOr<std::unique_ptr<StageRunner>> runner =
        StageRunner::Create(config_, std::move(options), std::move(handler));
    EXPECT_TRUE(runner.ok()) << runner.status();
    if (!runner.ok()) return nullptr;
    return std::make_unique<RunningStage>(*std::move(runner));
  }

  static std::vector<OutgoingRecord> CopyTo(const std::string& topic, const Record& r) {
    Headers headers = r.headers;
    headers.emplace_back("copied-from", absl::StrCat(r.topic, "/", r.partition, "/", r.offset));
    return {{topic, r.key, "out:" + r.value, headers}};
  }

  static std::vector<std::string> Values(const std::vector<Record>& records) {
    std::vector<std::string> values;
    for (const Record& r : records) values.push_back(r.value);
    return values;
  }

  std::unique_ptr<EmbeddedCluster> cluster_;
  KafkaConfig config_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(StageRunnerTest, EveryInputRecordIsTransformedToTheOutputTopic) {
  std::vector<std::string> inputs, expected;
  for (int i = 0; i < 40; ++i) {
    inputs.push_back(absl::StrCat("m", i));
    expected.push_back(absl::StrCat("out:m", i));
  }
  ProduceValues("in", inputs);
  prometheus::Registry registry;
  StageRunnerOptions options = Options("copy-group", "in");
  options.metrics = &registry;
  auto stage = Start(options, [](const Record& r) { return CopyTo("out", r); });

  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 40, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), UnorderedElementsAreArray(expected));
  for (const Record& r : *out) {
    EXPECT_EQ(r.key, "key-" + r.value.substr(4));
    EXPECT_THAT(r.Header("origin"), Optional(std::string("test")));
    EXPECT_THAT(r.Header("copied-from"), Optional(HasSubstr("in/")));
  }
  stage->StopAndJoin();
  EXPECT_TRUE(stage->result().ok()) << stage->result();
  EXPECT_EQ(stage->runner().Run().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MetricValue(registry, "zarc_stage_records_total",
                        {{"stage", "test-stage"}, {"outcome", "ok"}}),
            40);
  EXPECT_EQ(MetricValue(registry, "zarc_stage_processing_seconds", {{"stage", "test-stage"}}), 40);
  EXPECT_EQ(MetricValue(registry, "zarc_kafka_produced_total", {{"topic", "out"}}), 40);
}

TEST_F(StageRunnerTest, PoisonRecordIsDeadLetteredAfterMaxAttemptsAndLaterRecordsProceed) {
  ProduceValues("in1", {"a", "b", "poison", "c", "d"});
  prometheus::Registry registry;
  StageRunnerOptions options = Options("poison-group", "in1");
  options.max_attempts = 3;
  options.metrics = &registry;
  Seen seen;
  auto stage = Start(options, [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    seen.Add(r);
    if (r.value == "poison") {
      return absl::InvalidArgumentError("meeting event \"poison\" is not a MeetingCaptured");
    }
    return CopyTo("out", r);
  });

  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 4, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), UnorderedElementsAreArray({"out:a", "out:b", "out:c", "out:d"}));
  absl::StatusOr<std::vector<Record>> dead =
      testing::WaitForRecords(config_, kDeadLetterTopic, 1, kWait);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  const Record& letter = (*dead)[0];
  EXPECT_EQ(letter.key, "key-poison");
  EXPECT_EQ(letter.value, "poison");
  EXPECT_THAT(letter.Header("origin"), Optional(std::string("test")));
  EXPECT_THAT(letter.Header("zarc-error"),
              Optional(std::string("meeting event \"poison\" is not a MeetingCaptured")));
  EXPECT_THAT(letter.Header("zarc-error-code"), Optional(std::string("INVALID_ARGUMENT")));
  EXPECT_THAT(letter.Header("zarc-attempts"), Optional(std::string("3")));
  EXPECT_THAT(letter.Header("zarc-source-topic"), Optional(std::string("in1")));
  EXPECT_THAT(letter.Header("zarc-source-partition"), Optional(std::string("0")));
  EXPECT_THAT(letter.Header("zarc-source-offset"), Optional(std::string("2")));
  EXPECT_THAT(letter.Header("zarc-stage"), Optional(std::string("test-stage")));
  EXPECT_EQ(seen.Count("poison"), 3);
  EXPECT_EQ(seen.Count("c"), 1);

  stage->StopAndJoin();
  const std::map<std::string, std::string> stage_label = {{"stage", "test-stage"}};
  EXPECT_EQ(MetricValue(registry, "zarc_stage_dead_letter_total", stage_label), 1);
  EXPECT_EQ(MetricValue(registry, "zarc_stage_records_total",
                        {{"stage", "test-stage"}, {"outcome", "dead_lettered"}}),
            1);
  EXPECT_EQ(MetricValue(registry, "zarc_stage_records_total",
                        {{"stage", "test-stage"}, {"outcome", "retried"}}),
            2);
  EXPECT_EQ(MetricValue(registry, "zarc_stage_records_total",
                        {{"stage", "test-stage"}, {"outcome", "ok"}}),
            4);
}

TEST_F(StageRunnerTest, TransientFailureIsRetriedBeyondMaxAttemptsAndNeverDeadLettered) {
  ProduceValues("in1", {"first", "flaky", "last"});
  StageRunnerOptions options = Options("transient-group", "in1");
  options.max_attempts = 2;  // a transient error must not count towards it
  Seen seen;
  auto stage = Start(options, [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    seen.Add(r);
    if (r.value == "flaky" && seen.Count("flaky") <= 6) {
      return absl::UnavailableError("mailbox server 127.0.0.1:143 refused the connection");
    }
    if (r.value == "flaky" && seen.Count("flaky") == 7) {
      return absl::ResourceExhaustedError("throttled: retry after 1 s");
    }
    return CopyTo("out", r);
  });

  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 3, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), UnorderedElementsAreArray({"out:first", "out:flaky", "out:last"}));
  // One input partition: the flaky record held back the one after it.
  EXPECT_THAT(seen.values(), ElementsAre("first", "flaky", "flaky", "flaky", "flaky", "flaky",
                                         "flaky", "flaky", "flaky", "last"));
  stage->StopAndJoin();
  absl::StatusOr<std::vector<Record>> dead = ReadTopic(config_, kDeadLetterTopic);
  ASSERT_TRUE(dead.ok()) << dead.status();
  EXPECT_TRUE(dead->empty());
}

TEST_F(StageRunnerTest, StopReturnsPromptlyAndWhatWasHandledIsNotHandledAgain) {
  ProduceValues("in1", {"r0", "r1", "r2", "r3", "r4"});
  Seen first;
  auto stage = Start(Options("stop-group", "in1"), [&](const Record& r) {
    first.Add(r);
    return CopyTo("out", r);
  });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 5, kWait).ok());
  // Stop from this thread while Run() is blocked polling on its own thread.
  EXPECT_LT(stage->StopAndJoin(), absl::Seconds(5));
  EXPECT_TRUE(stage->result().ok()) << stage->result();
  EXPECT_THAT(first.offsets(), ElementsAre(0, 1, 2, 3, 4));

  ProduceValues("in1", {"r5", "r6"});
  Seen second;
  auto restarted = Start(Options("stop-group", "in1"), [&](const Record& r) {
    second.Add(r);
    return CopyTo("out", r);
  });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 7, kWait).ok());
  restarted->StopAndJoin();
  EXPECT_THAT(second.offsets(), ElementsAre(5, 6));
  absl::StatusOr<std::vector<Record>> out = ReadTopic(config_, "out");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->size(), 7u);  // nothing produced twice
}

TEST_F(StageRunnerTest, StopDuringRetryLeavesTheRecordUncommittedForTheNextRun) {
  ProduceValues("in1", {"ok", "down"});
  Seen first;
  auto stage = Start(Options("retry-stop-group", "in1"),
                     [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
                       first.Add(r);
                       if (r.value == "down") return absl::UnavailableError("mailbox down");
                       return CopyTo("out", r);
                     });
  ASSERT_TRUE(first.WaitFor(4, kWait));  // "ok" and at least three tries of "down"
  EXPECT_LT(stage->StopAndJoin(), absl::Seconds(5));

  Seen second;
  auto restarted = Start(Options("retry-stop-group", "in1"), [&](const Record& r) {
    second.Add(r);
    return CopyTo("out", r);
  });
  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 2, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  restarted->StopAndJoin();
  EXPECT_THAT(Values(*out), ElementsAre("out:ok", "out:down"));
  EXPECT_THAT(second.values(), ElementsAre("down"));
}

TEST_F(StageRunnerTest, RecordWithNoOutputsIsJustCommitted) {
  ProduceValues("in1", {"ignored", "kept"});
  Seen first;
  auto stage = Start(Options("filter-group", "in1"),
                     [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
                       first.Add(r);
                       if (r.value == "ignored") return std::vector<OutgoingRecord>{};
                       return CopyTo("out", r);
                     });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 1, kWait).ok());
  stage->StopAndJoin();

  ProduceValues("in1", {"later"});
  Seen second;
  auto restarted = Start(Options("filter-group", "in1"), [&](const Record& r) {
    second.Add(r);
    return CopyTo("out", r);
  });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 2, kWait).ok());
  restarted->StopAndJoin();
  EXPECT_THAT(second.values(), ElementsAre("later"));
}

TEST_F(StageRunnerTest, ASecondMemberTakesOverPartitionsAndNothingIsLost) {
  std::vector<std::string> expected;
  auto produce_batch = [&](int batch) {
    std::vector<std::string> values;
    for (int i = 0; i < 12; ++i) values.push_back(absl::StrCat("b", batch, "-", i));
    for (const std::string& v : values) expected.push_back("out:" + v);
    ProduceValues("in", values);
  };
  // Both members share one registry, as the four stages do in the one-process mode.
  prometheus::Registry registry;
  StageRunnerOptions options = Options("shared-group", "in");
  options.metrics = &registry;
  Seen seen_a, seen_b;
  produce_batch(0);
  auto a = Start(options, [&](const Record& r) {
    seen_a.Add(r);
    return CopyTo("out", r);
  });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 12, kWait).ok());
  auto b = Start(options, [&](const Record& r) {
    seen_b.Add(r);
    return CopyTo("out", r);
  });
  // Keep feeding all partitions until the cooperative rebalance has given B its share.
  const absl::Time deadline = absl::Now() + kWait;
  int batch = 1;
  while (seen_b.values().empty() && absl::Now() < deadline) {
    produce_batch(batch++);
    seen_b.WaitFor(1, absl::Seconds(1));
  }
  EXPECT_FALSE(seen_b.values().empty()) << "the second member never got a partition";
  // Every input gets its output; a record may be handled twice around the rebalance (so count
  // distinct values, not records), never lost.
  const std::set<std::string> want(expected.begin(), expected.end());
  std::set<std::string> got;
  const absl::Time all_deadline = absl::Now() + kWait;
  while (got != want && absl::Now() < all_deadline) {
    absl::StatusOr<std::vector<Record>> out = ReadTopic(config_, "out");
    ASSERT_TRUE(out.ok()) << out.status();
    got.clear();
    for (const Record& r : *out) got.insert(r.value);
    if (got != want) absl::SleepFor(absl::Milliseconds(100));  // polling the awaited condition
  }
  a->StopAndJoin();
  b->StopAndJoin();
  EXPECT_EQ(got, want);
  EXPECT_GE(MetricValue(registry, "zarc_stage_records_total",
                        {{"stage", "test-stage"}, {"outcome", "ok"}}),
            static_cast<double>(expected.size()));
}

// One poll can serve a revocation of the partition in hand, then the assignment of another
// partition, and return that partition's first record: the record must be kept, not dropped
// (dropping it would let the next commit on its partition pass its offset).
TEST_F(StageRunnerTest, RecordArrivingWithTheRevocationDuringARetryWaitIsNotLost) {
  // B owns ty and is waiting out a retry of y0, A owns tx and is waiting out a retry of x0.
  ProduceValues("ty", {"y0"});
  Seen seen_b;
  auto b = Start(Options("handover-group", "ty"),
                 [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
                   seen_b.Add(r);
                   return absl::UnavailableError("mailbox down");
                 });
  ASSERT_TRUE(seen_b.WaitFor(1, kWait));
  StageRunnerOptions a_options = Options("handover-group", "tx");
  a_options.input_topics = {"tx", "ty"};
  // Long waits, each one poll: the rebalance is served and y0 returned inside one poll call.
  a_options.initial_backoff = absl::Seconds(4);
  a_options.max_backoff = absl::Seconds(4);
  a_options.poll_timeout = absl::Seconds(4);
  Seen seen_a;
  auto a = Start(a_options, [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    seen_a.Add(r);
    if (r.topic == "tx") return absl::UnavailableError("mailbox down");
    return CopyTo("out", r);
  });
  ProduceValues("tx", {"x0"});
  ASSERT_TRUE(seen_a.WaitFor(2, kWait));
  // C (tx only) joins and B leaves (y0 uncommitted) at once: one rebalance takes tx from A and
  // gives it ty, whose y0 is fetched at once, typically within A's same poll.
  Seen seen_c;
  auto c = Start(Options("handover-group", "tx"), [&](const Record& r) {
    seen_c.Add(r);
    return CopyTo("out", r);
  });
  b->StopAndJoin();
  ASSERT_TRUE(seen_c.WaitFor(1, kWait)) << "C never took tx over";
  ProduceValues("ty", {"y1"});
  // Fails on a lost y0; what arrived is compared below.
  testing::WaitForRecords(config_, "out", 3, absl::Seconds(15)).IgnoreError();
  a->StopAndJoin();
  c->StopAndJoin();
  absl::StatusOr<std::vector<Record>> out = ReadTopic(config_, "out");
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<std::string> values = Values(*out);
  const std::set<std::string> got(values.begin(), values.end());
  EXPECT_EQ(got, (std::set<std::string>{"out:x0", "out:y0", "out:y1"}));
}

TEST_F(StageRunnerTest, ATransientFailurePausesOnlyItsPartitionAndIsReportedWhenStuck) {
  prometheus::Registry registry;
  StageRunnerOptions options = Options("pause-one-group", "tx");
  options.input_topics = {"tx", "ty"};
  options.stuck_alert_after = absl::Milliseconds(300);
  options.metrics = &registry;
  std::atomic<bool> mailbox_up{false};
  Seen seen;
  auto stage = Start(options, [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    seen.Add(r);
    if (r.topic == "tx" && !mailbox_up.load()) return absl::UnavailableError("mailbox down");
    return CopyTo("out", r);
  });
  ProduceValues("tx", {"x0", "x1"});
  ASSERT_TRUE(seen.WaitFor(2, kWait));  // x0 failed at least once
  ProduceValues("ty", {"y0", "y1", "y2"});
  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 3, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), ::testing::UnorderedElementsAre("out:y0", "out:y1", "out:y2"));
  EXPECT_EQ(seen.Count("x1"), 0) << "x1 was handled before x0, out of order";
  EXPECT_GT(MetricValue(registry, "zarc_stage_oldest_waiting_seconds", {{"stage", "test-stage"}}),
            0.3);
  EXPECT_DOUBLE_EQ(
      MetricValue(registry, "zarc_stage_stuck_alert_after_seconds", {{"stage", "test-stage"}}),
      0.3);

  mailbox_up = true;
  out = testing::WaitForRecords(config_, "out", 5, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  stage->StopAndJoin();
  EXPECT_THAT(Values(*out), ::testing::IsSupersetOf({"out:x0", "out:x1"}));
  // In order within tx: x1 only once x0 went through.
  std::vector<std::string> x_handled;
  for (const std::string& v : seen.values()) {
    if (v[0] == 'x' && (x_handled.empty() || x_handled.back() != v)) x_handled.push_back(v);
  }
  EXPECT_THAT(x_handled, ElementsAre("x0", "x1"));
  EXPECT_EQ(MetricValue(registry, "zarc_stage_oldest_waiting_seconds", {{"stage", "test-stage"}}),
            0);
}

// Several records in flight: records with different keys are handled at the same time, records
// with one key one after the other, in offset order (issue 14).
TEST_F(StageRunnerTest, RecordsWithDifferentKeysRunTogetherAndOneKeyInOrder) {
  constexpr int kKeys = 6, kPerKey = 4;
  std::vector<OutgoingRecord> batch;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      batch.push_back({"in1", absl::StrCat("key", k), absl::StrCat("k", k, "-", i), {}});
    }
  }
  ASSERT_TRUE(producer_->ProduceAndWait(batch, kWait).ok());
  StageRunnerOptions options = Options("concurrent-group", "in1");
  options.concurrency = kKeys;
  options.commit_interval = absl::Milliseconds(50);
  // std::mutex: ThreadSanitizer sees through it (Debian's Abseil is not instrumented).
  std::mutex mu;
  std::condition_variable all_in_cv;
  int inside = 0, most_inside = 0;
  std::set<std::string> keys_inside;
  std::map<std::string, std::vector<int64_t>> offsets_by_key;
  bool overlap = false;
  auto stage = Start(options, [&](const Record& r) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    {
      std::unique_lock<std::mutex> lock(mu);
      ++inside;
      most_inside = std::max(most_inside, inside);
      overlap = overlap || !keys_inside.insert(r.key).second;
      offsets_by_key[r.key].push_back(r.offset);
      all_in_cv.notify_all();
      // The first record of each key waits until every key is being handled at once: with
      // one record at a time this never happens and the wait times out.
      if (r.value.ends_with("-0")) {
        all_in_cv.wait_for(lock, std::chrono::seconds(10), [&] { return most_inside >= kKeys; });
      }
      --inside;
      keys_inside.erase(r.key);
    }
    return CopyTo("out", r);
  });
  absl::StatusOr<std::vector<Record>> out =
      testing::WaitForRecords(config_, "out", kKeys * kPerKey, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  stage->StopAndJoin();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(most_inside, kKeys);
  EXPECT_FALSE(overlap) << "two records of one key were handled at the same time";
  for (const auto& [key, offsets] : offsets_by_key) {
    EXPECT_EQ(offsets.size(), static_cast<size_t>(kPerKey)) << key;
    EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end())) << key;
  }
}

// The committed offset is that of the lowest record not settled: records after a slow one are
// handled, but committed only once it is (issue 14).
TEST_F(StageRunnerTest, TheCommitStopsAtTheLowestUnfinishedRecord) {
  ProduceValues("in1", {"slow", "b", "c", "d"});
  StageRunnerOptions options = Options("lowest-group", "in1");
  options.concurrency = 4;
  options.commit_interval = absl::Milliseconds(20);
  absl::Notification release;
  auto stage = Start(options, [&](const Record& r) {
    if (r.value == "slow") release.WaitForNotificationWithTimeout(kWait);
    return CopyTo("out", r);
  });
  absl::StatusOr<std::vector<Record>> out = testing::WaitForRecords(config_, "out", 3, kWait);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), UnorderedElementsAreArray({"out:b", "out:c", "out:d"}));
  auto committed = [&]() -> int64_t {
    absl::StatusOr<GroupLag> lag = ConsumerGroupLag(config_, "lowest-group", "in1");
    return lag.ok() && !lag->positions.empty() ? lag->positions[0].committed : -2;
  };
  absl::SleepFor(absl::Milliseconds(500));  // several commit intervals pass with "slow" unsettled
  EXPECT_LE(committed(), 0) << "an offset past the unsettled record was committed";
  release.Notify();
  const absl::Time deadline = absl::Now() + kWait;
  while (committed() != 4 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(committed(), 4);
  stage->StopAndJoin();
}

// A record handled for longer than max.poll.interval.ms does not cost the member its partitions
// (the consumer is polled while workers handle records), so it is not handled a second time by
// another owner or after a rejoin (issue 13: a slow delivery can be duplicated).
TEST_F(StageRunnerTest, ARecordHandledLongerThanTheMaxPollIntervalIsHandledOnce) {
  config_.extra["session.timeout.ms"] = "3000";
  config_.extra["max.poll.interval.ms"] = "3000";
  ProduceValues("in1", {"slow", "after"});
  Seen seen;
  auto stage = Start(Options("slow-group", "in1"), [&](const Record& r) {
    seen.Add(r);
    if (r.value == "slow" && seen.Count("slow") == 1) absl::SleepFor(absl::Seconds(6));
    return CopyTo("out", r);
  });
  ASSERT_TRUE(testing::WaitForRecords(config_, "out", 2, kWait).ok());
  absl::SleepFor(absl::Seconds(4));  // a rejoin after an eviction would handle "slow" again
  stage->StopAndJoin();
  EXPECT_EQ(seen.Count("slow"), 1);
  absl::StatusOr<std::vector<Record>> out = ReadTopic(config_, "out");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(Values(*out), ElementsAre("out:slow", "out:after"));
}

TEST(StageRunnerCreateTest, IncompleteOptionsAreRefused) {
  const KafkaConfig config = testing::FastTestConfig("127.0.0.1:1");
  StageRunnerOptions options;
  options.stage = "converter";
  const auto handler = [](const Record&) -> absl::StatusOr<std::vector<OutgoingRecord>> {
    return std::vector<OutgoingRecord>{};
  };
  absl::Status s = StageRunner::Create(config, options, handler).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("consumer group"));
  options.group_id = "g";
  options.input_topics = {"in"};
  options.max_attempts = 0;
  s = StageRunner::Create(config, options, handler).status();
  EXPECT_THAT(s.message(), HasSubstr("max_attempts is 0"));
}

}  // namespace
}  // namespace zarc::kafka

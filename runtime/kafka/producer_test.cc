#include "runtime/kafka/producer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

double CounterValue(prometheus::Registry& registry, const std::string& name,
                    const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : metric.label) got[l.name] = l.value;
      if (got == labels) return metric.counter.value;
    }
  }
  return -1;
}

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
        EmbeddedCluster::Start(3, {{"events", 4}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    config_ = testing::FastTestConfig(cluster_->bootstrap_servers());
  }
  std::unique_ptr<EmbeddedCluster> cluster_;
  KafkaConfig config_;
};

TEST_F(ProducerTest, AcknowledgedRecordsAreReadableWithKeysAndHeaders) {
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_, &registry);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<OutgoingRecord> batch;
  for (int i = 0; i < 20; ++i) {
    batch.push_back({"events",
                     absl::StrCat("meeting-", i % 5),
                     absl::StrCat("v", i),
                     {{"trace", absl::StrCat("t", i)}, {"empty", ""}}});
  }
  ASSERT_TRUE((*producer)->ProduceAndWait(batch, absl::Seconds(20)).ok());
  EXPECT_EQ(CounterValue(registry, "zarc_kafka_produced_total", {{"topic", "events"}}), 20);

  absl::StatusOr<std::vector<Record>> records = ReadTopic(config_, "events");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 20u);
  std::map<std::string, int32_t> partition_of_key;
  for (const Record& r : *records) {
    const int i = std::stoi(r.value.substr(1));
    EXPECT_EQ(r.key, absl::StrCat("meeting-", i % 5));
    EXPECT_THAT(r.headers, ElementsAre(Pair("trace", absl::StrCat("t", i)), Pair("empty", "")));
    EXPECT_GT(r.timestamp_ms, 0);
    // One key, one partition: events about a meeting stay in order.
    auto [it, inserted] = partition_of_key.emplace(r.key, r.partition);
    EXPECT_EQ(it->second, r.partition) << r.key;
  }
}

TEST_F(ProducerTest, OversizedRecordIsRefusedWithoutWaiting) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  const absl::Status s = (*producer)->ProduceAndWait(
      {{"events", "k", std::string(2 * 1000 * 1000, 'x'), {}}}, absl::Seconds(20));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("topic events"));
}

TEST(ProducerNoClusterTest, UnreachableClusterTimesOutWithAClearError) {
  KafkaConfig config = testing::FastTestConfig("127.0.0.1:1");
  // So the undelivered record fails (and the destructor's flush ends) soon after the wait.
  config.extra["message.timeout.ms"] = "1500";
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  const absl::Time start = absl::Now();
  const absl::Status s = (*producer)->ProduceAndWait({{"events", "k", "v", {}}}, absl::Seconds(1));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_THAT(s.message(), HasSubstr("1 of 1 records had no delivery report"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(ProducerConfigTest, BadPropertyIsReportedAtCreate) {
  KafkaConfig config = testing::FastTestConfig("127.0.0.1:1");
  config.extra["acks"] = "most";
  const absl::Status s = Producer::Create(config).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("acks=most"));
}

}  // namespace
}  // namespace zarc::kafka

#include "runtime/kafka/topic_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"

namespace zarc::kafka {
namespace {

class TopicReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
        EmbeddedCluster::Start(1, {{"three", 3}, {"empty", 2}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    config_ = testing::FastTestConfig(cluster_->bootstrap_servers());
  }
  std::unique_ptr<EmbeddedCluster> cluster_;
  KafkaConfig config_;
};

TEST_F(TopicReaderTest, ReadsEveryPartitionInOffsetOrder) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<OutgoingRecord> batch;
  for (int i = 0; i < 30; ++i)
    batch.push_back({"three", absl::StrCat("k", i), absl::StrCat(i), {}});
  ASSERT_TRUE((*producer)->ProduceAndWait(batch, absl::Seconds(20)).ok());

  absl::StatusOr<std::vector<Record>> records = ReadTopic(config_, "three");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 30u);
  for (size_t i = 1; i < records->size(); ++i) {
    const Record& a = (*records)[i - 1];
    const Record& b = (*records)[i];
    EXPECT_TRUE(a.partition < b.partition ||
                (a.partition == b.partition && a.offset + 1 == b.offset))
        << a.partition << "/" << a.offset << " then " << b.partition << "/" << b.offset;
  }
  absl::StatusOr<std::vector<Record>> first_five =
      ReadTopic(config_, "three", absl::Seconds(10), 5);
  ASSERT_TRUE(first_five.ok()) << first_five.status();
  EXPECT_EQ(first_five->size(), 5u);
}

TEST_F(TopicReaderTest, EmptyTopicReadsAsNoRecords) {
  absl::StatusOr<std::vector<Record>> records = ReadTopic(config_, "empty", absl::Seconds(10));
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_TRUE(records->empty());
}

TEST_F(TopicReaderTest, MissingTopicIsNotFound) {
  const absl::Status s = ReadTopic(config_, "no.such.topic", absl::Seconds(10)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), ::testing::HasSubstr("no.such.topic"));
}

}  // namespace
}  // namespace zarc::kafka

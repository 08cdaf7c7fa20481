#include "runtime/kafka/topic_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

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
  // A cap is never a silently shortened answer.
  const absl::Status capped = ReadTopic(config_, "three", absl::Seconds(10), 5).status();
  EXPECT_EQ(capped.code(), absl::StatusCode::kResourceExhausted) << capped;
  EXPECT_TRUE(ReadTopic(config_, "three", absl::Seconds(10), 30).ok());
}

// ReadTopic used to stop at 100,000 records and answer OK: the status log (400 days) came back
// cut short without a word.
TEST_F(TopicReaderTest, ReadsPastTheOldCapOfOneHundredThousandRecords) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  constexpr int kRecords = 100'100;
  for (int start = 0; start < kRecords; start += 20'000) {
    std::vector<OutgoingRecord> batch;
    for (int i = start; i < std::min(kRecords, start + 20'000); ++i) {
      batch.push_back({"three", absl::StrCat(i % 97), absl::StrCat(i), {}});
    }
    ASSERT_TRUE((*producer)->ProduceAndWait(batch, absl::Seconds(60)).ok());
  }
  int64_t seen = 0;
  std::map<int32_t, int64_t> next_offset;
  absl::Status s = ForEachRecord(config_, "three", absl::Seconds(60), [&](Record r) {
    ++seen;
    int64_t& next = next_offset[r.partition];
    if (r.offset != next) {
      return absl::InternalError(absl::StrCat("partition ", r.partition, ": offset ", r.offset,
                                              " after ", next - 1));
    }
    next = r.offset + 1;
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, kRecords);
  absl::StatusOr<std::vector<Record>> all = ReadTopic(config_, "three", absl::Seconds(60));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), static_cast<size_t>(kRecords));
}

TEST_F(TopicReaderTest, AnErrorFromTheCallbackStopsTheRead) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<OutgoingRecord> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({"three", "k", absl::StrCat(i), {}});
  ASSERT_TRUE((*producer)->ProduceAndWait(batch, absl::Seconds(20)).ok());
  int calls = 0;
  const absl::Status s = ForEachRecord(config_, "three", absl::Seconds(10), [&](Record) {
    return ++calls == 3 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(calls, 3);
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

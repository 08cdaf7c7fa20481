#include "runtime/kafka/admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/librdkafka_glue.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"

namespace zarc::kafka {
namespace {

using ::testing::HasSubstr;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
        EmbeddedCluster::Start(1, {{"present", 3}});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    config_ = testing::FastTestConfig(cluster_->bootstrap_servers());
  }
  std::unique_ptr<EmbeddedCluster> cluster_;
  KafkaConfig config_;
};

TEST_F(AdminTest, EnsureTopicsIsSatisfiedByExistingTopicsWithoutCreatingAny) {
  EXPECT_TRUE(EnsureTopics(config_, {{"present", 3}}, absl::Seconds(5)).ok());
}

TEST_F(AdminTest, EnsureTopicsNamesTheMissingTopicsTheMockClusterCannotCreate) {
  const absl::Status s = EnsureTopics(config_, {{"present", 3}, {"wanted", 4}}, absl::Seconds(2));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("did not create topics"));
  EXPECT_THAT(s.message(), HasSubstr("create these topics beforehand (zarc doctor checks them): "
                                     "wanted (4 partitions)"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("present (")));
}

TEST_F(AdminTest, ListTopicsShowsPartitionCounts) {
  absl::StatusOr<std::vector<TopicSpec>> topics = ListTopics(config_);
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_THAT(*topics, ::testing::ElementsAre(TopicSpec{"present", 3, 1}));
}

TEST_F(AdminTest, CheckTopicsNamesMissingAndTooSmallTopics) {
  EXPECT_TRUE(CheckTopics(config_, {{"present", 3}}).ok());
  const absl::Status s = CheckTopics(config_, {{"present", 6}, {"absent", 2}});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("present has 3 partitions, want at least 6"));
  EXPECT_THAT(s.message(), HasSubstr("absent is missing"));
}

TEST_F(AdminTest, ConsumerGroupLagIsWhatTheGroupHasNotCommittedYet) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::vector<OutgoingRecord> records;
  for (int i = 0; i < 5; ++i) records.push_back({.topic = "present", .key = "one-key", .value = "v"});
  ASSERT_TRUE((*producer)->ProduceAndWait(records, absl::Seconds(10)).ok());

  absl::StatusOr<GroupLag> before = ConsumerGroupLag(config_, "g", "present");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->lag, 5);  // nothing committed: the whole log is still to be processed
  EXPECT_EQ(before->partitions, 3);
  EXPECT_EQ(before->partitions_uncommitted, 3);

  // The group commits offset 2 everywhere (as a stage would after two records of the key's
  // partition): 3 records are left on that partition, none elsewhere.
  absl::StatusOr<internal::ConfPtr> conf = internal::MakeConf(config_, {{"group.id", "g"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  absl::StatusOr<internal::HandlePtr> consumer =
      internal::MakeHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  internal::PartitionListPtr offsets(rd_kafka_topic_partition_list_new(3));
  for (int p = 0; p < 3; ++p) rd_kafka_topic_partition_list_add(offsets.get(), "present", p)->offset = 2;
  ASSERT_EQ(rd_kafka_commit(consumer->get(), offsets.get(), /*async=*/0), RD_KAFKA_RESP_ERR_NO_ERROR);

  absl::StatusOr<GroupLag> after = ConsumerGroupLag(config_, "g", "present");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->lag, 3);
  EXPECT_EQ(after->partitions_uncommitted, 0);
  ASSERT_EQ(after->positions.size(), 3u);
  int64_t ends = 0;
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(after->positions[p].partition, p);
    EXPECT_EQ(after->positions[p].committed, 2);
    ends += after->positions[p].end;
  }
  EXPECT_EQ(ends, 5);
  EXPECT_EQ(before->positions[0].committed, -1);
  // Another group has its own offsets.
  absl::StatusOr<GroupLag> other = ConsumerGroupLag(config_, "other", "present");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->lag, 5);

  absl::StatusOr<GroupLag> missing = ConsumerGroupLag(config_, "g", "absent", absl::Seconds(3));
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

TEST(AdminNoClusterTest, UnreachableClusterGivesAClearError) {
  const KafkaConfig config = testing::FastTestConfig("127.0.0.1:1");
  const absl::StatusOr<std::vector<TopicSpec>> topics = ListTopics(config, absl::Seconds(1));
  ASSERT_FALSE(topics.ok());
  EXPECT_THAT(topics.status().message(), HasSubstr("127.0.0.1:1"));
  EXPECT_FALSE(EnsureTopics(config, {{"x", 1}}, absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace zarc::kafka

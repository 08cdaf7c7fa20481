#include "runtime/kafka/admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/kafka/embedded_cluster.h"
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

TEST(AdminNoClusterTest, UnreachableClusterGivesAClearError) {
  const KafkaConfig config = testing::FastTestConfig("127.0.0.1:1");
  const absl::StatusOr<std::vector<TopicSpec>> topics = ListTopics(config, absl::Seconds(1));
  ASSERT_FALSE(topics.ok());
  EXPECT_THAT(topics.status().message(), HasSubstr("127.0.0.1:1"));
  EXPECT_FALSE(EnsureTopics(config, {{"x", 1}}, absl::Seconds(1)).ok());
}

}  // namespace
}  // namespace zarc::kafka

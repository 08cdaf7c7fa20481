#include "runtime/kafka/embedded_cluster.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/kafka/admin.h"
#include "runtime/kafka/testing/kafka_test_util.h"

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(EmbeddedClusterTest, StartsBrokersOnLoopbackWithTheGivenTopics) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster =
      EmbeddedCluster::Start(3, {{"a", 2}, {"b", 5}});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_THAT((*cluster)->bootstrap_servers(),
              MatchesRegex("127\\.0\\.0\\.1:[0-9]+,127\\.0\\.0\\.1:[0-9]+,127\\.0\\.0\\.1:[0-9]+"));
  absl::StatusOr<std::vector<TopicSpec>> topics =
      ListTopics(testing::FastTestConfig((*cluster)->bootstrap_servers()));
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_THAT(*topics, ElementsAre(TopicSpec{"a", 2, 3}, TopicSpec{"b", 5, 3}));
}

TEST(EmbeddedClusterTest, DefaultTopicsAreZarcs) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster = EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_TRUE(
      CheckTopics(testing::FastTestConfig((*cluster)->bootstrap_servers()), DefaultTopics()).ok());
}

TEST(EmbeddedClusterTest, CreatingAnExistingTopicSaysSo) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster = EmbeddedCluster::Start(1, {{"a", 1}});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const absl::Status s = (*cluster)->CreateTopic({"a", 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_TRUE((*cluster)->CreateTopic({"c", 4}).ok());
}

TEST(EmbeddedClusterTest, BadArgumentsAreRefused) {
  EXPECT_EQ(EmbeddedCluster::Start(0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(EmbeddedCluster::Start(1, {{"zero", 0}}).status().message(),
              HasSubstr("\"zero\" with 0 partitions"));
}

TEST(EmbeddedClusterTest, ClientsSeeTheClusterGoAwayWhenItIsDestroyed) {
  absl::StatusOr<std::unique_ptr<EmbeddedCluster>> cluster = EmbeddedCluster::Start(1, {{"a", 1}});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const KafkaConfig config = testing::FastTestConfig((*cluster)->bootstrap_servers());
  cluster->reset();
  EXPECT_FALSE(ListTopics(config, absl::Seconds(2)).ok());
}

}  // namespace
}  // namespace zarc::kafka

#include "runtime/kafka/devbroker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "runtime/kafka/admin.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/testing/kafka_test_util.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/testing/subprocess.h"

namespace zarc::kafka {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(DevbrokerArgsTest, DefaultsToOneBrokerWithZarcTopics) {
  absl::StatusOr<DevbrokerOptions> options = ParseDevbrokerArgs({});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->brokers, 1);
  EXPECT_EQ(options->topics, DefaultTopics());
  EXPECT_FALSE(options->help);
}

TEST(DevbrokerArgsTest, TopicsAreAddedOrResized) {
  absl::StatusOr<DevbrokerOptions> options = ParseDevbrokerArgs(
      {"--brokers", "3", "--topic", "extra:4", "--topic=zarc.meetings:2", "--bootstrap-file=/x"});
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->brokers, 3);
  EXPECT_THAT(options->topics, Contains(TopicSpec{"extra", 4}));
  EXPECT_THAT(options->topics, Contains(TopicSpec{"zarc.meetings", 2}));
  EXPECT_EQ(options->topics.size(), DefaultTopics().size() + 1);
  EXPECT_EQ(options->bootstrap_file, "/x");
}

TEST(DevbrokerArgsTest, BadArgumentsAreNamed) {
  EXPECT_THAT(ParseDevbrokerArgs({"--brokers", "0"}).status().message(), HasSubstr("--brokers 0"));
  EXPECT_THAT(ParseDevbrokerArgs({"--topic", "nopartitions"}).status().message(),
              HasSubstr("NAME:PARTITIONS"));
  EXPECT_THAT(ParseDevbrokerArgs({"--frobnicate"}).status().message(),
              HasSubstr("unknown argument \"--frobnicate\""));
  EXPECT_THAT(ParseDevbrokerArgs({"--brokers"}).status().message(), HasSubstr("needs a value"));
}

TEST(DevbrokerTest, HelpPrintsUsage) {
  auto child =
      zarc::testing::Subprocess::Start({{zarc::testing::BinPath("zarc-devbroker"), "--help"}});
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_THAT((*child)->ReadRemaining(absl::Seconds(10)), HasSubstr("usage: zarc-devbroker"));
  EXPECT_EQ((*child)->Wait(absl::Seconds(10)).value_or(-1), 0);
}

// The broker runs in its own process; this test process is the client.
TEST(DevbrokerTest, ServesProduceAndConsumeFromAnotherProcessAndExitsCleanlyOnSigterm) {
  zarc::testing::TempDir dir;
  const std::string bootstrap_file = dir.path() + "/bootstrap";
  auto child = zarc::testing::Subprocess::Start(
      {{zarc::testing::BinPath("zarc-devbroker"), "--brokers", "2", "--topic", "devbroker.test:2",
        "--bootstrap-file", bootstrap_file}});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> line = (*child)->WaitForLine("bootstrap.servers=", absl::Seconds(20));
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string bootstrap(absl::StripPrefix(*line, "bootstrap.servers="));
  EXPECT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 1) << bootstrap;
  std::ifstream file(bootstrap_file);
  std::string from_file;
  std::getline(file, from_file);
  EXPECT_EQ(from_file, bootstrap);

  const KafkaConfig config = testing::FastTestConfig(bootstrap);
  absl::StatusOr<std::vector<TopicSpec>> topics = ListTopics(config);
  ASSERT_TRUE(topics.ok()) << topics.status();
  EXPECT_THAT(*topics, Contains(::testing::Field(&TopicSpec::name, "zarc.meetings")));
  EXPECT_TRUE(CheckTopics(config, {{"devbroker.test", 2}}).ok());

  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config);
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE(
      (*producer)
          ->ProduceAndWait({{"devbroker.test", "a", "one", {}}, {"devbroker.test", "b", "two", {}}},
                           absl::Seconds(20))
          .ok());
  absl::StatusOr<std::vector<Record>> records = ReadTopic(config, "devbroker.test");
  ASSERT_TRUE(records.ok()) << records.status();
  std::vector<std::string> values;
  for (const Record& r : *records) values.push_back(r.value);
  EXPECT_THAT(values, ::testing::UnorderedElementsAre("one", "two"));
  producer->reset();

  (*child)->Signal(SIGTERM);
  EXPECT_EQ((*child)->Wait(absl::Seconds(20)).value_or(-1), 0);
}

}  // namespace
}  // namespace zarc::kafka

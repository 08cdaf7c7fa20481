#include "runtime/kafka/kafka_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zarc::kafka {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(KafkaConfigTest, PlaintextWithBootstrapServersIsValid) {
  KafkaConfig config;
  config.bootstrap_servers = "kafka-0:9092,kafka-1:9092";
  EXPECT_TRUE(config.Validate().ok());
}

TEST(KafkaConfigTest, EmptyBootstrapServersAreRefused) {
  KafkaConfig config;
  const absl::Status s = config.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("bootstrap servers"));
}

TEST(KafkaConfigTest, UnknownSecurityProtocolIsNamed) {
  KafkaConfig config;
  config.bootstrap_servers = "k:9092";
  config.security_protocol = "tls";
  const absl::Status s = config.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("\"tls\""));
  EXPECT_THAT(s.message(), HasSubstr("sasl_ssl"));
}

TEST(KafkaConfigTest, SaslNeedsMechanismAndCredentialsButNeverEchoesThePassword) {
  KafkaConfig config;
  config.bootstrap_servers = "k:9093";
  config.security_protocol = "SASL_SSL";
  EXPECT_THAT(config.Validate().message(), HasSubstr("SASL mechanism"));
  config.sasl_mechanism = "SCRAM-SHA-512";
  config.sasl_password = "hunter2-secret";
  const absl::Status s = config.Validate();
  EXPECT_THAT(s.message(), HasSubstr("username"));
  EXPECT_THAT(s.message(), Not(HasSubstr("hunter2-secret")));
  config.sasl_username = "zarc";
  EXPECT_TRUE(config.Validate().ok());
}

TEST(KafkaConfigTest, OauthBearerNeedsNoPassword) {
  KafkaConfig config;
  config.bootstrap_servers = "k:9093";
  config.security_protocol = "sasl_ssl";
  config.sasl_mechanism = "OAUTHBEARER";
  EXPECT_TRUE(config.Validate().ok());
}

TEST(KafkaConfigTest, ASessionTimeoutOutsideOneSecondToOneHourIsRefusedNamingTheOption) {
  KafkaConfig config;
  config.bootstrap_servers = "k:9092";
  EXPECT_TRUE(config.Validate().ok());  // the default, 6 s
  for (absl::Duration bad : {absl::Milliseconds(999), absl::Hours(1) + absl::Seconds(1)}) {
    config.session_timeout = bad;
    const absl::Status s = config.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("kafka.session_timeout is " + absl::FormatDuration(bad)));
  }
}

TEST(KafkaConfigTest, MembersHeartbeatAThirdOfTheSessionTimeoutAndAtLeastEverySecond) {
  KafkaConfig config;
  EXPECT_EQ(GroupMemberProperties(config),
            (std::map<std::string, std::string>{{"session.timeout.ms", "6000"},
                                                {"heartbeat.interval.ms", "1000"}}));
  config.session_timeout = absl::Seconds(45);
  EXPECT_EQ(GroupMemberProperties(config)["heartbeat.interval.ms"], "1000");
  config.session_timeout = absl::Milliseconds(1500);
  EXPECT_EQ(GroupMemberProperties(config)["session.timeout.ms"], "1500");
  EXPECT_EQ(GroupMemberProperties(config)["heartbeat.interval.ms"], "500");
}

}  // namespace
}  // namespace zarc::kafka

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

}  // namespace
}  // namespace zarc::kafka

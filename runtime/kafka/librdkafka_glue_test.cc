#include "runtime/kafka/librdkafka_glue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zarc::kafka::internal {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LibrdkafkaGlueTest, RefusedPropertyIsNamedWithItsValue) {
  ConfPtr conf(rd_kafka_conf_new());
  const absl::Status s = SetProperty(conf.get(), "session.timeout.ms", "soon");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("session.timeout.ms=soon"));
}

TEST(LibrdkafkaGlueTest, RefusedSecretPropertyHidesItsValue) {
  ConfPtr conf(rd_kafka_conf_new());
  const absl::Status s = SetProperty(conf.get(), "no.such.password", "hunter2");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("no.such.password=<secret>"));
  EXPECT_THAT(s.message(), Not(HasSubstr("hunter2")));
}

TEST(LibrdkafkaGlueTest, ExtraPropertiesOverrideDefaults) {
  KafkaConfig config;
  config.bootstrap_servers = "127.0.0.1:9";
  config.extra = {{"acks", "1"}};
  absl::StatusOr<ConfPtr> conf = MakeConf(config, {{"acks", "all"}, {"linger.ms", "7"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  char value[64];
  size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "acks", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_EQ(std::string(value), "1");
  size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "linger.ms", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_EQ(std::string(value), "7");
}

TEST(LibrdkafkaGlueTest, ErrorsMapToRetryableOrPermanentCodes) {
  EXPECT_EQ(ErrorToStatus(RD_KAFKA_RESP_ERR__TRANSPORT, "x").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorToStatus(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "x").code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ErrorToStatus(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "x").code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status s = ErrorToStatus(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, "reading t");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("reading t: UNKNOWN_TOPIC_OR_PART"));
  EXPECT_TRUE(ErrorToStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
}

}  // namespace
}  // namespace zarc::kafka::internal

#include "runtime/kafka/librdkafka_glue.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/log/log.h"

namespace zarc::kafka::internal {
namespace {

constexpr absl::string_view kComponent = "kafka";

bool IsSecretProperty(absl::string_view key) {
  const std::string lower = absl::AsciiStrToLower(key);
  return absl::StrContains(lower, "password") || absl::StrContains(lower, "secret") ||
         absl::StrContains(lower, "key.pem") || absl::StrContains(lower, "token");
}

// Called from librdkafka's internal threads; zarc's logger is thread-safe.
void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  log::Level zarc_level = level <= 3   ? log::Level::kError
                          : level <= 4 ? log::Level::kWarn
                          : level <= 6 ? log::Level::kInfo
                                       : log::Level::kDebug;
  // zarc hands one KafkaConfig to producers and consumers alike, so a consumer-only property
  // reaching a producer (and the reverse) is expected, not worth a warning.
  if (std::strcmp(fac, "CONFWARN") == 0 && std::strstr(buf, "will be ignored by this") != nullptr) {
    zarc_level = log::Level::kDebug;
  }
  // Said on every metadata request to brokers without MetadataRequest v4 (such as librdkafka's
  // mock cluster); real Kafka since 0.11 does not need it.
  if (std::strcmp(fac, "AUTOCREATE") == 0) zarc_level = log::Level::kDebug;
  if (!log::Enabled(zarc_level)) return;
  log::Write(zarc_level, kComponent, buf, {{"client", rd_kafka_name(rk)}, {"facility", fac}});
}

void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  // Transport errors are routine (a broker restarting) and librdkafka retries them itself.
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  const bool fatal = code == RD_KAFKA_RESP_ERR__FATAL;
  log::Write(
      fatal ? log::Level::kError : log::Level::kWarn, kComponent, "client error",
      {{"client", rd_kafka_name(rk)}, {"error", rd_kafka_err2name(code)}, {"reason", reason}});
}

}  // namespace

absl::Status SetProperty(rd_kafka_conf_t* conf, absl::string_view key, absl::string_view value) {
  char errstr[512];
  const std::string k(key);
  const std::string v(value);
  if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Kafka property ", k, "=", IsSecretProperty(k) ? "<secret>" : v,
        " was refused by librdkafka: ", errstr, "; fix or remove it in the Kafka configuration"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfPtr> MakeConf(const KafkaConfig& config,
                                 const std::map<std::string, std::string>& defaults) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  ConfPtr conf(rd_kafka_conf_new());
  std::map<std::string, std::string> props = defaults;
  props["bootstrap.servers"] = config.bootstrap_servers;
  if (!config.client_id.empty()) props["client.id"] = config.client_id;
  if (!config.security_protocol.empty()) props["security.protocol"] = config.security_protocol;
  if (!config.sasl_mechanism.empty()) props["sasl.mechanisms"] = config.sasl_mechanism;
  if (!config.sasl_username.empty()) props["sasl.username"] = config.sasl_username;
  if (!config.sasl_password.empty()) props["sasl.password"] = config.sasl_password;
  if (!config.ssl_ca_file.empty()) props["ssl.ca.location"] = config.ssl_ca_file;
  for (const auto& [k, v] : config.extra) props[k] = v;
  for (const auto& [k, v] : props) {
    if (absl::Status s = SetProperty(conf.get(), k, v); !s.ok()) return s;
  }
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  rd_kafka_conf_set_error_cb(conf.get(), ErrorCallback);
  return conf;
}

absl::StatusOr<HandlePtr> MakeHandle(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create a Kafka ", type == RD_KAFKA_PRODUCER ? "producer" : "consumer",
                     ": ", errstr, "; check the Kafka configuration"));
  }
  conf.release();  // rd_kafka_new took ownership
  return HandlePtr(rk);
}

absl::Status ErrorToStatus(rd_kafka_resp_err_t err, absl::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const std::string message =
      absl::StrCat(context, ": ", rd_kafka_err2name(err), " (", rd_kafka_err2str(err), ")");
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
      return absl::DeadlineExceededError(message);
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
      return absl::UnavailableError(message);
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
      return absl::UnimplementedError(message);
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return absl::InvalidArgumentError(message);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::NotFoundError(message);
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return absl::PermissionDeniedError(message);
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

Record RecordFromMessage(const rd_kafka_message_t* message) {
  Record record;
  record.topic = rd_kafka_topic_name(message->rkt);
  record.partition = message->partition;
  record.offset = message->offset;
  if (message->key != nullptr) {
    record.key.assign(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) {
    record.value.assign(static_cast<const char*>(message->payload), message->len);
  }
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      headers != nullptr) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      record.headers.emplace_back(
          name, value != nullptr ? std::string(static_cast<const char*>(value), size) : "");
    }
  }
  rd_kafka_timestamp_type_t type;
  record.timestamp_ms = rd_kafka_message_timestamp(message, &type);
  return record;
}

int ToTimeoutMs(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

}  // namespace zarc::kafka::internal

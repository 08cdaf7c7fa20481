#include "runtime/kafka/kafka_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace zarc::kafka {

absl::Status KafkaConfig::Validate() const {
  if (bootstrap_servers.empty()) {
    return absl::InvalidArgumentError(
        "Kafka bootstrap servers are empty; set them to host:port[,host:port...] of the cluster");
  }
  const std::string protocol = absl::AsciiStrToLower(security_protocol);
  if (!protocol.empty() && protocol != "plaintext" && protocol != "ssl" &&
      protocol != "sasl_plaintext" && protocol != "sasl_ssl") {
    return absl::InvalidArgumentError(
        absl::StrCat("Kafka security protocol \"", security_protocol,
                     "\" is not known; use plaintext, ssl, sasl_plaintext or sasl_ssl"));
  }
  if (absl::StartsWith(protocol, "sasl_")) {
    if (sasl_mechanism.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Kafka security protocol ", security_protocol,
                       " needs a SASL mechanism; set it to PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"));
    }
    const std::string mechanism = absl::AsciiStrToUpper(sasl_mechanism);
    const bool needs_password = mechanism == "PLAIN" || absl::StartsWith(mechanism, "SCRAM-");
    if (needs_password && (sasl_username.empty() || sasl_password.empty())) {
      return absl::InvalidArgumentError(absl::StrCat("Kafka SASL mechanism ", sasl_mechanism,
                                                     " needs both a username and a password"));
    }
  }
  return ValidateSessionTimeout();
}

absl::Status KafkaConfig::ValidateSessionTimeout() const {
  if (session_timeout < absl::Seconds(1) || session_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka.session_timeout is ", absl::FormatDuration(session_timeout),
        ", out of range; give 1s to 1h (brokers accept 6s to 30m unless "
        "group.min.session.timeout.ms or group.max.session.timeout.ms say otherwise)"));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> GroupMemberProperties(const KafkaConfig& config) {
  const absl::Duration heartbeat = std::min(config.session_timeout / 3, absl::Seconds(1));
  return {{"session.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(config.session_timeout))},
          {"heartbeat.interval.ms", absl::StrCat(absl::ToInt64Milliseconds(heartbeat))}};
}

}  // namespace zarc::kafka

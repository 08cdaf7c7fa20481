#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace zarc::kafka {

// How to reach the Kafka cluster. Plain strings so the service config can fill it from flags,
// environment or a file; the librdkafka names are given for each field.
struct KafkaConfig {
  std::string bootstrap_servers;   // bootstrap.servers, "host:port,host:port"
  std::string client_id = "zarc";  // client.id
  std::string security_protocol;   // security.protocol: plaintext | ssl | sasl_plaintext | sasl_ssl
  std::string sasl_mechanism;      // sasl.mechanisms: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512
  std::string sasl_username;       // sasl.username
  std::string sasl_password;       // sasl.password (secret: never logged)
  std::string ssl_ca_file;         // ssl.ca.location
  // session.timeout.ms of every consumer group member (the stage runners): how long the
  // partitions of a member that stopped heartbeating (SIGKILL, a lost node) wait before the
  // group moves them to another member. 6 s is the lowest a Kafka broker accepts by default
  // (group.min.session.timeout.ms). A member that stops cleanly leaves the group at once.
  absl::Duration session_timeout = absl::Seconds(6);
  // Any other librdkafka property, applied last (so it can override zarc's defaults).
  std::map<std::string, std::string> extra;

  // Checks what can be checked without a broker: bootstrap servers set, a known security
  // protocol, SASL settings complete when SASL is used, and ValidateSessionTimeout().
  absl::Status Validate() const;
  // A session timeout from 1 s to 1 h (librdkafka's range).
  absl::Status ValidateSessionTimeout() const;
};

// The librdkafka properties of a consumer group member: session.timeout.ms from
// config.session_timeout and heartbeat.interval.ms a third of it, at most 1 s (so the members
// that stay learn of a rebalance within a second).
std::map<std::string, std::string> GroupMemberProperties(const KafkaConfig& config);

// What a deployment tunes in every stage runner of a service (see StageRunnerOptions).
struct StageSettings {
  absl::Duration stuck_alert_after = absl::Hours(1);
  int64_t concurrency = 16;                               // records handled at once
  absl::Duration commit_interval = absl::Milliseconds(100);  // batched offset commits
};

}  // namespace zarc::kafka

#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"

namespace zarc::kafka::testing {

// A client config for tests against the mock cluster: short group timeouts and fetch waits so a
// consumer group forms and rebalances in seconds rather than tens of seconds.
KafkaConfig FastTestConfig(const std::string& bootstrap_servers);

// Reads `topic` (see ReadTopic) until it holds at least `count` records or `timeout` passes.
absl::StatusOr<std::vector<Record>> WaitForRecords(const KafkaConfig& config,
                                                   absl::string_view topic, size_t count,
                                                   absl::Duration timeout);

}  // namespace zarc::kafka::testing

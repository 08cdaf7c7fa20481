#include "runtime/kafka/testing/kafka_test_util.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/kafka/topic_reader.h"

namespace zarc::kafka::testing {

KafkaConfig FastTestConfig(const std::string& bootstrap_servers) {
  KafkaConfig config;
  config.bootstrap_servers = bootstrap_servers;
  config.client_id = "zarc-test";
  config.extra = {
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      // Must be at least session.timeout.ms.
      {"max.poll.interval.ms", "10000"},
      {"fetch.wait.max.ms", "50"},
      {"topic.metadata.refresh.interval.ms", "1000"},
      {"reconnect.backoff.ms", "50"},
      {"reconnect.backoff.max.ms", "500"},
      {"linger.ms", "1"},
  };
  return config;
}

absl::StatusOr<std::vector<Record>> WaitForRecords(const KafkaConfig& config,
                                                   absl::string_view topic, size_t count,
                                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  size_t last_seen = 0;
  while (true) {
    absl::StatusOr<std::vector<Record>> records = ReadTopic(config, topic, absl::Seconds(10));
    if (records.ok()) {
      if (records->size() >= count) return records;
      last_seen = records->size();
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "topic ", topic, " has ", last_seen, " records after ", absl::FormatDuration(timeout),
          ", want ", count,
          records.ok() ? "" : absl::StrCat("; last read: ", records.status().ToString())));
    }
    absl::SleepFor(absl::Milliseconds(100));  // polling interval of the awaited condition
  }
}

}  // namespace zarc::kafka::testing

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"
#include "runtime/kafka/topics.h"

namespace zarc::kafka {

// What a stage knew when it gave up on a record: the dead letter's headers.
struct DeadLetterCause {
  std::string stage;   // the stage that gave up ("converter", "mapper", "importer", ...)
  absl::Status error;  // its last error: the message only (no record content, no secrets)
  int attempts = 0;    // attempts made, the first included
  absl::Time first_failure = absl::InfinitePast();  // InfinitePast: the time of MakeDeadLetter
};

// Headers of a dead letter, added after the original record's own headers.
inline constexpr absl::string_view kDeadLetterStageHeader = "zarc-stage";
inline constexpr absl::string_view kDeadLetterErrorHeader = "zarc-error";
inline constexpr absl::string_view kDeadLetterErrorCodeHeader = "zarc-error-code";
inline constexpr absl::string_view kDeadLetterAttemptsHeader = "zarc-attempts";
inline constexpr absl::string_view kDeadLetterFirstFailureHeader =
    "zarc-first-failure";                                                                // RFC 3339
inline constexpr absl::string_view kDeadLetterParkedAtHeader = "zarc-dead-lettered-at";  // RFC 3339
inline constexpr absl::string_view kDeadLetterSourceTopicHeader = "zarc-source-topic";
inline constexpr absl::string_view kDeadLetterSourcePartitionHeader = "zarc-source-partition";
inline constexpr absl::string_view kDeadLetterSourceOffsetHeader = "zarc-source-offset";
// How many of the dead letter's headers, from the first, are the original record's.
inline constexpr absl::string_view kDeadLetterOriginalHeadersHeader = "zarc-original-headers";
// A replay marker (zarc dlq replay) instead of a dead letter: the ids it replayed, comma-separated.
inline constexpr absl::string_view kDeadLetterReplayedHeader = "zarc-dlq-replayed";

// The longest error text a dead letter carries; longer messages are cut (with "…").
inline constexpr size_t kDeadLetterMaxErrorBytes = 1024;

// The dead letter of `record` for `topic`: the original key, value and headers (so a replay
// re-submits exactly what the stage was given) plus the cause and where the record came from.
OutgoingRecord MakeDeadLetter(absl::string_view topic, const Record& record,
                              const DeadLetterCause& cause, absl::Time now = absl::Now());

// A record of the dead-letter topic, read back.
struct DeadLetter {
  std::string id;  // "<partition>-<offset>" in the dead-letter topic: what zarc dlq names it by
  int32_t partition = -1;
  int64_t offset = -1;
  std::string stage;
  std::string error;
  std::string error_code;  // absl::StatusCodeToString, e.g. "INVALID_ARGUMENT"
  int attempts = 0;
  absl::Time first_failure = absl::InfinitePast();
  absl::Time dead_lettered_at = absl::InfinitePast();
  std::string source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
  // The original record, as the stage consumed it (its own headers, without the dead letter's).
  OutgoingRecord original;
  // When zarc dlq replay re-submitted it; InfinitePast while it is parked.
  absl::Time replayed_at = absl::InfinitePast();
  bool parked() const { return replayed_at == absl::InfinitePast(); }
};

// The id of the dead letter at `partition`/`offset` of the dead-letter topic.
std::string DeadLetterId(int32_t partition, int64_t offset);

// Parses a record of the dead-letter topic. InvalidArgument when it is not a dead letter (no
// source topic), naming the offset; a replay marker is not a dead letter either (see
// ParseReplayMarker).
absl::StatusOr<DeadLetter> ParseDeadLetter(const Record& record);

// A replay marker: zarc dlq replay re-submitted these dead letters at `replayed_at`.
struct ReplayMarker {
  std::vector<std::string> ids;
  absl::Time replayed_at = absl::InfinitePast();
};
OutgoingRecord MakeReplayMarker(absl::string_view topic, const std::vector<std::string>& ids,
                                absl::Time now = absl::Now());
// nullopt when `record` is not a replay marker.
std::optional<ReplayMarker> ParseReplayMarker(const Record& record);

// Every dead letter of `topic`, in the order ForEachRecord gives them, each with its replay
// time if a replay marker names it. Reads the whole topic (see ForEachRecord for the errors).
absl::StatusOr<std::vector<DeadLetter>> ReadDeadLetters(const KafkaConfig& config,
                                                        absl::Duration timeout,
                                                        absl::string_view topic = kDeadLetterTopic);

}  // namespace zarc::kafka

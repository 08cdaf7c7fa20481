#include "runtime/kafka/dead_letter.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/kafka/topic_reader.h"

namespace zarc::kafka {
namespace {

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::Time ParseRfc3339(absl::string_view text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return absl::InfinitePast();
  return t;
}

// Cut on a UTF-8 character boundary, so that the header stays valid text.
std::string Bounded(absl::string_view text) {
  if (text.size() <= kDeadLetterMaxErrorBytes) return std::string(text);
  size_t end = kDeadLetterMaxErrorBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return absl::StrCat(text.substr(0, end), "…");
}

}  // namespace

std::string DeadLetterId(int32_t partition, int64_t offset) {
  return absl::StrCat(partition, "-", offset);
}

OutgoingRecord MakeDeadLetter(absl::string_view topic, const Record& record,
                              const DeadLetterCause& cause, absl::Time now) {
  OutgoingRecord letter{std::string(topic), record.key, record.value, record.headers};
  const absl::Time first = cause.first_failure == absl::InfinitePast() ? now : cause.first_failure;
  Headers& h = letter.headers;
  h.emplace_back(kDeadLetterOriginalHeadersHeader, absl::StrCat(record.headers.size()));
  h.emplace_back(kDeadLetterErrorHeader, Bounded(cause.error.message()));
  h.emplace_back(kDeadLetterErrorCodeHeader, absl::StatusCodeToString(cause.error.code()));
  h.emplace_back(kDeadLetterAttemptsHeader, absl::StrCat(cause.attempts));
  h.emplace_back(kDeadLetterFirstFailureHeader, Rfc3339(first));
  h.emplace_back(kDeadLetterParkedAtHeader, Rfc3339(now));
  h.emplace_back(kDeadLetterSourceTopicHeader, record.topic);
  h.emplace_back(kDeadLetterSourcePartitionHeader, absl::StrCat(record.partition));
  h.emplace_back(kDeadLetterSourceOffsetHeader, absl::StrCat(record.offset));
  h.emplace_back(kDeadLetterStageHeader, cause.stage);
  return letter;
}

absl::StatusOr<DeadLetter> ParseDeadLetter(const Record& record) {
  DeadLetter d;
  d.id = DeadLetterId(record.partition, record.offset);
  d.partition = record.partition;
  d.offset = record.offset;
  std::optional<std::string> source = record.Header(kDeadLetterSourceTopicHeader);
  if (!source.has_value() || source->empty() || record.Header(kDeadLetterReplayedHeader)) {
    return absl::InvalidArgumentError(absl::StrCat("record ", d.id, " of ", record.topic,
                                                   " is not a dead letter (no ",
                                                   kDeadLetterSourceTopicHeader, " header)"));
  }
  d.source_topic = *source;
  d.stage = record.Header(kDeadLetterStageHeader).value_or("");
  d.error = record.Header(kDeadLetterErrorHeader).value_or("");
  d.error_code = record.Header(kDeadLetterErrorCodeHeader).value_or("");
  (void)absl::SimpleAtoi(record.Header(kDeadLetterAttemptsHeader).value_or(""), &d.attempts);
  (void)absl::SimpleAtoi(record.Header(kDeadLetterSourcePartitionHeader).value_or(""),
                         &d.source_partition);
  (void)absl::SimpleAtoi(record.Header(kDeadLetterSourceOffsetHeader).value_or(""),
                         &d.source_offset);
  const absl::Time broker_time =
      record.timestamp_ms >= 0 ? absl::FromUnixMillis(record.timestamp_ms) : absl::InfinitePast();
  d.dead_lettered_at = ParseRfc3339(record.Header(kDeadLetterParkedAtHeader).value_or(""));
  if (d.dead_lettered_at == absl::InfinitePast()) d.dead_lettered_at = broker_time;
  d.first_failure = ParseRfc3339(record.Header(kDeadLetterFirstFailureHeader).value_or(""));
  if (d.first_failure == absl::InfinitePast()) d.first_failure = d.dead_lettered_at;

  // Letters written before zarc-original-headers existed: every header not starting with
  // "zarc-" except zarc-event is taken as the original's.
  size_t original = 0;
  const bool counted =
      absl::SimpleAtoi(record.Header(kDeadLetterOriginalHeadersHeader).value_or(""), &original);
  d.original.topic = d.source_topic;
  d.original.key = record.key;
  d.original.value = record.value;
  for (size_t i = 0; i < record.headers.size(); ++i) {
    const auto& [name, value] = record.headers[i];
    const bool keep =
        counted ? i < original : (name == "zarc-event" || !absl::StartsWith(name, "zarc-"));
    if (keep) d.original.headers.emplace_back(name, value);
  }
  return d;
}

OutgoingRecord MakeReplayMarker(absl::string_view topic, const std::vector<std::string>& ids,
                                absl::Time now) {
  return OutgoingRecord{std::string(topic),
                        "zarc-dlq-replay",
                        "",
                        {{std::string(kDeadLetterReplayedHeader), absl::StrJoin(ids, ",")},
                         {"zarc-replayed-at", Rfc3339(now)}}};
}

std::optional<ReplayMarker> ParseReplayMarker(const Record& record) {
  std::optional<std::string> ids = record.Header(kDeadLetterReplayedHeader);
  if (!ids.has_value()) return std::nullopt;
  ReplayMarker m;
  m.ids = absl::StrSplit(*ids, ',', absl::SkipEmpty());
  m.replayed_at = ParseRfc3339(record.Header("zarc-replayed-at").value_or(""));
  if (m.replayed_at == absl::InfinitePast() && record.timestamp_ms >= 0) {
    m.replayed_at = absl::FromUnixMillis(record.timestamp_ms);
  }
  return m;
}

absl::StatusOr<std::vector<DeadLetter>> ReadDeadLetters(const KafkaConfig& config,
                                                        absl::Duration timeout,
                                                        absl::string_view topic) {
  std::vector<DeadLetter> letters;
  std::map<std::string, absl::Time> replayed;
  absl::Status read = ForEachRecord(config, topic, timeout, [&](Record record) {
    if (std::optional<ReplayMarker> marker = ParseReplayMarker(record)) {
      for (const std::string& id : marker->ids) replayed.emplace(id, marker->replayed_at);
      return absl::OkStatus();
    }
    absl::StatusOr<DeadLetter> letter = ParseDeadLetter(record);
    if (letter.ok()) letters.push_back(*std::move(letter));
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  for (DeadLetter& d : letters) {
    auto it = replayed.find(d.id);
    if (it != replayed.end()) d.replayed_at = it->second;
  }
  return letters;
}

}  // namespace zarc::kafka

#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"
#include "runtime/kafka/topics.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace zarc::kafka {

// A stage's logic: one input record in, the records to publish out. Must not depend on being
// called once: a record is handled again after a crash or a rebalance (at-least-once), so the
// outputs must be the same each time (downstream stages are idempotent on them).
//
// Status codes carry the retry decision:
//  - UNAVAILABLE or RESOURCE_EXHAUSTED: transient (a server down, throttled). Retried for as
//    long as it takes, never dead-lettered.
//  - anything else: retried up to max_attempts, then the record goes to the dead-letter topic.
using StageHandler = std::function<absl::StatusOr<std::vector<OutgoingRecord>>(const Record&)>;

struct StageRunnerOptions {
  std::string stage;     // e.g. "converter": metrics label and dead-letter header
  std::string group_id;  // consumer group; one per stage
  std::vector<std::string> input_topics;
  std::string dead_letter_topic = std::string(kDeadLetterTopic);

  int max_attempts = 5;  // for non-transient errors, including the first attempt
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  // How long to wait for delivery reports of one record's outputs before retrying it.
  absl::Duration produce_timeout = absl::Seconds(30);
  absl::Duration poll_timeout = absl::Milliseconds(100);  // bounds how late Stop() is noticed
  // A record failing for longer than this is logged as stuck once, and
  // zarc_stage_oldest_waiting_seconds passes zarc_stage_stuck_alert_after_seconds (the
  // ZarcStageRecordStuck alert).
  absl::Duration stuck_alert_after = absl::Hours(1);

  // Records handled at once, each on a worker thread of the runner's own (the handler must be
  // thread-safe when this is above 1). Records with the same key, which are in one partition,
  // are handled one after the other in offset order; records with other keys run side by side.
  int concurrency = 1;
  // At most this many records of one partition are taken and not yet committed; beyond it the
  // partition is paused until the oldest ones are settled.
  int max_pending_per_partition = 512;
  // Settled records' offsets are committed together, asynchronously, at most this often; a
  // revocation and Stop() commit synchronously what is settled. Zero commits synchronously as
  // soon as the committable offset moves (one commit per record when records are handled one
  // at a time).
  absl::Duration commit_interval = absl::ZeroDuration();

  // Optional, must outlive the runner: zarc_stage_records_total{stage,outcome},
  // zarc_stage_processing_seconds{stage}, zarc_stage_dead_letter_total{stage},
  // zarc_stage_oldest_waiting_seconds{stage}, zarc_stage_stuck_alert_after_seconds{stage} and
  // the producer's zarc_kafka_produced_total{topic}.
  prometheus::Registry* metrics = nullptr;

  // For crash tests only: called after a record's outputs are acknowledged and before its
  // offset is committed.
  std::function<void(const Record&)> before_commit_for_testing;
};

// A deployment's stage.* settings, applied to a runner's options.
inline void ApplyStageSettings(const StageSettings& settings, StageRunnerOptions& options) {
  options.stuck_alert_after = settings.stuck_alert_after;
  options.concurrency = static_cast<int>(settings.concurrency);
  options.commit_interval = settings.commit_interval;
}

// Runs a stage as a member of a Kafka consumer group, for every stage alike:
//   consume → handle → produce outputs and wait for their acknowledgement → commit the input.
// An input offset is committed only once every output of that record and of every record
// before it in the partition is acknowledged (the committed offset is that of the lowest record
// not yet settled), so a crash anywhere before the commit means those records are consumed
// again; nothing is lost. Up to `concurrency` records are handled at once; records with one key
// in order. A record that failed waits for its retry with its partition held: the records of
// the partition already being handled finish, no other record of it starts, and it is paused;
// the other partitions go on being handled. On revocation and on Stop() the runner waits for
// the records being handled (no second owner handles a record while this one still does), and
// commits what is settled.
class StageRunner {
 public:
  static absl::StatusOr<std::unique_ptr<StageRunner>> Create(const KafkaConfig& config,
                                                             StageRunnerOptions options,
                                                             StageHandler handler);
  ~StageRunner();
  StageRunner(const StageRunner&) = delete;
  StageRunner& operator=(const StageRunner&) = delete;

  // Joins the group and handles records until Stop(). Then finishes the records in hand (records
  // waiting for a retry, or not started, stay uncommitted and are consumed again later),
  // leaves the group and flushes the producer. Returns an error only for failures that stop
  // the stage (bad configuration, a fatal client error). Call once.
  absl::Status Run();

  // Asks Run() to return. Thread-safe and async-signal-safe (sets an atomic flag only).
  void Stop() { stop_.store(true, std::memory_order_relaxed); }

 private:
  struct Impl;
  explicit StageRunner(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ran_{false};
};

}  // namespace zarc::kafka

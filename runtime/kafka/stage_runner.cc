#include "runtime/kafka/stage_runner.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "runtime/kafka/dead_letter.h"
#include "runtime/kafka/librdkafka_glue.h"
#include "runtime/kafka/producer.h"
#include "runtime/log/log.h"

namespace zarc::kafka {
namespace {

constexpr absl::string_view kComponent = "stage-runner";

using TopicPartition = std::pair<std::string, int32_t>;

bool IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kResourceExhausted;
}

}  // namespace

// A record whose last attempt failed, waiting (its partition paused) for its next attempt.
struct Waiting {
  Record record;
  absl::Time started;        // when the record was taken: processing time
  absl::Time first_failure;  // how long it has been stuck
  absl::Time due;            // next attempt
  absl::Duration backoff;
  int tries = 0;
  int counted_attempts = 0;  // failures that count towards max_attempts
  // Set once the record is given up on: only publishing its dead letter is retried.
  std::optional<absl::Status> dead_letter;
  int attempts_given_up_after = 0;
  bool stuck_reported = false;
};

// Everything here is used from the thread calling Run() only: librdkafka calls the rebalance
// callback from inside rd_kafka_consumer_poll on that thread.
struct StageRunner::Impl {
  StageRunnerOptions options;
  StageHandler handler;
  std::string bootstrap_servers;
  std::unique_ptr<Producer> producer;
  internal::HandlePtr consumer;

  // At most one per partition, and its partition is paused: records of a partition are
  // handled in order, while every other partition goes on being consumed.
  std::map<TopicPartition, Waiting> waiting;
  std::mt19937_64 rng{std::random_device{}()};

  prometheus::Counter* ok_total = nullptr;
  prometheus::Counter* retried_total = nullptr;
  prometheus::Counter* dead_lettered_total = nullptr;
  prometheus::Counter* dead_letter_total = nullptr;
  prometheus::Histogram* processing_seconds = nullptr;
  prometheus::Gauge* oldest_waiting_seconds = nullptr;

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void RegisterMetrics(prometheus::Registry& registry);
  // One attempt at `w` (its handler, or only its dead letter once given up). True when the
  // record is settled and committed; false when it must wait until w.due. An error stops the
  // stage (a fatal producer error).
  absl::StatusOr<bool> Attempt(Waiting& w);
  absl::Status Publish(const Record& record, const std::vector<OutgoingRecord>& outputs);
  void Settled(const Waiting& w);
  void ScheduleRetry(Waiting& w, const absl::Status& error, absl::string_view what);
  void Commit(const Record& record);
  void SetPaused(const TopicPartition& tp, bool paused);
  // Updates zarc_stage_oldest_waiting_seconds and reports, once per record, one stuck for
  // longer than stuck_alert_after.
  void ReportWaiting();
  absl::Duration Jittered(absl::Duration backoff);
};

void StageRunner::Impl::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                    rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  auto* impl = static_cast<Impl*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  std::vector<std::string> names;
  for (int i = 0; i < partitions->cnt; ++i) {
    names.push_back(absl::StrCat(partitions->elems[i].topic, "/", partitions->elems[i].partition));
  }
  const std::string list = absl::StrJoin(names, ",");
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    log::Info(kComponent, "partitions assigned",
              {{"stage", impl->options.stage},
               {"partitions", list},
               {"protocol", rd_kafka_rebalance_protocol(rk)}});
    if (cooperative) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, partitions)) {
        log::Error(kComponent, "incremental assign failed",
                   {{"stage", impl->options.stage}, {"error", rd_kafka_error_string(error)}});
        rd_kafka_error_destroy(error);
      }
    } else {
      rd_kafka_assign(rk, partitions);
    }
    return;
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    log::Error(kComponent, "rebalance failed; dropping the assignment",
               {{"stage", impl->options.stage}, {"error", rd_kafka_err2name(err)}});
  } else {
    log::Info(kComponent, rd_kafka_assignment_lost(rk) ? "partitions lost" : "partitions revoked",
              {{"stage", impl->options.stage}, {"partitions", list}});
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    TopicPartition tp(partitions->elems[i].topic, partitions->elems[i].partition);
    // A waiting record is left uncommitted for the partition's next owner. Resumed so that the
    // partition is not still paused if it comes back to this member.
    if (impl->waiting.erase(tp) > 0) {
      log::Info(kComponent, "partition revoked while retrying; its new owner takes the record",
                {{"stage", impl->options.stage}, {"topic", tp.first}, {"partition", tp.second}});
      impl->SetPaused(tp, false);
    }
  }
  if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, partitions)) {
      log::Error(kComponent, "incremental unassign failed",
                 {{"stage", impl->options.stage}, {"error", rd_kafka_error_string(error)}});
      rd_kafka_error_destroy(error);
    }
  } else {
    rd_kafka_assign(rk, nullptr);
  }
}

void StageRunner::Impl::RegisterMetrics(prometheus::Registry& registry) {
  auto& records = prometheus::BuildCounter()
                      .Name("zarc_stage_records_total")
                      .Help(
                          "Input records by outcome: ok (outputs published and committed), "
                          "retried (one per failed attempt), dead_lettered.")
                      .Register(registry);
  ok_total = &records.Add({{"stage", options.stage}, {"outcome", "ok"}});
  retried_total = &records.Add({{"stage", options.stage}, {"outcome", "retried"}});
  dead_lettered_total = &records.Add({{"stage", options.stage}, {"outcome", "dead_lettered"}});
  dead_letter_total = &prometheus::BuildCounter()
                           .Name("zarc_stage_dead_letter_total")
                           .Help("Records published to the dead-letter topic.")
                           .Register(registry)
                           .Add({{"stage", options.stage}});
  processing_seconds =
      &prometheus::BuildHistogram()
           .Name("zarc_stage_processing_seconds")
           .Help("Time from taking a record to committing it, retries included.")
           .Register(registry)
           .Add({{"stage", options.stage}},
                prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                        2.5, 5, 10, 30, 60, 300});
  oldest_waiting_seconds =
      &prometheus::BuildGauge()
           .Name("zarc_stage_oldest_waiting_seconds")
           .Help(
               "How long the oldest record waiting for a retry has been failing (0 when none); "
               "its partition is paused meanwhile.")
           .Register(registry)
           .Add({{"stage", options.stage}});
  prometheus::BuildGauge()
      .Name("zarc_stage_stuck_alert_after_seconds")
      .Help("stage.stuck_alert_after: a record failing for longer than this raises an alert.")
      .Register(registry)
      .Add({{"stage", options.stage}})
      .Set(absl::ToDoubleSeconds(options.stuck_alert_after));
}

absl::Duration StageRunner::Impl::Jittered(absl::Duration backoff) {
  // 50%..150% of the nominal backoff, so stages retrying against one server spread out.
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  return std::min(backoff * factor(rng), options.max_backoff);
}

absl::Status StageRunner::Impl::Publish(const Record& record,
                                        const std::vector<OutgoingRecord>& outputs) {
  if (outputs.empty()) return absl::OkStatus();
  absl::Status status = producer->ProduceAndWait(outputs, options.produce_timeout);
  if (status.ok()) return status;
  if (absl::Status fatal = producer->FatalError(); !fatal.ok()) return fatal;
  // An unacknowledged output is the cluster's trouble, not the record's: retry without limit.
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(status.message());
  }
  return status;
}

absl::StatusOr<bool> StageRunner::Impl::Attempt(Waiting& w) {
  const Record& record = w.record;
  ++w.tries;
  if (!w.dead_letter.has_value()) {
    absl::StatusOr<std::vector<OutgoingRecord>> outputs;
    try {
      outputs = handler(record);
    } catch (const std::exception& e) {
      outputs = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
    } catch (...) {
      outputs = absl::InternalError("handler threw a non-standard exception");
    }
    absl::Status status = outputs.ok() ? Publish(record, *outputs) : outputs.status();
    if (status.ok()) {
      Commit(record);
      if (ok_total != nullptr) ok_total->Increment();
      Settled(w);
      return true;
    }
    if (status.code() == absl::StatusCode::kInternal && !producer->FatalError().ok()) {
      return status;
    }
    const bool transient = IsTransient(status);
    if (!transient) ++w.counted_attempts;
    if (transient || w.counted_attempts < options.max_attempts) {
      if (retried_total != nullptr) retried_total->Increment();
      ScheduleRetry(w, status, transient ? "transient failure; retrying" : "failure; retrying");
      return false;
    }
    log::Error(kComponent, "giving up on record; sending it to the dead-letter topic",
               {{"stage", options.stage},
                {"topic", record.topic},
                {"partition", record.partition},
                {"offset", record.offset},
                {"attempts", w.tries},
                {"error", status},
                {"dead_letter_topic", options.dead_letter_topic}});
    w.dead_letter = status;
    w.attempts_given_up_after = w.tries;
    w.backoff = options.initial_backoff;
  }
  const OutgoingRecord letter = MakeDeadLetter(
      options.dead_letter_topic, record,
      {options.stage, *w.dead_letter, w.attempts_given_up_after, w.first_failure});
  absl::Status status = producer->ProduceAndWait({letter}, options.produce_timeout);
  if (!status.ok()) {
    if (absl::Status fatal = producer->FatalError(); !fatal.ok()) return fatal;
    ScheduleRetry(w, status, "cannot publish to the dead-letter topic; retrying");
    return false;
  }
  Commit(record);
  if (dead_lettered_total != nullptr) dead_lettered_total->Increment();
  if (dead_letter_total != nullptr) dead_letter_total->Increment();
  Settled(w);
  return true;
}

void StageRunner::Impl::Settled(const Waiting& w) {
  if (processing_seconds != nullptr) {
    processing_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - w.started));
  }
  if (w.stuck_reported) {
    log::Info(kComponent, "stuck record settled",
              {{"stage", options.stage},
               {"topic", w.record.topic},
               {"partition", w.record.partition},
               {"offset", w.record.offset},
               {"stuck_for", absl::FormatDuration(absl::Now() - w.first_failure)}});
  }
}

void StageRunner::Impl::ScheduleRetry(Waiting& w, const absl::Status& error,
                                      absl::string_view what) {
  const absl::Time now = absl::Now();
  if (w.first_failure == absl::InfinitePast()) w.first_failure = now;
  const absl::Duration delay = Jittered(w.backoff);
  w.due = now + delay;
  w.backoff = std::min(w.backoff * 2, options.max_backoff);
  log::Warn(kComponent, what,
            {{"stage", options.stage},
             {"topic", w.record.topic},
             {"partition", w.record.partition},
             {"offset", w.record.offset},
             {"attempt", w.tries},
             {"error", error},
             {"retry_in", absl::FormatDuration(delay)}});
}

void StageRunner::Impl::Commit(const Record& record) {
  if (options.before_commit_for_testing) options.before_commit_for_testing(record);
  internal::PartitionListPtr offsets(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(offsets.get(), record.topic.c_str(), record.partition)->offset =
      record.offset + 1;
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), offsets.get(), /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) err = offsets->elems[0].err;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // Typically during a rebalance. Commits are cumulative: the partition's next successful
    // commit covers this record; only if the partition moves first does its new owner handle
    // the record again (at-least-once).
    log::Warn(kComponent, "commit failed; the record may be handled again",
              {{"stage", options.stage},
               {"topic", record.topic},
               {"partition", record.partition},
               {"offset", record.offset},
               {"error", rd_kafka_err2name(err)}});
  }
}

void StageRunner::Impl::SetPaused(const TopicPartition& tp, bool paused) {
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second);
  const rd_kafka_resp_err_t err = paused ? rd_kafka_pause_partitions(consumer.get(), list.get())
                                         : rd_kafka_resume_partitions(consumer.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Warn(kComponent, paused ? "cannot pause partition" : "cannot resume partition",
              {{"stage", options.stage},
               {"topic", tp.first},
               {"partition", tp.second},
               {"error", rd_kafka_err2name(err)}});
  }
}

void StageRunner::Impl::ReportWaiting() {
  const absl::Time now = absl::Now();
  absl::Duration oldest = absl::ZeroDuration();
  for (auto& [tp, w] : waiting) {
    const absl::Duration age = now - w.first_failure;
    oldest = std::max(oldest, age);
    if (!w.stuck_reported && age >= options.stuck_alert_after) {
      w.stuck_reported = true;
      log::Error(kComponent,
                 "record stuck: still failing after stage.stuck_alert_after; its partition stays "
                 "paused until the cause (see error) is fixed",
                 {{"stage", options.stage},
                  {"topic", tp.first},
                  {"partition", tp.second},
                  {"offset", w.record.offset},
                  {"attempts", w.tries},
                  {"stuck_for", absl::FormatDuration(age)}});
    }
  }
  if (oldest_waiting_seconds != nullptr) {
    oldest_waiting_seconds->Set(absl::ToDoubleSeconds(oldest));
  }
}

StageRunner::StageRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

StageRunner::~StageRunner() = default;

absl::StatusOr<std::unique_ptr<StageRunner>> StageRunner::Create(const KafkaConfig& config,
                                                                 StageRunnerOptions options,
                                                                 StageHandler handler) {
  if (options.stage.empty() || options.group_id.empty() || options.input_topics.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a stage runner needs a stage name, a consumer group and input topics; got stage \"",
        options.stage, "\", group \"", options.group_id, "\", ", options.input_topics.size(),
        " input topics"));
  }
  if (!handler) return absl::InvalidArgumentError("stage " + options.stage + " has no handler");
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError(absl::StrCat("stage ", options.stage, ": max_attempts is ",
                                                   options.max_attempts,
                                                   ", it must be at least 1"));
  }
  auto impl = std::make_unique<Impl>();
  impl->bootstrap_servers = config.bootstrap_servers;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(config, options.metrics);
  if (!producer.ok()) return producer.status();
  impl->producer = *std::move(producer);

  std::map<std::string, std::string> properties = GroupMemberProperties(config);
  properties.insert({{"group.id", options.group_id},
                     {"enable.auto.commit", "false"},
                     {"enable.auto.offset.store", "false"},
                     {"partition.assignment.strategy", "cooperative-sticky"},
                     {"auto.offset.reset", "earliest"},
                     {"allow.auto.create.topics", "false"}});
  absl::StatusOr<internal::ConfPtr> conf = internal::MakeConf(config, properties);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Impl::OnRebalance);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  absl::StatusOr<internal::HandlePtr> consumer =
      internal::MakeHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!consumer.ok()) return consumer.status();
  impl->consumer = *std::move(consumer);
  rd_kafka_poll_set_consumer(impl->consumer.get());

  impl->options = std::move(options);
  if (impl->options.metrics != nullptr) impl->RegisterMetrics(*impl->options.metrics);
  impl->handler = std::move(handler);
  return std::unique_ptr<StageRunner>(new StageRunner(std::move(impl)));
}

absl::Status StageRunner::Run() {
  Impl& impl = *impl_;
  if (ran_.exchange(true)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stage ", impl.options.stage, ": Run() was already called; create a new runner"));
  }
  rd_kafka_t* consumer = impl.consumer.get();
  internal::PartitionListPtr topics(
      rd_kafka_topic_partition_list_new(static_cast<int>(impl.options.input_topics.size())));
  for (const std::string& topic : impl.options.input_topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (absl::Status s = internal::ErrorToStatus(
          rd_kafka_subscribe(consumer, topics.get()),
          absl::StrCat("stage ", impl.options.stage, " cannot subscribe to ",
                       absl::StrJoin(impl.options.input_topics, ",")));
      !s.ok()) {
    return s;
  }
  log::Info(kComponent, "stage started",
            {{"stage", impl.options.stage},
             {"group", impl.options.group_id},
             {"topics", absl::StrJoin(impl.options.input_topics, ",")}});
  absl::Status result;
  while (!stop_.load(std::memory_order_relaxed)) {
    impl.ReportWaiting();
    auto next = std::min_element(impl.waiting.begin(), impl.waiting.end(),
                                 [](const auto& a, const auto& b) { return a.second.due < b.second.due; });
    absl::Duration timeout = impl.options.poll_timeout;
    if (next != impl.waiting.end()) {
      const absl::Duration left = next->second.due - absl::Now();
      if (left <= absl::ZeroDuration()) {
        absl::StatusOr<bool> settled = impl.Attempt(next->second);
        if (!settled.ok()) {
          result = settled.status();
          break;
        }
        if (*settled) {
          impl.SetPaused(next->first, false);
          impl.waiting.erase(next);
        }
        continue;
      }
      timeout = std::min(timeout, left);
    }
    internal::MessagePtr message(
        rd_kafka_consumer_poll(consumer, internal::ToTimeoutMs(timeout)));
    if (message == nullptr) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
        char reason[512];
        rd_kafka_fatal_error(consumer, reason, sizeof reason);
        result = absl::InternalError(absl::StrCat("stage ", impl.options.stage,
                                                  ": fatal Kafka consumer error: ", reason,
                                                  "; restart the service"));
        break;
      }
      log::Warn(kComponent, "consumer error",
                {{"stage", impl.options.stage},
                 {"error", rd_kafka_err2name(message->err)},
                 {"detail", rd_kafka_message_errstr(message.get())}});
      continue;
    }
    Waiting w{.record = internal::RecordFromMessage(message.get()),
              .started = absl::Now(),
              .first_failure = absl::InfinitePast(),
              .backoff = impl.options.initial_backoff};
    message.reset();
    absl::StatusOr<bool> settled = impl.Attempt(w);
    if (!settled.ok()) {
      result = settled.status();
      break;
    }
    if (!*settled) {
      // Paused, not sought back: the paused partition resumes after this record, which is
      // retried from here (librdkafka discards what it had fetched beyond it).
      TopicPartition tp(w.record.topic, w.record.partition);
      impl.SetPaused(tp, true);
      impl.waiting.emplace(tp, std::move(w));
    }
  }
  // Records still waiting stay uncommitted: consumed again by the partition's next owner.
  impl.waiting.clear();
  if (impl.oldest_waiting_seconds != nullptr) impl.oldest_waiting_seconds->Set(0);
  // Leaves the group cleanly (revoking through the rebalance callback), so the partitions move
  // to another member at once instead of after the session timeout.
  if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(consumer); err) {
    log::Warn(kComponent, "consumer close failed",
              {{"stage", impl.options.stage}, {"error", rd_kafka_err2name(err)}});
  }
  if (absl::Status s = impl.producer->Flush(absl::Seconds(10)); !s.ok()) {
    log::Warn(kComponent, "producer flush failed", {{"stage", impl.options.stage}, {"error", s}});
  }
  log::Info(kComponent, "stage stopped", {{"stage", impl.options.stage}});
  return result;
}

}  // namespace zarc::kafka

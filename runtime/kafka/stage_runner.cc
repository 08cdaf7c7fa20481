#include "runtime/kafka/stage_runner.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <exception>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
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

// Everything here is used from the thread calling Run() only: librdkafka calls the rebalance
// callback from inside rd_kafka_consumer_poll on that thread.
struct StageRunner::Impl {
  StageRunnerOptions options;
  StageHandler handler;
  std::string bootstrap_servers;
  std::unique_ptr<Producer> producer;
  internal::HandlePtr consumer;
  const std::atomic<bool>* stop = nullptr;

  // Partitions revoked since the record in hand was taken: its outcome must not be committed.
  std::set<TopicPartition> revoked;
  // Partitions paused while a record waits out a retry.
  std::set<TopicPartition> paused;
  // Records that arrived (from newly assigned partitions) while a record waited out a retry;
  // handled next, in order. At most one per partition: the partition is paused on arrival.
  std::deque<Record> held;
  std::mt19937_64 rng{std::random_device{}()};

  prometheus::Counter* ok_total = nullptr;
  prometheus::Counter* retried_total = nullptr;
  prometheus::Counter* dead_lettered_total = nullptr;
  prometheus::Counter* dead_letter_total = nullptr;
  prometheus::Histogram* processing_seconds = nullptr;

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  void RegisterMetrics(prometheus::Registry& registry);
  absl::Status ProcessRecord(const Record& record);
  absl::Status Publish(const Record& record, const std::vector<OutgoingRecord>& outputs);
  absl::Status DeadLetter(const Record& record, const absl::Status& error, int attempts);
  void Commit(const Record& record);
  // Waits `delay` with every partition paused, still polling so the consumer stays in the
  // group. False if the record in hand must be abandoned (stop requested, partition revoked).
  bool WaitBeforeRetry(const Record& record, absl::Duration delay);
  absl::Duration Jittered(absl::Duration backoff);
  bool StillOwned(const Record& record) const {
    return !revoked.count(TopicPartition(record.topic, record.partition));
  }
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
    impl->revoked.insert(tp);
    impl->paused.erase(tp);
    std::erase_if(impl->held,
                  [&](const Record& r) { return r.topic == tp.first && r.partition == tp.second; });
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

absl::Status StageRunner::Impl::ProcessRecord(const Record& record) {
  revoked.clear();
  const absl::Time started = absl::Now();
  int counted_attempts = 0;  // failures that count towards max_attempts
  int tries = 0;
  absl::Duration backoff = options.initial_backoff;
  while (true) {
    ++tries;
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
      if (processing_seconds != nullptr) {
        processing_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - started));
      }
      return absl::OkStatus();
    }
    if (status.code() == absl::StatusCode::kInternal && !producer->FatalError().ok()) {
      return status;
    }
    const bool transient = IsTransient(status);
    if (!transient) ++counted_attempts;
    if (!transient && counted_attempts >= options.max_attempts) {
      return DeadLetter(record, status, tries);
    }
    if (retried_total != nullptr) retried_total->Increment();
    const absl::Duration delay = Jittered(backoff);
    log::Warn(kComponent, transient ? "transient failure; retrying" : "failure; retrying",
              {{"stage", options.stage},
               {"topic", record.topic},
               {"partition", record.partition},
               {"offset", record.offset},
               {"attempt", tries},
               {"error", status},
               {"retry_in", absl::FormatDuration(delay)}});
    if (!WaitBeforeRetry(record, delay)) return absl::OkStatus();
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

absl::Status StageRunner::Impl::DeadLetter(const Record& record, const absl::Status& error,
                                           int attempts) {
  OutgoingRecord letter{options.dead_letter_topic, record.key, record.value, record.headers};
  letter.headers.emplace_back("zarc-error", std::string(error.message()));
  letter.headers.emplace_back("zarc-error-code", absl::StatusCodeToString(error.code()));
  letter.headers.emplace_back("zarc-attempts", absl::StrCat(attempts));
  letter.headers.emplace_back("zarc-source-topic", record.topic);
  letter.headers.emplace_back("zarc-source-partition", absl::StrCat(record.partition));
  letter.headers.emplace_back("zarc-source-offset", absl::StrCat(record.offset));
  letter.headers.emplace_back("zarc-stage", options.stage);
  log::Error(kComponent, "giving up on record; sending it to the dead-letter topic",
             {{"stage", options.stage},
              {"topic", record.topic},
              {"partition", record.partition},
              {"offset", record.offset},
              {"attempts", attempts},
              {"error", error},
              {"dead_letter_topic", options.dead_letter_topic}});
  absl::Duration backoff = options.initial_backoff;
  while (true) {
    absl::Status status = producer->ProduceAndWait({letter}, options.produce_timeout);
    if (status.ok()) break;
    if (absl::Status fatal = producer->FatalError(); !fatal.ok()) return fatal;
    const absl::Duration delay = Jittered(backoff);
    log::Warn(
        kComponent, "cannot publish to the dead-letter topic; retrying",
        {{"stage", options.stage}, {"error", status}, {"retry_in", absl::FormatDuration(delay)}});
    if (!WaitBeforeRetry(record, delay)) return absl::OkStatus();
    backoff = std::min(backoff * 2, options.max_backoff);
  }
  Commit(record);
  if (dead_lettered_total != nullptr) dead_lettered_total->Increment();
  if (dead_letter_total != nullptr) dead_letter_total->Increment();
  return absl::OkStatus();
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

bool StageRunner::Impl::WaitBeforeRetry(const Record& record, absl::Duration delay) {
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer.get(), &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_pause_partitions(consumer.get(), assignment);
    for (int i = 0; i < assignment->cnt; ++i) {
      paused.emplace(assignment->elems[i].topic, assignment->elems[i].partition);
    }
    rd_kafka_topic_partition_list_destroy(assignment);
  }
  const absl::Time deadline = absl::Now() + delay;
  bool keep = true;
  while (true) {
    if (stop->load(std::memory_order_relaxed)) {
      keep = false;  // left uncommitted: consumed again after restart
      break;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    internal::MessagePtr message(rd_kafka_consumer_poll(
        consumer.get(),
        std::min(internal::ToTimeoutMs(left), internal::ToTimeoutMs(options.poll_timeout))));
    // A record from a partition assigned during the wait: keep it for later and pause its
    // partition. Before the ownership check: the same poll may have revoked the partition in
    // hand, and this record's position is already consumed, so dropping it would let the
    // next commit on its partition skip it.
    if (message != nullptr && message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      held.push_back(internal::RecordFromMessage(message.get()));
      internal::PartitionListPtr tp(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(tp.get(), rd_kafka_topic_name(message->rkt),
                                        message->partition);
      rd_kafka_pause_partitions(consumer.get(), tp.get());
      paused.emplace(rd_kafka_topic_name(message->rkt), message->partition);
    }
    if (!StillOwned(record)) {
      log::Info(kComponent, "partition revoked while retrying; its new owner takes the record",
                {{"stage", options.stage},
                 {"topic", record.topic},
                 {"partition", record.partition},
                 {"offset", record.offset}});
      keep = false;
      break;
    }
  }
  if (!paused.empty() && !stop->load(std::memory_order_relaxed)) {
    internal::PartitionListPtr list(
        rd_kafka_topic_partition_list_new(static_cast<int>(paused.size())));
    for (const auto& [topic, partition] : paused) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
    }
    rd_kafka_resume_partitions(consumer.get(), list.get());
    paused.clear();
  }
  return keep;
}

StageRunner::StageRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->stop = &stop_;
}

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

  absl::StatusOr<internal::ConfPtr> conf =
      internal::MakeConf(config, {{"group.id", options.group_id},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"partition.assignment.strategy", "cooperative-sticky"},
                                  {"auto.offset.reset", "earliest"},
                                  {"allow.auto.create.topics", "false"}});
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
    if (!impl.held.empty()) {
      Record record = std::move(impl.held.front());
      impl.held.pop_front();
      result = impl.ProcessRecord(record);
      if (!result.ok()) break;
      continue;
    }
    internal::MessagePtr message(
        rd_kafka_consumer_poll(consumer, internal::ToTimeoutMs(impl.options.poll_timeout)));
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
    const Record record = internal::RecordFromMessage(message.get());
    message.reset();
    result = impl.ProcessRecord(record);
    if (!result.ok()) break;
  }
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

#include "runtime/kafka/stage_runner.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
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

// A record taken from its partition and not yet committed. While it is kRunning only the worker
// handling it touches it; otherwise only the thread calling Run().
struct Entry {
  // kReady: taken, not started; kQueued: handed to a worker (queued or being handled);
  // kWaiting: failed, waiting for `due`; kDone: settled, to be committed.
  enum class State { kReady, kQueued, kWaiting, kDone };
  Record record;
  absl::Time started;        // when the record was taken: processing time
  absl::Time first_failure;  // how long it has been stuck
  absl::Time due;            // next attempt, while kWaiting
  absl::Duration backoff;
  int tries = 0;
  int counted_attempts = 0;  // failures that count towards max_attempts
  // Set once the record is given up on: only publishing its dead letter is retried.
  std::optional<absl::Status> dead_letter;
  int attempts_given_up_after = 0;
  bool stuck_reported = false;
  State state = State::kReady;
  // The worker's result: settled (true), to wait until `due` (false), or a fatal error.
  absl::StatusOr<bool> outcome = false;
};

// The records of one assigned partition that are not committed yet, by offset.
struct PartitionState {
  std::map<int64_t, std::unique_ptr<Entry>> entries;
  int64_t commit_to = -1;  // the offset to commit next (one past the last settled prefix)
  int64_t committed = -1;  // the offset last committed
  int running = 0;         // entries kQueued
  bool paused = false;
  bool dirty = true;       // something changed: dispatch again
  bool Held() const {
    for (const auto& [offset, e] : entries) {
      if (e->state == Entry::State::kWaiting) return true;
    }
    return false;
  }
};

// Worker threads running entries handed to them; completions go back to the Run() thread.
// std::mutex rather than absl::Mutex: ThreadSanitizer sees through pthread's primitives, while
// Debian's Abseil is not instrumented and its condition waits release the lock internally.
class WorkerPool {
 public:
  WorkerPool(int threads, std::function<void(Entry&)> run, std::function<void()> wake)
      : run_(std::move(run)), wake_(std::move(wake)) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void Submit(Entry* e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(e);
    }
    work_.notify_one();
  }
  // Takes back the entries not started yet that `which` names.
  std::vector<Entry*> Withdraw(const std::function<bool(const Entry&)>& which) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Entry*> taken;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (which(**it)) {
        taken.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return taken;
  }
  // Entries finished since the last call; waits up to `timeout` for one when there is none.
  std::vector<Entry*> TakeDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (timeout > absl::ZeroDuration()) {
      done_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return !done_.empty(); });
    }
    std::vector<Entry*> out;
    out.swap(done_);
    return out;
  }

 private:
  void Loop() {
    while (true) {
      Entry* e = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        e = queue_.front();
        queue_.pop_front();
      }
      run_(*e);
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_.push_back(e);
      }
      done_cv_.notify_all();
      wake_();
    }
  }

  const std::function<void(Entry&)> run_;
  const std::function<void()> wake_;
  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable done_cv_;
  std::deque<Entry*> queue_;   // guarded by mu_
  std::vector<Entry*> done_;   // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  std::vector<std::thread> threads_;
};

// Everything here but the pool and what a running entry touches is used from the thread
// calling Run() only: librdkafka calls the rebalance callback from inside
// rd_kafka_consumer_poll on that thread.
struct StageRunner::Impl {
  StageRunnerOptions options;
  StageHandler handler;
  std::string bootstrap_servers;
  std::unique_ptr<Producer> producer;
  internal::HandlePtr consumer;
  rd_kafka_queue_t* consumer_queue = nullptr;  // to wake a blocking poll when a record finishes
  std::unique_ptr<WorkerPool> pool;

  std::map<TopicPartition, PartitionState> partitions;
  absl::Status fatal;  // a worker's fatal error: stops the stage
  absl::Time last_commit = absl::InfinitePast();

  prometheus::Counter* ok_total = nullptr;
  prometheus::Counter* retried_total = nullptr;
  prometheus::Counter* dead_lettered_total = nullptr;
  prometheus::Counter* dead_letter_total = nullptr;
  prometheus::Histogram* processing_seconds = nullptr;
  prometheus::Gauge* oldest_waiting_seconds = nullptr;

  ~Impl() {
    pool.reset();
    if (consumer_queue != nullptr) rd_kafka_queue_destroy(consumer_queue);
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque);
  static void OnCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);
  void RegisterMetrics(prometheus::Registry& registry);
  // On a worker: one attempt at `e` (its handler, or only its dead letter once given up). Sets
  // e.outcome: true when settled (outputs or dead letter acknowledged), false when it must wait
  // until e.due, an error when the stage must stop (a fatal producer error).
  void Attempt(Entry& e);
  absl::Status Publish(const Record& record, const std::vector<OutgoingRecord>& outputs);
  void Settled(const Entry& e);
  void ScheduleRetry(Entry& e, const absl::Status& error, absl::string_view what);

  // The rest on the Run() thread.
  void Take(Record record);
  // Collects finished entries (waiting up to `timeout` for one); false when the stage must stop.
  void Collect(absl::Duration timeout);
  // Starts what may start: due retries, and records whose key has nothing before them.
  void Dispatch(const absl::Time now);
  void DispatchPartition(const TopicPartition& tp, PartitionState& p, absl::Time now);
  // Moves commit_to past the settled prefix of each partition, and commits when the interval
  // passed (or at once with `force`, synchronously).
  void Advance(PartitionState& p);
  void Commit(bool force, const std::vector<TopicPartition>* only = nullptr);
  // Waits for the entries of `tps` being handled, takes back those not started.
  void Drain(const std::vector<TopicPartition>& tps);
  void SetPaused(const TopicPartition& tp, bool paused);
  void UpdatePauses();
  int InFlight() const;
  absl::Time NextDue() const;
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
    for (int i = 0; i < partitions->cnt; ++i) {
      impl->partitions.try_emplace(
          TopicPartition(partitions->elems[i].topic, partitions->elems[i].partition));
    }
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
  // The records being handled finish first, so that the partitions' next owner never handles a
  // record while this member still does; what is settled is committed, the rest (waiting for a
  // retry, not started) is left uncommitted for the next owner.
  std::vector<TopicPartition> revoked;
  for (int i = 0; i < partitions->cnt; ++i) {
    TopicPartition tp(partitions->elems[i].topic, partitions->elems[i].partition);
    if (impl->partitions.count(tp) > 0) revoked.push_back(std::move(tp));
  }
  impl->Drain(revoked);
  if (!rd_kafka_assignment_lost(rk)) impl->Commit(/*force=*/true, &revoked);
  for (const TopicPartition& tp : revoked) {
    auto it = impl->partitions.find(tp);
    bool waiting = false;
    for (const auto& [offset, e] : it->second.entries) {
      waiting = waiting || e->state == Entry::State::kWaiting;
    }
    if (waiting) {
      log::Info(kComponent, "partition revoked while retrying; its new owner takes the record",
                {{"stage", impl->options.stage}, {"topic", tp.first}, {"partition", tp.second}});
    }
    // Resumed so that the partition is not still paused if it comes back to this member.
    if (it->second.paused) impl->SetPaused(tp, false);
    impl->partitions.erase(it);
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
  thread_local std::mt19937_64 rng{std::random_device{}()};
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

void StageRunner::Impl::Attempt(Entry& e) {
  const Record& record = e.record;
  ++e.tries;
  if (!e.dead_letter.has_value()) {
    absl::StatusOr<std::vector<OutgoingRecord>> outputs;
    try {
      outputs = handler(record);
    } catch (const std::exception& ex) {
      outputs = absl::InternalError(absl::StrCat("handler threw: ", ex.what()));
    } catch (...) {
      outputs = absl::InternalError("handler threw a non-standard exception");
    }
    absl::Status status = outputs.ok() ? Publish(record, *outputs) : outputs.status();
    if (status.ok()) {
      if (ok_total != nullptr) ok_total->Increment();
      e.outcome = true;
      return;
    }
    if (status.code() == absl::StatusCode::kInternal && !producer->FatalError().ok()) {
      e.outcome = status;
      return;
    }
    const bool transient = IsTransient(status);
    if (!transient) ++e.counted_attempts;
    if (transient || e.counted_attempts < options.max_attempts) {
      if (retried_total != nullptr) retried_total->Increment();
      ScheduleRetry(e, status, transient ? "transient failure; retrying" : "failure; retrying");
      e.outcome = false;
      return;
    }
    log::Error(kComponent, "giving up on record; sending it to the dead-letter topic",
               {{"stage", options.stage},
                {"topic", record.topic},
                {"partition", record.partition},
                {"offset", record.offset},
                {"attempts", e.tries},
                {"error", status},
                {"dead_letter_topic", options.dead_letter_topic}});
    e.dead_letter = status;
    e.attempts_given_up_after = e.tries;
    e.backoff = options.initial_backoff;
  }
  const OutgoingRecord letter = MakeDeadLetter(
      options.dead_letter_topic, record,
      {options.stage, *e.dead_letter, e.attempts_given_up_after, e.first_failure});
  absl::Status status = producer->ProduceAndWait({letter}, options.produce_timeout);
  if (!status.ok()) {
    if (absl::Status fatal = producer->FatalError(); !fatal.ok()) {
      e.outcome = fatal;
      return;
    }
    ScheduleRetry(e, status, "cannot publish to the dead-letter topic; retrying");
    e.outcome = false;
    return;
  }
  if (dead_lettered_total != nullptr) dead_lettered_total->Increment();
  if (dead_letter_total != nullptr) dead_letter_total->Increment();
  e.outcome = true;
}

void StageRunner::Impl::Settled(const Entry& e) {
  if (processing_seconds != nullptr) {
    processing_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - e.started));
  }
  if (e.stuck_reported) {
    log::Info(kComponent, "stuck record settled",
              {{"stage", options.stage},
               {"topic", e.record.topic},
               {"partition", e.record.partition},
               {"offset", e.record.offset},
               {"stuck_for", absl::FormatDuration(absl::Now() - e.first_failure)}});
  }
}

void StageRunner::Impl::ScheduleRetry(Entry& e, const absl::Status& error,
                                      absl::string_view what) {
  const absl::Time now = absl::Now();
  if (e.first_failure == absl::InfinitePast()) e.first_failure = now;
  const absl::Duration delay = Jittered(e.backoff);
  e.due = now + delay;
  e.backoff = std::min(e.backoff * 2, options.max_backoff);
  log::Warn(kComponent, what,
            {{"stage", options.stage},
             {"topic", e.record.topic},
             {"partition", e.record.partition},
             {"offset", e.record.offset},
             {"attempt", e.tries},
             {"error", error},
             {"retry_in", absl::FormatDuration(delay)}});
}

void StageRunner::Impl::Take(Record record) {
  TopicPartition tp(record.topic, record.partition);
  auto it = partitions.find(tp);
  if (it == partitions.end()) {
    // Not in the assignment as this runner knows it (an eager protocol, a late fetch): kept,
    // so that it is not passed over by a commit.
    it = partitions.try_emplace(tp).first;
  }
  PartitionState& p = it->second;
  if (p.commit_to < 0) {
    // The first record fetched sits at the committed offset (or where the group starts): there
    // is nothing to commit before it is settled.
    p.commit_to = record.offset;
    p.committed = record.offset;
  }
  auto entry = std::make_unique<Entry>();
  entry->started = absl::Now();
  entry->first_failure = absl::InfinitePast();
  entry->backoff = options.initial_backoff;
  entry->record = std::move(record);
  const int64_t offset = entry->record.offset;
  p.entries.emplace(offset, std::move(entry));
  p.dirty = true;
}

void StageRunner::Impl::Collect(absl::Duration timeout) {
  for (Entry* e : pool->TakeDone(timeout)) {
    auto it = partitions.find(TopicPartition(e->record.topic, e->record.partition));
    // Entries of a partition stay until nothing of them is being handled (Drain).
    PartitionState& p = it->second;
    --p.running;
    p.dirty = true;
    if (!e->outcome.ok()) {
      if (fatal.ok()) fatal = e->outcome.status();
      e->state = Entry::State::kWaiting;
      e->due = absl::InfiniteFuture();
      continue;
    }
    if (*e->outcome) {
      if (options.before_commit_for_testing) options.before_commit_for_testing(e->record);
      Settled(*e);
      e->state = Entry::State::kDone;
    } else {
      e->state = Entry::State::kWaiting;
    }
  }
}

void StageRunner::Impl::DispatchPartition(const TopicPartition& tp, PartitionState& p,
                                          absl::Time now) {
  (void)tp;
  // A waiting record holds its partition: only it may start again, once due.
  for (auto& [offset, e] : p.entries) {
    if (e->state != Entry::State::kWaiting) continue;
    if (e->due <= now && fatal.ok()) {
      e->state = Entry::State::kQueued;
      ++p.running;
      pool->Submit(e.get());
    }
    return;
  }
  if (!fatal.ok()) return;
  // Keys with a record before, not settled: their later records wait their turn.
  absl::flat_hash_set<absl::string_view> busy;
  for (auto& [offset, e] : p.entries) {
    // At most `concurrency` records of a partition in flight: with 1, a partition is handled one
    // record at a time, strictly in order, as a failed record then holds back the next.
    if (p.running >= options.concurrency) break;
    switch (e->state) {
      case Entry::State::kDone:
        break;
      case Entry::State::kQueued:
      case Entry::State::kWaiting:
        busy.insert(e->record.key);
        break;
      case Entry::State::kReady:
        if (!busy.insert(e->record.key).second) break;
        e->state = Entry::State::kQueued;
        ++p.running;
        pool->Submit(e.get());
        break;
    }
  }
}

void StageRunner::Impl::Dispatch(const absl::Time now) {
  for (auto& [tp, p] : partitions) {
    bool due = false;
    for (const auto& [offset, e] : p.entries) {
      if (e->state == Entry::State::kWaiting) {
        due = e->due <= now;
        break;
      }
    }
    if (!p.dirty && !due) continue;
    p.dirty = false;
    DispatchPartition(tp, p, now);
    Advance(p);
  }
}

void StageRunner::Impl::Advance(PartitionState& p) {
  while (!p.entries.empty() && p.entries.begin()->second->state == Entry::State::kDone) {
    p.commit_to = p.entries.begin()->first + 1;
    p.entries.erase(p.entries.begin());
  }
  if (!p.entries.empty()) p.commit_to = p.entries.begin()->first;
}

void StageRunner::Impl::Commit(bool force, const std::vector<TopicPartition>* only) {
  const absl::Time now = absl::Now();
  if (!force && options.commit_interval > absl::ZeroDuration() &&
      now - last_commit < options.commit_interval) {
    return;
  }
  internal::PartitionListPtr offsets(rd_kafka_topic_partition_list_new(1));
  std::vector<PartitionState*> states;
  for (auto& [tp, p] : partitions) {
    if (only != nullptr && std::find(only->begin(), only->end(), tp) == only->end()) continue;
    Advance(p);
    if (p.commit_to < 0 || p.commit_to <= p.committed) continue;
    rd_kafka_topic_partition_list_add(offsets.get(), tp.first.c_str(), tp.second)->offset =
        p.commit_to;
    states.push_back(&p);
  }
  if (offsets->cnt == 0) return;
  last_commit = now;
  // Synchronous when forced (a revocation, Stop) or when every settled record is committed at
  // once; otherwise the result comes to OnCommit, and a failed commit is covered by the next
  // (commits are cumulative).
  const bool sync = force || options.commit_interval == absl::ZeroDuration();
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), offsets.get(), sync ? 0 : 1);
  for (int i = 0; i < offsets->cnt; ++i) {
    rd_kafka_resp_err_t one = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : offsets->elems[i].err;
    // A failed commit, typically during a rebalance, is logged by OnCommit (librdkafka calls it
    // for synchronous commits too). Commits are cumulative: the partition's next successful
    // commit covers these records; only if the partition moves first does its new owner handle
    // them again (at-least-once).
    if (sync && one != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    if (!sync && err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    states[i]->committed = offsets->elems[i].offset;
  }
}

void StageRunner::Impl::OnCommit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                                 rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* impl = static_cast<Impl*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
    const rd_kafka_resp_err_t one = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : offsets->elems[i].err;
    if (one == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    log::Warn(kComponent, "commit failed; the records since the last commit may be handled again",
              {{"stage", impl->options.stage},
               {"topic", offsets->elems[i].topic},
               {"partition", offsets->elems[i].partition},
               {"offset", offsets->elems[i].offset},
               {"error", rd_kafka_err2name(one)}});
    // Committed again by the next commit of the partition.
    auto it = impl->partitions.find(TopicPartition(offsets->elems[i].topic, offsets->elems[i].partition));
    if (it != impl->partitions.end()) it->second.committed = -1;
  }
}

void StageRunner::Impl::Drain(const std::vector<TopicPartition>& tps) {
  if (tps.empty()) return;
  auto in = [&](const TopicPartition& tp) {
    return std::find(tps.begin(), tps.end(), tp) != tps.end();
  };
  for (Entry* e : pool->Withdraw([&](const Entry& e) {
         return in(TopicPartition(e.record.topic, e.record.partition));
       })) {
    // Not started: it stays uncommitted, for the partition's next owner (or the next run).
    e->state = Entry::State::kReady;
    --partitions[TopicPartition(e->record.topic, e->record.partition)].running;
  }
  while (true) {
    int running = 0;
    for (const TopicPartition& tp : tps) running += partitions[tp].running;
    if (running == 0) return;
    Collect(absl::Milliseconds(100));
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

void StageRunner::Impl::UpdatePauses() {
  for (auto& [tp, p] : partitions) {
    // Paused, not sought back: a paused partition resumes after the last record taken
    // (librdkafka discards what it had fetched beyond it).
    const bool pause = p.Held() ||
                       static_cast<int>(p.entries.size()) >= options.max_pending_per_partition;
    if (pause != p.paused) {
      SetPaused(tp, pause);
      p.paused = pause;
    }
  }
}

int StageRunner::Impl::InFlight() const {
  int n = 0;
  for (const auto& [tp, p] : partitions) n += p.running;
  return n;
}

absl::Time StageRunner::Impl::NextDue() const {
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [tp, p] : partitions) {
    for (const auto& [offset, e] : p.entries) {
      if (e->state == Entry::State::kWaiting) {
        next = std::min(next, e->due);
        break;
      }
    }
  }
  return next;
}

void StageRunner::Impl::ReportWaiting() {
  const absl::Time now = absl::Now();
  absl::Duration oldest = absl::ZeroDuration();
  for (auto& [tp, p] : partitions) {
    for (auto& [offset, e] : p.entries) {
      if (e->state != Entry::State::kWaiting) continue;
      const absl::Duration age = now - e->first_failure;
      oldest = std::max(oldest, age);
      if (!e->stuck_reported && age >= options.stuck_alert_after) {
        e->stuck_reported = true;
        log::Error(kComponent,
                   "record stuck: still failing after stage.stuck_alert_after; its partition "
                   "stays paused until the cause (see error) is fixed",
                   {{"stage", options.stage},
                    {"topic", tp.first},
                    {"partition", tp.second},
                    {"offset", e->record.offset},
                    {"attempts", e->tries},
                    {"stuck_for", absl::FormatDuration(age)}});
      }
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
  if (options.concurrency < 1 || options.max_pending_per_partition < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stage ", options.stage, ": concurrency is ", options.concurrency,
        " and max_pending_per_partition ", options.max_pending_per_partition,
        "; both must be at least 1"));
  }
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
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &Impl::OnCommit);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  absl::StatusOr<internal::HandlePtr> consumer =
      internal::MakeHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!consumer.ok()) return consumer.status();
  impl->consumer = *std::move(consumer);
  rd_kafka_poll_set_consumer(impl->consumer.get());
  impl->consumer_queue = rd_kafka_queue_get_consumer(impl->consumer.get());

  impl->options = std::move(options);
  if (impl->options.metrics != nullptr) impl->RegisterMetrics(*impl->options.metrics);
  impl->handler = std::move(handler);
  Impl* raw = impl.get();
  impl->pool = std::make_unique<WorkerPool>(
      impl->options.concurrency, [raw](Entry& e) { raw->Attempt(e); },
      [raw] { rd_kafka_queue_yield(raw->consumer_queue); });
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
    impl.Collect(absl::ZeroDuration());
    if (!impl.fatal.ok()) {
      result = impl.fatal;
      break;
    }
    const absl::Time now = absl::Now();
    impl.Dispatch(now);
    impl.Commit(/*force=*/false);
    impl.UpdatePauses();
    impl.ReportWaiting();
    absl::Duration timeout = impl.options.poll_timeout;
    const absl::Time due = impl.NextDue();
    if (due != absl::InfiniteFuture()) timeout = std::min(timeout, std::max(due - now, absl::ZeroDuration()));
    if (impl.options.commit_interval > absl::ZeroDuration() && impl.InFlight() > 0) {
      timeout = std::min(timeout, impl.options.commit_interval);
    }
    // A worker finishing a record wakes this poll (rd_kafka_queue_yield).
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
    impl.Take(internal::RecordFromMessage(message.get()));
  }
  // The records being handled finish; what is settled is committed. Records waiting for a
  // retry or not started stay uncommitted: consumed again by the partition's next owner.
  std::vector<TopicPartition> all;
  for (const auto& [tp, p] : impl.partitions) all.push_back(tp);
  impl.Drain(all);
  if (result.ok() && !impl.fatal.ok()) result = impl.fatal;
  impl.Commit(/*force=*/true);
  impl.partitions.clear();
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

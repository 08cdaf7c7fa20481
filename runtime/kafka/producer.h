#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace zarc::kafka {

// An idempotent producer (enable.idempotence=true, acks=all): a retried send never duplicates or
// reorders records within a partition. Thread-safe: several threads may call ProduceAndWait at
// once, each waits only for its own records.
class Producer {
 public:
  // `metrics` (optional, must outlive the producer) gets zarc_kafka_produced_total{topic}.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const KafkaConfig& config,
                                                          prometheus::Registry* metrics = nullptr);
  // Flushes what is still queued (up to 10 s) before closing.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Sends the batch and returns OK only once every record has a successful delivery report,
  // i.e. is written to all in-sync replicas. On error some records may still have been written;
  // callers retry the whole batch (consumers downstream are idempotent).
  absl::Status ProduceAndWait(const std::vector<OutgoingRecord>& records, absl::Duration timeout);

  // Waits until every queued record is delivered or failed.
  absl::Status Flush(absl::Duration timeout);

  // OK unless the client hit a fatal error (e.g. the idempotent producer lost its sequence
  // state); then every later send fails and the process should restart.
  absl::Status FatalError() const;

 private:
  struct Impl;
  friend struct ProducerCallbacks;
  Producer();
  void CountProduced(const std::string& topic);

  std::unique_ptr<Impl> impl_;
  prometheus::Family<prometheus::Counter>* produced_family_ = nullptr;
  absl::Mutex metrics_mu_;
  std::map<std::string, prometheus::Counter*> produced_ ABSL_GUARDED_BY(metrics_mu_);
};

}  // namespace zarc::kafka

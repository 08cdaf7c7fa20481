#include "runtime/kafka/producer.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/kafka/librdkafka_glue.h"
#include "runtime/log/log.h"

namespace zarc::kafka {
namespace {

// What one ProduceAndWait call waits on. Shared with the delivery reports of its records, which
// may arrive after the call gave up waiting.
struct Batch {
  absl::Mutex mu;
  size_t pending ABSL_GUARDED_BY(mu) = 0;
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

}  // namespace

struct Producer::Impl {
  internal::HandlePtr rk;
};

// Runs on the thread calling rd_kafka_poll/flush. Each message's opaque is a heap-allocated
// shared_ptr<Batch>, owned (and deleted) here.
struct ProducerCallbacks {
  static void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* opaque) {
    auto* batch_ref = static_cast<std::shared_ptr<Batch>*>(message->_private);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && opaque != nullptr) {
      static_cast<Producer*>(opaque)->CountProduced(rd_kafka_topic_name(message->rkt));
    }
    if (batch_ref == nullptr) return;
    {
      Batch& batch = **batch_ref;
      absl::MutexLock lock(&batch.mu);
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && batch.first_error.ok()) {
        batch.first_error = internal::ErrorToStatus(
            message->err, absl::StrCat("delivery to topic ", rd_kafka_topic_name(message->rkt),
                                       " partition ", message->partition, " failed"));
      }
      --batch.pending;
    }
    delete batch_ref;
  }
};

Producer::Producer() : impl_(std::make_unique<Impl>()) {}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const KafkaConfig& config,
                                                           prometheus::Registry* metrics) {
  absl::StatusOr<internal::ConfPtr> conf = internal::MakeConf(
      config, {
                  {"enable.idempotence", "true"},
                  {"acks", "all"},
                  // Same partition for the same key as Java clients and Kafka Streams.
                  {"partitioner", "murmur2_random"},
                  {"linger.ms", "5"},
                  {"message.timeout.ms", "60000"},
              });
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Producer> producer(new Producer());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &ProducerCallbacks::OnDelivery);
  rd_kafka_conf_set_opaque(conf->get(), producer.get());
  absl::StatusOr<internal::HandlePtr> rk =
      internal::MakeHandle(RD_KAFKA_PRODUCER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  producer->impl_->rk = *std::move(rk);
  if (metrics != nullptr) {
    producer->produced_family_ = &prometheus::BuildCounter()
                                      .Name("zarc_kafka_produced_total")
                                      .Help("Records produced and acknowledged, by topic.")
                                      .Register(*metrics);
  }
  return producer;
}

Producer::~Producer() {
  rd_kafka_t* rk = impl_->rk.get();
  if (rk == nullptr) return;
  if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::Warn("kafka", "producer closed with records undelivered; they are dropped",
              {{"queued", rd_kafka_outq_len(rk)}});
    // Purged records get failed delivery reports, which release their batch references.
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk, 1000);
  }
  impl_->rk.reset();
}

void Producer::CountProduced(const std::string& topic) {
  if (produced_family_ == nullptr) return;
  absl::MutexLock lock(&metrics_mu_);
  auto it = produced_.find(topic);
  if (it == produced_.end()) {
    it = produced_.emplace(topic, &produced_family_->Add({{"topic", topic}})).first;
  }
  it->second->Increment();
}

absl::Status Producer::ProduceAndWait(const std::vector<OutgoingRecord>& records,
                                      absl::Duration timeout) {
  rd_kafka_t* rk = impl_->rk.get();
  const absl::Time deadline = absl::Now() + timeout;
  auto batch = std::make_shared<Batch>();
  {
    absl::MutexLock lock(&batch->mu);
    batch->pending = records.size();
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const OutgoingRecord& record = records[i];
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [name, value] : record.headers) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    auto* batch_ref = new std::shared_ptr<Batch>(batch);
    rd_kafka_resp_err_t err;
    while (true) {
      // An empty key is sent as no key: such records are spread over partitions.
      err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(record.topic.c_str()),
          RD_KAFKA_V_KEY(record.key.empty() ? nullptr : record.key.data(), record.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_OPAQUE(batch_ref), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || absl::Now() >= deadline) break;
      rd_kafka_poll(rk, 50);  // serve delivery reports to make room
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete batch_ref;
      rd_kafka_headers_destroy(headers);  // not taken over on failure
      return internal::ErrorToStatus(err, absl::StrCat("cannot produce record ", i, " of ",
                                                       records.size(), " to topic ", record.topic));
    }
  }
  while (true) {
    {
      absl::MutexLock lock(&batch->mu);
      if (batch->pending == 0) return batch->first_error;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      absl::MutexLock lock(&batch->mu);
      return absl::DeadlineExceededError(absl::StrCat(
          batch->pending, " of ", records.size(), " records had no delivery report within ",
          absl::FormatDuration(timeout), "; is the Kafka cluster reachable?"));
    }
    rd_kafka_poll(rk, std::clamp(internal::ToTimeoutMs(left), 1, 100));
  }
}

absl::Status Producer::FatalError() const {
  char reason[512];
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(impl_->rk.get(), reason, sizeof reason);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("the Kafka producer hit a fatal error: ", rd_kafka_err2name(err), " (", reason,
                   "); restart the service"));
}

absl::Status Producer::Flush(absl::Duration timeout) {
  return internal::ErrorToStatus(
      rd_kafka_flush(impl_->rk.get(), internal::ToTimeoutMs(timeout)),
      absl::StrCat("flush did not finish within ", absl::FormatDuration(timeout)));
}

}  // namespace zarc::kafka

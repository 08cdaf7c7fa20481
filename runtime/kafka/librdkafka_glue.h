#pragma once

// Internal to zarc::kafka: the only header that includes librdkafka. Not for use outside this
// folder (public headers stay free of librdkafka types).

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"

namespace zarc::kafka::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// Sets one property; the error names the property and (unless it is a secret) the value.
absl::Status SetProperty(rd_kafka_conf_t* conf, absl::string_view key, absl::string_view value);

// A configuration from `config`, with `defaults` applied before config.extra (so extra wins).
// Logs and errors from librdkafka go to zarc's logger under component `component`.
absl::StatusOr<ConfPtr> MakeConf(const KafkaConfig& config,
                                 const std::map<std::string, std::string>& defaults);

// Creates a handle of `type`, taking ownership of conf.
absl::StatusOr<HandlePtr> MakeHandle(rd_kafka_type_t type, ConfPtr conf);

// Maps a librdkafka error to a Status whose message starts with `context`.
absl::Status ErrorToStatus(rd_kafka_resp_err_t err, absl::string_view context);

Record RecordFromMessage(const rd_kafka_message_t* message);

int ToTimeoutMs(absl::Duration d);

}  // namespace zarc::kafka::internal

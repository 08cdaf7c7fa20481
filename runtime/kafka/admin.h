#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/topics.h"

namespace zarc::kafka {

// Creates the topics that do not exist yet (Admin API CreateTopics); topics that already exist
// are left as they are, whatever their partition count, and when all exist no CreateTopics is
// sent at all. A broker that refuses CreateTopics (no permission; librdkafka's mock cluster,
// which answers it only with a timeout) gives an error naming the missing topics: the operator
// then creates them beforehand, and CheckTopics verifies them.
absl::Status EnsureTopics(const KafkaConfig& config, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout = absl::Seconds(30));

// Every topic in the cluster with its partition count (from metadata), sorted by name.
// Internal topics (__consumer_offsets ...) are left out.
absl::StatusOr<std::vector<TopicSpec>> ListTopics(const KafkaConfig& config,
                                                  absl::Duration timeout = absl::Seconds(10));

// OK when every topic in `wanted` exists with at least its partition count; otherwise
// FailedPrecondition listing each missing or too-small topic (for `zarc doctor`).
absl::Status CheckTopics(const KafkaConfig& config, const std::vector<TopicSpec>& wanted,
                         absl::Duration timeout = absl::Seconds(10));

// One partition of a topic as a consumer group stands on it.
struct PartitionPosition {
  int partition = 0;
  int64_t committed = -1;  // the group's committed offset; -1 when it committed nothing yet
  int64_t end = 0;         // the high watermark
};

// How far a consumer group is behind on a topic: per partition, the high watermark minus the
// group's committed offset (the log start where it committed nothing yet), summed.
struct GroupLag {
  std::string group;
  std::string topic;
  int64_t lag = 0;              // records not yet processed by the group
  int partitions = 0;
  int partitions_uncommitted = 0;  // partitions where the group committed nothing yet
  std::vector<PartitionPosition> positions;  // one per partition, by partition number
};

// Reads the group's committed offsets (OffsetFetch, without joining the group) and the topic's
// watermarks. NotFound when the topic does not exist.
absl::StatusOr<GroupLag> ConsumerGroupLag(const KafkaConfig& config, const std::string& group,
                                          const std::string& topic,
                                          absl::Duration timeout = absl::Seconds(5));

}  // namespace zarc::kafka

#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"

namespace zarc::kafka {

// Hands every record of `topic`, from the beginning of every partition up to its end as of the
// call, to `each`, outside any consumer group and without committing anything. Records of one
// partition come in offset order; partitions interleave. Nothing is held but the record in hand,
// so any topic can be read whole (the status log keeps 400 days). Returns OK only when every
// partition was read to its end: NotFound if the topic does not exist; DeadlineExceeded if the
// end is not reached in `timeout` (saying how far it got); the first non-OK status `each`
// returns, which stops the read.
absl::Status ForEachRecord(const KafkaConfig& config, absl::string_view topic,
                           absl::Duration timeout,
                           const std::function<absl::Status(Record)>& each);

// ForEachRecord into a vector, ordered by partition, then offset. For topics known to be small
// (tests, `zarc doctor`): a topic holding more than `max_records` records is ResourceExhausted,
// never a silently shortened answer.
absl::StatusOr<std::vector<Record>> ReadTopic(
    const KafkaConfig& config, absl::string_view topic,
    absl::Duration timeout = absl::Seconds(30),
    size_t max_records = std::numeric_limits<size_t>::max());

}  // namespace zarc::kafka

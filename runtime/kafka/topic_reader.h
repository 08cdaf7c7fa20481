#pragma once

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/record.h"

namespace zarc::kafka {

// Reads a topic from the beginning of every partition up to its end as of the call (or up to
// `max_records`), outside any consumer group and without committing anything. For inspecting
// small topics (dead letters, the import log, `zarc doctor`, tests): it returns everything at
// once, so do not point it at a large stage topic. Records come ordered by partition, then
// offset. NotFound if the topic does not exist; DeadlineExceeded if the end is not reached in
// `timeout`.
absl::StatusOr<std::vector<Record>> ReadTopic(const KafkaConfig& config, absl::string_view topic,
                                              absl::Duration timeout = absl::Seconds(30),
                                              size_t max_records = 100000);

}  // namespace zarc::kafka

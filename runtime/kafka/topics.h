#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace zarc::kafka {

// The topics the four stages exchange events on (see BRIEF.md "Shape").
inline constexpr absl::string_view kMeetingsTopic = "zarc.meetings";
inline constexpr absl::string_view kMessagesTopic = "zarc.messages";
inline constexpr absl::string_view kDeliveriesTopic = "zarc.deliveries";
inline constexpr absl::string_view kImportLogTopic = "zarc.import-log";
// Records a stage gave up on, with the reason in headers (see StageRunner).
inline constexpr absl::string_view kDeadLetterTopic = "zarc.dead-letter";

struct TopicSpec {
  std::string name;
  int partitions = 1;
  // -1 asks the broker for its default replication factor.
  int replication_factor = -1;

  friend bool operator==(const TopicSpec&, const TopicSpec&) = default;
};

// Default partition counts: the stage topics are what consumer groups scale on, so they get
// room for 12 consumers each; the import log and dead letters are low-volume.
inline constexpr int kStageTopicPartitions = 12;
inline constexpr int kLowVolumeTopicPartitions = 3;

// All of zarc's topics with their default partition counts.
std::vector<TopicSpec> DefaultTopics();

}  // namespace zarc::kafka

#include "runtime/kafka/topics.h"

namespace zarc::kafka {

std::vector<TopicSpec> DefaultTopics() {
  return {
      {std::string(kMeetingsTopic), kStageTopicPartitions},
      {std::string(kMessagesTopic), kStageTopicPartitions},
      {std::string(kDeliveriesTopic), kStageTopicPartitions},
      {std::string(kImportLogTopic), kLowVolumeTopicPartitions},
      {std::string(kDeadLetterTopic), kLowVolumeTopicPartitions},
  };
}

}  // namespace zarc::kafka

#include "runtime/kafka/topics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zarc::kafka {
namespace {

using ::testing::ElementsAre;

TEST(TopicsTest, DefaultTopicsAreTheStageTopicsAndTheLowVolumeOnes) {
  EXPECT_THAT(DefaultTopics(),
              ElementsAre(TopicSpec{"zarc.meetings", 12}, TopicSpec{"zarc.messages", 12},
                          TopicSpec{"zarc.deliveries", 12}, TopicSpec{"zarc.import-log", 3},
                          TopicSpec{"zarc.dead-letter", 3}));
}

}  // namespace
}  // namespace zarc::kafka

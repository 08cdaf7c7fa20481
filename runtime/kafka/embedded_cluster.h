#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/kafka/topics.h"

namespace zarc::kafka {

// librdkafka's mock Kafka cluster, in this process: real Kafka protocol listeners on 127.0.0.1
// (random ports), in memory. For the one-machine mode, tests and zarc-devbroker.
//
// Limits of the mock: no CreateTopics (topics come from Start), no persistence, no ACLs or SASL.
// Share it with clients through bootstrap_servers(); clients must NOT set test.mock.num.brokers
// (that gives each client a private cluster of its own).
class EmbeddedCluster {
 public:
  // Starts `num_brokers` brokers and creates `topics` (replication factor min(num_brokers, 3)).
  static absl::StatusOr<std::unique_ptr<EmbeddedCluster>> Start(
      int num_brokers, const std::vector<TopicSpec>& topics = DefaultTopics());
  // Stops the brokers; clients still connected see their connections refused.
  ~EmbeddedCluster();
  EmbeddedCluster(const EmbeddedCluster&) = delete;
  EmbeddedCluster& operator=(const EmbeddedCluster&) = delete;

  // "127.0.0.1:port,127.0.0.1:port,..."
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int num_brokers() const { return num_brokers_; }

  // Creates one more topic; AlreadyExists if it is there.
  absl::Status CreateTopic(const TopicSpec& topic);

 private:
  struct Impl;
  EmbeddedCluster();

  std::unique_ptr<Impl> impl_;
  std::string bootstrap_servers_;
  int num_brokers_ = 0;
};

}  // namespace zarc::kafka

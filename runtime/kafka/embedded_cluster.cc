#include "runtime/kafka/embedded_cluster.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "runtime/kafka/librdkafka_glue.h"

namespace zarc::kafka {

// Destruction order matters: the cluster before the handle that owns its bookkeeping.
struct EmbeddedCluster::Impl {
  internal::HandlePtr owner;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  absl::Mutex mu;  // serialises topic creation (the mock cluster's own locking is internal)

  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  }
};

EmbeddedCluster::EmbeddedCluster() : impl_(std::make_unique<Impl>()) {}
EmbeddedCluster::~EmbeddedCluster() = default;

absl::StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(
    int num_brokers, const std::vector<TopicSpec>& topics) {
  if (num_brokers < 1 || num_brokers > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("an embedded Kafka cluster needs 1 to 64 brokers, not ", num_brokers));
  }
  // A producer handle that never sends: the mock cluster needs one for its bookkeeping. It has
  // no bootstrap servers of its own, hence the empty config; logs go to zarc's logger.
  internal::ConfPtr conf(rd_kafka_conf_new());
  if (absl::Status s = internal::SetProperty(conf.get(), "client.id", "zarc-embedded-cluster");
      !s.ok()) {
    return s;
  }
  // Without this the owner logs "No bootstrap.servers configured" at start.
  if (absl::Status s = internal::SetProperty(conf.get(), "log_level", "3"); !s.ok()) return s;
  absl::StatusOr<internal::HandlePtr> owner =
      internal::MakeHandle(RD_KAFKA_PRODUCER, std::move(conf));
  if (!owner.ok()) return owner.status();

  std::unique_ptr<EmbeddedCluster> cluster(new EmbeddedCluster());
  cluster->impl_->owner = *std::move(owner);
  cluster->impl_->cluster = rd_kafka_mock_cluster_new(cluster->impl_->owner.get(), num_brokers);
  if (cluster->impl_->cluster == nullptr) {
    return absl::InternalError(
        absl::StrCat("librdkafka could not start a mock cluster of ", num_brokers,
                     " brokers (it listens on 127.0.0.1; is the loopback interface up?)"));
  }
  cluster->num_brokers_ = num_brokers;
  cluster->bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(cluster->impl_->cluster);
  for (const TopicSpec& topic : topics) {
    if (absl::Status s = cluster->CreateTopic(topic); !s.ok()) return s;
  }
  return cluster;
}

absl::Status EmbeddedCluster::CreateTopic(const TopicSpec& topic) {
  if (topic.name.empty() || topic.partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("topic \"", topic.name, "\" with ",
                                                   topic.partitions,
                                                   " partitions is not valid: name a topic and "
                                                   "give it at least 1 partition"));
  }
  const int replication = topic.replication_factor > 0
                              ? std::min(topic.replication_factor, num_brokers_)
                              : std::min(num_brokers_, 3);
  absl::MutexLock lock(&impl_->mu);
  return internal::ErrorToStatus(
      rd_kafka_mock_topic_create(impl_->cluster, topic.name.c_str(), topic.partitions, replication),
      absl::StrCat("cannot create topic ", topic.name, " in the embedded cluster"));
}

}  // namespace zarc::kafka

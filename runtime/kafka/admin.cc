#include "runtime/kafka/admin.h"

#include <algorithm>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/kafka/librdkafka_glue.h"

namespace zarc::kafka {
namespace {

absl::StatusOr<internal::HandlePtr> AdminHandle(const KafkaConfig& config) {
  absl::StatusOr<internal::ConfPtr> conf = internal::MakeConf(config, {});
  if (!conf.ok()) return conf.status();
  return internal::MakeHandle(RD_KAFKA_PRODUCER, *std::move(conf));
}

std::string Names(const std::vector<TopicSpec>& topics) {
  return absl::StrJoin(topics, ", ", [](std::string* out, const TopicSpec& t) {
    absl::StrAppend(out, t.name, " (", t.partitions, " partitions)");
  });
}

absl::Status CreateTopics(const KafkaConfig& config, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout) {
  absl::StatusOr<internal::HandlePtr> rk = AdminHandle(config);
  if (!rk.ok()) return rk.status();

  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const TopicSpec& topic : topics) {
    char errstr[256];
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions,
                                                   topic.replication_factor, errstr, sizeof errstr);
    if (t == nullptr) {
      rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
      return absl::InvalidArgumentError(
          absl::StrCat("topic ", topic.name, " with ", topic.partitions, " partitions: ", errstr));
    }
    new_topics.push_back(t);
  }
  char errstr[256];
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, internal::ToTimeoutMs(timeout), errstr,
                                            sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options, internal::ToTimeoutMs(timeout), errstr,
                                              sizeof errstr);
  internal::QueuePtr queue(rd_kafka_queue_new(rk->get()));
  rd_kafka_CreateTopics(rk->get(), new_topics.data(), new_topics.size(), options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());

  // The admin request carries its own timeouts; the margin covers connecting to the cluster.
  internal::EventPtr event(
      rd_kafka_queue_poll(queue.get(), internal::ToTimeoutMs(timeout + absl::Seconds(5))));
  if (event == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no answer to CreateTopics for ", Names(topics), " within ", absl::FormatDuration(timeout),
        " from ", config.bootstrap_servers, "; is the Kafka cluster reachable?"));
  }
  const auto refused = [&](rd_kafka_resp_err_t err, absl::string_view detail) {
    const absl::Status s = internal::ErrorToStatus(err, "");
    return absl::Status(
        s.code() == absl::StatusCode::kUnimplemented ? absl::StatusCode::kUnimplemented : s.code(),
        absl::StrCat(
            "Kafka at ", config.bootstrap_servers,
            " did not create topics: ", rd_kafka_err2name(err), " (", detail,
            "); create these topics beforehand (zarc doctor checks them): ", Names(topics)));
  };
  if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return refused(rd_kafka_event_error(event.get()), rd_kafka_event_error_string(event.get()));
  }
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  std::vector<std::string> failures;
  rd_kafka_resp_err_t first_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    if (first_error == RD_KAFKA_RESP_ERR_NO_ERROR) first_error = err;
    const char* detail = rd_kafka_topic_result_error_string(results[i]);
    failures.push_back(absl::StrCat(rd_kafka_topic_result_name(results[i]), ": ",
                                    rd_kafka_err2name(err),
                                    detail ? absl::StrCat(" (", detail, ")") : ""));
  }
  if (failures.empty()) return absl::OkStatus();
  return refused(first_error, absl::StrJoin(failures, "; "));
}

}  // namespace

absl::Status EnsureTopics(const KafkaConfig& config, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout) {
  // Only ask for what is missing: at a normal start-up nothing is, and then no CreateTopics
  // permission is needed (and the mock cluster, which cannot create topics, is fine).
  absl::StatusOr<std::vector<TopicSpec>> existing = ListTopics(config, timeout);
  if (!existing.ok()) return existing.status();
  std::vector<TopicSpec> missing;
  for (const TopicSpec& topic : topics) {
    const bool exists = std::any_of(existing->begin(), existing->end(),
                                    [&](const TopicSpec& e) { return e.name == topic.name; });
    if (!exists) missing.push_back(topic);
  }
  if (missing.empty()) return absl::OkStatus();
  return CreateTopics(config, missing, timeout);
}

absl::StatusOr<std::vector<TopicSpec>> ListTopics(const KafkaConfig& config,
                                                  absl::Duration timeout) {
  absl::StatusOr<internal::HandlePtr> rk = AdminHandle(config);
  if (!rk.ok()) return rk.status();
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk->get(), /*all_topics=*/1, nullptr, &metadata,
                                                    internal::ToTimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(
        err, absl::StrCat("cannot read topic metadata from Kafka at ", config.bootstrap_servers,
                          "; check the bootstrap servers and that the cluster is up"));
  }
  std::vector<TopicSpec> topics;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || absl::StartsWith(t.topic, "__")) continue;
    TopicSpec spec{t.topic, t.partition_cnt};
    if (t.partition_cnt > 0) spec.replication_factor = t.partitions[0].replica_cnt;
    topics.push_back(std::move(spec));
  }
  rd_kafka_metadata_destroy(metadata);
  std::sort(topics.begin(), topics.end(),
            [](const TopicSpec& a, const TopicSpec& b) { return a.name < b.name; });
  return topics;
}

absl::Status CheckTopics(const KafkaConfig& config, const std::vector<TopicSpec>& wanted,
                         absl::Duration timeout) {
  absl::StatusOr<std::vector<TopicSpec>> existing = ListTopics(config, timeout);
  if (!existing.ok()) return existing.status();
  std::map<std::string, int> partitions;
  for (const TopicSpec& t : *existing) partitions[t.name] = t.partitions;
  std::vector<std::string> problems;
  for (const TopicSpec& t : wanted) {
    auto it = partitions.find(t.name);
    if (it == partitions.end()) {
      problems.push_back(absl::StrCat(t.name, " is missing (want ", t.partitions, " partitions)"));
    } else if (it->second < t.partitions) {
      problems.push_back(
          absl::StrCat(t.name, " has ", it->second, " partitions, want at least ", t.partitions));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "Kafka at ", config.bootstrap_servers, ": ", absl::StrJoin(problems, "; "),
      "; create or extend these topics (EnsureTopics does it where the broker allows)"));
}

absl::StatusOr<GroupLag> ConsumerGroupLag(const KafkaConfig& config, const std::string& group,
                                          const std::string& topic, absl::Duration timeout) {
  // A consumer handle of the group that never subscribes: it asks the group coordinator for the
  // committed offsets without joining, so the group's members are not rebalanced.
  absl::StatusOr<internal::ConfPtr> conf =
      internal::MakeConf(config, {{"group.id", group}, {"enable.auto.commit", "false"}});
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::HandlePtr> rk = internal::MakeHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();
  const int timeout_ms = internal::ToTimeoutMs(timeout);

  // Metadata of all topics rather than of this one: asking for one topic by name lets a broker
  // with auto.create.topics.enable create it, and a status read must not create topics.
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk->get(), /*all_topics=*/1, nullptr, &metadata,
                                              timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(
        err, absl::StrCat("cannot read the metadata of ", topic, " from Kafka at ",
                          config.bootstrap_servers));
  }
  GroupLag lag{.group = group, .topic = topic};
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = metadata->topics[i];
    if (t.topic == topic && t.err == RD_KAFKA_RESP_ERR_NO_ERROR) lag.partitions = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  if (lag.partitions == 0) {
    return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist at ",
                                            config.bootstrap_servers));
  }

  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(lag.partitions));
  for (int p = 0; p < lag.partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  }
  err = rd_kafka_committed(rk->get(), list.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(
        err, absl::StrCat("cannot read the committed offsets of group ", group, " on ", topic));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(rk->get(), topic.c_str(), tp.partition, &low, &high,
                                           timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorToStatus(
          err, absl::StrCat("cannot read the watermarks of ", topic, " partition ", tp.partition));
    }
    const bool committed = tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0;
    lag.positions.push_back(
        {.partition = tp.partition, .committed = committed ? tp.offset : -1, .end = high});
    int64_t position = tp.offset;
    if (!committed) {
      ++lag.partitions_uncommitted;
      position = low;  // nothing committed: everything still in the log is to be processed
    }
    lag.lag += std::max<int64_t>(0, high - std::max(position, low));
  }
  std::sort(lag.positions.begin(), lag.positions.end(),
            [](const PartitionPosition& a, const PartitionPosition& b) {
              return a.partition < b.partition;
            });
  return lag;
}

}  // namespace zarc::kafka

#include "runtime/kafka/topic_reader.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "runtime/kafka/librdkafka_glue.h"

namespace zarc::kafka {

absl::Status ForEachRecord(const KafkaConfig& config, absl::string_view topic,
                           absl::Duration timeout,
                           const std::function<absl::Status(Record)>& each) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string name(topic);
  // assign() needs a group id, but nothing joins or commits: the group is never created.
  absl::StatusOr<internal::ConfPtr> conf =
      internal::MakeConf(config, {{"group.id", "zarc-topic-reader"},
                                  {"enable.auto.commit", "false"},
                                  {"enable.auto.offset.store", "false"},
                                  {"allow.auto.create.topics", "false"}});
  if (!conf.ok()) return conf.status();
  absl::StatusOr<internal::HandlePtr> rk =
      internal::MakeHandle(RD_KAFKA_CONSUMER, *std::move(conf));
  if (!rk.ok()) return rk.status();

  // Metadata of all topics rather than of this one: asking for one topic by name makes brokers
  // with auto.create.topics.enable (and the mock cluster) create it.
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk->get(), /*all_topics=*/1, nullptr, &metadata,
                                              internal::ToTimeoutMs(deadline - absl::Now()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(err, absl::StrCat("cannot read metadata of topic ", name,
                                                     " from Kafka at ", config.bootstrap_servers));
  }
  int partition_count = -1;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    if (name == metadata->topics[i].topic &&
        metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partition_count = metadata->topics[i].partition_cnt;
    }
  }
  rd_kafka_metadata_destroy(metadata);
  if (partition_count < 0) {
    return absl::NotFoundError(
        absl::StrCat("topic ", name, " does not exist in Kafka at ", config.bootstrap_servers));
  }

  // The end of each partition as of now; partitions already at their end need no reading.
  std::map<int32_t, int64_t> end_offsets;
  internal::PartitionListPtr assignment(rd_kafka_topic_partition_list_new(partition_count));
  for (int32_t p = 0; p < partition_count; ++p) {
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(rk->get(), name.c_str(), p, &low, &high,
                                           internal::ToTimeoutMs(deadline - absl::Now()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorToStatus(
          err, absl::StrCat("cannot read the offsets of topic ", name, " partition ", p));
    }
    if (high <= low) continue;
    end_offsets[p] = high;
    rd_kafka_topic_partition_list_add(assignment.get(), name.c_str(), p)->offset = low;
  }
  size_t total = 0;
  if (!end_offsets.empty()) {
    err = rd_kafka_assign(rk->get(), assignment.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return internal::ErrorToStatus(err, absl::StrCat("cannot assign topic ", name));
    }
  }
  while (!end_offsets.empty()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "read ", total, " records of topic ", name, " but ", end_offsets.size(), " of ",
          partition_count,
          " partitions were not read to their end within ", absl::FormatDuration(timeout)));
    }
    internal::MessagePtr message(
        rd_kafka_consumer_poll(rk->get(), std::min(internal::ToTimeoutMs(left), 200)));
    if (message == nullptr) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      return internal::ErrorToStatus(message->err, absl::StrCat("reading topic ", name, " failed"));
    }
    auto it = end_offsets.find(message->partition);
    if (it == end_offsets.end()) continue;
    if (message->offset + 1 >= it->second) end_offsets.erase(it);
    ++total;
    if (absl::Status s = each(internal::RecordFromMessage(message.get())); !s.ok()) {
      rd_kafka_assign(rk->get(), nullptr);
      return s;
    }
  }
  rd_kafka_assign(rk->get(), nullptr);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Record>> ReadTopic(const KafkaConfig& config, absl::string_view topic,
                                              absl::Duration timeout, size_t max_records) {
  std::map<int32_t, std::vector<Record>> by_partition;
  size_t total = 0;
  absl::Status read = ForEachRecord(config, topic, timeout, [&](Record record) {
    if (total == max_records) {
      return absl::ResourceExhaustedError(absl::StrCat("topic ", topic, " holds more than ",
                                                       max_records, " records"));
    }
    ++total;
    by_partition[record.partition].push_back(std::move(record));
    return absl::OkStatus();
  });
  if (!read.ok()) return read;
  std::vector<Record> records;
  records.reserve(total);
  for (auto& [partition, list] : by_partition) {
    for (Record& r : list) records.push_back(std::move(r));
  }
  return records;
}

}  // namespace zarc::kafka

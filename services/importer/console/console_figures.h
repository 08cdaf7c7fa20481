#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "runtime/kafka/kafka_config.h"
#include "zarc/v1/control.pb.h"

// Figures of the console's status page that come from outside the importer: the stages'
// consumer-group lag (Kafka) and the fetcher's last webhook (its scheduled-poll status).
namespace zarc::importer::console {

// Each stage's consumer group and input topic, as the stages name them.
struct StageInput {
  std::string stage;
  std::string group;
  std::string topic;
};
std::vector<StageInput> PipelineInputs();

// "converter 0 · mapper 12 · importer 0 · ledger 0 records not processed yet": each group's
// committed offsets against its topic's high watermarks. A stage whose lag cannot be read shows
// "unknown" and the reason goes to `errors`.
std::string LagPerStage(const kafka::KafkaConfig& config, absl::Duration timeout,
                        std::vector<std::string>* errors);

// The "Last webhook" row from the fetcher's scheduled-poll status.
std::string LastWebhook(const zarc::v1::SyncStatus& status, absl::Time now);

}  // namespace zarc::importer::console

#include "services/importer/console/console_figures.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/kafka/admin.h"
#include "runtime/kafka/topics.h"

namespace zarc::importer::console {

std::vector<StageInput> PipelineInputs() {
  return {{"converter", "zarc-converter", std::string(kafka::kMeetingsTopic)},
          {"mapper", "zarc-mapper", std::string(kafka::kMessagesTopic)},
          {"importer", "zarc-importer", std::string(kafka::kDeliveriesTopic)},
          {"ledger", "zarc-ledger", std::string(kafka::kImportLogTopic)}};
}

std::string LagPerStage(const kafka::KafkaConfig& config, absl::Duration timeout,
                        std::vector<std::string>* errors) {
  std::vector<std::string> parts;
  for (const StageInput& in : PipelineInputs()) {
    absl::StatusOr<kafka::GroupLag> lag = kafka::ConsumerGroupLag(config, in.group, in.topic, timeout);
    if (lag.ok()) {
      parts.push_back(absl::StrCat(in.stage, " ", lag->lag));
    } else {
      parts.push_back(absl::StrCat(in.stage, " unknown"));
      errors->push_back(absl::StrCat("lag of ", in.stage, " (group ", in.group, " on ", in.topic,
                                     "): ", lag.status().message()));
    }
  }
  return absl::StrCat(absl::StrJoin(parts, " · "), " records not processed yet");
}

std::string LastWebhook(const zarc::v1::SyncStatus& status, absl::Time now) {
  if (!status.has_last_webhook_at() || status.last_webhook_at().seconds() == 0) {
    return "none since the fetcher started";
  }
  const absl::Time at = absl::FromUnixSeconds(status.last_webhook_at().seconds());
  const absl::Duration ago = absl::Floor(now - at, absl::Seconds(1));
  return absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", at, absl::UTCTimeZone()), " (",
                      ago < absl::ZeroDuration() ? "0s" : absl::FormatDuration(ago), " ago)");
}

}  // namespace zarc::importer::console

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/kafka/record.h"
#include "services/mapper/resolver.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::mapper {

inline constexpr absl::string_view kNoParticipantMapped = "no participant could be mapped";

struct StageOptions {
  // Where an item goes when no participant maps; empty: such items fail (as the Microsoft
  // connector does) with an ImportResult "no participant could be mapped".
  std::string fallback_mailbox;
};

// The mapper stage's logic, without Kafka: a MessageRendered in; one MailboxDelivery per distinct
// mailbox out (zarc.deliveries, key = mailbox), or, when nothing maps, a delivery to the fallback
// mailbox or a FAILED ImportResult (zarc.import-log, key = item id). The same input and directory
// give the same outputs (except ImportResult.completed_at).
// Errors: INVALID_ARGUMENT for a malformed event (dead-lettered); UNAVAILABLE when the directory
// cannot be asked (retried until it can).
absl::StatusOr<std::vector<kafka::OutgoingRecord>> MapRenderedMessage(
    const zarc::v1::MessageRendered& item, Resolver& resolver, const StageOptions& options,
    absl::Time now);

// The addresses of an item: the host's, the Email property's and every participant's, each once
// (case-insensitively), in that order.
std::vector<std::string> ItemAddresses(const zarc::v1::MessageRendered& item);

// The Kafka handler around MapRenderedMessage, with metrics: zarc_mapper_deliveries_total,
// zarc_mapper_items_unmapped_total. Thread-safe if the resolver is.
class MapperStage {
 public:
  MapperStage(Resolver& resolver, StageOptions options, prometheus::Registry* metrics,
              std::function<absl::Time()> now = nullptr);
  ~MapperStage();
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> Handle(const kafka::Record& record);

 private:
  struct Metrics;
  Resolver& resolver_;
  const StageOptions options_;
  const std::function<absl::Time()> now_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace zarc::mapper

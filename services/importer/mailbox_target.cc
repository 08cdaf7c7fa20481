#include "services/importer/mailbox_target.h"

namespace zarc::importer {
namespace {

class NoneTarget final : public MailboxTarget {
 public:
  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest&) override {
    return DeliveryOutcome::kDelivered;
  }
  std::string name() const override { return "none"; }
};

}  // namespace

std::unique_ptr<MailboxTarget> NewNoneTarget() { return std::make_unique<NoneTarget>(); }

bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsResourceExhausted(status);
}

}  // namespace zarc::importer

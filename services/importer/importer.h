#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/importer/archive.h"
#include "services/importer/mailbox_target.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace prometheus

namespace zarc::importer {

// The importer stage's core: one MailboxDelivery in, its one ImportResult out.
//   1. the message is archived once per item (create-once, checked against its SHA-256);
//   2. a per-mailbox archive record already there means this delivery was done (a replay): the
//      result repeats the recorded outcome (IMPORTED or PARTIALLY_IMPORTED), so replays never
//      turn an import into a skip;
//   3. the target delivers (it finds a copy of its own earlier, crashed attempt by Message-ID:
//      still IMPORTED, as the record was missing);
//   4. the record is written, after the mailbox has the message.
// Outcomes: IMPORTED, PARTIALLY_IMPORTED (some artifacts only referenced from the archive),
// SKIPPED_DUPLICATE (a replay whose record names no known outcome), FAILED with the reason (a permanent problem: no such mailbox, too large, the
// message missing or corrupt). A transient problem (mailbox server or a store down, throttled)
// returns UNAVAILABLE or RESOURCE_EXHAUSTED instead, for the stage runner to retry: no result is
// produced until the delivery is settled, so nothing is dropped or counted twice.
// Thread-safe if the archive and the target are.
class Importer {
 public:
  // `archive`, `target` and `metrics` (optional) must outlive the importer.
  Importer(Archive& archive, MailboxTarget& target, prometheus::Registry* metrics,
           std::function<absl::Time()> clock = [] { return absl::Now(); });

  absl::StatusOr<zarc::v1::ImportResult> Import(const zarc::v1::MailboxDelivery& delivery);

 private:
  zarc::v1::ImportResult BaseResult(const zarc::v1::MailboxDelivery& d) const;
  zarc::v1::ImportResult Finish(zarc::v1::ImportResult result, absl::Time meeting_end,
                                bool replay = false);

  Archive& archive_;
  MailboxTarget& target_;
  std::function<absl::Time()> clock_;
  prometheus::Family<prometheus::Counter>* deliveries_ = nullptr;
  prometheus::Counter* bytes_ = nullptr;
  prometheus::Histogram* latency_ = nullptr;
};

}  // namespace zarc::importer

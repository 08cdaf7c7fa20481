#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/blob/blob_store.h"
#include "zarc/v1/events.pb.h"

namespace zarc::ledger {

// The archived item a meeting version becomes: "account/meeting-uuid/vN". The converter names its
// message by it, and every later record (delivery, import result, ledger entry) carries it.
std::string ItemId(absl::string_view account_id, absl::string_view meeting_uuid, int version);

// The item id the fetcher reports a meeting under when it could not capture it at all (its
// ImportResult has stage "fetcher", outcome FAILED, no mailbox): version 0, which no captured
// version ever has. A result of any other stage for the same meeting supersedes it in the status
// log (the meeting was captured after all).
inline constexpr int kNotCapturedVersion = 0;
inline constexpr absl::string_view kFetcherStage = "fetcher";

// "account/meeting-uuid" of an item id (everything before its "/vN"), to tell versions of one
// meeting apart from other meetings.
absl::string_view MeetingOf(absl::string_view item_id);

// The settlement ledger: the final ImportResult of every (item, mailbox) pair, kept in a blob
// store so that what happened to each item outlives the broker (the one-machine mode's embedded
// Kafka keeps nothing across a restart). The importer writes it from zarc.import-log; the
// fetcher's reconciler reads it to find captured versions whose deliveries are not all settled;
// the one-machine mode restores the status log from it.
//   <prefix>/<hash of item id>/<hash of mailbox>.pb    one ImportResult
// Thread-safe if the store is.
class Ledger {
 public:
  // `store` must outlive the ledger.
  explicit Ledger(blob::BlobStore& store, std::string prefix = "state/ledger");

  // Keeps `result` as the settlement of its (item, mailbox) pair. The first result of a pair
  // stands (a replay changes nothing), except that a delivered result replaces a FAILED one: the
  // cause was fixed and the item driven again.
  absl::Status Record(const zarc::v1::ImportResult& result);
  // Every result recorded for one item (empty if none).
  absl::StatusOr<std::vector<zarc::v1::ImportResult>> ForItem(absl::string_view item_id);
  // Every result recorded, for restoring the status log.
  absl::StatusOr<std::vector<zarc::v1::ImportResult>> All();

  std::string EntryName(const zarc::v1::ImportResult& result) const;

 private:
  absl::StatusOr<std::vector<zarc::v1::ImportResult>> Read(absl::string_view prefix);

  blob::BlobStore& store_;
  const std::string prefix_;
};

// Whether one item's results settle every delivery it produced: a mapper result (no participant
// could be mapped) settles the item alone; otherwise there must be a result for as many distinct
// mailboxes as the item's fan-out. Any outcome settles its pair, FAILED included (it is in the
// status log with its reason). A fetcher result never settles anything: it says the meeting was
// not captured, so there is no delivery it could stand for.
bool Settles(const std::vector<zarc::v1::ImportResult>& results);

}  // namespace zarc::ledger

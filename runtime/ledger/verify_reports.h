#pragma once

#include "absl/status/statusor.h"
#include "runtime/blob/blob_store.h"
#include "zarc/v1/control.pb.h"

namespace zarc::ledger {

// Completeness reports (`zarc verify`), kept beside the ledger as JSON for the auditor, one per
// run under state/verify/reports/<ran_at>.json: the fetcher writes them, the status log shows the
// newest.
absl::Status KeepVerifyReport(blob::BlobStore& store, const zarc::v1::VerifyReport& report);
// The newest report, or NotFound if no check has run.
absl::StatusOr<zarc::v1::VerifyReport> LatestVerifyReport(blob::BlobStore& store);

}  // namespace zarc::ledger

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "runtime/ledger/ledger.h"
#include "services/fetcher/capture.h"
#include "services/fetcher/zoom_types.h"
#include "zarc/v1/control.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

// What Zoom lists for a range: the meetings, and the listings that failed (which make the check
// incomplete rather than silently shorter).
struct ZoomListing {
  std::vector<ZoomMeeting> meetings;
  std::vector<std::string> errors;
};
using MeetingLister = std::function<absl::StatusOr<ZoomListing>(absl::Time from, absl::Time to)>;
using MeetingCapture = std::function<absl::StatusOr<CaptureOutcome>(const ZoomMeeting&)>;

// The completeness check (`zarc verify`): every meeting instance Zoom lists for a range against
// what zarc captured (the fetcher's version records) and delivered (the ledger of import
// results). Each meeting is fully delivered, partially delivered (a file missing: which and why),
// not delivered (a delivery without a result, or failed: why) or not captured. Unless asked only
// to report, the gaps are driven again: a meeting not captured is captured now, an unsettled
// version is published again from its record (every stage downstream is idempotent). Each report
// is kept in the state store (ledger::KeepVerifyReport) for the status log and the auditor.
// Thread-safe; runs are serialised.
class Verifier {
 public:
  // Everything passed must outlive the verifier.
  Verifier(MeetingLister list, MeetingCapture capture, VersionStore& versions, ledger::Ledger& ledger,
           MeetingPublisher publish, blob::BlobStore& state, prometheus::Registry* metrics);
  ~Verifier();

  absl::StatusOr<zarc::v1::VerifyReport> Run(absl::Time from, absl::Time to, bool report_only);

  // A check every `interval` over [now - lookback, now - settle), the gaps driven; Stop() ends it.
  void StartSchedule(absl::Duration interval, absl::Duration lookback, absl::Duration settle);
  void Stop();

 private:
  struct Metrics;

  MeetingLister list_;
  MeetingCapture capture_;
  VersionStore& versions_;
  ledger::Ledger& ledger_;
  MeetingPublisher publish_;
  blob::BlobStore& state_;
  std::unique_ptr<Metrics> metrics_;
  absl::Mutex run_mutex_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace zarc::fetcher

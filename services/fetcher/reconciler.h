#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/ledger/ledger.h"
#include "services/fetcher/capture.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

struct ReconcileReport {
  int64_t versions = 0;     // captured versions looked at
  int64_t settled = 0;      // every delivery has its result in the ledger
  int64_t in_flight = 0;    // unsettled, but captured too recently to call lost
  int64_t republished = 0;  // unsettled and published again
  int64_t failed = 0;       // could not be read or published now (tried again next round)
};

// Drives every captured version whose deliveries are not all settled again, from the record the
// fetcher made of it: the stores hold the truth (the fetcher's version records and the ledger of
// import results), the broker only what is in flight. A version is re-published as the very bytes
// first recorded; every stage downstream is idempotent on it (the converter finds its message,
// the importer its archive record), so what was done is not done twice and what was lost in
// flight (the one-machine mode's embedded broker keeps nothing across a restart) flows again.
// Thread-safe.
class Reconciler {
 public:
  struct Options {
    // A version captured less than this long ago may still be on its way: it is left alone.
    absl::Duration min_age = absl::Hours(1);
    // Between scheduled rounds; 0: no schedule (RunOnce only).
    absl::Duration interval = absl::Hours(1);
    // The first scheduled round's min_age: 0 where the broker is known to have lost everything in
    // flight (the embedded broker after a restart).
    absl::Duration first_round_min_age = absl::Hours(1);
  };

  // Everything passed must outlive the reconciler.
  Reconciler(VersionStore& versions, ledger::Ledger& ledger, MeetingPublisher publish,
             Options options, prometheus::Registry* metrics);
  ~Reconciler();

  // One pass over every recorded version; versions found settled are remembered and not read again.
  absl::StatusOr<ReconcileReport> RunOnce(absl::Duration min_age);

  void Start();
  void Stop();

 private:
  struct Metrics;
  void Loop();

  VersionStore& versions_;
  ledger::Ledger& ledger_;
  MeetingPublisher publish_;
  const Options options_;
  std::unique_ptr<Metrics> metrics_;

  absl::Mutex run_mutex_;  // one pass at a time
  std::set<std::string> settled_ ABSL_GUARDED_BY(run_mutex_);

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace zarc::fetcher

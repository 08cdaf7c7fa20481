#pragma once

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "simulators/zoom/rng.h"

namespace zarc::zoom_sim {

// When one kind of fault fires: on every Nth eligible request (N > 0), and/or with a probability
// drawn from the injector's seeded generator. Both zero: never.
struct FaultRule {
  int every_n = 0;
  double probability = 0;
};

struct FaultConfig {
  FaultRule error;  // API calls and downloads answer `error_status` with Zoom's error body
  int error_status = 500;
  FaultRule slow;  // API calls and downloads are delayed by `slow_ms` before answering
  int slow_ms = 0;
  FaultRule truncate;  // storage downloads end after `truncate_fraction` of the announced length
  double truncate_fraction = 0.5;
  FaultRule html;  // storage downloads answer 200 with an HTML refusal page
  FaultRule throttle;  // API calls answer 429 as a per-second limit would (Retry-After: 1)
};

// Reads {"error": {"every_n": 3, "probability": 0.1}, "error_status": 503, "slow": {...},
// "slow_ms": 200, "truncate": {...}, "truncate_fraction": 0.5, "html": {...}, "throttle": {...}}. Missing fields
// keep `base`'s values; unknown fields are an error that lists the allowed ones.
absl::StatusOr<FaultConfig> ParseFaultConfigJson(absl::string_view json, const FaultConfig& base);
absl::Status ValidateFaultConfig(const FaultConfig& config);

struct FaultStats {
  int64_t errors = 0;
  int64_t slow = 0;
  int64_t truncated = 0;
  int64_t html = 0;
  int64_t throttled = 0;
};

// Decides faults request by request; given the same seed and the same order of requests, the
// same requests fail. Thread-safe.
class FaultInjector {
 public:
  explicit FaultInjector(uint64_t seed) : rng_(seed ^ 0xFA017ull) {}

  void Set(const FaultConfig& config);
  FaultConfig config() const;
  FaultStats stats() const;

  // Each call counts one eligible request of that kind.
  bool NextError();
  int NextSlowMs();  // 0: no delay
  bool NextTruncate();
  bool NextHtml();
  bool NextThrottle();

 private:
  bool Fire(const FaultRule& rule, int64_t& counter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  FaultConfig config_ ABSL_GUARDED_BY(mu_);
  Rng rng_ ABSL_GUARDED_BY(mu_);
  int64_t error_count_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t slow_count_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t truncate_count_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t html_count_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t throttle_count_ ABSL_GUARDED_BY(mu_) = 0;
  FaultStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace zarc::zoom_sim

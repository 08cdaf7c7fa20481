#pragma once

#include <array>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace zarc::fetcher {

// Zoom's rate-limit categories (zoom-api/README.md, "Rate limits").
enum class ZoomCategory { kLight = 0, kMedium = 1, kHeavy = 2 };
const char* CategoryName(ZoomCategory category);

// Paces requests per category, shared by every thread of the service. Requests are spaced evenly
// at the configured rate, so no one-second window holds more than the limit. A 429 pauses the
// category until Retry-After and lowers its rate (to 3/4, at least 1/s); the rate climbs back by a
// tenth after every 100 calls without a 429. Thread-safe.
class ZoomRateLimiter {
 public:
  struct Limits {
    double light_per_second = 30;   // Pro plan defaults: the safe choice when the plan is unknown
    double medium_per_second = 20;
    double heavy_per_second = 10;
  };
  struct Clock {
    std::function<absl::Time()> now = [] { return absl::Now(); };
    std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
  };

  explicit ZoomRateLimiter(Limits limits) : ZoomRateLimiter(limits, Clock()) {}
  ZoomRateLimiter(Limits limits, Clock clock);

  // Blocks until a request of `category` may be sent.
  void Acquire(ZoomCategory category);
  // Zoom answered 429: no request of the category before `retry_at`.
  void OnThrottled(ZoomCategory category, absl::Time retry_at);
  void OnSuccess(ZoomCategory category);
  double CurrentRate(ZoomCategory category) const;
  // Until when a 429 paused the category (InfinitePast: not paused).
  absl::Time PausedUntil(ZoomCategory category) const;

 private:
  struct Bucket {
    double configured = 1;
    double rate = 1;
    absl::Time next_slot = absl::InfinitePast();
    absl::Time paused_until = absl::InfinitePast();
    int successes_since_throttle = 0;
  };
  Clock clock_;
  mutable absl::Mutex mutex_;
  std::array<Bucket, 3> buckets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace zarc::fetcher

#pragma once

#include <array>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace zarc::fetcher {

// Zoom's rate-limit categories (zoom-api/README.md, "Rate limits").
enum class ZoomCategory { kLight = 0, kMedium = 1, kHeavy = 2 };
const char* CategoryName(ZoomCategory category);

// Which limit a 429 reports (its X-RateLimit-Type header: "QPS" or "Daily-limit").
enum class ZoomLimitType { kQps, kDaily };

// Paces requests per category, shared by every thread of the service. Requests are spaced evenly
// at the configured rate, so no one-second window holds more than the limit. A 429 pauses the
// category until Retry-After and lowers its rate (to 3/4, at least 1/s); the rate climbs back by a
// tenth after every 100 calls without a 429.
//
// Retry-After is data from outside and is capped: a QPS pause lasts at most kMaxQpsPause, a
// daily-limit pause (Zoom sends the date the pool refills, possibly hours away) at most
// kMaxDailyPause. Waiters wake at least every kRecheck to notice Stop() and a pause that was
// lifted, so stopping never waits for Zoom. Thread-safe.
class ZoomRateLimiter {
 public:
  static constexpr absl::Duration kMaxQpsPause = absl::Seconds(60);
  static constexpr absl::Duration kMaxDailyPause = absl::Hours(24);
  static constexpr absl::Duration kRecheck = absl::Seconds(1);

  struct Limits {
    double light_per_second = 30;   // Pro plan defaults: the safe choice when the plan is unknown
    double medium_per_second = 20;
    double heavy_per_second = 10;
  };
  struct Clock {
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // For tests: replaces the real wait. Empty: the limiter waits on its own condition, which
    // Stop() interrupts.
    std::function<void(absl::Duration)> sleep;
  };

  explicit ZoomRateLimiter(Limits limits) : ZoomRateLimiter(limits, Clock()) {}
  ZoomRateLimiter(Limits limits, Clock clock);

  // Blocks until a request of `category` may be sent. OK, or CANCELLED once Stop() was called.
  absl::Status Acquire(ZoomCategory category) ABSL_LOCKS_EXCLUDED(mutex_);
  // Zoom answered 429: no request of the category before `retry_at`, capped by `type`'s maximum.
  // Returns when the category resumes.
  absl::Time OnThrottled(ZoomCategory category, absl::Time retry_at,
                         ZoomLimitType type = ZoomLimitType::kQps) ABSL_LOCKS_EXCLUDED(mutex_);
  void OnSuccess(ZoomCategory category) ABSL_LOCKS_EXCLUDED(mutex_);
  double CurrentRate(ZoomCategory category) const ABSL_LOCKS_EXCLUDED(mutex_);
  // Waits `d` (a retry backoff) unless stopped first: OK, or CANCELLED.
  absl::Status Wait(absl::Duration d) ABSL_LOCKS_EXCLUDED(mutex_);
  // Every current and later Acquire() and Wait() returns CANCELLED at once (service shutdown).
  void Stop() ABSL_LOCKS_EXCLUDED(mutex_);
  // Until when a 429 paused the category (InfinitePast: not paused).
  absl::Time PausedUntil(ZoomCategory category) const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  struct Bucket {
    double configured = 1;
    double rate = 1;
    absl::Time next_slot = absl::InfinitePast();
    absl::Time paused_until = absl::InfinitePast();
    int successes_since_throttle = 0;
  };
  // Waits at most `d` with mutex_ released; returns early on Stop().
  void WaitLocked(absl::Duration d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status Stopped() const;

  Clock clock_;
  mutable absl::Mutex mutex_;
  std::array<Bucket, 3> buckets_ ABSL_GUARDED_BY(mutex_);
  bool stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace zarc::fetcher

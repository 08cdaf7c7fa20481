#include "services/fetcher/rate_limiter.h"

#include <algorithm>

namespace zarc::fetcher {

const char* CategoryName(ZoomCategory category) {
  switch (category) {
    case ZoomCategory::kLight: return "light";
    case ZoomCategory::kMedium: return "medium";
    case ZoomCategory::kHeavy: return "heavy";
  }
  return "unknown";
}

ZoomRateLimiter::ZoomRateLimiter(Limits limits, Clock clock) : clock_(std::move(clock)) {
  const double rates[3] = {limits.light_per_second, limits.medium_per_second,
                           limits.heavy_per_second};
  absl::MutexLock lock(&mutex_);
  for (int i = 0; i < 3; ++i) {
    buckets_[i].configured = std::max(rates[i], 0.1);
    buckets_[i].rate = buckets_[i].configured;
  }
}

void ZoomRateLimiter::Acquire(ZoomCategory category) {
  absl::Time slot;
  {
    absl::MutexLock lock(&mutex_);
    Bucket& b = buckets_[static_cast<int>(category)];
    const absl::Time now = clock_.now();
    slot = std::max({now, b.next_slot, b.paused_until});
    b.next_slot = slot + absl::Seconds(1.0 / b.rate);
  }
  const absl::Duration wait = slot - clock_.now();
  if (wait > absl::ZeroDuration()) clock_.sleep(wait);
}

void ZoomRateLimiter::OnThrottled(ZoomCategory category, absl::Time retry_at) {
  absl::MutexLock lock(&mutex_);
  Bucket& b = buckets_[static_cast<int>(category)];
  b.paused_until = std::max(b.paused_until, retry_at);
  b.next_slot = std::max(b.next_slot, b.paused_until);
  b.rate = std::max(1.0, b.rate * 0.75);
  b.successes_since_throttle = 0;
}

void ZoomRateLimiter::OnSuccess(ZoomCategory category) {
  absl::MutexLock lock(&mutex_);
  Bucket& b = buckets_[static_cast<int>(category)];
  if (b.rate < b.configured && ++b.successes_since_throttle >= 100) {
    b.rate = std::min(b.configured, b.rate * 1.1);
    b.successes_since_throttle = 0;
  }
}

absl::Time ZoomRateLimiter::PausedUntil(ZoomCategory category) const {
  absl::MutexLock lock(&mutex_);
  return buckets_[static_cast<int>(category)].paused_until;
}

double ZoomRateLimiter::CurrentRate(ZoomCategory category) const {
  absl::MutexLock lock(&mutex_);
  return buckets_[static_cast<int>(category)].rate;
}

}  // namespace zarc::fetcher

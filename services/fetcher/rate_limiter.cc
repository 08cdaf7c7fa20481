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

absl::Status ZoomRateLimiter::Stopped() const {
  return absl::CancelledError("the fetcher is stopping: Zoom call abandoned");
}

void ZoomRateLimiter::WaitLocked(absl::Duration d) {
  if (clock_.sleep) {
    mutex_.Unlock();
    clock_.sleep(d);
    mutex_.Lock();
    return;
  }
  mutex_.AwaitWithTimeout(absl::Condition(&stopped_), d);
}

absl::Status ZoomRateLimiter::Acquire(ZoomCategory category) {
  absl::MutexLock lock(&mutex_);
  Bucket& b = buckets_[static_cast<int>(category)];
  while (true) {
    if (stopped_) return Stopped();
    absl::Time now = clock_.now();
    if (b.paused_until > now) {
      WaitLocked(std::min(b.paused_until - now, kRecheck));
      continue;
    }
    const absl::Time slot = std::max(now, b.next_slot);
    b.next_slot = slot + absl::Seconds(1.0 / b.rate);
    // Many waiting threads can push a slot seconds ahead: wait for it in slices too.
    while (!stopped_ && (now = clock_.now()) < slot && b.paused_until <= now) {
      WaitLocked(std::min(slot - now, kRecheck));
    }
    if (stopped_) return Stopped();
    if (b.paused_until > now) continue;  // throttled meanwhile: queue again behind the pause
    return absl::OkStatus();
  }
}

absl::Time ZoomRateLimiter::OnThrottled(ZoomCategory category, absl::Time retry_at,
                                        ZoomLimitType type) {
  absl::MutexLock lock(&mutex_);
  const absl::Duration cap = type == ZoomLimitType::kDaily ? kMaxDailyPause : kMaxQpsPause;
  const absl::Time until = std::min(retry_at, clock_.now() + cap);
  Bucket& b = buckets_[static_cast<int>(category)];
  b.paused_until = std::max(b.paused_until, until);
  b.next_slot = std::max(b.next_slot, b.paused_until);
  b.rate = std::max(1.0, b.rate * 0.75);
  b.successes_since_throttle = 0;
  return b.paused_until;
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

absl::Status ZoomRateLimiter::Wait(absl::Duration d) {
  absl::MutexLock lock(&mutex_);
  const absl::Time end = clock_.now() + d;
  for (absl::Time now = clock_.now(); !stopped_ && now < end; now = clock_.now()) {
    WaitLocked(std::min(end - now, kRecheck));
  }
  return stopped_ ? Stopped() : absl::OkStatus();
}

void ZoomRateLimiter::Stop() {
  absl::MutexLock lock(&mutex_);
  stopped_ = true;
}

}  // namespace zarc::fetcher

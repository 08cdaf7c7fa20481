#include "services/fetcher/rate_limiter.h"

#include <vector>

#include "gtest/gtest.h"

namespace zarc::fetcher {
namespace {

// A fake clock: sleeping advances time, so the test runs instantly and deterministically.
struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1000);
  ZoomRateLimiter::Clock clock() {
    return {.now = [this] { return now; }, .sleep = [this](absl::Duration d) { now += d; }};
  }
};

int MaxInAnySecond(const std::vector<absl::Time>& times) {
  int best = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    int n = 0;
    for (size_t j = i; j < times.size() && times[j] < times[i] + absl::Seconds(1); ++j) ++n;
    best = std::max(best, n);
  }
  return best;
}

TEST(ZoomRateLimiterTest, NeverMoreThanTheLimitInAnySecond) {
  FakeClock fake;
  ZoomRateLimiter limiter({.light_per_second = 30, .medium_per_second = 20, .heavy_per_second = 10},
                          fake.clock());
  std::vector<absl::Time> sent;
  for (int i = 0; i < 200; ++i) {
    limiter.Acquire(ZoomCategory::kMedium);
    sent.push_back(fake.now);
  }
  EXPECT_LE(MaxInAnySecond(sent), 20);
  EXPECT_GE(MaxInAnySecond(sent), 19);
  EXPECT_NEAR(absl::ToDoubleSeconds(sent.back() - sent.front()), 199.0 / 20, 0.01);
}

TEST(ZoomRateLimiterTest, ThrottlingPausesUntilRetryAfterAndSlowsDown) {
  FakeClock fake;
  ZoomRateLimiter limiter({}, fake.clock());
  limiter.Acquire(ZoomCategory::kLight);
  const absl::Time retry_at = fake.now + absl::Seconds(5);
  limiter.OnThrottled(ZoomCategory::kLight, retry_at);
  limiter.Acquire(ZoomCategory::kLight);
  EXPECT_GE(fake.now, retry_at);
  EXPECT_LT(limiter.CurrentRate(ZoomCategory::kLight), 30);
  // Other categories are not affected.
  const absl::Time before = fake.now;
  limiter.Acquire(ZoomCategory::kHeavy);
  EXPECT_LT(fake.now - before, absl::Seconds(1));
  for (int i = 0; i < 1000; ++i) limiter.OnSuccess(ZoomCategory::kLight);
  EXPECT_DOUBLE_EQ(limiter.CurrentRate(ZoomCategory::kLight), 30);
}

}  // namespace
}  // namespace zarc::fetcher

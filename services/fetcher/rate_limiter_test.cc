#include "services/fetcher/rate_limiter.h"

#include <thread>
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
    ASSERT_TRUE(limiter.Acquire(ZoomCategory::kMedium).ok());
    sent.push_back(fake.now);
  }
  EXPECT_LE(MaxInAnySecond(sent), 20);
  EXPECT_GE(MaxInAnySecond(sent), 19);
  EXPECT_NEAR(absl::ToDoubleSeconds(sent.back() - sent.front()), 199.0 / 20, 0.01);
}

TEST(ZoomRateLimiterTest, ThrottlingPausesUntilRetryAfterAndSlowsDown) {
  FakeClock fake;
  ZoomRateLimiter limiter({}, fake.clock());
  ASSERT_TRUE(limiter.Acquire(ZoomCategory::kLight).ok());
  const absl::Time retry_at = fake.now + absl::Seconds(5);
  limiter.OnThrottled(ZoomCategory::kLight, retry_at);
  ASSERT_TRUE(limiter.Acquire(ZoomCategory::kLight).ok());
  EXPECT_GE(fake.now, retry_at);
  EXPECT_LT(limiter.CurrentRate(ZoomCategory::kLight), 30);
  // Other categories are not affected.
  const absl::Time before = fake.now;
  ASSERT_TRUE(limiter.Acquire(ZoomCategory::kHeavy).ok());
  EXPECT_LT(fake.now - before, absl::Seconds(1));
  for (int i = 0; i < 1000; ++i) limiter.OnSuccess(ZoomCategory::kLight);
  EXPECT_DOUBLE_EQ(limiter.CurrentRate(ZoomCategory::kLight), 30);
}

TEST(ZoomRateLimiterTest, RetryAfterIsCappedForQpsAndDailyLimits) {
  FakeClock fake;
  ZoomRateLimiter limiter({}, fake.clock());
  const absl::Time start = fake.now;
  // A QPS 429 that asks for a day: the category resumes after at most a minute.
  EXPECT_EQ(limiter.OnThrottled(ZoomCategory::kMedium, start + absl::Hours(24)),
            start + ZoomRateLimiter::kMaxQpsPause);
  ASSERT_TRUE(limiter.Acquire(ZoomCategory::kMedium).ok());
  EXPECT_LE(fake.now - start, ZoomRateLimiter::kMaxQpsPause + absl::Seconds(1));
  // A daily limit pauses the category until the date Zoom names, but never beyond a day.
  const absl::Time reset = fake.now + absl::Hours(5);
  EXPECT_EQ(limiter.OnThrottled(ZoomCategory::kHeavy, reset, ZoomLimitType::kDaily), reset);
  ASSERT_TRUE(limiter.Acquire(ZoomCategory::kHeavy).ok());
  EXPECT_GE(fake.now, reset);
  EXPECT_EQ(limiter.OnThrottled(ZoomCategory::kHeavy, fake.now + absl::Hours(24 * 365),
                                ZoomLimitType::kDaily),
            fake.now + ZoomRateLimiter::kMaxDailyPause);
}

// Real time: the waits below are what Stop() must cut short.
TEST(ZoomRateLimiterTest, StopEndsAWaitForAHugeRetryAfterWithinASecond) {
  for (ZoomLimitType type : {ZoomLimitType::kQps, ZoomLimitType::kDaily}) {
    ZoomRateLimiter limiter({});
    limiter.OnThrottled(ZoomCategory::kMedium, absl::Now() + absl::Hours(10), type);
    absl::Status result;
    absl::Time returned;
    std::thread waiter([&] {
      result = limiter.Acquire(ZoomCategory::kMedium);
      returned = absl::Now();
    });
    absl::SleepFor(absl::Milliseconds(300));
    const absl::Time stop = absl::Now();
    limiter.Stop();
    waiter.join();
    EXPECT_EQ(result.code(), absl::StatusCode::kCancelled);
    EXPECT_LT(returned - stop, absl::Milliseconds(1100));
    EXPECT_EQ(limiter.Acquire(ZoomCategory::kLight).code(), absl::StatusCode::kCancelled);
    EXPECT_EQ(limiter.Wait(absl::Hours(1)).code(), absl::StatusCode::kCancelled);
  }
}

}  // namespace
}  // namespace zarc::fetcher

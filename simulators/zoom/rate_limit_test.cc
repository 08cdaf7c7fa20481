#include "simulators/zoom/rate_limit.h"

#include "gtest/gtest.h"

namespace zarc::zoom_sim {
namespace {

TEST(RateLimitTest, PlansFollowThePublishedTable) {
  RateLimits pro = *LimitsForPlan("pro");
  EXPECT_EQ(pro[Category::kLight].per_second, 30);
  EXPECT_EQ(pro[Category::kMedium].per_second, 20);
  EXPECT_EQ(pro[Category::kHeavy].per_second, 10);
  RateLimits business = *LimitsForPlan("Business");
  EXPECT_EQ(business[Category::kLight].per_second, 80);
  EXPECT_EQ(business[Category::kMedium].per_second, 60);
  EXPECT_EQ(business[Category::kHeavy].per_second, 40);
  EXPECT_EQ(business[Category::kHeavy].per_day, 60000);
  EXPECT_FALSE(LimitsForPlan("enterprise-plus").ok());
}

TEST(RateLimitTest, RefusesBeyondThePerSecondLimitAndRecoversNextSecond) {
  RateLimits limits;
  limits[Category::kMedium] = {3, 0};
  RateLimiter limiter(limits);
  const absl::Time t0 = absl::FromUnixMillis(1709546400100);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit(Category::kMedium, t0).allowed);
  RateDecision refused = limiter.Admit(Category::kMedium, t0 + absl::Milliseconds(800));
  EXPECT_FALSE(refused.allowed);
  EXPECT_FALSE(refused.daily);
  EXPECT_EQ(refused.limit, 3);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after, "1");
  // Light is a separate bucket.
  EXPECT_TRUE(limiter.Admit(Category::kLight, t0).allowed);
  EXPECT_TRUE(limiter.Admit(Category::kMedium, t0 + absl::Seconds(1)).allowed);
  const CategoryStats stats = limiter.Stats(Category::kMedium);
  EXPECT_EQ(stats.requests, 5);
  EXPECT_EQ(stats.accepted, 4);
  EXPECT_EQ(stats.rejected_qps, 1);
  EXPECT_EQ(stats.max_requests_in_second, 4);
  EXPECT_EQ(stats.max_accepted_in_second, 3);
}

TEST(RateLimitTest, DailyLimitAnswersWithNextUtcMidnight) {
  RateLimits limits;
  limits[Category::kHeavy] = {0, 2};
  RateLimiter limiter(limits);
  const absl::Time t0 = absl::FromUnixSeconds(1709546400);  // 2024-03-04T10:00:00Z
  EXPECT_TRUE(limiter.Admit(Category::kHeavy, t0).allowed);
  EXPECT_TRUE(limiter.Admit(Category::kHeavy, t0 + absl::Hours(1)).allowed);
  RateDecision refused = limiter.Admit(Category::kHeavy, t0 + absl::Hours(2));
  EXPECT_FALSE(refused.allowed);
  EXPECT_TRUE(refused.daily);
  EXPECT_EQ(refused.limit, 2);
  EXPECT_EQ(refused.retry_after, "2024-03-05T00:00:00Z");
  EXPECT_TRUE(limiter.Admit(Category::kHeavy, t0 + absl::Hours(14)).allowed);
  EXPECT_EQ(limiter.Stats(Category::kHeavy).rejected_daily, 1);
}

TEST(RateLimitTest, ZeroMeansUnlimited) {
  RateLimiter limiter(RateLimits{});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.Admit(Category::kLight, absl::UnixEpoch()).allowed);
  }
  EXPECT_EQ(limiter.Stats(Category::kLight).max_accepted_in_second, 1000);
}

}  // namespace
}  // namespace zarc::zoom_sim

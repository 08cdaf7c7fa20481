#include "simulators/zoom/faults.h"

#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace zarc::zoom_sim {
namespace {

TEST(FaultsTest, EveryNthFiresExactlyOnThoseRequests) {
  FaultInjector injector(1);
  FaultConfig config;
  config.error.every_n = 3;
  injector.Set(config);
  std::vector<bool> fired;
  for (int i = 0; i < 9; ++i) fired.push_back(injector.NextError());
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, false, false, true, false, false, true}));
  EXPECT_EQ(injector.stats().errors, 3);
  EXPECT_FALSE(injector.NextTruncate());
  EXPECT_FALSE(injector.NextHtml());
  EXPECT_EQ(injector.NextSlowMs(), 0);
}

TEST(FaultsTest, ProbabilityIsDeterministicForASeedAndRoughlyRight) {
  FaultConfig config;
  config.truncate.probability = 0.25;
  auto run = [&](uint64_t seed) {
    FaultInjector injector(seed);
    injector.Set(config);
    std::vector<bool> fired;
    for (int i = 0; i < 2000; ++i) fired.push_back(injector.NextTruncate());
    return fired;
  };
  const std::vector<bool> a = run(5);
  EXPECT_EQ(a, run(5));
  EXPECT_NE(a, run(6));
  const long hits = std::count(a.begin(), a.end(), true);
  EXPECT_GT(hits, 400);
  EXPECT_LT(hits, 600);
}

TEST(FaultsTest, ThrottleIsItsOwnRule) {
  FaultInjector injector(1);
  absl::StatusOr<FaultConfig> config = ParseFaultConfigJson(R"({"throttle": {"every_n": 2}})", {});
  ASSERT_TRUE(config.ok()) << config.status();
  injector.Set(*config);
  EXPECT_FALSE(injector.NextThrottle());
  EXPECT_TRUE(injector.NextThrottle());
  EXPECT_FALSE(injector.NextError());
  EXPECT_EQ(injector.stats().throttled, 1);
  EXPECT_EQ(injector.stats().errors, 0);
}

TEST(FaultsTest, SlowAnswersTheConfiguredDelay) {
  FaultInjector injector(1);
  FaultConfig config;
  config.slow.every_n = 2;
  config.slow_ms = 150;
  injector.Set(config);
  EXPECT_EQ(injector.NextSlowMs(), 0);
  EXPECT_EQ(injector.NextSlowMs(), 150);
  EXPECT_EQ(injector.stats().slow, 1);
}

TEST(FaultsTest, ParsesJsonOverABaseAndRejectsUnknownFields) {
  FaultConfig base;
  base.html.every_n = 4;
  absl::StatusOr<FaultConfig> config = ParseFaultConfigJson(
      R"({"error": {"probability": 0.5}, "error_status": 503, "slow_ms": 20,
          "slow": {"every_n": 1}, "truncate_fraction": 0.25})",
      base);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->error.probability, 0.5);
  EXPECT_EQ(config->error_status, 503);
  EXPECT_EQ(config->slow_ms, 20);
  EXPECT_EQ(config->html.every_n, 4);
  EXPECT_EQ(config->truncate_fraction, 0.25);

  absl::StatusOr<FaultConfig> bad = ParseFaultConfigJson(R"({"explode": true})", base);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "explode"));
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "truncate_fraction"));
  EXPECT_FALSE(ParseFaultConfigJson(R"({"error_status": 404})", base).ok());
  EXPECT_FALSE(ParseFaultConfigJson(R"({"html": {"probability": 2}})", base).ok());
  EXPECT_FALSE(ParseFaultConfigJson("[1]", base).ok());
}

}  // namespace
}  // namespace zarc::zoom_sim

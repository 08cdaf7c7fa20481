#include "cli/progress.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::cli {
namespace {

using ::testing::HasSubstr;

TEST(ProgressTest, TerminalLineShowsBarCountsRateAndEta) {
  SyncSnapshot s{.found = 200, .captured = 50, .failed = 0, .delivered = 30,
                 .elapsed = absl::Seconds(10)};
  const std::string line = ProgressLine(s, true, 20);
  EXPECT_THAT(line, HasSubstr("[#####...............]  25%"));
  EXPECT_THAT(line, HasSubstr("50/200 meetings captured"));
  EXPECT_THAT(line, HasSubstr("30 delivered"));
  EXPECT_THAT(line, HasSubstr("5.0/s"));
  EXPECT_THAT(line, HasSubstr("ETA 30s"));
}

TEST(ProgressTest, PlainLineIsOneKeyValueLine) {
  SyncSnapshot s{.found = 3, .captured = 3, .delivered = -1, .elapsed = absl::Seconds(1), .done = true};
  const std::string line = ProgressLine(s, false);
  EXPECT_EQ(line, "sync found=3 captured=3 failed=0 delivered=? rate=3.0/s eta=0s done");
}

TEST(ProgressTest, DatesAreDaysOrRfc3339) {
  absl::Time t;
  ASSERT_TRUE(ParseDate("2024-03-04", &t));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilDay(2024, 3, 4), absl::UTCTimeZone()));
  ASSERT_TRUE(ParseDate("2024-03-04T10:00:00Z", &t));
  EXPECT_FALSE(ParseDate("yesterday", &t));
}

}  // namespace
}  // namespace zarc::cli

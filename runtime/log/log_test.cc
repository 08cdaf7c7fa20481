#include "runtime/log/log.h"

#include "gtest/gtest.h"

namespace zarc::log {
namespace {

TEST(LogTest, JsonLineEscapesValuesAndStaysOneLine) {
  std::string line = FormatLine(Format::kJson, Level::kWarn, "fetcher", "download refused",
                                {{"url", "https://x/\"a\"\nb"}, {"attempt", 3}}, "T");
  EXPECT_EQ(line,
            "{\"ts\":\"T\",\"level\":\"warn\",\"component\":\"fetcher\",\"msg\":\"download "
            "refused\",\"url\":\"https://x/\\\"a\\\"\\nb\",\"attempt\":\"3\"}\n");
}

TEST(LogTest, TextLineQuotesValuesWithSpaces) {
  std::string line = FormatLine(Format::kText, Level::kInfo, "kafka", "flushed",
                                {{"topic", "zarc.meetings"}, {"note", "two words"}}, "T");
  EXPECT_EQ(line, "T info [kafka] flushed topic=zarc.meetings note=\"two words\"\n");
}

TEST(LogTest, ParseLevelNamesWhatIsAllowed) {
  Level level;
  EXPECT_TRUE(ParseLevel("WARN", &level).ok());
  EXPECT_EQ(level, Level::kWarn);
  absl::Status bad = ParseLevel("loud", &level);
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("loud"), std::string::npos);
  EXPECT_NE(bad.message().find("debug, info, warn, error"), std::string::npos);
}

}  // namespace
}  // namespace zarc::log

#include "runtime/build_info/build_info.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST(BuildInfoTest, NamesVersionCommitAndDate) {
  const BuildInfo& info = GetBuildInfo();
  EXPECT_THAT(std::string(info.version), MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  // Built from this repository's git checkout: a 40-digit commit and the commit's date.
  EXPECT_THAT(std::string(info.git_sha), MatchesRegex("[0-9a-f]{40}(-dirty)?"));
  EXPECT_THAT(std::string(info.date), MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T.*"));
  const std::string line = VersionLine("zarc");
  EXPECT_THAT(line, HasSubstr(absl::StrCat("zarc ", info.version, "\n")));
  EXPECT_THAT(line, HasSubstr(absl::StrCat("git commit: ", info.git_sha, "\n")));
  EXPECT_THAT(line, HasSubstr(absl::StrCat("build date: ", info.date, "\n")));
}

}  // namespace
}  // namespace zarc

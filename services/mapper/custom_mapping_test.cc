#include "services/mapper/custom_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/testing/subprocess.h"

namespace zarc::mapper {
namespace {

using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Optional;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

TEST(CustomMappingTest, ParsesRowsAndReportsMalformedOnesByLineNumber) {
  absl::StatusOr<MappingTable> table = ParseCustomMapping(
      "# who goes where\n"
      "zoom_email,m365_address\n"
      "Jane.Doe@Zoom-Alias.test,jane.doe@corp.test\n"
      "\n"
      "only-one-field@x.test\n"
      "not an address,jane@corp.test\n"
      "jane.doe@zoom-alias.test,other@corp.test\n"
      "\"quoted@zoom.test\" , \"q@corp.test\"\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entries.size(), 2u);
  EXPECT_EQ(table->entries["jane.doe@zoom-alias.test"], "jane.doe@corp.test");
  EXPECT_EQ(table->entries["quoted@zoom.test"], "q@corp.test");
  ASSERT_EQ(table->problems.size(), 3u);
  EXPECT_EQ(table->problems[0].line, 5);
  EXPECT_THAT(table->problems[0].message, HasSubstr("expected 2 fields"));
  EXPECT_EQ(table->problems[1].line, 6);
  EXPECT_THAT(table->problems[1].message, HasSubstr("not an e-mail address"));
  EXPECT_EQ(table->problems[2].line, 7);
  EXPECT_THAT(table->problems[2].message, HasSubstr("already mapped on line 3"));
}

TEST(CustomMappingTest, AFileWithoutTheHeaderIsRefused) {
  absl::StatusOr<MappingTable> table = ParseCustomMapping("a@x.test,b@y.test\n");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("zoom_email,m365_address"));
}

TEST(CustomMappingTest, ReloadsAChangedFileWithoutRestartAndKeepsRowsOnAReloadError) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/mapping.csv";
  WriteFile(path, "zoom_email,m365_address\nalias@zoom.test,first@corp.test\n");
  absl::Time now = absl::FromUnixSeconds(1000);
  absl::StatusOr<std::unique_ptr<CustomMapping>> mapping = CustomMapping::Open(
      {.path = path, .check_interval = absl::Seconds(30), .now = [&] { return now; }});
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  EXPECT_THAT((*mapping)->Lookup("ALIAS@zoom.test"), Optional(std::string("first@corp.test")));

  WriteFile(path, "zoom_email,m365_address\nalias@zoom.test,second.address@corp.test\n");
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"), Optional(std::string("first@corp.test")))
      << "not checked again before the interval";
  now += absl::Seconds(31);
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"),
              Optional(std::string("second.address@corp.test")));
  EXPECT_EQ((*mapping)->loads(), 2);

  WriteFile(path, "this file lost its header\n");
  now += absl::Seconds(31);
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"),
              Optional(std::string("second.address@corp.test")));
  EXPECT_FALSE((*mapping)->ReloadIfChanged().ok());
  EXPECT_EQ((*mapping)->loads(), 2);
}

TEST(CustomMappingTest, AMissingFileStopsStartUp) {
  absl::StatusOr<std::unique_ptr<CustomMapping>> mapping =
      CustomMapping::Open({.path = "/nonexistent/zarc-mapping.csv"});
  ASSERT_FALSE(mapping.ok());
  EXPECT_THAT(mapping.status().message(), HasSubstr("/nonexistent/zarc-mapping.csv"));
}

}  // namespace
}  // namespace zarc::mapper

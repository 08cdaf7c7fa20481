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

TEST(CustomMappingTest, ReadsRfc4180QuotingAsSpreadsheetsWriteIt) {
  absl::StatusOr<MappingTable> table = ParseCustomMapping(
      "zoom_email,m365_address\r\n"
      "\"ann@zoom.test\",\"ann@corp.test\"\r\n"
      "\"bob@zoom.test\",\"Bob, Builder <bob@corp.test>\"\r\n"
      "\"cy\"\"x@zoom.test\",cy@corp.test\r\n"
      "\"dee@zoom.test\",\"dee@corp.test\r\nmore\"\r\n"
      "eve@zoom.test,eve@corp.test\r\n"
      "\"fay@zoom.test\"x,fay@corp.test\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entries, (std::map<std::string, std::string>{{"ann@zoom.test", "ann@corp.test"},
                                                                {"eve@zoom.test", "eve@corp.test"}}));
  ASSERT_EQ(table->problems.size(), 4u);
  // A comma inside quotes belongs to the field: two fields, the second not an address.
  EXPECT_EQ(table->problems[0].line, 3);
  EXPECT_THAT(table->problems[0].message,
              HasSubstr("m365_address \"Bob, Builder <bob@corp.test>\" is not an e-mail address"));
  // A doubled quote is one quote of the value.
  EXPECT_EQ(table->problems[1].line, 4);
  EXPECT_THAT(table->problems[1].message, HasSubstr("zoom_email \"cy\"x@zoom.test\""));
  // A quoted line break keeps the row together, and later rows keep their line numbers.
  EXPECT_EQ(table->problems[2].line, 5);
  EXPECT_THAT(table->problems[2].message, HasSubstr("dee@corp.test"));
  EXPECT_EQ(table->problems[3].line, 8);
  EXPECT_THAT(table->problems[3].message, HasSubstr("after the closing quote"));
  EXPECT_THAT(table->problems[3].message, HasSubstr("\"fay@zoom.test\"x"));
  EXPECT_FALSE(table->incomplete);
}

TEST(CustomMappingTest, SemicolonSeparatorIsTakenFromTheHeaderAndTheBomIsSkipped) {
  absl::StatusOr<MappingTable> table = ParseCustomMapping(
      "\xEF\xBB\xBFzoom_email;m365_address\r\n"
      "Ann@Zoom.test;ann@corp.test\r\n"
      "\"bob@zoom.test\";\"bob@corp.test\"\r\n"
      "cy@zoom.test,cy@corp.test\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entries, (std::map<std::string, std::string>{{"ann@zoom.test", "ann@corp.test"},
                                                                {"bob@zoom.test", "bob@corp.test"}}));
  ASSERT_EQ(table->problems.size(), 1u);
  EXPECT_EQ(table->problems[0].line, 4);
  EXPECT_THAT(table->problems[0].message, HasSubstr("expected 2 fields (zoom_email;m365_address)"));
  EXPECT_THAT(table->problems[0].message, HasSubstr("\"cy@zoom.test,cy@corp.test\""));
}

TEST(CustomMappingTest, AnUnclosedQuoteIsReportedAndMarksTheFileIncomplete) {
  absl::StatusOr<MappingTable> table =
      ParseCustomMapping("zoom_email,m365_address\nann@zoom.test,ann@corp.test\n\"bob@zoom.test,bo");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->entries.size(), 1u);
  ASSERT_EQ(table->problems.size(), 1u);
  EXPECT_EQ(table->problems[0].line, 3);
  EXPECT_THAT(table->problems[0].message, HasSubstr("never closed"));
  EXPECT_TRUE(table->incomplete);
  // No final line break but the last row parses: complete.
  table = ParseCustomMapping("zoom_email,m365_address\nann@zoom.test,ann@corp.test");
  ASSERT_TRUE(table.ok());
  EXPECT_FALSE(table->incomplete);
}

TEST(CustomMappingTest, AReloadNeverActsOnAHalfWrittenFile) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/mapping.csv";
  WriteFile(path, "zoom_email,m365_address\nalias@zoom.test,first@corp.test\n");
  absl::Time now = absl::FromUnixSeconds(1000);
  std::function<void()> during_read;
  absl::StatusOr<std::unique_ptr<CustomMapping>> mapping = CustomMapping::Open(
      {.path = path,
       .check_interval = absl::Seconds(30),
       .now = [&] { return now; },
       .during_read_for_testing = [&] {
         if (during_read) during_read();
       }});
  ASSERT_TRUE(mapping.ok()) << mapping.status();

  // Caught mid-row: the last line has no line break and does not parse.
  WriteFile(path,
            "zoom_email,m365_address\nalias@zoom.test,second@corp.test\nbob@zoom.test,bob");
  absl::Status s = (*mapping)->ReloadIfChanged();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("half-written"));
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"), Optional(std::string("first@corp.test")));
  EXPECT_EQ((*mapping)->loads(), 1);

  // Written to while being read: the size changes between the read and the check.
  during_read = [&] {
    std::ofstream(path, std::ios::binary | std::ios::app) << "@corp.test\ncy@zoom.test,cy@corp.test\n";
    during_read = nullptr;
  };
  s = (*mapping)->ReloadIfChanged();
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("changed while it was read"));
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"), Optional(std::string("first@corp.test")));

  // The next check finds the finished file.
  now += absl::Seconds(31);
  EXPECT_THAT((*mapping)->Lookup("alias@zoom.test"), Optional(std::string("second@corp.test")));
  EXPECT_THAT((*mapping)->Lookup("bob@zoom.test"), Optional(std::string("bob@corp.test")));
  EXPECT_THAT((*mapping)->Lookup("cy@zoom.test"), Optional(std::string("cy@corp.test")));
  EXPECT_EQ((*mapping)->loads(), 2);
  EXPECT_TRUE((*mapping)->problems().empty());
}

}  // namespace
}  // namespace zarc::mapper

// Golden tests: fixed meetings under services/converter/testdata/<case>/ (meeting.json is a
// JSON-encoded MeetingCaptured, files/ holds the artifacts by blob name, options.json the render
// options, expected.json what an independent parser must find) rendered and compared byte for
// byte with <case>/expected.eml. ZARC_UPDATE_GOLDENS=1 rewrites the .eml files.

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"
#include "services/converter/renderer.h"
#include "services/converter/test/render_test_support.h"

namespace zarc::converter {
namespace {

using ::zarc::converter::testing::ReadFile;
using ::zarc::converter::testing::WriteFile;

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string CaseDir() const {
    return zarc::testing::SourcePath(absl::StrCat("services/converter/testdata/", GetParam()));
  }
};

TEST_P(GoldenTest, RendersTheGoldenMessageAndAnIndependentParserAgrees) {
  const std::string dir = CaseDir();
  absl::StatusOr<std::string> json = ReadFile(dir + "/meeting.json");
  ASSERT_TRUE(json.ok()) << json.status();
  v1::MeetingCaptured event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &event).ok());

  RenderOptions options;
  absl::StatusOr<std::string> options_json = ReadFile(dir + "/options.json");
  ASSERT_TRUE(options_json.ok());
  google::protobuf::Struct options_struct;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*options_json, &options_struct).ok());
  if (options_struct.fields().contains("message_size_limit")) {
    options.message_size_limit =
        static_cast<uint64_t>(options_struct.fields().at("message_size_limit").number_value());
  }

  const ArtifactOpener opener = testing::DirectoryOpener(dir + "/files");
  io::StringSink first;
  absl::StatusOr<RenderedMessage> rendered = RenderMessage(event, options, opener, first);
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  io::StringSink second;
  ASSERT_TRUE(RenderMessage(event, options, opener, second).ok());
  ASSERT_EQ(first.data(), second.data()) << "rendering the same input twice differs";
  EXPECT_EQ(rendered->size, first.data().size());

  const std::string golden_path = dir + "/expected.eml";
  const char* update = std::getenv("ZARC_UPDATE_GOLDENS");
  if (update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(WriteFile(golden_path, first.data()).ok());
  }
  absl::StatusOr<std::string> golden = ReadFile(golden_path);
  ASSERT_TRUE(golden.ok()) << golden.status() << " (run with ZARC_UPDATE_GOLDENS=1 to create it)";
  // Compared as a whole, but reported at the first differing line so a failure is readable.
  if (*golden != first.data()) {
    size_t at = 0;
    while (at < golden->size() && at < first.data().size() && (*golden)[at] == first.data()[at]) {
      ++at;
    }
    const size_t line_start =
        first.data().rfind('\n', at) == std::string::npos ? 0 : first.data().rfind('\n', at) + 1;
    FAIL() << "rendered message differs from " << golden_path << " at byte " << at
           << "; rendered line: " << first.data().substr(line_start, 120)
           << "\n(ZARC_UPDATE_GOLDENS=1 regenerates after a deliberate change)";
  }

  zarc::testing::TempDir tmp;
  absl::StatusOr<std::string> expected = ReadFile(dir + "/expected.json");
  ASSERT_TRUE(expected.ok());
  ASSERT_TRUE(WriteFile(tmp.path() + "/manifest.json",
                        absl::StrCat("[{\"eml\": ", testing::JsonString(golden_path),
                                     ", \"expected\": ", *expected, "}]"))
                  .ok());
  absl::StatusOr<testing::VerifyResult> verdict =
      testing::RunVerifier(tmp.path() + "/manifest.json");
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->exit_code, 0) << verdict->output;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest,
                         ::testing::Values("basic", "unicode_archive", "broken_files"));

}  // namespace
}  // namespace zarc::converter

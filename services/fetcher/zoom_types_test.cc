// Malformed, truncated and mistyped JSON from Zoom: an error that names the document, or a
// result that drops nothing it could read; never a crash.
#include "services/fetcher/zoom_types.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kListing = R"({"from":"2024-03-01","to":"2024-03-31","page_size":300,
  "next_page_token":"tok","meetings":[{"uuid":"u1==","id":1,"topic":"A","start_time":"2024-03-05T14:00:00Z",
  "recording_files":[{"id":"f1","file_type":"MP4","file_size":10,"download_url":"https://zoom.us/rec/1",
  "status":"completed"}]},{"uuid":"u2==","id":2,"topic":"B","start_time":"2024-03-06T14:00:00Z",
  "recording_files":[]}]})";
constexpr absl::string_view kParticipants = R"({"next_page_token":"","participants":[
  {"id":"p1","name":"Alice","user_email":"alice@example.com","join_time":"2024-03-05T14:00:00Z",
  "leave_time":"2024-03-05T14:30:00Z"},{"name":"Guest","user_email":""}]})";
constexpr absl::string_view kPastMeeting = R"({"uuid":"u1==","id":1,"topic":"A",
  "start_time":"2024-03-05T14:00:00Z","end_time":"2024-03-05T14:30:00Z","host_id":"h",
  "user_email":"host@example.com","user_name":"Host"})";

TEST(ZoomTypesTest, EveryTruncationOfAListingIsAnErrorNamingIt) {
  for (size_t n = 0; n < kListing.size(); ++n) {
    absl::StatusOr<ZoomPage<ZoomMeeting>> page = ParseRecordingsPage(kListing.substr(0, n));
    ASSERT_FALSE(page.ok()) << "accepted a listing cut at " << n << " bytes";
    EXPECT_THAT(page.status().message(), HasSubstr("recordings")) << page.status();
  }
  absl::StatusOr<ZoomPage<ZoomMeeting>> whole = ParseRecordingsPage(kListing);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_EQ(whole->items.size(), 2u);
  EXPECT_EQ(whole->items[0].files.size(), 1u);
}

TEST(ZoomTypesTest, TruncatedParticipantsAndPastMeetingAreErrorsNamingThem) {
  for (size_t n = 0; n < kParticipants.size(); ++n) {
    absl::StatusOr<ZoomPage<ZoomParticipantRow>> page = ParseParticipantsPage(kParticipants.substr(0, n));
    ASSERT_FALSE(page.ok()) << "accepted participants cut at " << n << " bytes";
    EXPECT_THAT(page.status().message(), HasSubstr("participants")) << page.status();
  }
  EXPECT_EQ(ParseParticipantsPage(kParticipants)->items.size(), 2u);
  for (size_t n = 0; n < kPastMeeting.size(); ++n) {
    absl::StatusOr<ZoomPastMeeting> m = ParsePastMeeting(kPastMeeting.substr(0, n));
    ASSERT_FALSE(m.ok()) << "accepted a past meeting cut at " << n << " bytes";
    EXPECT_THAT(m.status().message(), HasSubstr("meeting")) << m.status();
  }
  EXPECT_TRUE(ParsePastMeeting(kPastMeeting).ok());
}

TEST(ZoomTypesTest, MistypedFieldsAndHostileShapesNeverCrash) {
  // Wrong types read as absent; what is well-formed is kept.
  absl::StatusOr<ZoomPage<ZoomMeeting>> odd = ParseRecordingsPage(
      R"({"meetings":[{"uuid":7,"id":"x","topic":["t"],"recording_files":{"a":1}},
          {"uuid":"ok==","id":3,"recording_files":[5,"s",null,{"id":"f","file_size":"big"}]}]})");
  ASSERT_TRUE(odd.ok()) << odd.status();
  ASSERT_EQ(odd->items.size(), 2u);
  EXPECT_EQ(odd->items[0].uuid, "7");  // a number where a string belongs is read as its text
  EXPECT_EQ(odd->items[1].uuid, "ok==");
  absl::StatusOr<ZoomPage<ZoomMeeting>> not_a_list = ParseRecordingsPage(R"({"meetings":5})");
  EXPECT_TRUE(!not_a_list.ok() || not_a_list->items.empty());
  for (absl::string_view bad : {absl::string_view("[]"), absl::string_view("null"),
                                absl::string_view("\"s\""), absl::string_view("{\"a\":1}x"),
                                absl::string_view("{\"meetings\":[\"\xff\xfe\"]}")}) {
    (void)ParseRecordingsPage(bad);
    (void)ParseArchivePage(bad);
    (void)ParseParticipantsPage(bad);
    (void)ParsePastMeeting(bad);
    (void)ParseUsersPage(bad);
  }
  EXPECT_FALSE(ParseRecordingsPage("[]").ok());
  // Deep nesting (a parser that recurses without a bound would overflow the stack).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  absl::StatusOr<ZoomPage<ZoomMeeting>> nested = ParseRecordingsPage(deep);
  EXPECT_FALSE(nested.ok());
  const std::string deep_field = "{\"meetings\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  (void)ParseRecordingsPage(deep_field);
}

}  // namespace
}  // namespace zarc::fetcher

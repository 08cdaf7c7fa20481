#include "services/fetcher/meeting_assembly.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::fetcher {
namespace {

ZoomParticipantRow Row(std::string id, std::string name, std::string email, int join, int leave) {
  ZoomParticipantRow r;
  r.id = std::move(id);
  r.name = std::move(name);
  r.email = std::move(email);
  r.join_time = absl::FromUnixSeconds(join);
  r.leave_time = absl::FromUnixSeconds(leave);
  return r;
}

TEST(MergeParticipantsTest, RejoinsBecomeIntervalsOfOnePerson) {
  std::vector<ZoomParticipantRow> rows = {
      Row("a1", "Ana", "Ana@Corp.example", 100, 200),
      Row("", "Guest Bob", "", 110, 300),
      Row("a1", "Ana", "ana@corp.example", 250, 400),
      Row("", "Guest Carol", "", 120, 130),
      Row("x9", "Ext", "ext@partner.example", 90, 95),
  };
  std::vector<zarc::v1::Participant> people = MergeParticipants(rows);
  ASSERT_EQ(people.size(), 4u);
  EXPECT_EQ(people[0].email(), "ext@partner.example");  // ordered by first join
  EXPECT_EQ(people[1].email(), "ana@corp.example");
  ASSERT_EQ(people[1].intervals_size(), 2);
  EXPECT_EQ(people[1].intervals(0).join_time().seconds(), 100);
  EXPECT_EQ(people[1].intervals(1).leave_time().seconds(), 400);
  EXPECT_EQ(people[2].name(), "Guest Bob");
  EXPECT_EQ(people[2].email(), "");
  EXPECT_EQ(people[3].name(), "Guest Carol");
}

TEST(AttachmentNameTest, NamesAreUniqueAndSafe) {
  std::vector<std::string> used;
  ZoomFile mp4{.file_type = "MP4", .file_extension = "MP4", .recording_type = "shared_screen_with_speaker_view"};
  ZoomFile chat{.file_type = "CHAT", .file_extension = "TXT", .recording_type = "chat_file"};
  ZoomFile cc{.file_type = "CC", .file_extension = "VTT", .recording_type = "closed_caption"};
  EXPECT_EQ(AttachmentName(mp4, used), "video-shared_screen_with_speaker_view.mp4");
  EXPECT_EQ(AttachmentName(mp4, used), "video-shared_screen_with_speaker_view-2.mp4");
  EXPECT_EQ(AttachmentName(chat, used), "chat.txt");
  EXPECT_EQ(AttachmentName(cc, used), "captions-closed_caption.vtt");
  ZoomFile odd{.file_type = "SUMMARY", .file_extension = "", .recording_type = "../../etc"};
  EXPECT_EQ(AttachmentName(odd, used), "summary-.._.._etc.bin");
}

TEST(EncodeMeetingUuidTest, DoubleEncodesOnlyWhereZoomRequires) {
  EXPECT_EQ(EncodeMeetingUuid("/ab//c=="), "%252Fab%252F%252Fc%253D%253D");
  EXPECT_EQ(EncodeMeetingUuid("ab//c"), "ab%252F%252Fc");
  EXPECT_EQ(EncodeMeetingUuid("aB+c/d=="), "aB%2Bc%2Fd%3D%3D");
}

TEST(ZoomTypesTest, ParsesRecordingsWithZoomsInconsistencies) {
  absl::StatusOr<ZoomPage<ZoomMeeting>> page = ParseRecordingsPage(R"({
    "from": "2024-01-01", "to": "2024-01-31", "next_page_token": "t2",
    "meetings": [{"uuid": "u==", "id": 123, "type": 2, "topic": "Q1", "start_time": "2024-01-05T10:00:00Z",
      "duration": "45", "recording_files": [
        {"id": "f1", "file_type": "MP4", "file_size": 1000, "status": "completed", "download_url": "https://zoom.us/rec/download/f1"},
        {"file_type": "CC", "download_url": "https://zoom.us/rec/download/cc1?x=1"},
        {"id": "f3", "file_type": "", "file_size": 0, "status": "processing"}]}]})");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->next_page_token, "t2");
  ASSERT_EQ(page->items.size(), 1u);
  const ZoomMeeting& m = page->items[0];
  EXPECT_EQ(m.duration_minutes, 45);
  EXPECT_EQ(m.start_time, absl::FromUnixSeconds(1704448800));
  ASSERT_EQ(m.files.size(), 3u);
  EXPECT_TRUE(m.files[0].Ready());
  EXPECT_TRUE(m.files[1].Ready());
  EXPECT_FALSE(m.files[2].Ready());
  EXPECT_THAT(m.files[1].StableId(), ::testing::StartsWith("CC-"));
  // The same file listed through another host (or a simulator on another port) is the same file.
  ZoomFile moved = m.files[1];
  moved.download_url = "https://us06web.zoom.us/rec/download/cc1?y=2";
  EXPECT_EQ(moved.StableId(), m.files[1].StableId());
  EXPECT_FALSE(ParseRecordingsPage("<html>").ok());
}

}  // namespace
}  // namespace zarc::fetcher

#include "simulators/zoom/tenant.h"

#include <set>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "simulators/zoom/file_content.h"

namespace zarc::zoom_sim {
namespace {

TenantOptions Options(int meetings) {
  TenantOptions options;
  options.seed = 42;
  options.users = 8;
  options.meetings = meetings;
  options.days = 10;
  return options;
}

bool NonAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

TEST(TenantTest, SameSeedGivesSameTenantAndOtherSeedDiffers) {
  const std::string a = ManifestJson(GenerateTenant(Options(15)));
  EXPECT_EQ(a, ManifestJson(GenerateTenant(Options(15))));
  TenantOptions other = Options(15);
  other.seed = 43;
  EXPECT_NE(a, ManifestJson(GenerateTenant(other)));
}

TEST(TenantTest, GeneratedTenantHasTheHardCases) {
  const Tenant t = GenerateTenant(Options(40));
  ASSERT_EQ(t.meetings.size(), 40u);
  int guests = 0, externals = 0, externals_without_email = 0, rejoins = 0, leading_slash = 0,
      double_slash = 0, non_ascii_names = 0, recurring = 0, multi_line = 0, emoji = 0;
  std::set<int> msg_types;
  std::set<std::string> uuids;
  for (const Meeting& m : t.meetings) {
    uuids.insert(m.uuid);
    leading_slash += m.uuid[0] == '/';
    double_slash += absl::StrContains(m.uuid, "//");
    std::set<std::string> people;
    for (const Participant& p : m.participants) {
      guests += p.id.empty() && p.email.empty();
      externals += !p.internal && !p.id.empty();
      externals_without_email += !p.internal && !p.id.empty() && p.email.empty();
      non_ascii_names += NonAscii(p.name);
      if (!p.id.empty() && !people.insert(p.id).second) ++rejoins;
      if (!p.internal && !p.email.empty()) {
        EXPECT_FALSE(absl::EndsWith(p.email, "@" + t.domain)) << p.email;
      }
    }
    for (const ChatMessage& c : m.chat) {
      msg_types.insert(c.msg_type);
      multi_line += absl::StrContains(c.text, "\n");
      emoji += absl::StrContains(c.text, "\xF0\x9F");  // 4-byte UTF-8: emoji plane
    }
    for (const Meeting& other : t.meetings) {
      recurring += &other != &m && other.id == m.id;
    }
  }
  EXPECT_EQ(uuids.size(), t.meetings.size());
  EXPECT_GT(guests, 0);
  EXPECT_GT(externals, 0);
  EXPECT_GT(externals_without_email, 0);
  EXPECT_GT(rejoins, 0);
  EXPECT_GT(leading_slash, 0);
  EXPECT_GT(double_slash, 0);
  EXPECT_GT(non_ascii_names, 0);
  EXPECT_GT(recurring, 0);
  EXPECT_GT(multi_line, 0);
  EXPECT_GT(emoji, 0);
  EXPECT_EQ(msg_types, (std::set<int>{1, 2, 3, 4, 5, 6, 7}));
  for (size_t i = 1; i < t.meetings.size(); ++i) {
    EXPECT_LE(t.meetings[i - 1].start_time, t.meetings[i].start_time);
  }
}

TEST(TenantTest, EveryMeetingHasRecordingAndArchiveFilesOfTheChosenSizes) {
  TenantOptions options = Options(5);
  options.video_bytes = 12345;
  options.audio_bytes = 678;
  const Tenant t = GenerateTenant(options);
  for (const Meeting& m : t.meetings) {
    std::set<FileKind> kinds;
    for (const FileEntry& f : m.files) {
      kinds.insert(f.kind);
      if (f.kind == FileKind::kVideo) {
        EXPECT_EQ(f.size, 12345u);
      }
      if (f.kind == FileKind::kAudio) {
        EXPECT_EQ(f.size, 678u);
      }
      if (!IsMediaKind(f.kind)) {
        EXPECT_EQ(f.size, RenderText(m, f.kind).size());
      }
      ASSERT_TRUE(t.FindFile(f.file_id).has_value());
      EXPECT_EQ(t.FindFile(f.file_id)->meeting, &m);
    }
    EXPECT_EQ(kinds.size(), 10u) << m.uuid;
  }
}

TEST(TenantTest, ArchivingOffMeansNoArchiveFiles) {
  TenantOptions options = Options(5);
  options.archiving = false;
  for (const Meeting& m : GenerateTenant(options).meetings) {
    for (const FileEntry& f : m.files) EXPECT_FALSE(IsArchiveKind(f.kind));
  }
}

TEST(TenantTest, SomeMeetingsAreOnlyRecordedAndSomeOnlyArchived) {
  TenantOptions options = Options(24);
  options.recordings_only_every = 3;
  options.archive_only_every = 4;
  const Tenant t = GenerateTenant(options);
  int recordings_only = 0, archive_only = 0, both = 0;
  for (size_t i = 0; i < t.meetings.size(); ++i) {
    const Meeting& m = t.meetings[i];
    const bool rec = HasRecordingFiles(m), arc = HasArchiveFiles(m);
    ASSERT_TRUE(rec || arc) << m.uuid << " has no file at all";
    recordings_only += rec && !arc;
    archive_only += arc && !rec;
    both += rec && arc;
  }
  // The tenant is sorted by start time, so count: of 24, every third is recordings-only (8) and
  // every fourth that is not also a third is archive-only (6 - 2 = 4).
  EXPECT_EQ(recordings_only, 8);
  EXPECT_EQ(archive_only, 4);
  EXPECT_EQ(both, 12);
  // The manifest says which API lists each meeting.
  const std::string manifest = ManifestJson(t);
  EXPECT_TRUE(absl::StrContains(manifest, R"("sources":["recordings"])"));
  EXPECT_TRUE(absl::StrContains(manifest, R"("sources":["archive"])"));
  EXPECT_TRUE(absl::StrContains(manifest, R"("sources":["recordings","archive"])"));
  // Without the Archiving API nothing is archive-only: every meeting keeps its recordings.
  options.archiving = false;
  for (const Meeting& m : GenerateTenant(options).meetings) {
    EXPECT_TRUE(HasRecordingFiles(m)) << m.uuid;
    EXPECT_FALSE(HasArchiveFiles(m)) << m.uuid;
  }
}

TEST(TenantTest, GenerateMeetingHonoursOverridesAndRejectsUnknownHost) {
  const TenantOptions options = Options(3);
  const Tenant t = GenerateTenant(options);
  MeetingOverrides overrides;
  overrides.uuid = "//odd/uuid==";
  overrides.host_id = t.users[2].email;
  overrides.start_time = absl::FromUnixSeconds(1710000000);
  absl::StatusOr<Meeting> m = GenerateMeeting(t, options, 99, overrides);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->uuid, "//odd/uuid==");
  EXPECT_EQ(m->host_id, t.users[2].id);
  EXPECT_EQ(m->start_time, absl::FromUnixSeconds(1710000000));
  overrides.host_id = "nobody@example.com";
  absl::StatusOr<Meeting> bad = GenerateMeeting(t, options, 99, overrides);
  EXPECT_TRUE(absl::IsNotFound(bad.status()));
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "nobody@example.com"));
}

TEST(TenantTest, LoadsATenantFile) {
  const std::string json = R"({
    "account_id": "acc1", "domain": "corp.example",
    "users": [{"id": "u1", "email": "ann@corp.example", "first_name": "Ann", "last_name": "Lee"}],
    "meetings": [{
      "uuid": "/abc//def==", "id": 81234567890, "host_id": "ann@corp.example", "topic": "Démo",
      "start_time": "2024-03-05T10:00:00Z", "duration": 30, "video_bytes": 1000,
      "participants": [
        {"name": "Ann Lee", "id": "u1", "user_email": "ann@corp.example", "internal_user": true,
         "join_time": "2024-03-05T10:00:00Z", "leave_time": "2024-03-05T10:30:00Z"},
        {"name": "Guest 🎧", "join_time": "2024-03-05T10:01:00Z",
         "leave_time": "2024-03-05T10:20:00Z"}],
      "chat": [{"offset_seconds": 5, "sender": "Ann Lee", "text": "hi\nthere"}],
      "transcript": [{"start_ms": 1000, "end_ms": 2500, "speaker": "Ann Lee", "text": "Hello"}]
    }]})";
  absl::StatusOr<Tenant> t = ParseTenantJson(json, TenantOptions{});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->meetings.size(), 1u);
  const Meeting& m = t->meetings[0];
  EXPECT_EQ(m.uuid, "/abc//def==");
  EXPECT_EQ(m.host_id, "u1");
  EXPECT_EQ(m.participants.size(), 2u);
  EXPECT_EQ(RenderChatTxt(m), "00:00:05\tAnn Lee:\thi\nthere\n");
  EXPECT_EQ(RenderTranscriptVtt(m),
            "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500\nAnn Lee: Hello\n");
  for (const FileEntry& f : m.files) {
    if (f.kind == FileKind::kVideo) {
      EXPECT_EQ(f.size, 1000u);
    }
  }
}

TEST(TenantTest, TenantFileErrorsNameTheField) {
  absl::StatusOr<Tenant> t = ParseTenantJson(
      R"({"account_id": "a", "domain": "d", "users": [{"id": "u1", "email": "x@d"}],
          "meetings": [{"uuid": "m1", "host_id": "ghost", "start_time": "2024-03-05T10:00:00Z"}]})",
      TenantOptions{});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "ghost")) << t.status();
  t = ParseTenantJson(R"({"account_id": "a", "domain": "d", "users": [{"id": 5}]})",
                      TenantOptions{});
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(absl::StrContains(t.status().message(), "\"id\"")) << t.status();
  EXPECT_FALSE(ParseTenantJson("{not json", TenantOptions{}).ok());
}

TEST(TenantTest, ZoomTimeRoundTripsAndRejectsOtherForms) {
  absl::StatusOr<absl::Time> t = ParseZoomTime("2024-03-04T09:30:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatZoomTime(*t), "2024-03-04T09:30:00Z");
  EXPECT_FALSE(ParseZoomTime("2024-03-04").ok());
  EXPECT_FALSE(ParseZoomTime("2024-03-04T09:30:00+02:00").ok());
}

}  // namespace
}  // namespace zarc::zoom_sim

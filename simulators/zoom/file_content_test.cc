#include "simulators/zoom/file_content.h"

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"

namespace zarc::zoom_sim {
namespace {

std::string ReadInChunks(io::ByteSource& source, size_t chunk) {
  std::string out, buffer(chunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = source.Read(buffer.data(), buffer.size());
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(buffer.data(), *n);
  }
  return out;
}

TEST(FileContentTest, GeneratorGivesTheSameBytesForAnyChunking) {
  TenantOptions options;
  options.meetings = 2;
  options.video_bytes = 100003;  // not a multiple of 8 or of any chunk size
  const Tenant t = GenerateTenant(options);
  const Meeting& m = t.meetings[0];
  const FileEntry& video = m.files[0];
  ASSERT_EQ(video.kind, FileKind::kVideo);
  absl::StatusOr<std::string> expected = ExpectedSha256(t, video.file_id);
  ASSERT_TRUE(expected.ok());
  for (size_t chunk : {1, 3, 7, 8, 4096, 65536, 1 << 20}) {
    std::unique_ptr<io::ByteSource> source = OpenFile(m, video);
    const std::string bytes = ReadInChunks(*source, chunk);
    EXPECT_EQ(bytes.size(), 100003u) << chunk;
    EXPECT_EQ(crypto::Sha256Hex(bytes), *expected) << "chunk " << chunk;
  }
  std::unique_ptr<io::ByteSource> source = OpenFile(m, video);
  EXPECT_EQ(ReadInChunks(*source, 4096).substr(4, 8), "ftypisom");
}

TEST(FileContentTest, DifferentFilesHaveDifferentBytes) {
  const Tenant t = GenerateTenant(TenantOptions{});
  EXPECT_NE(*ExpectedSha256(t, t.meetings[0].files[0].file_id),
            *ExpectedSha256(t, t.meetings[1].files[0].file_id));
  EXPECT_TRUE(absl::IsNotFound(ExpectedSha256(t, "no-such-file").status()));
}

TEST(FileContentTest, LargeFileStreamsWithoutBeingHeld) {
  // 64 MiB through a 1 MiB buffer: the generator holds no more than its header.
  GeneratedMediaSource source(FileKind::kVideo, 7, 64ull << 20);
  std::string buffer(1 << 20, '\0');
  uint64_t total = 0;
  while (true) {
    absl::StatusOr<size_t> n = source.Read(buffer.data(), buffer.size());
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(total, 64ull << 20);
}

Meeting SampleMeeting() {
  Meeting m;
  m.uuid = "abc==";
  m.start_time = absl::FromUnixSeconds(1709546400);
  m.duration = absl::Minutes(30);
  m.participants.push_back({"u1", "100", "José Núñez", "jose@corp.example", m.start_time,
                            m.end_time(), true});
  ChatMessage hello;
  hello.offset = absl::Seconds(3725);
  hello.sender_name = "José Núñez";
  hello.sender_email = "jose@corp.example";
  hello.text = "Agenda:\n1. one\n2. two 🎉";
  hello.msg_id = "m1";
  m.chat.push_back(hello);
  ChatMessage secret = hello;
  secret.msg_type = 2;
  secret.text = "private";
  m.chat.push_back(secret);
  m.transcript.push_back({absl::Milliseconds(4859), absl::Milliseconds(7410), "José Núñez", "Hi"});
  m.transcript.push_back({absl::Milliseconds(8000), absl::Milliseconds(9000), "", "Unattributed"});
  return m;
}

TEST(FileContentTest, ChatTxtFollowsTheCloudFormat) {
  EXPECT_EQ(RenderChatTxt(SampleMeeting()),
            "01:02:05\tJosé Núñez:\tAgenda:\n1. one\n2. two 🎉\n");
}

TEST(FileContentTest, TranscriptAndCaptionsAreVtt) {
  EXPECT_EQ(RenderTranscriptVtt(SampleMeeting()),
            "WEBVTT\n\n1\n00:00:04.859 --> 00:00:07.410\nJosé Núñez: Hi\n\n"
            "2\n00:00:08.000 --> 00:00:09.000\nUnattributed\n");
  EXPECT_TRUE(absl::StartsWith(RenderCaptionsVtt(SampleMeeting()), "WEBVTT\n\n1\n00:00:04.859"));
}

TEST(FileContentTest, ArchivedChatHasBase64Fields) {
  json::Value v = json::ParseOrNull(RenderArchivedChatJson(SampleMeeting()));
  EXPECT_EQ(v.at("uuid").AsString(), "abc==");
  const auto& messages = v.at("messages").AsArray();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(*crypto::Base64Decode(messages.at(0).at("s_name").AsString()), "José Núñez");
  EXPECT_EQ(*crypto::Base64Decode(messages.at(0).at("msg_content").AsString()),
            "Agenda:\n1. one\n2. two 🎉");
  EXPECT_EQ(messages.at(1).at("msg_type").AsInt(), 2);
  EXPECT_EQ(*crypto::Base64Decode(messages.at(0).at("r_name").AsString()), "Everyone");
}

TEST(FileContentTest, ManifestListsEveryFileWithItsSha256) {
  TenantOptions options;
  options.meetings = 3;
  const Tenant t = GenerateTenant(options);
  json::Value manifest = json::ParseOrNull(ManifestJson(t));
  const auto& meetings = manifest.at("meetings").AsArray();
  ASSERT_EQ(meetings.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& files = meetings.at(i).at("files").AsArray();
    ASSERT_EQ(files.size(), t.meetings[i].files.size());
    for (const auto& f : files) {
      EXPECT_EQ(f.at("sha256").AsString(), *ExpectedSha256(t, f.at("file_id").AsString()));
    }
  }
  EXPECT_FALSE(json::ParseOrNull(ManifestJson(t, false))
                   .at("meetings").at(0).at("files").at(0).Has("sha256"));
}

}  // namespace
}  // namespace zarc::zoom_sim

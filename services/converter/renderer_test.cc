#include "services/converter/renderer.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"

namespace zarc::converter {
namespace {

class MapSource final : public io::ByteSource {
 public:
  explicit MapSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    return source_.Read(buffer, size);
  }

 private:
  std::string data_;
  io::StringSource source_{data_};
};

class RendererTest : public ::testing::Test {
 protected:
  RendererTest() {
    v1::Meeting* m = event_.mutable_meeting();
    m->set_account_id("acc");
    m->set_uuid("uuid==");
    m->set_id(85746065432);
    m->set_topic("Weekly sync");
    m->set_host_email("Host@Example.com");
    m->set_host_name("Hannah Host");
    m->mutable_start_time()->set_seconds(1709647200);  // 2024-03-05 14:00:00 UTC
    m->set_duration_minutes(30);
    m->set_timezone("Asia/Tokyo");
    event_.set_version(2);
  }

  void AddArtifact(v1::ArtifactKind kind, const std::string& name, std::string data,
                   bool with_sha = true) {
    v1::Artifact* a = event_.add_artifacts();
    a->set_kind(kind);
    a->set_file_name(name);
    a->mutable_blob()->set_name(name);
    a->mutable_blob()->set_uri("https://blobs.example/" + name);
    a->mutable_blob()->set_size(data.size());
    if (with_sha) a->mutable_blob()->set_sha256(crypto::Sha256Hex(data));
    blobs_[name] = std::move(data);
  }

  ArtifactOpener Opener() {
    return [this](const v1::BlobRef& blob) -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
      ++opens_[blob.name()];
      auto it = blobs_.find(blob.name());
      if (it == blobs_.end()) return absl::UnavailableError("blob store down");
      return std::unique_ptr<io::ByteSource>(std::make_unique<MapSource>(it->second));
    };
  }

  absl::StatusOr<RenderedMessage> Render(std::string* out = nullptr) {
    io::StringSink sink;
    absl::StatusOr<RenderedMessage> result = RenderMessage(event_, options_, Opener(), sink);
    if (out != nullptr) *out = sink.Take();
    return result;
  }

  static std::string Headers(const std::string& message) {
    return message.substr(0, message.find("\r\n\r\n") + 2);
  }

  // Names of the top-level fields, in order.
  static std::vector<std::string> FieldNames(const std::string& message) {
    std::vector<std::string> names;
    for (absl::string_view line : absl::StrSplit(Headers(message), "\r\n")) {
      if (line.empty() || line[0] == ' ') continue;
      names.push_back(std::string(line.substr(0, line.find(':'))));
    }
    return names;
  }

  v1::MeetingCaptured event_;
  RenderOptions options_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, int> opens_;
};

TEST_F(RendererTest, MessageIdIsDeterministicPerItemVersion) {
  const std::string id = MessageIdFor("acc", "uuid==", 2, "zarc.archive");
  EXPECT_EQ(id, MessageIdFor("acc", "uuid==", 2, "zarc.archive"));
  EXPECT_NE(id, MessageIdFor("acc", "uuid==", 3, "zarc.archive"));
  EXPECT_NE(id, MessageIdFor("acc2", "uuid==", 2, "zarc.archive"));
  EXPECT_EQ(id, crypto::Sha256Hex("acc|uuid==|2").substr(0, 32) + "@zarc.archive");
}

TEST_F(RendererTest, HeadersAndEmailProperty) {
  event_.add_participants()->set_email("bob@example.com");
  v1::Participant* p = event_.add_participants();
  p->set_name("Carol");
  p->set_email("CAROL@example.com");
  event_.add_participants()->set_email("carol@example.com");  // the same person again
  event_.add_participants()->set_name("Guest");
  std::string message;
  absl::StatusOr<RenderedMessage> r = Render(&message);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->email_addresses,
            (std::vector<std::string>{"bob@example.com", "carol@example.com", "host@example.com"}));
  EXPECT_EQ(r->message_id, MessageIdFor("acc", "uuid==", 2, "zarc.archive"));
  EXPECT_EQ(r->size, message.size());
  EXPECT_EQ(r->sha256, crypto::Sha256Hex(message));
  const std::string headers = Headers(message);
  EXPECT_TRUE(absl::StartsWith(headers, "From: \"Hannah Host\" <host@example.com>\r\n")) << headers;
  EXPECT_TRUE(
      absl::StrContains(headers, "To: <bob@example.com>, \"Carol\" <carol@example.com>\r\n"))
      << headers;
  EXPECT_TRUE(absl::StrContains(headers, "Date: Tue, 05 Mar 2024 14:00:00 +0000\r\n"));
  EXPECT_TRUE(absl::StrContains(headers, "Subject: Weekly sync\r\n"));
  EXPECT_TRUE(absl::StrContains(headers, absl::StrCat("Message-ID: <", r->message_id, ">\r\n")));
  EXPECT_TRUE(absl::StrContains(headers, "X-Zoom-Meeting-Id: 85746065432\r\n"));
  EXPECT_TRUE(absl::StrContains(headers, "X-Zoom-Duration: 30\r\n"));
  EXPECT_TRUE(absl::StrContains(headers, "X-Zarc-Item-Id: acc/uuid==/2\r\n"));
  EXPECT_EQ(FieldNames(message),
            (std::vector<std::string>{"From", "To", "Date", "Subject", "Message-ID", "MIME-Version",
                                      "X-Zoom-Meeting-Id", "X-Zoom-Meeting-UUID", "X-Zoom-Host",
                                      "X-Zoom-Duration", "X-Zarc-Item-Version", "X-Zarc-Item-Id",
                                      "Content-Type"}));
}

TEST_F(RendererTest, HostileTopicAndNamesAddNoHeader) {
  event_.mutable_meeting()->set_topic("Hi\r\nBcc: victim@example.com\r\n\r\nX-Evil: 1");
  event_.mutable_meeting()->set_host_name("Host\r\nX-Evil: 2");
  v1::Participant* p = event_.add_participants();
  p->set_name("Mallory\nX-Evil: 3");
  p->set_email("mallory@example.com");
  v1::Participant* q = event_.add_participants();
  q->set_email("eve@example.com\r\nBcc: victim@example.com");
  std::string message;
  absl::StatusOr<RenderedMessage> r = Render(&message);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(FieldNames(message).size(), 13u) << Headers(message);
  EXPECT_FALSE(absl::StrContains(Headers(message), "\nBcc"));
  EXPECT_FALSE(absl::StrContains(Headers(message), "\nX-Evil"));
  EXPECT_EQ(r->email_addresses,
            (std::vector<std::string>{"host@example.com", "mallory@example.com"}));
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r->problems[0], "not a valid email address")) << r->problems[0];
}

TEST_F(RendererTest, SameInputRendersByteIdentical) {
  AddArtifact(v1::ARTIFACT_KIND_CHAT_TXT, "chat.txt", "00:00:01\tA:\thello\n");
  AddArtifact(v1::ARTIFACT_KIND_VIDEO, "v.mp4", std::string(10000, 'v'));
  std::string a, b;
  ASSERT_TRUE(Render(&a).ok());
  ASSERT_TRUE(Render(&b).ok());
  EXPECT_EQ(a, b);
}

TEST_F(RendererTest, LargestAttachmentsMoveOutOfLineToStayUnderTheLimit) {
  AddArtifact(v1::ARTIFACT_KIND_CHAT_TXT, "chat.txt", "00:00:01\tA:\thello\n");
  AddArtifact(v1::ARTIFACT_KIND_VIDEO, "big.mp4", std::string(200000, 'v'));
  AddArtifact(v1::ARTIFACT_KIND_AUDIO, "mid.m4a", std::string(50000, 'a'));
  options_.message_size_limit = 100000;
  std::string message;
  absl::StatusOr<RenderedMessage> r = Render(&message);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LE(r->size, options_.message_size_limit);
  ASSERT_EQ(r->artifacts.size(), 3u);
  EXPECT_TRUE(r->artifacts[0].attached());
  EXPECT_FALSE(r->artifacts[1].attached());
  EXPECT_TRUE(r->artifacts[2].attached());
  EXPECT_EQ(r->artifacts[1].blob().uri(), "https://blobs.example/big.mp4");
  EXPECT_EQ(opens_["big.mp4"], 0) << "an out-of-line artifact is never read";
  EXPECT_TRUE(absl::StrContains(message, "filename=mid.m4a"));
  EXPECT_FALSE(absl::StrContains(message, "filename=big.mp4"));

  options_.message_size_limit = 1000;  // not even the body fits: nothing attached, still rendered
  r = Render(&message);
  ASSERT_TRUE(r.ok()) << r.status();
  for (const v1::ArtifactPlacement& p : r->artifacts) EXPECT_FALSE(p.attached());
  EXPECT_TRUE(absl::StrContains(r->problems.back(), "over the")) << r->problems.back();
}

TEST_F(RendererTest, UnparseableFilesAreAttachedAndReported) {
  AddArtifact(v1::ARTIFACT_KIND_TRANSCRIPT, "t.vtt", "not a vtt file");
  AddArtifact(v1::ARTIFACT_KIND_CHAT_JSON, "c.json", "{broken");
  std::string message;
  absl::StatusOr<RenderedMessage> r = Render(&message);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->problems.size(), 2u);
  EXPECT_TRUE(absl::StartsWith(r->problems[0], "t.vtt: does not start with \"WEBVTT\""));
  EXPECT_TRUE(absl::StartsWith(r->problems[1], "c.json: not valid JSON"));
  for (const v1::ArtifactPlacement& p : r->artifacts) EXPECT_TRUE(p.attached());
}

TEST_F(RendererTest, FilesOverTheParseLimitAreAttachedButNotParsed) {
  AddArtifact(v1::ARTIFACT_KIND_CHAT_TXT, "chat.txt", "00:00:01\tA:\thello\n");
  options_.parse_limit = 10;
  absl::StatusOr<RenderedMessage> r = Render();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r->problems[0], "parse limit")) << r->problems[0];
  EXPECT_TRUE(r->artifacts[0].attached());
  EXPECT_EQ(opens_["chat.txt"], 1) << "read once, to attach";
}

TEST_F(RendererTest, MissingDigestIsComputedAndWrongDigestIsDataLoss) {
  AddArtifact(v1::ARTIFACT_KIND_VIDEO, "v.mp4", "video bytes", /*with_sha=*/false);
  absl::StatusOr<RenderedMessage> r = Render();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->artifacts[0].blob().sha256(), crypto::Sha256Hex("video bytes"));

  event_.mutable_artifacts(0)->mutable_blob()->set_sha256(std::string(64, 'a'));
  r = Render();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "v.mp4")) << r.status();
}

TEST_F(RendererTest, OpenerFailuresKeepTheirCodeAndSayWhich) {
  AddArtifact(v1::ARTIFACT_KIND_VIDEO, "v.mp4", "x");
  blobs_.clear();
  absl::StatusOr<RenderedMessage> r = Render();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(r.status().message(), "https://blobs.example/v.mp4"));
}

TEST_F(RendererTest, RejectsEventsThatCannotMakeAMessage) {
  options_.message_id_domain = "bad domain>";
  EXPECT_EQ(Render().status().code(), absl::StatusCode::kInvalidArgument);
  options_.message_id_domain = "zarc.archive";
  event_.mutable_meeting()->clear_uuid();
  EXPECT_EQ(Render().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RendererTest, UnknownTimeZoneFallsBackToUtcWithAProblem) {
  std::string message;
  ASSERT_TRUE(Render(&message).ok());
  event_.mutable_meeting()->set_timezone("Nowhere/Atlantis");
  absl::StatusOr<RenderedMessage> r = Render();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_TRUE(absl::StrContains(r->problems[0], "Nowhere/Atlantis"));
}

TEST_F(RendererTest, NoHostAddressUsesAPlaceholderAndGuestsOnlyMeetingGoesToIt) {
  event_.mutable_meeting()->clear_host_email();
  event_.mutable_meeting()->set_host_id("AbC-123");
  event_.add_participants()->set_name("Guest");
  std::string message;
  absl::StatusOr<RenderedMessage> r = Render(&message);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->email_addresses.empty());
  EXPECT_TRUE(absl::StrContains(message, "From: \"Hannah Host\" <zoom-host-abc123@zarc.archive>"));
  EXPECT_TRUE(absl::StrContains(message, "To: \"Hannah Host\" <zoom-host-abc123@zarc.archive>"));
}

}  // namespace
}  // namespace zarc::converter

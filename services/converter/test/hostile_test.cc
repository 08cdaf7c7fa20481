// Hostile input from Zoom (topics, names, chat lines, file names) against the rendered message,
// checked independently by Python's email package (verify_eml.py).
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/testing/subprocess.h"
#include "services/converter/mime_header.h"
#include "services/converter/renderer.h"
#include "services/converter/test/render_test_support.h"

namespace zarc::converter {
namespace {

using testing::JsonString;
using ::testing::HasSubstr;

const std::string kNul(1, '\0');

TEST(HostileInputTest, InvalidUtf8NulAndInjectionAttemptsStayInsideOneValidMessage) {
  v1::MeetingCaptured event;
  v1::Meeting* m = event.mutable_meeting();
  m->set_account_id("acc");
  m->set_uuid("hostile==");
  m->set_id(1234);
  m->mutable_start_time()->set_seconds(1709647200);
  m->set_duration_minutes(10);
  event.set_version(1);
  // The boundaries are derived from the Message-ID, so an attacker who knows the item can know
  // them: put the real ones in every field that reaches the message.
  const std::string message_id = MessageIdFor("acc", "hostile==", 1, "zarc.archive");
  const std::string seed = crypto::Sha256Hex(absl::StrCat("boundary|", message_id));
  const std::string mixed = absl::StrCat("=_zarc_mixed_", seed.substr(0, 24));
  const std::string injected_part = absl::StrCat(
      "\r\n--", mixed, "\r\nContent-Type: text/html\r\nContent-Disposition: attachment; "
      "filename=\"evil.exe\"\r\n\r\n<script>alert(1)</script>\r\n--", mixed, "--\r\n");
  m->set_topic(absl::StrCat("Board", kNul, " review \xff\xfe\xc3 \r\nBcc: victim@example.com\r\n",
                            injected_part));
  m->set_host_name(absl::StrCat("Hannah", kNul, "\xc0\xaf Host\r\nX-Evil: 1"));
  m->set_host_email("host@example.com");
  v1::Participant* p = event.add_participants();
  p->set_name(absl::StrCat("Mallory \xed\xa0\x80", kNul, "\nContent-Type: multipart/mixed; boundary=",
                           mixed));
  p->set_email("mallory@example.com");

  std::map<std::string, std::string> blobs;
  auto add = [&](v1::ArtifactKind kind, const std::string& file_name, std::string data) {
    v1::Artifact* a = event.add_artifacts();
    a->set_kind(kind);
    a->set_file_name(file_name);
    const std::string name = absl::StrCat("blob", event.artifacts_size());
    a->mutable_blob()->set_name(name);
    a->mutable_blob()->set_uri("file:///staging/" + name);
    a->mutable_blob()->set_size(data.size());
    a->mutable_blob()->set_sha256(crypto::Sha256Hex(data));
    blobs[name] = std::move(data);
  };
  add(v1::ARTIFACT_KIND_CHAT_TXT, "../../../etc/passwd",
      absl::StrCat("00:00:01\tMallory", kNul, ":\thello", kNul, " \xff\xc3(", injected_part,
                   "\n00:00:02\tEve:\tX-Evil: 2\r\nBcc: victim@example.com\n"));
  add(v1::ARTIFACT_KIND_VIDEO, "/root/.ssh/authorized_keys", "video");
  add(v1::ARTIFACT_KIND_AUDIO, absl::StrCat("a\x01", kNul, "b\r\nContent-Type: text/html; filename=\"x.exe\".m4a"),
      "audio");
  add(v1::ARTIFACT_KIND_VIDEO, "C:\\Windows\\System32\\evil.mp4", "video2");

  io::StringSink sink;
  absl::StatusOr<RenderedMessage> rendered =
      RenderMessage(event, RenderOptions{}, testing::MapOpener(&blobs), sink);
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  const std::string message = sink.Take();

  // Exactly one real part boundary line set: the injected ones are inside encoded text.
  const std::string opening = absl::StrCat("\r\n--", mixed, "\r\n");
  size_t openings = 0;
  for (size_t at = message.find(opening); at != std::string::npos; at = message.find(opening, at + 1)) {
    ++openings;
  }
  EXPECT_EQ(openings, 1u + 4u) << "the body and four attachments, nothing injected";
  EXPECT_FALSE(absl::StrContains(message, "evil.exe"));
  EXPECT_FALSE(absl::StrContains(message, "<script>"));

  std::vector<std::string> attachments;
  for (const v1::ArtifactPlacement& placement : rendered->artifacts) {
    const std::string& name = placement.file_name();
    // One path segment: a client saving it under its folder stays there.
    EXPECT_EQ(name.find_first_of("/\\:"), std::string::npos) << name;
    EXPECT_FALSE(absl::StartsWith(name, ".")) << name;
    for (char c : name) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << name;
    ASSERT_TRUE(placement.attached()) << name;
    attachments.push_back(absl::StrCat("{\"filename\": ", JsonString(name), ", \"sha256\": \"",
                                       placement.blob().sha256(), "\"}"));
  }
  EXPECT_EQ(rendered->artifacts[0].file_name(), "___.._.._etc_passwd");

  zarc::testing::TempDir tmp;
  const std::string path = tmp.path() + "/hostile.eml";
  ASSERT_TRUE(testing::WriteFile(path, message).ok());
  // Invalid UTF-8 becomes U+FFFD (our contract); the verifier applies its own control and
  // whitespace rule on top and checks the header set, the parts and every decoded attachment.
  const std::string manifest = absl::StrCat(
      "[{\"eml\": ", JsonString(path), ", \"expected\": {\"subject_raw\": ",
      JsonString(ToValidUtf8(m->topic())),
      ", \"from\": {\"name_raw\": ", JsonString(ToValidUtf8(m->host_name())),
      ", \"address\": \"host@example.com\"}, \"to\": [{\"name_raw\": ",
      JsonString(ToValidUtf8(p->name())),
      ", \"address\": \"mallory@example.com\"}], \"headers\": [\"From\", \"To\", \"Date\", "
      "\"Subject\", \"Message-ID\", \"MIME-Version\", \"X-Zoom-Meeting-Id\", "
      "\"X-Zoom-Meeting-UUID\", \"X-Zoom-Host\", \"X-Zoom-Duration\", \"X-Zarc-Item-Version\", "
      "\"X-Zarc-Item-Id\", \"Content-Type\"], \"attachments\": [",
      absl::StrJoin(attachments, ", "), "], \"body_contains\": [\"hello\"]}}]");
  const std::string manifest_path = tmp.path() + "/manifest.json";
  ASSERT_TRUE(testing::WriteFile(manifest_path, manifest).ok());
  absl::StatusOr<testing::VerifyResult> verdict = testing::RunVerifier(manifest_path);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->exit_code, 0) << verdict->output;
  EXPECT_THAT(verdict->output, HasSubstr("checked 1 messages, 0 failures"));
}

}  // namespace
}  // namespace zarc::converter

// Property test: a few hundred generated meetings (random Unicode topics and names with emoji,
// CR/LF and control characters, hostile addresses, random chats and attachments, random size
// limits) each rendered twice, checked byte-identical, and checked by the independent Python
// MIME parser (services/converter/test/verify_eml.py).

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/testing/subprocess.h"
#include "services/converter/renderer.h"
#include "services/converter/test/render_test_support.h"

namespace zarc::converter {
namespace {

using testing::JsonString;

constexpr int kMeetings = 300;

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }

  // Text from pieces that stress headers: scripts, emoji sequences, controls, MIME syntax.
  std::string Text(int max_pieces) {
    static const std::vector<std::string> kPieces = {"Budget",
                                                     "review",
                                                     "Q3",
                                                     "planning",
                                                     "a",
                                                     " ",
                                                     "  ",
                                                     "\r\n",
                                                     "\n",
                                                     "\r",
                                                     "\t",
                                                     "\x01",
                                                     "\x1b[31m",
                                                     "\x7f",
                                                     "\xc2\x85",
                                                     "\xe2\x80\xa8",
                                                     "Bcc: victim@example.com",
                                                     "\r\nX-Evil: 1",
                                                     "=?utf-8?q?fake?=",
                                                     "=?",
                                                     "\"",
                                                     "\\",
                                                     "<script>alert(1)</script>",
                                                     ",",
                                                     ";",
                                                     ":",
                                                     "@",
                                                     "réunion",
                                                     "Überprüfung",
                                                     "Встреча",
                                                     "会議",
                                                     "議事録",
                                                     "회의",
                                                     "اجتماع",
                                                     "פגישה",
                                                     "सभा",
                                                     "🚀",
                                                     "👩‍👩‍👧‍👦",
                                                     "👍🏽",
                                                     "🏳️‍🌈",
                                                     "e\xcc\x81",
                                                     "\xef\xbb\xbf",
                                                     "\xe2\x80\xae",
                                                     "Zoë",
                                                     "Ñúñez",
                                                     std::string(90, 'x'),
                                                     "supercalifragilisticexpialidocious"};
    std::string out;
    const int n = Int(0, max_pieces);
    for (int i = 0; i < n; ++i) out += kPieces[Int(0, static_cast<int>(kPieces.size()) - 1)];
    return out;
  }

  // Text without controls and without ":\t" so it survives a chat line as one field.
  std::string ChatField(int max_pieces) {
    std::string text;
    for (char c : Text(max_pieces)) {
      text.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
    }
    return text;
  }

  std::string Email(int i, bool* valid) {
    *valid = true;
    switch (Int(0, 9)) {
      case 0:
        *valid = false;
        return "";
      case 1:
        *valid = false;
        return absl::StrCat("user", i, "@example.com\r\nBcc: victim@example.com");
      case 2:
        *valid = false;
        return absl::StrCat("us er", i, "@example.com");
      case 3:
        *valid = false;
        return absl::StrCat("jürgen", i, "@example.de");
      case 4:
        return absl::StrCat("User.", i, "@Example.COM");
      default:
        return absl::StrCat("user", Int(0, 20), "@example", Int(0, 3), ".com");
    }
  }

  std::string Bytes(size_t n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(Int(0, 255));
    return data;
  }

 private:
  std::mt19937 rng_;
};

struct Case {
  v1::MeetingCaptured event;
  RenderOptions options;
  std::map<std::string, std::string> blobs;
  std::string expected_from;  // JSON
  std::vector<std::string> expected_to;
};

Case Generate(Generator& g, int index) {
  Case c;
  v1::Meeting* m = c.event.mutable_meeting();
  m->set_account_id(absl::StrCat("acct", g.Int(0, 3)));
  m->set_uuid(absl::StrCat("uuid/", index, "+", g.Int(0, 1000000), "=="));
  m->set_id(g.Int(100000000, 999999999));
  m->set_topic(g.Text(12));
  m->set_host_id(absl::StrCat("HostId", index));
  bool host_valid;
  m->set_host_email(g.Email(index, &host_valid));
  m->set_host_name(g.Text(5));
  m->mutable_start_time()->set_seconds(1700000000 + g.Int(0, 30000000));
  m->set_duration_minutes(g.Int(0, 300));
  m->set_timezone(g.Chance(70) ? "America/New_York" : (g.Chance(50) ? "" : "Not/AZone"));
  c.event.set_version(g.Int(1, 5));
  const std::string host_address = host_valid
                                       ? absl::AsciiStrToLower(m->host_email())
                                       : absl::StrCat("zoom-host-hostid", index, "@zarc.archive");
  c.expected_from = absl::StrCat("{\"name_raw\": ", JsonString(m->host_name()),
                                 ", \"address\": ", JsonString(host_address), "}");
  std::set<std::string> seen;
  const int participants = g.Int(0, 8);
  for (int i = 0; i < participants; ++i) {
    v1::Participant* p = c.event.add_participants();
    p->set_name(g.Text(6));
    bool valid;
    p->set_email(g.Email(i, &valid));
    const int64_t join = m->start_time().seconds() + g.Int(0, 600);
    v1::JoinInterval* interval = p->add_intervals();
    interval->mutable_join_time()->set_seconds(join);
    if (g.Chance(80)) interval->mutable_leave_time()->set_seconds(join + g.Int(1, 3600));
    const std::string lower = absl::AsciiStrToLower(p->email());
    if (valid && seen.insert(lower).second) {
      c.expected_to.push_back(absl::StrCat("{\"name_raw\": ", JsonString(p->name()),
                                           ", \"address\": ", JsonString(lower), "}"));
    }
  }
  if (c.expected_to.empty()) c.expected_to.push_back(c.expected_from);

  const int artifacts = g.Int(0, 4);
  for (int i = 0; i < artifacts; ++i) {
    v1::Artifact* a = c.event.add_artifacts();
    std::string data;
    switch (g.Int(0, 3)) {
      case 0: {
        a->set_kind(v1::ARTIFACT_KIND_CHAT_TXT);
        const int messages = g.Int(0, 10);
        for (int k = 0; k < messages; ++k) {
          absl::StrAppend(&data, "00:0", k % 10, ":", 10 + k, "\t", g.ChatField(3), ":\t",
                          g.ChatField(8), "\r\n");
          if (g.Chance(20)) absl::StrAppend(&data, g.ChatField(4), "\r\n");
        }
        break;
      }
      case 1: {
        a->set_kind(v1::ARTIFACT_KIND_CHAT_JSON);
        std::vector<std::string> messages;
        const int count = g.Int(0, 8);
        for (int k = 0; k < count; ++k) {
          messages.push_back(absl::StrCat(
              "{\"msg_type\":", g.Int(1, 8), ",\"msg_id\":\"m", k, "\",\"parent_msg_id\":\"m",
              g.Int(0, 8), "\",\"original_msg_id\":\"m", g.Int(0, 8), "\",\"e_time\":",
              1700000000000LL + k * 1000, ",\"s_name\":\"", absl::Base64Escape(g.Text(3)),
              "\",\"msg_content\":\"", absl::Base64Escape(g.Text(6)), "\"}"));
        }
        data = absl::StrCat("{\"uuid\":\"u\",\"messages\":[", absl::StrJoin(messages, ","), "]}");
        break;
      }
      case 2: {
        a->set_kind(g.Chance(50) ? v1::ARTIFACT_KIND_TRANSCRIPT : v1::ARTIFACT_KIND_CLOSED_CAPTION);
        data = "WEBVTT\r\n\r\n";
        const int cues = g.Int(0, 6);
        for (int k = 0; k < cues; ++k) {
          absl::StrAppend(&data, k + 1, "\r\n00:00:0", k, ".000 --> 00:00:0", k, ".900\r\n",
                          g.ChatField(2), ": ", g.ChatField(6), "\r\n\r\n");
        }
        break;
      }
      default:
        a->set_kind(g.Chance(50) ? v1::ARTIFACT_KIND_VIDEO : v1::ARTIFACT_KIND_OTHER);
        data = g.Bytes(static_cast<size_t>(g.Int(0, 20000)));
        break;
    }
    if (g.Chance(10)) data = g.Bytes(static_cast<size_t>(g.Int(1, 300)));  // unparseable
    a->set_file_name(absl::StrCat(g.Text(3), i, ".dat"));
    const std::string name = absl::StrCat("blob-", index, "-", i);
    a->mutable_blob()->set_name(name);
    a->mutable_blob()->set_uri(absl::StrCat("file:///archive/", name));
    a->mutable_blob()->set_size(data.size());
    if (g.Chance(80)) a->mutable_blob()->set_sha256(crypto::Sha256Hex(data));
    c.blobs[name] = std::move(data);
  }
  c.options.message_size_limit =
      g.Chance(30) ? static_cast<uint64_t>(g.Int(5000, 60000)) : 36 * 1000 * 1000;
  return c;
}

TEST(RenderPropertyTest, GeneratedMeetingsRenderIdenticallyTwiceAndParseIndependently) {
  Generator g(20240305);
  zarc::testing::TempDir tmp;
  std::vector<std::string> manifest;
  for (int i = 0; i < kMeetings; ++i) {
    Case c = Generate(g, i);
    const ArtifactOpener opener = testing::MapOpener(&c.blobs);
    io::StringSink first;
    absl::StatusOr<RenderedMessage> rendered = RenderMessage(c.event, c.options, opener, first);
    ASSERT_TRUE(rendered.ok()) << "meeting " << i << ": " << rendered.status();
    io::StringSink second;
    ASSERT_TRUE(RenderMessage(c.event, c.options, opener, second).ok());
    ASSERT_EQ(first.data(), second.data()) << "meeting " << i << " renders differently twice";
    EXPECT_EQ(rendered->size, first.data().size());
    EXPECT_EQ(rendered->sha256, crypto::Sha256Hex(first.data()));

    // Every artifact appears: attached (checked by SHA-256 in Python), or listed with its
    // location and SHA-256 in the body.
    ASSERT_EQ(rendered->artifacts.size(), static_cast<size_t>(c.event.artifacts_size()));
    std::vector<std::string> attachments;
    std::vector<std::string> body_contains;
    bool any_attached = false;
    for (const v1::ArtifactPlacement& p : rendered->artifacts) {
      const std::string sha = crypto::Sha256Hex(c.blobs.at(p.blob().name()));
      EXPECT_EQ(p.blob().sha256(), sha);
      if (p.attached()) {
        any_attached = true;
        attachments.push_back(absl::StrCat("{\"filename\": ", JsonString(p.file_name()),
                                           ", \"sha256\": \"", sha, "\"}"));
      } else {
        body_contains.push_back(JsonString(sha));
        body_contains.push_back(
            JsonString(absl::StrCat("kept in the archive at ", p.blob().uri())));
      }
    }
    if (any_attached) {
      EXPECT_LE(rendered->size, c.options.message_size_limit) << "meeting " << i;
    }

    const std::string path = absl::StrCat(tmp.path(), "/m", i, ".eml");
    ASSERT_TRUE(testing::WriteFile(path, first.data()).ok());
    manifest.push_back(absl::StrCat(
        "{\"eml\": ", JsonString(path),
        ", \"expected\": {\"subject_raw\": ", JsonString(c.event.meeting().topic()),
        ", \"from\": ", c.expected_from, ", \"to\": [", absl::StrJoin(c.expected_to, ", "),
        "], \"headers\": [\"From\", \"To\", \"Date\", \"Subject\", \"Message-ID\", "
        "\"MIME-Version\", \"X-Zoom-Meeting-Id\", \"X-Zoom-Meeting-UUID\", \"X-Zoom-Host\", "
        "\"X-Zoom-Duration\", \"X-Zarc-Item-Version\", \"X-Zarc-Item-Id\", \"Content-Type\"], "
        "\"attachments\": [",
        absl::StrJoin(attachments, ", "), "], \"body_contains\": [",
        absl::StrJoin(body_contains, ", "), "]}}"));
  }
  const std::string manifest_path = tmp.path() + "/manifest.json";
  ASSERT_TRUE(
      testing::WriteFile(manifest_path, absl::StrCat("[", absl::StrJoin(manifest, ",\n"), "]"))
          .ok());
  absl::StatusOr<testing::VerifyResult> verdict = testing::RunVerifier(manifest_path);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_EQ(verdict->exit_code, 0) << verdict->output.substr(0, 20000);
  EXPECT_NE(verdict->output.find(absl::StrCat("checked ", kMeetings, " messages, 0 failures")),
            std::string::npos)
      << verdict->output.substr(0, 2000);
}

}  // namespace
}  // namespace zarc::converter

#include "services/importer/imap_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/crypto/digest.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/testing/dovecot_fixture.h"

namespace zarc::importer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ImapSyntaxTest, QuotesAndRefusesWhatNeedsALiteral) {
  EXPECT_EQ(ImapQuote("INBOX/Zoom Meetings"), "\"INBOX/Zoom Meetings\"");
  EXPECT_EQ(ImapQuote(R"(a"b\c)"), R"("a\"b\\c")");
  EXPECT_EQ(ImapQuote("line\r\nbreak"), std::nullopt);
  EXPECT_EQ(ImapQuote("gr\xc3\xbc\xc3\x9f"), std::nullopt);
}

TEST(ImapSyntaxTest, DateTimeIsRfc3501InUtc) {
  EXPECT_EQ(ImapDateTime(absl::FromUnixSeconds(1709647200)), "\"05-Mar-2024 14:00:00 +0000\"");
  EXPECT_EQ(ImapDateTime(absl::FromUnixSeconds(1735689599)), "\"31-Dec-2024 23:59:59 +0000\"");
}

TEST(ImapSyntaxTest, ParsesStatusCodesListAndSearch) {
  std::string status, code, text;
  ParseStatusText("NO [ALREADYEXISTS] Mailbox already exists", &status, &code, &text);
  EXPECT_EQ(status, "NO");
  EXPECT_EQ(code, "ALREADYEXISTS");
  EXPECT_EQ(text, "Mailbox already exists");
  ParseStatusText("OK [APPENDUID 1700 3] Append completed.", &status, &code, &text);
  EXPECT_EQ(code, "APPENDUID");
  ParseStatusText("ok done", &status, &code, &text);
  EXPECT_EQ(status, "OK");
  EXPECT_EQ(code, "");

  EXPECT_EQ(*ParseListSeparator(R"(LIST (\HasNoChildren) "/" INBOX)"), std::optional<char>('/'));
  EXPECT_EQ(*ParseListSeparator(R"(LIST (\Noselect) "\\" "")"), std::optional<char>('\\'));
  EXPECT_EQ(*ParseListSeparator("LIST () NIL INBOX"), std::nullopt);
  EXPECT_FALSE(ParseListSeparator("FLAGS (\\Seen)").ok());

  EXPECT_THAT(ParseSearch("SEARCH 4 17 230"), ElementsAre(4, 17, 230));
  EXPECT_TRUE(ParseSearch("SEARCH").empty());
}

TEST(ImapSyntaxTest, ThrottlingIsAWaitEvenWhenAnsweredBad) {
  auto refusal = [](absl::string_view line) {
    ImapResponse r;
    ParseStatusText(line, &r.status, &r.code, &r.text);
    return RefusalStatus(r, "outlook.office365.com:993", "APPEND");
  };
  // Exchange Online's answer when a mailbox's IMAP budget is spent.
  absl::Status throttled =
      refusal("BAD Request is throttled. Suggested Backoff Time: 201317 milliseconds");
  EXPECT_TRUE(absl::IsUnavailable(throttled)) << throttled;
  EXPECT_THAT(throttled.message(), HasSubstr("Suggested Backoff Time"));
  EXPECT_TRUE(absl::IsInvalidArgument(refusal("BAD Command Argument Error. 11")));
  EXPECT_TRUE(absl::IsUnavailable(refusal("NO [OVERQUOTA] Quota exceeded")));
  EXPECT_TRUE(absl::IsPermissionDenied(refusal("NO [AUTHENTICATIONFAILED] Invalid credentials")));
  EXPECT_TRUE(absl::IsFailedPrecondition(refusal("NO [TRYCREATE] Mailbox doesn't exist")));
}

TEST(ImapClientTest, ConnectionRefusedIsTransient) {
  // Port 1 (tcpmux) is closed on test machines.
  absl::StatusOr<std::unique_ptr<ImapClient>> c = ImapClient::Connect(
      {.host = "127.0.0.1", .port = 1, .tls = ImapTls::kNone, .timeout = absl::Seconds(5)});
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsUnavailable(c.status())) << c.status();
}

class ImapClientDovecotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<testing::DovecotProcess>> d = testing::DovecotProcess::Start(
        {.users = {{"alice@example.com", "alice-pw"}}, .tls = true, .max_message_bytes = 200000});
    if (!d.ok()) {
      start_error_ = new std::string(d.status().ToString());
      return;
    }
    dovecot_ = d->release();
  }
  // A failed start fails every test (an ASSERT in SetUpTestSuite would only skip them).
  void SetUp() override { ASSERT_NE(dovecot_, nullptr) << *start_error_; }
  static void TearDownTestSuite() {
    delete dovecot_;
    dovecot_ = nullptr;
  }
  ImapConnectOptions Plain() const {
    return {.host = "127.0.0.1", .port = dovecot_->port(), .tls = ImapTls::kNone,
            .timeout = absl::Seconds(10)};
  }
  std::unique_ptr<ImapClient> MasterLogin(ImapConnectOptions options) {
    absl::StatusOr<std::unique_ptr<ImapClient>> c = ImapClient::Connect(options);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    absl::Status s = (*c)->Login("alice@example.com*zarc-master", "master-secret");
    EXPECT_TRUE(s.ok()) << s;
    return *std::move(c);
  }
  static testing::DovecotProcess* dovecot_;
  static std::string* start_error_;
};
testing::DovecotProcess* ImapClientDovecotTest::dovecot_ = nullptr;
std::string* ImapClientDovecotTest::start_error_ = nullptr;

TEST_F(ImapClientDovecotTest, WrongPasswordIsPermissionDeniedWithoutTheSecret) {
  absl::StatusOr<std::unique_ptr<ImapClient>> c = ImapClient::Connect(Plain());
  ASSERT_TRUE(c.ok()) << c.status();
  absl::Status s = (*c)->Login("alice@example.com", "not-the-password");
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("AUTHENTICATIONFAILED"));
  EXPECT_THAT(s.message(), ::testing::Not(HasSubstr("not-the-password")));
}

TEST_F(ImapClientDovecotTest, SaslPlainWithPasswordAndMasterAuthzid) {
  absl::StatusOr<std::unique_ptr<ImapClient>> c = ImapClient::Connect(Plain());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->AuthenticatePlain("", "alice@example.com", "alice-pw").ok());
  absl::StatusOr<std::unique_ptr<ImapClient>> c2 = ImapClient::Connect(Plain());
  ASSERT_TRUE(c2.ok()) << c2.status();
  absl::Status bad = (*c2)->AuthenticatePlain("", "alice@example.com", "wrong");
  EXPECT_TRUE(absl::IsPermissionDenied(bad)) << bad;
}

TEST_F(ImapClientDovecotTest, CreatesSelectsAppendsStreamedAndSearches) {
  std::unique_ptr<ImapClient> c = MasterLogin(Plain());
  ASSERT_NE(c, nullptr);
  absl::StatusOr<std::optional<char>> sep = c->HierarchySeparator();
  ASSERT_TRUE(sep.ok()) << sep.status();
  ASSERT_EQ(*sep, std::optional<char>('/'));
  EXPECT_TRUE(absl::IsNotFound(c->Select("INBOX/Client Test")));
  ASSERT_TRUE(c->CreateIfMissing("INBOX/Client Test").ok());
  ASSERT_TRUE(c->CreateIfMissing("INBOX/Client Test").ok());  // ALREADYEXISTS is fine
  ASSERT_TRUE(c->Select("INBOX/Client Test").ok());

  // Larger than one 64 KiB chunk, within the 200000-byte limit.
  std::string body(150000, 'x');
  for (size_t i = 76; i < body.size(); i += 78) body.replace(i, 2, "\r\n");
  const std::string message = "Message-ID: <client-test-1@zarc.archive>\r\nSubject: t\r\n\r\n" + body;
  io::StringSource source(message);
  const absl::Time when = absl::FromUnixSeconds(1709647200);
  ASSERT_TRUE(c->Append("INBOX/Client Test", "\\Seen", when, message.size(), source).ok());
  absl::StatusOr<std::vector<uint32_t>> uids = c->SearchMessageId("client-test-1@zarc.archive");
  ASSERT_TRUE(uids.ok()) << uids.status();
  EXPECT_EQ(uids->size(), 1u);
  absl::StatusOr<std::vector<uint32_t>> none = c->SearchMessageId("other@zarc.archive");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(c->Logout().ok());

  absl::StatusOr<testing::ProbeResult> probe =
      testing::ProbeMailbox(*dovecot_, "alice@example.com", "INBOX/Client Test");
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_EQ(probe->messages.size(), 1u);
  EXPECT_EQ(probe->messages[0].sha256, crypto::Sha256Hex(message));
  EXPECT_EQ(probe->messages[0].internal_date, 1709647200);
  EXPECT_THAT(probe->messages[0].flags, HasSubstr("\\Seen"));
}

TEST_F(ImapClientDovecotTest, TooLargeIsAPermanentRefusalAndTheSessionGoesOn) {
  std::unique_ptr<ImapClient> c = MasterLogin(Plain());
  ASSERT_NE(c, nullptr);
  std::string message = "Subject: big\r\n\r\n" + std::string(300000, 'y');
  io::StringSource source(message);
  absl::Status s = c->Append("INBOX", "\\Seen", absl::Now(), message.size(), source);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("APPEND"));
  EXPECT_TRUE(c->Select("INBOX").ok());
}

TEST_F(ImapClientDovecotTest, SourceShorterThanStatedSizeIsDataLoss) {
  std::unique_ptr<ImapClient> c = MasterLogin(Plain());
  ASSERT_NE(c, nullptr);
  io::StringSource source("Subject: short\r\n\r\nbody");
  absl::Status s = c->Append("INBOX", "\\Seen", absl::Now(), 1000, source);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(ImapClientDovecotTest, StartTlsAndImplicitTlsVerifyTheCertificate) {
  ImapConnectOptions starttls = Plain();
  starttls.tls = ImapTls::kStartTls;
  starttls.ca_file = dovecot_->ca_file();
  std::unique_ptr<ImapClient> a = MasterLogin(starttls);
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->HasCapability("STARTTLS"));  // capabilities refreshed after the handshake

  ImapConnectOptions implicit = Plain();
  implicit.port = dovecot_->tls_port();
  implicit.tls = ImapTls::kImplicit;
  implicit.ca_file = dovecot_->ca_file();
  std::unique_ptr<ImapClient> b = MasterLogin(implicit);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Select("INBOX").ok());

  implicit.ca_file.clear();  // the self-signed certificate is not trusted by the system store
  absl::StatusOr<std::unique_ptr<ImapClient>> untrusted = ImapClient::Connect(implicit);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(untrusted.status())) << untrusted.status();
  EXPECT_THAT(untrusted.status().message(), HasSubstr("imap.ca_file"));
}

}  // namespace
}  // namespace zarc::importer

#include "services/importer/imap_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "runtime/io/byte_stream.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/testing/dovecot_fixture.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMessage[] =
    "From: zarc <zarc@example.com>\r\nTo: alice@example.com\r\nSubject: standup\r\n"
    "Message-ID: <standup-1@zarc.archive>\r\nDate: Tue, 05 Mar 2024 14:00:00 +0000\r\n\r\nhello\r\n";

// Credentials belong to the importer, never to an item: every refusal of them must make the
// delivery wait (UNAVAILABLE, retried by the stage runner), never settle it as FAILED.
class ImapTargetDovecotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<testing::DovecotProcess>> d =
        testing::DovecotProcess::Start({.users = {{"alice@example.com", "alice-pw"}}});
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

  ImapTargetOptions Master(const std::string& password) const {
    return {.server = {.host = "127.0.0.1",
                       .port = dovecot_->port(),
                       .tls = ImapTls::kNone,
                       .timeout = absl::Seconds(10)},
            .auth = "master",
            .master_user = "zarc-master",
            .password = password};
  }
  static DeliveryRequest Request(const std::string& mailbox = "alice@example.com") {
    return {.mailbox = mailbox,
            .message_id = "standup-1@zarc.archive",
            .topic = "standup",
            .internal_date = absl::FromUnixSeconds(1709647200),
            .size = sizeof kMessage - 1,
            .open = []() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
              return std::make_unique<io::StringSource>(kMessage);
            }};
  }

  static testing::DovecotProcess* dovecot_;
  static std::string* start_error_;
};

testing::DovecotProcess* ImapTargetDovecotTest::dovecot_ = nullptr;
std::string* ImapTargetDovecotTest::start_error_ = nullptr;

TEST_F(ImapTargetDovecotTest, ARefusedLoginWaitsAndTheFixedCredentialsDeliver) {
  ImapTarget wrong(Master("expired-secret"));
  absl::StatusOr<DeliveryOutcome> refused = wrong.Deliver(Request());
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsTransient(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("alice@example.com"));
  EXPECT_THAT(refused.status().message(), HasSubstr("imap.auth"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("expired-secret")));

  ImapTarget fixed(Master(dovecot_->options().master_password));
  absl::StatusOr<DeliveryOutcome> delivered = fixed.Deliver(Request());
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_EQ(*delivered, DeliveryOutcome::kDelivered);
}

int Logins(const std::string& dovecot_dir) {
  std::ifstream log(dovecot_dir + "/dovecot.log");
  std::string line;
  int n = 0;
  while (std::getline(log, line)) n += line.find("Login: user=<") != std::string::npos;
  return n;
}

// Deliveries to one mailbox one after the other share one connection and one login (issue 14),
// and each is still searched for by Message-ID first: a repeated one is recognised.
TEST_F(ImapTargetDovecotTest, ConsecutiveDeliveriesToAMailboxShareOneLogin) {
  ImapTarget target(Master(dovecot_->options().master_password));
  const int before = Logins(dovecot_->dir());
  // Each message carries its own Message-ID, which the target searches for.
  auto with_id = [](const std::string& id) {
    DeliveryRequest request = Request();
    request.message_id = id;
    auto text = std::make_shared<std::string>(absl::StrReplaceAll(
        kMessage, {{"<standup-1@zarc.archive>", absl::StrCat("<", id, ">")}}));
    request.size = text->size();
    request.open = [text]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
      return std::make_unique<io::StringSource>(*text);
    };
    return request;
  };
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<DeliveryOutcome> delivered =
        target.Deliver(with_id(absl::StrCat("reuse-", i, "@zarc.archive")));
    ASSERT_TRUE(delivered.ok()) << delivered.status();
    EXPECT_EQ(*delivered, DeliveryOutcome::kDelivered);
  }
  // Appended by this very connection: found all the same.
  absl::StatusOr<DeliveryOutcome> repeated = target.Deliver(with_id("reuse-2@zarc.archive"));
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_EQ(*repeated, DeliveryOutcome::kAlreadyThere);
  // Dovecot writes its log line as it logs the user in; give it a moment to reach the file.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Logins(dovecot_->dir()) - before, 1);

  ImapTargetOptions no_reuse = Master(dovecot_->options().master_password);
  no_reuse.max_idle_connections = 0;
  ImapTarget each(no_reuse);
  const int before_each = Logins(dovecot_->dir());
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(each.Deliver(Request()).ok());
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Logins(dovecot_->dir()) - before_each, 2);
}

TEST_F(ImapTargetDovecotTest, AMailboxTheServerDoesNotHaveIsItsOwnFailure) {
  ImapTarget target(Master(dovecot_->options().master_password));
  // Before any login worked, a refusal cannot be told from bad credentials: it waits.
  absl::StatusOr<DeliveryOutcome> unknown = target.Deliver(Request("ghost@example.com"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(IsTransient(unknown.status())) << unknown.status();

  ASSERT_TRUE(target.Deliver(Request()).ok());
  absl::StatusOr<DeliveryOutcome> missing = target.Deliver(Request("ghost@example.com"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("ghost@example.com"));
}

TEST_F(ImapTargetDovecotTest, AnXOAuth2TokenFileEmptyOrMissingWaits) {
  zarc::testing::TempDir dir;
  const std::string token_file = dir.path() + "/imap-token";
  ImapTargetOptions options = Master("");
  options.auth = "xoauth2";
  options.token_file = token_file;
  ImapTarget target(options);

  absl::StatusOr<DeliveryOutcome> missing = target.Deliver(Request());
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(IsTransient(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr(token_file));

  std::ofstream(token_file) << "\n";  // truncated by the refresher, not yet rewritten
  absl::StatusOr<DeliveryOutcome> empty = target.Deliver(Request());
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(IsTransient(empty.status())) << empty.status();
  EXPECT_THAT(empty.status().message(), HasSubstr("empty"));

  // A token the server refuses (expired, or, as here, a server not offering XOAUTH2 at all)
  // waits too.
  std::ofstream(token_file) << "expired-token\n";
  absl::StatusOr<DeliveryOutcome> expired = target.Deliver(Request());
  ASSERT_FALSE(expired.ok());
  EXPECT_TRUE(IsTransient(expired.status())) << expired.status();
  EXPECT_THAT(expired.status().message(), Not(HasSubstr("expired-token")));
}

TEST(ImapTargetQuotaTest, AFullMailboxWaitsInsteadOfFailing) {
  absl::StatusOr<std::unique_ptr<testing::DovecotProcess>> dovecot =
      testing::DovecotProcess::Start({.users = {{"alice@example.com", "alice-pw"}}, .max_messages = 1});
  ASSERT_TRUE(dovecot.ok()) << dovecot.status();
  ImapTarget target({.server = {.host = "127.0.0.1",
                                .port = (*dovecot)->port(),
                                .tls = ImapTls::kNone,
                                .timeout = absl::Seconds(10)},
                     .auth = "master",
                     .master_user = "zarc-master",
                     .password = (*dovecot)->options().master_password});
  const std::string first = kMessage;
  const std::string second = absl::StrReplaceAll(first, {{"standup-1@", "standup-2@"}});
  auto request = [](const std::string& bytes, const std::string& message_id) {
    return DeliveryRequest{.mailbox = "alice@example.com",
                           .message_id = message_id,
                           .topic = "standup",
                           .internal_date = absl::FromUnixSeconds(1709647200),
                           .size = bytes.size(),
                           .open = [&bytes]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
                             return std::make_unique<io::StringSource>(bytes);
                           }};
  };
  absl::StatusOr<DeliveryOutcome> one = target.Deliver(request(first, "standup-1@zarc.archive"));
  ASSERT_TRUE(one.ok()) << one.status();
  absl::StatusOr<DeliveryOutcome> full = target.Deliver(request(second, "standup-2@zarc.archive"));
  ASSERT_FALSE(full.ok());
  EXPECT_TRUE(IsTransient(full.status())) << full.status();
  EXPECT_THAT(full.status().message(), HasSubstr("OVERQUOTA"));
}

}  // namespace
}  // namespace zarc::importer

// IMAP with app-only OAuth, as Exchange Online takes it: zarc asks the identity platform (the
// Graph simulator's token endpoint) for a token for https://outlook.office365.com/.default and
// logs in with AUTHENTICATE XOAUTH2 to a real Dovecot whose oauth2 passdb checks every token with
// the simulator (aud must be Exchange Online's). No token file anywhere.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/io/byte_stream.h"
#include "runtime/testing/app_certificate.h"
#include "runtime/testing/subprocess.h"
#include "services/importer/imap_target.h"
#include "services/importer/testing/dovecot_fixture.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kFolder[] = "INBOX/Zoom Meetings";
constexpr char kMailbox[] = "alice@example.com";
constexpr char kSecret[] = "zarc-graph-secret";

std::string Message(int n) {
  return absl::StrCat("From: zarc <zarc@example.com>\r\nTo: alice@example.com\r\nSubject: standup ",
                      n, "\r\nMessage-ID: <standup-", n,
                      "@zarc.archive>\r\nDate: Tue, 05 Mar 2024 14:00:00 +0000\r\n\r\nhello\r\n");
}

DeliveryRequest Request(int n) {
  const std::string text = Message(n);
  return {.mailbox = kMailbox,
          .message_id = absl::StrCat("standup-", n, "@zarc.archive"),
          .topic = "standup",
          .internal_date = absl::FromUnixSeconds(1709647200 + n),
          .size = text.size(),
          .open = [text]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
            return std::make_unique<io::StringSource>(text);
          }};
}

class ImapOAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    graph_sim::GraphSimOptions options;
    options.tenant_id = "t1";
    options.client_secret = kSecret;
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "app").ok());
    options.client_certificates_pem = {
        zarc::testing::ReadCredentialFile(dir_.path() + "/app.crt")};
    // One clock for the identity platform and for zarc, moved on by the tests.
    options.clock = [this] { return Now(); };
    sim_ = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory(), options);
    ASSERT_NE(sim_, nullptr);
    absl::StatusOr<std::unique_ptr<testing::DovecotProcess>> d = testing::DovecotProcess::Start(
        {.users = {{kMailbox, "unused-password"}},
         .oauth2_token_info_url = sim_->url + "/_sim/token-info"});
    ASSERT_TRUE(d.ok()) << d.status();
    dovecot_ = *std::move(d);
  }

  absl::Time Now() const { return absl::Now() + absl::Seconds(skew_seconds_.load()); }

  ImapTargetOptions OAuth(entra::Credentials credentials) const {
    credentials.login_url = sim_->url;
    credentials.tenant_id = "t1";
    credentials.client_id = "zarc-graph-client";
    return {.server = {.host = "127.0.0.1",
                       .port = dovecot_->port(),
                       .tls = ImapTls::kNone,
                       .timeout = absl::Seconds(10)},
            .auth = "xoauth2",
            .oauth = credentials,
            .oauth_now = [this] { return Now(); }};
  }
  ImapTargetOptions BySecret(const std::string& secret = kSecret) const {
    return OAuth({.client_secret = secret});
  }

  std::vector<testing::ProbedMessage> Delivered() const {
    absl::StatusOr<testing::ProbeResult> probe = testing::ProbeMailbox(*dovecot_, kMailbox, kFolder);
    EXPECT_TRUE(probe.ok()) << probe.status();
    return probe.ok() ? probe->messages : std::vector<testing::ProbedMessage>{};
  }

  zarc::testing::TempDir dir_;
  std::atomic<int64_t> skew_seconds_{0};
  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  std::unique_ptr<testing::DovecotProcess> dovecot_;
};

TEST_F(ImapOAuthTest, ZarcsOwnTokenDeliversSeenAndDatedAndIsReusedUntilItExpires) {
  ImapTarget target(BySecret());
  for (int n = 1; n <= 2; ++n) {
    absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(Request(n));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(*outcome, DeliveryOutcome::kDelivered);
  }
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 1) << "one token serves both deliveries";

  // An hour and a quarter later the first token has expired at the identity platform and in
  // Dovecot's check; the next delivery carries on with a fresh one.
  skew_seconds_ = 75 * 60;
  absl::StatusOr<DeliveryOutcome> later = target.Deliver(Request(3));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(*later, DeliveryOutcome::kDelivered);
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 2);

  const std::vector<testing::ProbedMessage> messages = Delivered();
  ASSERT_THAT(messages, SizeIs(3));
  for (const testing::ProbedMessage& m : messages) {
    EXPECT_THAT(m.flags, HasSubstr("\\Seen"));
    EXPECT_EQ(m.internal_date, 1709647200 + static_cast<int64_t>(&m - &messages[0]) + 1);
  }
}

TEST_F(ImapOAuthTest, ATokenRevokedBeforeItsExpiryIsReplacedAndTheDeliveryCarriesOn) {
  ImapTargetOptions options = BySecret();
  options.max_idle_connections = 0;  // every delivery logs in: the second one meets the revocation
  ImapTarget target(options);
  ASSERT_TRUE(target.Deliver(Request(1)).ok());
  sim_->sim->RevokeTokens();  // still valid by its expiry, refused by the server all the same
  absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(Request(2));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 2);
  EXPECT_THAT(Delivered(), SizeIs(2));
}

TEST_F(ImapOAuthTest, ACertificateCredentialDelivers) {
  ImapTarget target(OAuth({.certificate_file = dir_.path() + "/app.pem"}));
  absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(Request(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ(sim_->sim->Stats().tokens_by_certificate, 1);
  EXPECT_THAT(Delivered(), SizeIs(1));
}

// A token for Graph is not one for Exchange Online: the mailbox server refuses it, and the
// delivery waits (the deployment's scope is wrong, not the item) rather than failing.
TEST_F(ImapOAuthTest, ATokenForAnotherResourceIsRefusedAndTheDeliveryWaits) {
  ImapTargetOptions options = BySecret();
  options.oauth_scope = sim_->url + "/.default";
  ImapTarget target(options);
  absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(Request(1));
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(IsTransient(outcome.status())) << outcome.status();
  EXPECT_THAT(outcome.status().message(), HasSubstr(kMailbox));
  EXPECT_THAT(outcome.status().message(), HasSubstr("imap.auth"));
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 2) << "refused once, a fresh token tried once";
  EXPECT_THAT(Delivered(), SizeIs(0));
}

TEST_F(ImapOAuthTest, ARefusedSecretWaitsNamesTheSettingsAndNeverShowsTheSecret) {
  ImapTarget target(BySecret("expired-secret-value"));
  absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(Request(1));
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(IsTransient(outcome.status())) << outcome.status();
  EXPECT_THAT(outcome.status().message(), HasSubstr("graph.client_secret"));
  EXPECT_THAT(outcome.status().message(), Not(HasSubstr("expired-secret-value")));
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 0);
}

}  // namespace
}  // namespace zarc::importer

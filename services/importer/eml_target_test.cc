#include "services/importer/eml_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

#include "runtime/testing/subprocess.h"

namespace zarc::importer {
namespace {

using ::testing::HasSubstr;

TEST(EmlTargetTest, WritesAFileMailClientsParseOnceAndFindsItAgain) {
  zarc::testing::TempDir dir;
  auto store = blob::OpenBlobStore({.url = "file://" + dir.path()});
  ASSERT_TRUE(store.ok());
  EmlTarget target(**store);
  const std::string message =
      "Message-ID: <abc@zarc.archive>\r\nSubject: Quarterly review\r\nFrom: host@example.com\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n";
  DeliveryRequest request{
      .mailbox = "Alice@Example.com",
      .message_id = "abc@zarc.archive",
      .topic = "Q1 review: plans/risks?",
      .internal_date = absl::FromUnixSeconds(1709647200),
      .size = message.size(),
      .open = [&]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
        return std::unique_ptr<io::ByteSource>(std::make_unique<io::StringSource>(message));
      }};
  absl::StatusOr<DeliveryOutcome> first = target.Deliver(request);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, DeliveryOutcome::kDelivered);
  absl::StatusOr<DeliveryOutcome> second = target.Deliver(request);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, DeliveryOutcome::kAlreadyThere);

  const std::string folder = dir.path() + "/alice@example.com/Inbox/Zoom Meetings";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder)) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_THAT(files[0], HasSubstr("/2024-03-05 Q1 review_ plans_risks_ "));
  EXPECT_THAT(files[0], ::testing::EndsWith(".eml"));

  // An independent parser (Python's email package) reads it.
  auto p = zarc::testing::Subprocess::Start(
      {.argv = {"/usr/bin/python3", "-c",
                "import email,sys,email.policy\n"
                "m=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=email.policy.default)\n"
                "print(m['Message-ID'], '|', m['Subject'], '|', m.get_content().strip())",
                files[0]},
       .merge_stderr = true});
  ASSERT_TRUE(p.ok());
  const std::string out = (*p)->ReadRemaining(absl::Seconds(30));
  ASSERT_EQ(*(*p)->Wait(absl::Seconds(10)), 0) << out;
  EXPECT_THAT(out, HasSubstr("<abc@zarc.archive> | Quarterly review | Hello"));
}

TEST(EmlTargetTest, MailboxFoldersAreReadableAndNeverShared) {
  EXPECT_EQ(MailboxPathSegment("Alice@Example.com"), "alice@example.com");
  EXPECT_EQ(MailboxPathSegment("o'brien+zoom@example.com"), "o'brien+zoom@example.com");
  const std::string dollar = MailboxPathSegment("a$b@x");
  EXPECT_THAT(dollar, ::testing::StartsWith("a_b@x~"));
  EXPECT_NE(dollar, MailboxPathSegment("a_b@x"));
  EXPECT_NE(MailboxPathSegment("a/b@x"), MailboxPathSegment("a*b@x"));
  EXPECT_EQ(MailboxPathSegment("A$B@X"), dollar);  // one mailbox, whatever its case
  EXPECT_NE(MailboxPathSegment("../x"), "_._x");
  EXPECT_EQ(MailboxPathSegment("../x").find('/'), std::string::npos);

  // Two such mailboxes each get their own .eml.
  zarc::testing::TempDir dir;
  auto store = blob::OpenBlobStore({.url = "file://" + dir.path()});
  ASSERT_TRUE(store.ok());
  EmlTarget target(**store);
  const std::string message = "Message-ID: <m@zarc.archive>\r\nSubject: x\r\n\r\nHello\r\n";
  for (const std::string mailbox : {"a$b@x", "a_b@x"}) {
    DeliveryRequest request{
        .mailbox = mailbox,
        .message_id = "m@zarc.archive",
        .topic = "t",
        .internal_date = absl::FromUnixSeconds(1709647200),
        .size = message.size(),
        .open = [&]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
          return std::unique_ptr<io::ByteSource>(std::make_unique<io::StringSource>(message));
        }};
    absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(request);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(*outcome, DeliveryOutcome::kDelivered) << mailbox;
  }
}

TEST(EmlTargetTest, HostileTopicsAndMailboxesNeverLeaveTheFolder) {
  zarc::testing::TempDir dir;
  const std::string root = dir.path() + "/mail";
  auto store = blob::OpenBlobStore({.url = "file://" + root});
  ASSERT_TRUE(store.ok());
  EmlTarget target(**store);
  const std::string message = "Message-ID: <h@zarc.archive>\r\nSubject: x\r\n\r\nHello\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"alice@example.com", "../../../../etc/cron.d/evil"},
      {"alice@example.com", "/etc/passwd"},
      {"alice@example.com", std::string("a\x01\x1b[31m\r\nb\0c", 13)},
      {"alice@example.com", ".."},
      {"../../escape", "topic"},
      {"/abs/mailbox", "topic"},
      {"..", "topic"},
  };
  int n = 0;
  for (const auto& [mailbox, topic] : cases) {
    DeliveryRequest request{
        .mailbox = mailbox,
        .message_id = absl::StrCat("h", n++, "@zarc.archive"),
        .topic = topic,
        .internal_date = absl::FromUnixSeconds(1709647200),
        .size = message.size(),
        .open = [&]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
          return std::unique_ptr<io::ByteSource>(std::make_unique<io::StringSource>(message));
        }};
    const std::string name = EmlTarget::FileName(request);
    for (char c : name) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << name;
    absl::StatusOr<DeliveryOutcome> outcome = target.Deliver(request);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(*outcome, DeliveryOutcome::kDelivered) << name;
  }
  // Every file is under the root, exactly three levels down: <mailbox>/Inbox/Zoom Meetings/.
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string relative = std::filesystem::relative(e.path(), root).string();
    EXPECT_FALSE(absl::StartsWith(relative, "..")) << relative;
    if (absl::StartsWith(relative, ".zarc-meta/")) continue;  // the local store's own sidecars
    ++files;
    EXPECT_EQ(std::count(relative.begin(), relative.end(), '/'), 3) << relative;
  }
  EXPECT_EQ(files, static_cast<int>(cases.size()));
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "mail") << "written outside the folder: " << e.path();
  }
}

TEST(EmlTargetTest, SanitizesPathSegments) {
  EXPECT_EQ(SanitizePathSegment("../etc/passwd", 80), "_._etc_passwd");
  EXPECT_EQ(SanitizePathSegment("  a   b  ", 80), "a b");
  EXPECT_EQ(SanitizePathSegment("", 80), "_");
  EXPECT_EQ(SanitizePathSegment("Caf\xc3\xa9", 80), "Caf\xc3\xa9");
  EXPECT_EQ(SanitizePathSegment("Caf\xc3\xa9", 4), "Caf");  // é cut by the limit is dropped whole
  EXPECT_EQ(SanitizePathSegment("a<b>:c|d?*\"", 80), "a_b__c_d___");
  EXPECT_EQ(SanitizePathSegment(std::string(100, 'x'), 10), std::string(10, 'x'));
}

}  // namespace
}  // namespace zarc::importer

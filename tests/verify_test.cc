// `zarc verify` finds every deliberate gap and drives it to completion. A tenant is archived by
// `zarc run`; then, with the process stopped, three kinds of gap are made by hand in its stores:
// a delivery never made (no message in the mailbox, no archive record, no result), a meeting never
// captured (nothing of it anywhere), and a meeting whose results were lost although its messages
// are in the mailboxes. The reconciler is off, so only verify can find them. verify must report
// exactly those meetings, drive them, and a later verify must find nothing missing, with every
// expected message in its mailbox exactly once.
#include <signal.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/blob/blob_store.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"
#include "runtime/ledger/ledger.h"
#include "services/converter/renderer.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::ReadEmlMailboxes;
using testing::ReadFile;
using testing::RunCommand;

constexpr char kFrom[] = "2024-03-04";
constexpr char kTo[] = "2024-03-09";
constexpr char kAccount[] = "acct-verify";

std::unique_ptr<blob::BlobStore> Store(const std::string& path) {
  auto s = blob::OpenBlobStore({.url = "file://" + path});
  return s.ok() ? *std::move(s) : nullptr;
}

// Deletes every blob under `prefix` whose name ends with `suffix`; returns how many.
int DeleteMatching(blob::BlobStore& store, const std::string& prefix, const std::string& suffix = "") {
  auto list = store.List(prefix);
  int n = 0;
  if (!list.ok()) return -1;
  for (const blob::BlobInfo& b : *list) {
    if (absl::EndsWith(b.name, suffix) && store.Delete(b.name).ok()) ++n;
  }
  return n;
}

// The .eml blob in the mailboxes store that carries `message_id` for `mailbox`.
std::string EmlName(const std::string& mailboxes_root, const std::string& mailbox,
                    const std::string& message_id) {
  const std::string folder = mailbox + "/Inbox/Zoom Meetings/";
  auto store = Store(mailboxes_root);
  auto list = store->List(folder);
  if (!list.ok()) return "";
  for (const blob::BlobInfo& b : *list) {
    if (ReadFile(mailboxes_root + "/" + b.name).find("Message-ID: <" + message_id + ">") != std::string::npos) {
      return b.name;
    }
  }
  return "";
}

std::pair<int, json::Value> Verify(int port, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {testing::BinPath("zarc"), "verify", std::string("--from=") + kFrom,
                                   std::string("--to=") + kTo, "--format=json",
                                   absl::StrCat("--fetcher=127.0.0.1:", port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto [code, out] = RunCommand(argv, absl::Seconds(120));
  absl::StatusOr<json::Value> v = json::Parse(out.substr(std::min(out.size(), out.find('{'))), "verify");
  EXPECT_TRUE(v.ok()) << out;
  return {code, v.ok() ? *v : json::Value::Object()};
}

std::map<std::string, std::string> GapStates(const json::Value& report) {
  std::map<std::string, std::string> out;
  for (const json::Value& g : json::Array(report, "gaps")) {
    out[json::String(g, "meetingUuid")] = json::String(g, "state");
  }
  return out;
}

void WaitForPairs(const std::string& mailboxes, int64_t pairs) {
  for (absl::Time deadline = absl::Now() + absl::Seconds(120);
       testing::Count(ReadEmlMailboxes(mailboxes)) < pairs && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(200));
  }
}

TEST(VerifyTest, FindsExactlyTheDeliberateGapsAndDrivesThemToCompletion) {
  testing::TempDir dir;
  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<testing::Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=31", "--users=8", "--meetings=30", "--days=5", std::string("--from=") + kFrom,
       "--recording-bytes=1024", "--audio-bytes=512", "--archive-bytes=512", "--plan=unlimited",
       std::string("--account-id=") + kAccount, "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const auto expected = testing::ExpectedFromManifest(*manifest);
  const int64_t pairs = testing::Pairs(expected);

  const std::string data = dir.path() + "/data";
  const std::string mailboxes = data + "/mailboxes";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + data, "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0",
       "--zoom.api_url=" + *zoom_url + "/v2", "--zoom.oauth_url=" + *zoom_url + "/oauth/token",
       std::string("--zoom.account_id=") + kAccount, "--zoom.client_id=zarc-sim-client",
       "--zoom.retry_backoff=100ms"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}}, dir.path() + "/zarc-run.log");
  ASSERT_TRUE(run.Start().ok()) << testing::TailOf(run.log_path());
  auto [sync_code, sync_out] = RunCommand(
      {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom, std::string("--to=") + kTo,
       absl::StrCat("--fetcher=127.0.0.1:", run.grpc_port())},
      absl::Seconds(120));
  ASSERT_EQ(sync_code, 0) << sync_out;
  WaitForPairs(mailboxes, pairs);
  // Everything there: nothing missing, exit 0.
  {
    absl::SleepFor(absl::Seconds(1));  // the ledger writer follows the status log closely
    auto [code, report] = Verify(run.grpc_port());
    EXPECT_EQ(code, 0) << json::Serialize(report);
    EXPECT_EQ(json::Int(report, "meetingsAtZoom"), 30);
    EXPECT_EQ(json::Int(report, "fullyDelivered"), 30);
    EXPECT_EQ(json::Int(report, "missing"), 0);
  }
  run.Stop(SIGTERM);

  // The gaps, made by hand in the stores.
  std::vector<std::pair<std::string, std::string>> meetings;  // uuid, a mailbox that must hold it
  for (const json::Value& m : json::Array(*manifest, "meetings")) {
    const std::string uuid = json::String(m, "uuid");
    const std::string id = converter::MessageIdFor(kAccount, uuid, 1, "zarc.archive");
    for (const auto& [mailbox, ids] : expected) {
      if (ids.count(id)) {
        meetings.emplace_back(uuid, mailbox);
        break;
      }
    }
  }
  ASSERT_GE(meetings.size(), 3u);
  auto staging = Store(data + "/staging");
  auto archive = Store(data + "/archive");
  auto eml = Store(mailboxes);
  ASSERT_TRUE(staging && archive && eml);
  ledger::Ledger ledger(*staging);
  auto item_of = [](const std::string& uuid) { return ledger::ItemId(kAccount, uuid, 1); };
  auto h = [](const std::string& s, size_t n) { return crypto::Sha256Hex(s).substr(0, n); };
  auto forget_delivery = [&](const std::string& uuid, const std::string& mailbox) {
    const std::string id = converter::MessageIdFor(kAccount, uuid, 1, "zarc.archive");
    const std::string name = EmlName(mailboxes, mailbox, id);
    ASSERT_FALSE(name.empty()) << mailbox << " " << id;
    ASSERT_TRUE(eml->Delete(name).ok());
    ASSERT_EQ(DeleteMatching(*archive, "mailboxes/" + mailbox + "/", h(item_of(uuid), 32) + ".json"), 1);
    zarc::v1::ImportResult pair;
    pair.set_item_id(item_of(uuid));
    pair.set_mailbox(mailbox);
    ASSERT_TRUE(staging->Delete(ledger.EntryName(pair)).ok());
  };
  // 1. A delivery never made.
  const auto [undelivered, undelivered_mailbox] = meetings[0];
  forget_delivery(undelivered, undelivered_mailbox);
  // 2. A meeting never captured: its versions, message, results and deliveries are all gone.
  const std::string uncaptured = meetings[1].first;
  const std::string uncaptured_id = converter::MessageIdFor(kAccount, uncaptured, 1, "zarc.archive");
  ASSERT_GE(DeleteMatching(*staging, "state/fetcher/meetings/" + h(uncaptured, 40) + "/"), 1);
  ASSERT_EQ(DeleteMatching(*staging, "messages/", crypto::Sha256Hex(item_of(uncaptured)) + ".eml"), 1);
  ASSERT_EQ(DeleteMatching(*archive, "items/", h(item_of(uncaptured), 32) + ".eml"), 1);
  for (const auto& [mailbox, ids] : expected) {
    if (ids.count(uncaptured_id)) forget_delivery(uncaptured, mailbox);
  }
  ASSERT_EQ(DeleteMatching(*staging, "state/ledger/" + h(item_of(uncaptured), 40) + "/"), 0);
  // 3. Results lost, messages still in the mailboxes.
  const std::string unrecorded = meetings[2].first;
  ASSERT_GE(DeleteMatching(*staging, "state/ledger/" + h(item_of(unrecorded), 40) + "/"), 1);
  const int64_t left = testing::Count(ReadEmlMailboxes(mailboxes));
  ASSERT_LT(left, pairs);

  ASSERT_TRUE(run.Start().ok()) << testing::TailOf(run.log_path());
  // Reported, not driven.
  {
    auto [code, report] = Verify(run.grpc_port(), {"--report-only"});
    EXPECT_EQ(code, 3);
    EXPECT_EQ(json::Int(report, "meetingsAtZoom"), 30);
    EXPECT_EQ(json::Int(report, "fullyDelivered"), 27);
    EXPECT_EQ(json::Int(report, "notCaptured"), 1);
    EXPECT_EQ(json::Int(report, "notDelivered"), 2);
    EXPECT_EQ(json::Int(report, "missing"), 3);
    EXPECT_THAT(GapStates(report),
                UnorderedElementsAre(std::pair{undelivered, "STATE_NOT_DELIVERED"},
                                     std::pair{uncaptured, "STATE_NOT_CAPTURED"},
                                     std::pair{unrecorded, "STATE_NOT_DELIVERED"}));
    absl::SleepFor(absl::Seconds(2));
    EXPECT_EQ(testing::Count(ReadEmlMailboxes(mailboxes)), left);
  }
  // The text report names the gaps for a person.
  {
    auto [code, out] = RunCommand({testing::BinPath("zarc"), "verify", std::string("--from=") + kFrom,
                                   std::string("--to=") + kTo, "--report-only",
                                   absl::StrCat("--fetcher=127.0.0.1:", run.grpc_port())},
                                  absl::Seconds(120));
    EXPECT_EQ(code, 3) << out;
    EXPECT_THAT(out, HasSubstr("not captured  " + uncaptured));
    EXPECT_THAT(out, HasSubstr("zarc holds no version of this meeting"));
    EXPECT_THAT(out, HasSubstr("3 meeting(s) with something missing (not driven: --report-only)"));
  }
  // Driven.
  {
    auto [code, report] = Verify(run.grpc_port());
    EXPECT_EQ(code, 3);
    for (const json::Value& g : json::Array(report, "gaps")) {
      EXPECT_FALSE(json::String(g, "driven").empty()) << json::Serialize(g);
    }
  }
  WaitForPairs(mailboxes, pairs);
  absl::SleepFor(absl::Seconds(1));
  {
    auto [code, report] = Verify(run.grpc_port());
    EXPECT_EQ(code, 0) << json::Serialize(report);
    EXPECT_EQ(json::Int(report, "fullyDelivered"), 30);
  }
  const testing::AuditResult audit = testing::Audit(expected, ReadEmlMailboxes(mailboxes));
  EXPECT_EQ(audit.missing + audit.duplicated + audit.unexpected, 0) << audit.examples;

  // The status log carries the newest completeness check.
  absl::StatusOr<json::Value> log = run.StatusLog();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(json::Int(json::Object(*log, "completeness"), "fullyDelivered"), 30);
  EXPECT_EQ(json::Int(json::Object(*log, "completeness"), "missing"), 0);
}

}  // namespace
}  // namespace zarc

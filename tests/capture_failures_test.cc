// The status log tells what the fetcher could not capture. A meeting the fetcher finds at Zoom
// but cannot capture is available from source and failed, with its reason and host; a file it
// could not capture makes the item partially imported, the file named with why. `zarc run` archives a tenant whose Zoom answers a
// 500 for two meetings' participants; `zarc log` must show all six meetings available and those
// two failed. Once Zoom answers again and a second sync captures them, they count as imported and
// nothing is failed.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/http/http_client.h"
#include "runtime/json/json.h"
#include "runtime/ledger/ledger.h"
#include "services/converter/renderer.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using testing::ReadEmlMailboxes;
using testing::ReadFile;
using testing::RunCommand;

constexpr char kFrom[] = "2024-03-04";
constexpr char kTo[] = "2024-03-08";
constexpr char kAccount[] = "acct-failures";

absl::Status SimState(const std::string& zoom_url, const json::Value& body) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  http::ClientRequest req;
  req.method = "POST";
  req.url = zoom_url + "/_sim/state";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = json::Serialize(body);
  absl::StatusOr<http::ClientResponse> r = client->Send(req);
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::InternalError(absl::StrCat(r->status, " ", r->body));
  return absl::OkStatus();
}

absl::Status SetParticipants(const std::string& zoom_url, const std::string& uuid,
                             const std::string& state) {
  json::Value body = json::Value::object();
  body["meeting_uuid"] = json::Str(uuid);
  body["participants"] = json::Str(state);
  return SimState(zoom_url, body);
}

absl::Status SetFileState(const std::string& zoom_url, const std::string& file_id,
                          const std::string& state) {
  json::Value body = json::Value::object();
  body["file_id"] = json::Str(file_id);
  body["state"] = json::Str(state);
  return SimState(zoom_url, body);
}

std::pair<int, std::string> Sync(int port) {
  return RunCommand({testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom,
                     std::string("--to=") + kTo, absl::StrCat("--fetcher=127.0.0.1:", port)},
                    absl::Seconds(180));
}

// Waits until the mailboxes hold `pairs` messages, and returns what they hold.
testing::MailboxContents WaitForPairs(const std::string& mailboxes, int64_t pairs) {
  testing::MailboxContents contents = ReadEmlMailboxes(mailboxes);
  for (absl::Time deadline = absl::Now() + absl::Seconds(120);
       testing::Count(contents) < pairs && absl::Now() < deadline;
       contents = ReadEmlMailboxes(mailboxes)) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  return contents;
}

// `zarc log` once the importer has reported `imported` deliveries.
json::Value WaitForLog(testing::ZarcRunProcess& run, int64_t imported) {
  absl::StatusOr<json::Value> log = run.StatusLog();
  for (absl::Time deadline = absl::Now() + absl::Seconds(60);
       (!log.ok() || testing::SumDays(*log, "imported") < imported) && absl::Now() < deadline;
       log = run.StatusLog()) {
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *log : json::Value::object();
}

TEST(CaptureFailuresTest, AMeetingNotCapturedIsFailedInTheLogUntilItIsCaptured) {
  testing::TempDir dir;
  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<testing::Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=43", "--users=4", "--meetings=6", "--days=3",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       "--archive-bytes=512", "--plan=unlimited", std::string("--account-id=") + kAccount,
       "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::map<std::string, std::string> email_of;
  for (const json::Value& u : json::Array(*manifest, "users")) {
    email_of[json::String(u, "id")] = absl::AsciiStrToLower(json::String(u, "email"));
  }
  const std::vector<json::Value> meetings = json::Array(*manifest, "meetings");
  ASSERT_EQ(meetings.size(), 6u);

  // Two meetings Zoom cannot give participants for: their capture fails after every retry.
  std::vector<std::string> broken_uuids;
  std::vector<std::tuple<std::string, std::string>> broken;  // item id, source user
  for (size_t i = 0; i < 2; ++i) {
    const std::string uuid = json::String(meetings[i], "uuid");
    ASSERT_TRUE(SetParticipants(*zoom_url, uuid, "500").ok());
    broken_uuids.push_back(uuid);
    broken.emplace_back(ledger::ItemId(kAccount, uuid, ledger::kNotCapturedVersion),
                        email_of[json::String(meetings[i], "host_id")]);
  }
  const auto expected = testing::ExpectedFromManifest(*manifest);
  std::set<std::string> broken_ids;
  for (const std::string& uuid : broken_uuids) {
    broken_ids.insert(converter::MessageIdFor(kAccount, uuid, 1, "zarc.archive"));
  }
  int64_t first_pairs = 0;
  for (const auto& [mailbox, ids] : expected) {
    for (const std::string& id : ids) first_pairs += broken_ids.count(id) ? 0 : 1;
  }
  const int64_t pairs = testing::Pairs(expected);
  ASSERT_GT(first_pairs, 0);
  ASSERT_LT(first_pairs, pairs);

  const std::string data = dir.path() + "/data";
  const std::string mailboxes = data + "/mailboxes";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + data, "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0",
       "--fetcher.pending_delay=200ms", "--zoom.api_url=" + *zoom_url + "/v2",
       "--zoom.oauth_url=" + *zoom_url + "/oauth/token", std::string("--zoom.account_id=") + kAccount,
       "--zoom.client_id=zarc-sim-client", "--zoom.retry_backoff=20ms"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}}, dir.path() + "/zarc-run.log");
  ASSERT_TRUE(run.Start().ok()) << testing::TailOf(run.log_path());

  auto [code, out] = Sync(run.grpc_port());
  EXPECT_EQ(code, 1) << out;  // some meetings failed
  EXPECT_EQ(testing::Count(WaitForPairs(mailboxes, first_pairs)), first_pairs);
  {
    const json::Value log = WaitForLog(run, first_pairs);
    EXPECT_EQ(testing::SumDays(log, "available_from_source"), 6) << json::Serialize(log);
    EXPECT_EQ(testing::SumDays(log, "imported"), first_pairs) << json::Serialize(log);
    EXPECT_EQ(testing::SumDays(log, "failed"), 2) << json::Serialize(log);
    std::vector<std::tuple<std::string, std::string>> failed;
    for (const json::Value& f : json::Array(log, "failed")) {
      failed.emplace_back(json::String(f, "item_id"), json::String(f, "source_user"));
      EXPECT_EQ(json::String(f, "microsoft_365_user"), "-");
      EXPECT_THAT(json::String(f, "reason"), HasSubstr("not captured from Zoom"));
      EXPECT_THAT(json::String(f, "reason"), HasSubstr("HTTP 500"));
    }
    EXPECT_THAT(failed, UnorderedElementsAreArray(broken)) << json::Serialize(log);
  }

  // Zoom answers again: the next sync captures them, and the failures no longer count.
  for (const std::string& uuid : broken_uuids) {
    ASSERT_TRUE(SetParticipants(*zoom_url, uuid, "shown").ok());
  }
  std::tie(code, out) = Sync(run.grpc_port());
  EXPECT_EQ(code, 0) << out;
  const testing::MailboxContents contents = WaitForPairs(mailboxes, pairs);
  const testing::AuditResult audit = testing::Audit(expected, contents);
  EXPECT_EQ(audit.missing + audit.duplicated + audit.unexpected, 0) << audit.examples;
  const json::Value log = WaitForLog(run, pairs);
  EXPECT_EQ(testing::SumDays(log, "available_from_source"), 6) << json::Serialize(log);
  EXPECT_EQ(testing::SumDays(log, "imported"), pairs) << json::Serialize(log);
  EXPECT_EQ(testing::SumDays(log, "failed"), 0) << json::Serialize(log);
  EXPECT_TRUE(json::Array(log, "failed").empty()) << json::Serialize(log);
}

TEST(CaptureFailuresTest, AFileNotCapturedMakesTheItemPartialUntilTheNextVersionBringsIt) {
  testing::TempDir dir;
  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<testing::Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=47", "--users=3", "--meetings=3", "--days=3",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       "--archive-bytes=512", "--plan=unlimited", std::string("--account-id=") + kAccount,
       "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::vector<json::Value> meetings = json::Array(*manifest, "meetings");
  ASSERT_EQ(meetings.size(), 3u);
  const std::string uuid = json::String(meetings[0], "uuid");
  std::string transcript;
  for (const json::Value& f : json::Array(meetings[0], "files")) {
    if (json::String(f, "file_type") == "TRANSCRIPT" && !json::Bool(f, "archive")) {
      transcript = json::String(f, "file_id");
    }
  }
  ASSERT_FALSE(transcript.empty());
  ASSERT_TRUE(SetFileState(*zoom_url, transcript, "processing").ok());
  const auto expected = testing::ExpectedFromManifest(*manifest);
  const int64_t pairs = testing::Pairs(expected);
  const std::string v1 = converter::MessageIdFor(kAccount, uuid, 1, "zarc.archive");
  int64_t partial_pairs = 0;
  for (const auto& [mailbox, ids] : expected) partial_pairs += ids.count(v1);
  ASSERT_GT(partial_pairs, 0);

  const std::string data = dir.path() + "/data";
  const std::string mailboxes = data + "/mailboxes";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + data, "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0",
       "--fetcher.pending_delay=200ms", "--zoom.api_url=" + *zoom_url + "/v2",
       "--zoom.oauth_url=" + *zoom_url + "/oauth/token", std::string("--zoom.account_id=") + kAccount,
       "--zoom.client_id=zarc-sim-client", "--zoom.retry_backoff=20ms"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}}, dir.path() + "/zarc-run.log");
  ASSERT_TRUE(run.Start().ok()) << testing::TailOf(run.log_path());

  auto [code, out] = Sync(run.grpc_port());
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(testing::Count(WaitForPairs(mailboxes, pairs)), pairs);
  const std::string item_v1 = ledger::ItemId(kAccount, uuid, 1);
  auto partial_of = [](const json::Value& log, const std::string& item) {
    std::vector<json::Value> out;
    for (const json::Value& r : json::Array(log, "partially_imported_items")) {
      if (json::String(r, "item_id") == item) out.push_back(r);
    }
    return out;
  };
  {
    const json::Value log = WaitForLog(run, pairs - partial_pairs);
    EXPECT_EQ(testing::SumDays(log, "partially_imported"), partial_pairs) << json::Serialize(log);
    EXPECT_EQ(testing::SumDays(log, "imported"), pairs - partial_pairs) << json::Serialize(log);
    EXPECT_EQ(testing::SumDays(log, "failed"), 0) << json::Serialize(log);
    const std::vector<json::Value> partial = partial_of(log, item_v1);
    ASSERT_EQ(static_cast<int64_t>(partial.size()), partial_pairs) << json::Serialize(log);
    for (const json::Value& r : partial) {
      EXPECT_THAT(json::String(r, "reason"),
                  HasSubstr("TRANSCRIPT file " + transcript +
                            " not captured: not yet available (Zoom is still processing it)"));
    }
  }

  // Zoom has the transcript now: the next sync captures version 2, imported whole.
  ASSERT_TRUE(SetFileState(*zoom_url, transcript, "completed").ok());
  std::tie(code, out) = Sync(run.grpc_port());
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(testing::Count(WaitForPairs(mailboxes, pairs + partial_pairs)), pairs + partial_pairs);
  const json::Value log = WaitForLog(run, pairs);
  EXPECT_EQ(testing::SumDays(log, "imported"), pairs) << json::Serialize(log);
  EXPECT_EQ(testing::SumDays(log, "partially_imported"), partial_pairs) << json::Serialize(log);
  // Version 1 stays partial in the log (it was), version 2 is whole.
  EXPECT_EQ(static_cast<int64_t>(partial_of(log, item_v1).size()), partial_pairs);
  EXPECT_TRUE(partial_of(log, ledger::ItemId(kAccount, uuid, 2)).empty()) << json::Serialize(log);
  const std::string v2 = converter::MessageIdFor(kAccount, uuid, 2, "zarc.archive");
  int64_t v2_pairs = 0;
  for (const auto& [mailbox, ids] : ReadEmlMailboxes(mailboxes)) {
    if (ids.count(v2)) v2_pairs += ids.at(v2);
  }
  EXPECT_EQ(v2_pairs, partial_pairs);
}

}  // namespace
}  // namespace zarc

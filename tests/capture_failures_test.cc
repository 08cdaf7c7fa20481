// The status log tells what the fetcher could not capture, and nothing waits on it for ever.
// - A meeting the fetcher finds at Zoom but cannot capture (participants answer 500) is available
//   from source and failed, with its reason and host, until a later sync captures it.
// - A file it cannot capture makes the item partially imported, the file named with why in the
//   message body and in the status log, while the rest of the meeting is delivered: still
//   processing, an HTML page instead of the recording, an archive file Zoom failed to process, an
//   archive file whose bytes do not match Zoom's fingerprint. Once Zoom has the file, the next sync
//   delivers a new version, whole.
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
using ::testing::Not;
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
  json::Value body = json::Value::Object();
  body["meeting_uuid"] = json::Str(uuid);
  body["participants"] = json::Str(state);
  return SimState(zoom_url, body);
}

absl::Status SetFileState(const std::string& zoom_url, const std::string& file_id,
                          const std::string& state) {
  json::Value body = json::Value::Object();
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
  return log.ok() ? *log : json::Value::Object();
}

// A generated tenant served by the Zoom simulator, and `zarc run` archiving it into .eml mailboxes.
class CaptureFailuresTest : public ::testing::Test {
 protected:
  void StartTenant(const std::string& seed, int meetings) {
    const std::string manifest_path = dir_.path() + "/manifest.json";
    absl::StatusOr<std::string> url = testing::StartZoomSimulator(
        {"--port=0", "--seed=" + seed, "--users=4", absl::StrCat("--meetings=", meetings),
         "--days=3", std::string("--from=") + kFrom, "--recording-bytes=1024",
         "--audio-bytes=512", "--archive-bytes=512", "--plan=unlimited",
         std::string("--account-id=") + kAccount, "--manifest-out=" + manifest_path},
        dir_.path() + "/zoom-sim.log", &zoom_);
    ASSERT_TRUE(url.ok()) << url.status();
    zoom_url_ = *url;
    absl::StatusOr<json::Value> manifest =
        json::Parse(ReadFile(manifest_path), "simulator manifest");
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    manifest_ = *std::move(manifest);
    meetings_ = json::Array(manifest_, "meetings");
    ASSERT_EQ(meetings_.size(), static_cast<size_t>(meetings));
  }

  // Starts `zarc run` (no polling: each sync is asked for) on the simulator.
  void StartRun() {
    run_ = std::make_unique<testing::ZarcRunProcess>(
        std::vector<std::string>{
            "--run.data_dir=" + data(), "--importer.target=eml", "--mapper.mode=csv-only",
            "--mapper.tenant_domains=" + json::String(manifest_, "domain"),
            "--fetcher.poll_interval=0", "--fetcher.reconcile_interval=0",
            "--fetcher.verify_interval=0", "--fetcher.pending_delay=200ms",
            "--zoom.api_url=" + zoom_url_ + "/v2", "--zoom.oauth_url=" + zoom_url_ + "/oauth/token",
            std::string("--zoom.account_id=") + kAccount, "--zoom.client_id=zarc-sim-client",
            "--zoom.retry_backoff=20ms"},
        std::map<std::string, std::string>{{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}},
        dir_.path() + "/zarc-run.log");
    ASSERT_TRUE(run_->Start().ok()) << testing::TailOf(run_->log_path());
  }

  std::string data() const { return dir_.path() + "/data"; }
  std::string mailboxes() const { return data() + "/mailboxes"; }

  testing::TempDir dir_;
  std::unique_ptr<testing::Subprocess> zoom_;
  std::string zoom_url_;
  json::Value manifest_;
  std::vector<json::Value> meetings_;
  std::unique_ptr<testing::ZarcRunProcess> run_;
};

TEST_F(CaptureFailuresTest, AMeetingNotCapturedIsFailedInTheLogUntilItIsCaptured) {
  ASSERT_NO_FATAL_FAILURE(StartTenant("43", 6));
  std::map<std::string, std::string> email_of;
  for (const json::Value& u : json::Array(manifest_, "users")) {
    email_of[json::String(u, "id")] = absl::AsciiStrToLower(json::String(u, "email"));
  }

  // Two meetings Zoom cannot give participants for: their capture fails after every retry.
  std::vector<std::string> broken_uuids;
  std::vector<std::tuple<std::string, std::string>> broken;  // item id, source user
  for (size_t i = 0; i < 2; ++i) {
    const std::string uuid = json::String(meetings_[i], "uuid");
    ASSERT_TRUE(SetParticipants(zoom_url_, uuid, "500").ok());
    broken_uuids.push_back(uuid);
    broken.emplace_back(ledger::ItemId(kAccount, uuid, ledger::kNotCapturedVersion),
                        email_of[json::String(meetings_[i], "host_id")]);
  }
  const auto expected = testing::ExpectedFromManifest(manifest_);
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

  ASSERT_NO_FATAL_FAILURE(StartRun());
  testing::ZarcRunProcess& run = *run_;
  const std::string mailboxes = this->mailboxes();

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
    ASSERT_TRUE(SetParticipants(zoom_url_, uuid, "shown").ok());
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

// One file of one meeting Zoom cannot give; the rest of the tenant is whole.
struct MissingFileCase {
  const char* name;
  const char* file_type;  // the manifest's file_type of the file
  bool archive;           // an archive file (Archiving API) rather than a cloud recording file
  const char* state;      // the simulator's file state (POST /_sim/state)
  const char* reason;     // what the body and the status log must say about it
};

class MissingFileTest : public CaptureFailuresTest,
                        public ::testing::WithParamInterface<MissingFileCase> {};

TEST_P(MissingFileTest, TheMeetingIsDeliveredWithTheFileNamedAndTheFileFollowsAsANewVersion) {
  const MissingFileCase& c = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartTenant("47", 3));
  const std::string uuid = json::String(meetings_[0], "uuid");
  std::string file_id;  // the file made unavailable
  for (const json::Value& f : json::Array(meetings_[0], "files")) {
    if (json::String(f, "file_type") == c.file_type && json::Bool(f, "archive") == c.archive &&
        !json::Bool(f, "individual")) {
      file_id = json::String(f, "file_id");
    }
  }
  ASSERT_FALSE(file_id.empty()) << c.file_type << " not in " << json::Serialize(meetings_[0]);
  ASSERT_TRUE(SetFileState(zoom_url_, file_id, c.state).ok());
  const auto expected = testing::ExpectedFromManifest(manifest_);
  const int64_t pairs = testing::Pairs(expected);
  const std::string v1 = converter::MessageIdFor(kAccount, uuid, 1, "zarc.archive");
  int64_t partial_pairs = 0;
  for (const auto& [mailbox, ids] : expected) partial_pairs += ids.count(v1);
  ASSERT_GT(partial_pairs, 0);

  ASSERT_NO_FATAL_FAILURE(StartRun());
  testing::ZarcRunProcess& run = *run_;
  const std::string mailboxes = this->mailboxes();

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
    const std::string named = absl::StrCat(c.file_type, " file ", file_id, " not captured: ");
    for (const json::Value& r : partial) {
      EXPECT_THAT(json::String(r, "reason"), HasSubstr(named));
      EXPECT_THAT(json::String(r, "reason"), HasSubstr(c.reason));
      EXPECT_THAT(json::String(r, "reason"), HasSubstr("a later version adds it"));
    }
    // Every mailbox's message of version 1 names the file and why, and holds the rest.
    const std::vector<std::string> messages = testing::MessagesWithId(mailboxes, v1);
    ASSERT_EQ(static_cast<int64_t>(messages.size()), partial_pairs);
    for (const std::string& message : messages) {
      const std::string body = testing::PlainBody(message);
      EXPECT_THAT(body, HasSubstr(named)) << body;
      EXPECT_THAT(body, HasSubstr(c.reason)) << body;
      EXPECT_THAT(message, HasSubstr("Content-Disposition: attachment")) << body;
    }
  }

  // Zoom has the file now: the next sync captures version 2, imported whole.
  ASSERT_TRUE(SetFileState(zoom_url_, file_id, "completed").ok());
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
  for (const std::string& message : testing::MessagesWithId(mailboxes, v2)) {
    EXPECT_THAT(testing::PlainBody(message), Not(HasSubstr(file_id)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachCase, MissingFileTest,
    ::testing::Values(
        MissingFileCase{"StillProcessing", "TRANSCRIPT", false, "processing",
                        "not yet available (Zoom is still processing it)"},
        MissingFileCase{"RecordingAnsweredWithHtml", "MP4", false, "html",
                        "Zoom answered 200 with an HTML page instead of the file"},
        MissingFileCase{"ArchiveFileFailedAtZoom", "TRANSCRIPT", true, "failed",
                        "not available: Zoom reports that it failed to process the file "
                        "(status \"failed\")"},
        MissingFileCase{"ArchiveFingerprintMismatch", "CHAT_MESSAGE", true, "bad_fingerprint",
                        "does not match Zoom's encryption_fingerprint"}),
    [](const ::testing::TestParamInfo<MissingFileCase>& info) { return info.param.name; });

}  // namespace
}  // namespace zarc

// Both Zoom sources. With fetcher.sources=auto, an account that has the Archiving API is listed
// through cloud recordings and archive files, merged into one item per meeting instance: every
// meeting reaches each of its mailboxes exactly once, and the message shows the archived chat
// (private messages, edits, deletions, reactions). An account without the feature is captured
// from its cloud recordings, and zarc run's log says the Archiving API is off.
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/json/json.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using testing::ReadEmlMailboxes;
using testing::ReadFile;
using testing::RunCommand;

constexpr char kFrom[] = "2024-03-04";
constexpr char kTo[] = "2024-03-08";
constexpr char kAccount[] = "acct-sources";

struct Archived {
  testing::AuditResult audit;
  std::map<std::string, int> by_sources;  // "recordings", "archive", "recordings+archive": meetings
  std::string bodies;  // every message's plain body
  std::string log;
};

Archived ArchiveWithAutoSources(const std::string& dir, bool archiving) {
  Archived out;
  const std::string manifest_path = dir + "/manifest.json";
  std::unique_ptr<testing::Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=53", "--users=3", "--meetings=12", "--days=3",
       // Some meetings only recorded (the host is not archived), some only archived (no cloud
       // recording), the rest in both sources.
       "--recordings-only-every=3", "--archive-only-every=4",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       "--archive-bytes=512", "--plan=unlimited", std::string("--account-id=") + kAccount,
       std::string("--archiving=") + (archiving ? "true" : "false"),
       "--manifest-out=" + manifest_path},
      dir + "/zoom-sim.log", &zoom);
  EXPECT_TRUE(zoom_url.ok()) << zoom_url.status();
  if (!zoom_url.ok()) return out;
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  if (!manifest.ok()) return out;
  const auto expected = testing::ExpectedFromManifest(*manifest);
  for (const json::Value& m : json::Array(*manifest, "meetings")) {
    std::string sources;
    for (const json::Value& s : json::Array(m, "sources")) {
      absl::StrAppend(&sources, sources.empty() ? "" : "+", s.IsString() ? s.AsString() : "");
    }
    ++out.by_sources[sources];
  }
  const std::string mailboxes = dir + "/data/mailboxes";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + dir + "/data", "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0", "--fetcher.sources=auto",
       "--fetcher.pending_delay=200ms", "--zoom.api_url=" + *zoom_url + "/v2",
       "--zoom.oauth_url=" + *zoom_url + "/oauth/token", std::string("--zoom.account_id=") + kAccount,
       "--zoom.client_id=zarc-sim-client", "--zoom.retry_backoff=20ms"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}}, dir + "/zarc-run.log");
  absl::Status started = run.Start();
  EXPECT_TRUE(started.ok()) << testing::TailOf(run.log_path());
  if (!started.ok()) return out;
  auto [code, sync] = RunCommand(
      {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom, std::string("--to=") + kTo,
       absl::StrCat("--fetcher=127.0.0.1:", run.grpc_port())},
      absl::Seconds(180));
  EXPECT_EQ(code, 0) << sync;
  const int64_t pairs = testing::Pairs(expected);
  for (absl::Time deadline = absl::Now() + absl::Seconds(120);
       testing::Count(ReadEmlMailboxes(mailboxes)) < pairs && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::SleepFor(absl::Seconds(1));  // anything extra would have arrived by now
  out.audit = testing::Audit(expected, ReadEmlMailboxes(mailboxes));
  for (const auto& entry : std::filesystem::recursive_directory_iterator(mailboxes)) {
    if (entry.path().extension() != ".eml") continue;
    out.bodies += testing::PlainBody(ReadFile(entry.path().string()));
  }
  out.log = ReadFile(run.log_path());
  return out;
}

// The warnings and errors of zarc run's log, for a failure message.
std::string Complaints(const std::string& log) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if ((absl::StrContains(line, " warn ") || absl::StrContains(line, " error ")) &&
        out.size() < 6000) {
      absl::StrAppend(&out, line.substr(0, 400), "\n");
    }
  }
  return out;
}

TEST(ZoomSourcesTest, AnAccountWithTheArchivingApiIsCapturedFromBothSourcesOnce) {
  testing::TempDir dir;
  const Archived got = ArchiveWithAutoSources(dir.path(), /*archiving=*/true);
  EXPECT_EQ(got.audit.missing + got.audit.duplicated + got.audit.unexpected, 0)
      << got.audit.examples << Complaints(got.log);
  EXPECT_THAT(got.log, HasSubstr("the account has the Archiving API"));
  // The tenant really has meetings that only one source lists, and the audit above found each of
  // them in every mailbox once, like the meetings both sources list.
  EXPECT_EQ(got.by_sources.at("recordings"), 4);
  EXPECT_EQ(got.by_sources.at("archive"), 2);
  EXPECT_EQ(got.by_sources.at("recordings+archive"), 6);
  // The archived chat JSON is what the message shows.
  for (const char* marker : {"[private]", "[edited]", "[deleted]", "[reaction]"}) {
    EXPECT_THAT(got.bodies, HasSubstr(marker));
  }
}

TEST(ZoomSourcesTest, AnAccountWithoutTheArchivingApiIsCapturedFromItsRecordings) {
  testing::TempDir dir;
  const Archived got = ArchiveWithAutoSources(dir.path(), /*archiving=*/false);
  EXPECT_EQ(got.audit.missing + got.audit.duplicated + got.audit.unexpected, 0)
      << got.audit.examples;
  EXPECT_THAT(got.log, HasSubstr("the account has no Archiving API"));
  EXPECT_EQ(got.by_sources.at("recordings"), 12);
  EXPECT_EQ(got.by_sources.size(), 1u);
}

}  // namespace
}  // namespace zarc

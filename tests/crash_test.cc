// `zarc run` is killed with SIGKILL at random moments while it archives a simulator tenant of 2,000
// meetings, and restarted on the same data folder each time (with the backfill asked for again, as
// an operator would). At the end every (mailbox, meeting) pair the simulator's manifest calls for
// holds exactly one message, no mailbox holds anything else, and the status log agrees.
//
// The kill moments are drawn from a seed printed at the start (ZARC_CRASH_SEED repeats a run).
#include <signal.h>

#include <algorithm>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/json/json.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using testing::Count;
using testing::ReadEmlMailboxes;
using testing::ReadFile;
using testing::Subprocess;
using testing::SumDays;

constexpr char kFrom[] = "2024-03-01";
constexpr char kTo[] = "2024-03-22";
constexpr int kMeetings = 2000;
constexpr int kKills = 5;

std::unique_ptr<Subprocess> StartSync(int grpc_port) {
  auto sync = Subprocess::Start(
      {.argv = {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom,
                std::string("--to=") + kTo, absl::StrCat("--fetcher=127.0.0.1:", grpc_port)},
       .capture_stdout = false});
  return sync.ok() ? *std::move(sync) : nullptr;
}

TEST(CrashTest, ZarcRunKilledAtRandomMomentsDeliversEveryItemExactlyOnce) {
  uint32_t seed = static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
  if (const char* s = std::getenv("ZARC_CRASH_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(s, &seed)) << s;
  }
  std::printf("crash test seed %u (ZARC_CRASH_SEED=%u repeats it)\n", seed, seed);
  std::mt19937 random(seed);
  testing::TempDir dir;

  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=23", "--users=40", absl::StrCat("--meetings=", kMeetings), "--days=21",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       "--archive-bytes=512", "--plan=unlimited", "--account-id=acct-crash", "--log-level=warn",
       "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::map<std::string, std::set<std::string>> expected = testing::ExpectedFromManifest(*manifest);
  const int64_t expected_pairs = testing::Pairs(expected);
  ASSERT_GT(expected_pairs, kMeetings);

  const std::string mailboxes = dir.path() + "/data/mailboxes";
  testing::ZarcRunProcess run(
      {"--run.data_dir=" + dir.path() + "/data", "--importer.target=eml", "--mapper.mode=csv-only",
       "--mapper.tenant_domains=" + json::String(*manifest, "domain"), "--fetcher.poll_interval=0",
       "--zoom.api_url=" + *zoom_url + "/v2", "--zoom.oauth_url=" + *zoom_url + "/oauth/token",
       "--zoom.account_id=acct-crash", "--zoom.client_id=zarc-sim-client", "--zoom.retry_backoff=100ms",
       "--fetcher.concurrency=8"},
      {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}}, dir.path() + "/zarc-run.log");
  absl::Status started = run.Start();
  ASSERT_TRUE(started.ok()) << started;
  // The backfill is asked for again after every restart, as an operator would.
  std::unique_ptr<Subprocess> sync = StartSync(run.grpc_port());
  ASSERT_NE(sync, nullptr);

  // Kill when the mailboxes hold a random share of what they should, so the kills fall both
  // during capture (which overlaps delivery) and during delivery alone.
  std::vector<double> shares;
  std::uniform_real_distribution<double> share(0.03, 0.97);
  for (int i = 0; i < kKills; ++i) shares.push_back(share(random));
  std::sort(shares.begin(), shares.end());
  int kills = 0;
  for (double s : shares) {
    const int64_t at = static_cast<int64_t>(s * static_cast<double>(expected_pairs));
    const absl::Time deadline = absl::Now() + absl::Seconds(240);
    int64_t seen = 0;
    while ((seen = Count(ReadEmlMailboxes(mailboxes))) < at && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    ASSERT_GE(seen, at) << "no progress towards kill " << kills + 1 << "; zarc run's log ends:\n"
                        << testing::TailOf(run.log_path());
    run.Stop(SIGKILL);
    sync.reset();  // its fetcher is gone
    ++kills;
    std::printf("kill %d: SIGKILL with %lld of %lld pairs delivered\n", kills,
                static_cast<long long>(seen), static_cast<long long>(expected_pairs));
    started = run.Start();
    ASSERT_TRUE(started.ok()) << started << testing::TailOf(run.log_path());
    sync = StartSync(run.grpc_port());
    ASSERT_NE(sync, nullptr);
  }
  EXPECT_EQ(kills, kKills);

  absl::StatusOr<int> synced = sync->Wait(absl::Seconds(300));
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(*synced, 0);
  // Everything flows on: wait until every expected pair is there.
  for (absl::Time deadline = absl::Now() + absl::Seconds(300);
       Count(ReadEmlMailboxes(mailboxes)) < expected_pairs && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(500));
  }
  absl::StatusOr<json::Value> log = absl::UnknownError("not read");
  for (absl::Time deadline = absl::Now() + absl::Seconds(120); absl::Now() < deadline;) {
    log = run.StatusLog();
    if (log.ok() && SumDays(*log, "available_for_import") >= expected_pairs) break;
    absl::SleepFor(absl::Seconds(1));
  }

  const testing::AuditResult audit = testing::Audit(expected, ReadEmlMailboxes(mailboxes));
  std::printf("%d kills; %lld pairs expected; missing %lld, duplicated %lld, unexpected %lld\n", kills,
              static_cast<long long>(expected_pairs), static_cast<long long>(audit.missing),
              static_cast<long long>(audit.duplicated), static_cast<long long>(audit.unexpected));
  EXPECT_EQ(audit.missing, 0) << audit.examples << testing::TailOf(run.log_path());
  EXPECT_EQ(audit.duplicated, 0) << audit.examples;
  EXPECT_EQ(audit.unexpected, 0) << audit.examples;

  // The status log agrees: every pair imported once, nothing skipped or failed.
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(SumDays(*log, "available_for_import"), expected_pairs);
  EXPECT_EQ(SumDays(*log, "imported") + SumDays(*log, "partially_imported"), expected_pairs);
  EXPECT_EQ(SumDays(*log, "skipped"), 0);
  EXPECT_EQ(SumDays(*log, "failed"), 0);
  EXPECT_EQ(SumDays(*log, "available_from_source"), kMeetings);
}

}  // namespace
}  // namespace zarc

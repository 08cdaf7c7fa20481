// The four services as separate processes on zarc-devbroker, with Azurite as the archive and
// Dovecot as the mailbox, archive a simulator tenant of 2,000 meetings while everything around
// them misbehaves (issue 13's fault suite):
// - Zoom: slow answers, 5xx, truncated and HTML downloads throughout at low rates, plus a 503
//   storm and a 429 storm (every other call refused) while the backfill runs;
// - at random moments (from a printed seed), ten SIGKILLs of random stages, each restarted (a
//   killed fetcher's backfill is asked for again, as an operator would);
// - Azurite stopped for 60 s, then started on the same data;
// - Dovecot refusing every login for 60 s (its master password rotated, then put back);
// - Dovecot stopped, then restarted on the same mail;
// - a few captured meetings whose staged file does not exist: bad input.
// At the end every (mailbox, meeting) pair the simulator's manifest calls for is in Dovecot
// exactly once and nothing else is; the bad items are in zarc.dead-letter and FAILED in the status
// log, and nothing else is. The figures are printed for docs/reliability.md.
//
// Every wait is on a condition with a deadline; the whole run has a hard deadline.
// ZARC_FAULT_SEED=N repeats a run's kill moments and victims.
#include <signal.h>

#include <algorithm>
#include <functional>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/blob/azurite_fixture.h"
#include "runtime/http/http_client.h"
#include "runtime/json/json.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/topics.h"
#include "services/importer/testing/dovecot_fixture.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"
#include "zarc/v1/events.pb.h"

namespace zarc {
namespace {

using testing::Count;
using testing::ReadFile;
using testing::RunCommand;
using testing::Service;
using testing::StartLoggedService;
using testing::Subprocess;
using testing::SumDays;

constexpr char kAccount[] = "acct-faults";
constexpr char kFrom[] = "2024-03-01";
constexpr char kTo[] = "2024-03-22";
constexpr int kMeetings = 2000;
constexpr int kKills = 10;
constexpr int kBadItems = 3;
const absl::Duration kOutage = absl::Seconds(60);
// The whole run; CTest's TIMEOUT (1,800 s) is above it. On a 2-core machine shared with other
// builds the fetcher captures about two meetings a second, so the 2,000 take over a quarter of an
// hour.
const absl::Duration kRunBound = absl::Minutes(27);
constexpr const char* kStages[] = {"fetcher", "converter", "mapper", "importer"};
// Zoom's faults outside the storms: every call may be slow or a 5xx, a download truncated or an
// HTML page, at rates the fetcher's retries (6 per call, 4 per download) absorb.
constexpr char kZoomBaseline[] =
    R"({"slow": {"every_n": 0, "probability": 0.05}, "slow_ms": 300,
        "error": {"every_n": 0, "probability": 0.02}, "error_status": 503,
        "truncate": {"probability": 0.01}, "html": {"probability": 0.01},
        "throttle": {"every_n": 0}})";

absl::Status PostJson(const std::string& url, const std::string& body) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  absl::StatusOr<http::ClientResponse> r = client->Send(
      {.method = "POST", .url = url, .headers = {{"Content-Type", "application/json"}}, .body = body});
  if (!r.ok()) return r.status();
  if (r->status != 200) return absl::InternalError(absl::StrCat(url, " answered ", r->status, ": ", r->body));
  return absl::OkStatus();
}

absl::StatusOr<json::Value> GetJson(const std::string& url) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  absl::StatusOr<http::ClientResponse> r = client->Send({.url = url});
  if (!r.ok()) return r.status();
  return json::Parse(r->body, url);
}

absl::StatusOr<json::Value> ZarcJson(std::vector<std::string> args) {
  args.insert(args.begin(), testing::BinPath("zarc"));
  auto [code, out] = RunCommand(args, absl::Seconds(90));
  if (code != 0) return absl::InternalError(absl::StrCat(absl::StrJoin(args, " "), " exited ", code, ": ", out.substr(0, 2000)));
  return json::Parse(out.substr(std::min(out.find('{'), out.size())), args[1]);
}

// A captured meeting whose one artifact was never staged: the converter can never render it.
zarc::v1::MeetingCaptured BadItem(int n, const std::string& host) {
  zarc::v1::MeetingCaptured captured;
  captured.mutable_meeting()->set_account_id(kAccount);
  captured.mutable_meeting()->set_uuid(absl::StrCat("bad-input-", n, "=="));
  captured.mutable_meeting()->set_topic("Its chat file was never staged");
  captured.mutable_meeting()->set_host_email(host);
  captured.mutable_meeting()->mutable_start_time()->set_seconds(1709647200);
  captured.mutable_meeting()->mutable_end_time()->set_seconds(1709650800);
  captured.set_version(1);
  zarc::v1::Participant* p = captured.add_participants();
  p->set_name("Host");
  p->set_email(host);
  zarc::v1::Artifact* a = captured.add_artifacts();
  a->set_file_id(absl::StrCat("never-staged-", n));
  a->set_kind(zarc::v1::ARTIFACT_KIND_CHAT_TXT);
  a->set_file_name("chat.txt");
  const std::string sha = absl::StrCat(std::string(63, 'a'), n);
  a->mutable_blob()->set_name("staging/sha256/" + sha);
  a->mutable_blob()->set_size(42);
  a->mutable_blob()->set_sha256(sha);
  return captured;
}

// The four stages, each one process, restarted after a kill with the same arguments and log.
class Stages {
 public:
  Stages(std::string dir, std::map<std::string, std::string> env) : dir_(std::move(dir)), env_(std::move(env)) {}
  absl::Status Start(const std::string& name, std::vector<std::string> argv) {
    argv_[name] = std::move(argv);
    return Restart(name);
  }
  absl::Status Restart(const std::string& name) {
    absl::StatusOr<Service> s = StartLoggedService(argv_.at(name), env_, LogOf(name));
    if (!s.ok()) return s.status();
    running_[name] = *std::move(s);
    return absl::OkStatus();
  }
  void Kill(const std::string& name) {
    Service& s = running_.at(name);
    s.process->Signal(SIGKILL);
    (void)s.process->Wait(absl::Seconds(30));
    running_.erase(name);
  }
  const Service& at(const std::string& name) const { return running_.at(name); }
  std::string LogOf(const std::string& name) const { return dir_ + "/" + name + ".log"; }

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::map<std::string, std::vector<std::string>> argv_;
  std::map<std::string, Service> running_;
};

// Faults fired as the mailboxes fill: each once `delivered()` reaches its share of the expected
// pairs, so every one falls while items flow whatever the machine's speed.
class FaultPlan {
 public:
  // Does the fault (and ends it, for an outage); says what was done, for the figures.
  using Action = std::function<absl::StatusOr<std::string>()>;
  void Add(double share, Action act) { faults_.push_back({share, std::move(act)}); }

  // Runs the faults in order of their share; after each, waits until deliveries go on (unless
  // all are in) and prints what happened.
  absl::Status Run(const std::function<int64_t()>& delivered, int64_t expected, absl::Time flow_start,
                   absl::Time deadline) {
    std::stable_sort(faults_.begin(), faults_.end(),
                     [](const Fault& a, const Fault& b) { return a.share < b.share; });
    for (const Fault& f : faults_) {
      const int64_t at = static_cast<int64_t>(f.share * static_cast<double>(expected));
      int64_t seen = 0;
      while ((seen = delivered()) < at && absl::Now() < deadline) absl::SleepFor(absl::Seconds(1));
      if (seen < at) {
        return absl::DeadlineExceededError(absl::StrCat("no progress towards the fault at ", at, " pairs"));
      }
      const absl::Time fault_at = absl::Now();
      absl::StatusOr<std::string> done = f.act();
      if (!done.ok()) return done.status();
      const absl::Time ended = absl::Now();
      const int64_t before = delivered();
      while (before < expected && delivered() <= before && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(500));
      }
      if (before < expected && delivered() <= before) {
        return absl::DeadlineExceededError(absl::StrCat(*done, ": no delivery after it by the deadline"));
      }
      const absl::Duration resumed = absl::Now() - ended;
      worst_resumption_ = std::max(worst_resumption_, resumed);
      std::printf("%s at %lld of %lld pairs (%s into the run); the next delivery %s after it\n",
                  done->c_str(), static_cast<long long>(seen), static_cast<long long>(expected),
                  absl::FormatDuration(fault_at - flow_start).c_str(), absl::FormatDuration(resumed).c_str());
    }
    return absl::OkStatus();
  }
  absl::Duration worst_resumption() const { return worst_resumption_; }

 private:
  struct Fault {
    double share;
    Action act;
  };
  std::vector<Fault> faults_;
  absl::Duration worst_resumption_;
};

// How long after `from` the stage whose log is `log_path` said it owns partitions again (bytes
// after `log_from`), or for the fetcher, began the backfill asked of it again (a meeting it has
// already captured is not logged again); at most `limit`.
absl::Duration TimeUntilBackAtWork(const std::string& log_path, size_t log_from, const std::string& stage,
                                   absl::Time from, absl::Duration limit) {
  const std::string needle = stage == "fetcher" ? "sync started" : "partitions assigned";
  while (absl::Now() - from < limit) {
    const std::string text = ReadFile(log_path);
    if (text.size() > log_from && text.find(needle, log_from) != std::string::npos) return absl::Now() - from;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::InfiniteDuration();
}

// zarc-devbroker and a Zoom simulator tenant started with `zoom_flags`, and what its manifest
// says each mailbox must hold.
struct Tenant {
  std::unique_ptr<Subprocess> broker;
  std::unique_ptr<Subprocess> zoom;
  std::string bootstrap;
  std::string zoom_url;
  json::Value manifest;
  std::map<std::string, std::set<std::string>> expected;
};

absl::Status StartTenant(const std::string& dir, std::vector<std::string> zoom_flags, Tenant* t) {
  absl::StatusOr<std::string> bootstrap = testing::StartDevbroker(&t->broker);
  if (!bootstrap.ok()) return bootstrap.status();
  t->bootstrap = *bootstrap;
  const std::string manifest_path = dir + "/manifest.json";
  zoom_flags.push_back("--manifest-out=" + manifest_path);
  absl::StatusOr<std::string> url = testing::StartZoomSimulator(zoom_flags, dir + "/zoom-sim.log", &t->zoom);
  if (!url.ok()) return url.status();
  t->zoom_url = *url;
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  if (!manifest.ok()) return manifest.status();
  t->manifest = *std::move(manifest);
  t->expected = testing::ExpectedFromManifest(t->manifest);
  return absl::OkStatus();
}

// zarc-STAGE on `bootstrap` with `extra` flags.
std::vector<std::string> StageArgv(const std::string& stage, const std::string& bootstrap,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> a = {testing::BinPath("zarc-" + stage), "--kafka.brokers=" + bootstrap,
                                // A killed member is waited out this long by the mock broker (see
                                // tests/member_failover_test.cc).
                                "--kafka.session_timeout=4s"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// The fetcher's flags for the Zoom simulator at `zoom_url`.
std::vector<std::string> FetcherFlags(const std::string& zoom_url, const std::string& staging) {
  return {"--staging.url=" + staging, "--zoom.api_url=" + zoom_url + "/v2",
          "--zoom.oauth_url=" + zoom_url + "/oauth/token", std::string("--zoom.account_id=") + kAccount,
          "--zoom.client_id=zarc-sim-client", "--zoom.retry_backoff=100ms", "--fetcher.concurrency=12",
          "--fetcher.poll_interval=0", "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0",
          "--fetcher.webhook_port=0"};
}

std::unique_ptr<Subprocess> StartSync(int fetcher_port) {
  auto sync = Subprocess::Start(
      {.argv = {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom,
                std::string("--to=") + kTo, absl::StrCat("--fetcher=127.0.0.1:", fetcher_port)},
       .capture_stdout = false});
  return sync.ok() ? *std::move(sync) : nullptr;
}

// Waits for the backfill to end. A meeting whose capture ran out of retries in a storm is
// reported (exit 1, FAILED in the status log); the operator asks for the backfill again, and it
// completes: *repeated counts how often.
void FinishBackfill(std::unique_ptr<Subprocess>& sync, Stages& stages, absl::Time deadline, int* repeated) {
  for (;;) {
    absl::StatusOr<int> synced = sync->Wait(std::max(deadline - absl::Now(), absl::Seconds(1)));
    ASSERT_TRUE(synced.ok()) << synced.status() << testing::TailOf(stages.LogOf("fetcher"));
    if (*synced == 0) return;
    ASSERT_LT(*repeated, 3) << "the backfill keeps failing: " << testing::TailOf(stages.LogOf("fetcher"));
    ++*repeated;
    sync = StartSync(stages.at("fetcher").grpc_port);
    ASSERT_NE(sync, nullptr);
  }
}

// `zarc log` once it shows a result for every expected pair and `failures` failed items.
absl::StatusOr<json::Value> WaitForStatusLog(const std::string& bootstrap, int64_t expected_pairs,
                                             size_t failures, absl::Time deadline) {
  absl::StatusOr<json::Value> log = absl::DeadlineExceededError("the status log was not read");
  while (absl::Now() < deadline) {
    log = ZarcJson({"log", "--brokers=" + bootstrap, "--format=json"});
    if (log.ok() && SumDays(*log, "imported") + SumDays(*log, "partially_imported") >= expected_pairs &&
        json::Array(*log, "failed").size() >= failures) {
      break;
    }
    absl::SleepFor(absl::Seconds(2));
  }
  return log;
}

// The status log counts every expected pair imported once, and the bad items, and only they, are
// FAILED and parked in the dead-letter topic.
void ExpectOnlyTheBadItemsFailedAndParked(const absl::StatusOr<json::Value>& log, const std::string& bootstrap,
                                          int64_t expected_pairs, const std::set<std::string>& bad_ids) {
  ASSERT_TRUE(log.ok()) << log.status();
  std::set<std::string> failed;
  for (const json::Value& f : json::Array(*log, "failed")) failed.insert(json::String(f, "item_id"));
  EXPECT_EQ(failed, bad_ids) << json::Serialize(*log).substr(0, 3000);
  absl::StatusOr<json::Value> parked = ZarcJson({"dlq", "list", "--brokers=" + bootstrap, "--format=json"});
  ASSERT_TRUE(parked.ok()) << parked.status();
  std::set<std::string> parked_ids;
  for (const json::Value& l : json::Array(*parked, "dead_letters")) parked_ids.insert(json::String(l, "item_id"));
  EXPECT_EQ(parked_ids, bad_ids) << json::Serialize(*parked).substr(0, 3000);
  std::printf("status log: %lld available from source, %lld available for import, %lld imported, "
              "%lld partially imported, %lld skipped, %lld failed; %zu parked in %s\n",
              static_cast<long long>(SumDays(*log, "available_from_source")),
              static_cast<long long>(SumDays(*log, "available_for_import")),
              static_cast<long long>(SumDays(*log, "imported")),
              static_cast<long long>(SumDays(*log, "partially_imported")),
              static_cast<long long>(SumDays(*log, "skipped")), static_cast<long long>(SumDays(*log, "failed")),
              parked_ids.size(), std::string(kafka::kDeadLetterTopic).c_str());
  EXPECT_EQ(SumDays(*log, "imported") + SumDays(*log, "partially_imported"), expected_pairs);
  EXPECT_EQ(SumDays(*log, "skipped"), 0);
  EXPECT_EQ(SumDays(*log, "failed"), static_cast<int64_t>(bad_ids.size()));
}

TEST(FaultSuiteTest, FourServicesUnderKillsOutagesAndZoomFaultsDeliverEveryPairExactlyOnce) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the figures as they happen, also into a file
  const absl::Time test_start = absl::Now();
  const absl::Time run_deadline = test_start + kRunBound;
  uint32_t seed = static_cast<uint32_t>(absl::ToUnixMicros(absl::Now()));
  if (const char* s = std::getenv("ZARC_FAULT_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(s, &seed)) << s;
  }
  std::printf("fault suite seed %u (ZARC_FAULT_SEED=%u repeats it)\n", seed, seed);
  std::mt19937 random(seed);
  testing::TempDir dir;

  // The real parts and the Zoom simulator.
  Tenant tenant;
  absl::Status started = StartTenant(dir.path(),
      // One user, so one mailbox and 2,000 pairs: the importer delivers two or three a second
      // on this machine, and with more pairs the deliveries alone outlast the run's bound.
      // tests/crash_test.cc covers the fan-out to many mailboxes.
      {"--port=0", "--threads=16", "--seed=29", "--users=1", absl::StrCat("--meetings=", kMeetings), "--days=21",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       // Cloud recordings only (six files a meeting): tests/zoom_sources_test.cc covers the
       // Archiving API; here the files' count only adds time.
       "--archiving=false", "--plan=unlimited", std::string("--account-id=") + kAccount,
       "--log-level=warn", std::string("--faults=") + kZoomBaseline},
      &tenant);
  ASSERT_TRUE(started.ok()) << started;
  const std::string& bootstrap = tenant.bootstrap;
  const std::string& zoom_url = tenant.zoom_url;
  const json::Value& manifest = tenant.manifest;
  const std::map<std::string, std::set<std::string>>& expected = tenant.expected;
  const int64_t expected_pairs = testing::Pairs(expected);
  ASSERT_GE(expected_pairs, kMeetings);

  absl::StatusOr<std::unique_ptr<blob::AzuriteProcess>> azurite = blob::AzuriteProcess::Start();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  std::vector<std::pair<std::string, std::string>> users;
  for (const auto& [mailbox, ids] : expected) users.push_back({mailbox, "pw"});
  absl::StatusOr<std::unique_ptr<importer::testing::DovecotProcess>> dovecot =
      importer::testing::DovecotProcess::Start({.users = users});
  ASSERT_TRUE(dovecot.ok()) << dovecot.status();
  const std::string mail_root = (*dovecot)->dir() + "/mail";
  const std::string master_users = (*dovecot)->dir() + "/master-users";
  const std::string master_line = ReadFile(master_users);
  auto delivered = [&] { return Count(testing::ReadMaildirMailboxes(mail_root)); };

  // The four stages, configured as an operator would, secrets from files.
  const std::string key_file = dir.path() + "/azure-key";
  std::ofstream(key_file) << blob::kAzuriteKey << "\n";
  const std::string imap_password_file = dir.path() + "/imap-password";
  std::ofstream(imap_password_file) << (*dovecot)->options().master_password << "\n";
  Stages stages(dir.path(), {{"ZARC_ARCHIVE_AZURE_KEY_FILE", key_file},
                             {"ZARC_IMAP_PASSWORD_FILE", imap_password_file},
                             {"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}});
  auto argv = [&](const std::string& stage, const std::vector<std::string>& extra) {
    return StageArgv(stage, bootstrap, extra);
  };
  auto azure = [&](const std::string& prefix, const std::string& container) {
    return std::vector<std::string>{"--" + prefix + ".url=", "--" + prefix + ".azure_account=" + blob::kAzuriteAccount,
                                    "--" + prefix + ".azure_endpoint=" + (*azurite)->endpoint(),
                                    "--" + prefix + ".azure_container=" + container};
  };
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  // Staging is a local folder store: Azurite's metadata store slows down with every blob it
  // holds, and with every staged file of 2,000 meetings in it the converter fell below one item
  // a second on this machine. The archive, which the importer writes for every delivery and
  // relies on to recognise what it delivered, is on Azurite.
  const std::string staging = "file://" + dir.path() + "/staging";
  // One replica per stage. With the importer as two replicas (seed 959335745), one SIGKILLed and
  // restarted, the other's assignment came back lost in the rebalance that followed, it was given
  // the six partitions the restarted one had held, and it never consumed them: deliveries stopped
  // for good with nothing waiting or retried (docs/reliability.md, "Not yet proven here").
  ASSERT_TRUE(stages
                  .Start("importer",
                         argv("importer",
                              with(azure("archive", "zarc-archive"),
                                   {"--messages.url=" + staging, "--importer.target=imap",
                                    "--imap.host=127.0.0.1", absl::StrCat("--imap.port=", (*dovecot)->port()),
                                    "--imap.tls=none", "--imap.auth=master", "--imap.master_user=zarc-master",
                                    // Every delivery logs in, so the rotated password below is
                                    // met: a connection kept logged in (the default) would go on
                                    // delivering through the rotation, as it should. Reuse across
                                    // a Dovecot restart is proven by ImporterAppTest.Dovecot…
                                    "--imap.max_idle_connections=0"})))
                  .ok());
  ASSERT_TRUE(stages
                  .Start("mapper", argv("mapper", {"--mapper.mode=csv-only",
                                                   "--mapper.tenant_domains=" + json::String(manifest, "domain")}))
                  .ok());
  ASSERT_TRUE(stages.Start("converter", argv("converter", {"--staging.url=" + staging})).ok());
  ASSERT_TRUE(stages.Start("fetcher", argv("fetcher", FetcherFlags(zoom_url, staging))).ok());

  // Bad input, beside the tenant: captured meetings whose staged file does not exist.
  kafka::KafkaConfig kafka;
  kafka.bootstrap_servers = bootstrap;
  {
    auto producer = kafka::Producer::Create(kafka);
    ASSERT_TRUE(producer.ok()) << producer.status();
    std::vector<kafka::OutgoingRecord> bad;
    for (int n = 0; n < kBadItems; ++n) {
      zarc::v1::MeetingCaptured c = BadItem(n, expected.begin()->first);
      bad.push_back({std::string(kafka::kMeetingsTopic), c.meeting().uuid(), c.SerializeAsString(),
                     {{"zarc-event", "zarc.v1.MeetingCaptured"}}});
    }
    ASSERT_TRUE((*producer)->ProduceAndWait(bad, absl::Seconds(30)).ok());
  }
  std::set<std::string> bad_ids;
  for (int n = 0; n < kBadItems; ++n) bad_ids.insert(absl::StrCat(kAccount, "/bad-input-", n, "==/v1"));

  const absl::Time flow_start = absl::Now();
  std::unique_ptr<Subprocess> sync = StartSync(stages.at("fetcher").grpc_port);
  ASSERT_NE(sync, nullptr);

  // Zoom storms while the backfill runs: every other call a 503, then every other call a 429.
  int zoom_storms = 0;
  absl::Notification stop_storms;
  std::thread storms([&] {
    const std::string faults = zoom_url + "/_sim/faults";
    const std::vector<std::pair<const char*, const char*>> plan = {
        {"503 storm", R"({"error": {"every_n": 2, "probability": 0}})"},
        {"429 storm", R"({"error": {"every_n": 0, "probability": 0.02}, "throttle": {"every_n": 2}})"}};
    for (const auto& [name, storm] : plan) {
      if (stop_storms.WaitForNotificationWithTimeout(absl::Seconds(5))) return;
      if (!PostJson(faults, storm).ok()) return;
      ++zoom_storms;
      std::printf("%s for 15 s from %s\n", name, absl::FormatDuration(absl::Now() - flow_start).c_str());
      const bool stopped = stop_storms.WaitForNotificationWithTimeout(absl::Seconds(15));
      (void)PostJson(faults, kZoomBaseline);
      if (stopped) return;
    }
  });
  struct StormJoiner {
    absl::Notification& stop;
    std::thread& t;
    ~StormJoiner() {
      if (!stop.HasBeenNotified()) stop.Notify();
      t.join();
    }
  } joiner{stop_storms, storms};

  // The faults, at shares of the expected pairs delivered; the kills at random ones.
  FaultPlan plan;
  int kills = 0;
  std::map<std::string, int> kills_per_stage;
  absl::Duration worst_rejoin;
  std::uniform_real_distribution<double> share(0.03, 0.95);
  std::uniform_int_distribution<int> pick(0, std::size(kStages) - 1);
  for (int i = 0; i < kKills; ++i) {
    const std::string stage = kStages[pick(random)];
    plan.Add(share(random), [&, stage]() -> absl::StatusOr<std::string> {
      const size_t log_from = ReadFile(stages.LogOf(stage)).size();
      const absl::Time killed = absl::Now();
      stages.Kill(stage);
      if (stage == "fetcher") sync.reset();  // its fetcher is gone
      if (absl::Status s = stages.Restart(stage); !s.ok()) return s;
      if (stage == "fetcher") sync = StartSync(stages.at("fetcher").grpc_port);
      if (sync == nullptr) return absl::InternalError("zarc sync did not start");
      ++kills;
      ++kills_per_stage[stage];
      const absl::Duration back =
          TimeUntilBackAtWork(stages.LogOf(stage), log_from, stage, killed, absl::Seconds(120));
      worst_rejoin = std::max(worst_rejoin, back);
      return absl::StrCat("SIGKILL of the ", stage, ", restarted; back at work ", absl::FormatDuration(back),
                          " after the kill");
    });
  }
  plan.Add(0.25, [&]() -> absl::StatusOr<std::string> {
    if (absl::Status s = (*azurite)->Stop(); !s.ok()) return s;
    absl::SleepFor(kOutage);
    if (absl::Status s = (*azurite)->Restart(); !s.ok()) return s;
    return std::string("Azurite stopped for 60 s and restarted on its data");
  });
  int refusals = 0;
  plan.Add(0.45, [&]() -> absl::StatusOr<std::string> {
    // Rotated: the master password the importer holds is refused from now on.
    const size_t log_from = ReadFile(stages.LogOf("importer")).size();
    std::ofstream(master_users, std::ios::trunc) << "zarc-master:{PLAIN}rotated-elsewhere-2026::::::\n";
    absl::SleepFor(kOutage);
    std::ofstream(master_users, std::ios::trunc) << master_line;
    const std::string during = ReadFile(stages.LogOf("importer")).substr(log_from);
    for (size_t at = 0; (at = during.find("refused the login", at)) != std::string::npos; ++at) ++refusals;
    return absl::StrCat("Dovecot refused every login for 60 s (", refusals,
                        " refusals logged by the importer), then took the password again");
  });
  plan.Add(0.65, [&]() -> absl::StatusOr<std::string> {
    if (absl::Status s = (*dovecot)->Stop(); !s.ok()) return s;
    absl::SleepFor(absl::Seconds(20));
    if (absl::Status s = (*dovecot)->Restart(); !s.ok()) return s;
    return std::string("Dovecot stopped for 20 s and restarted on its mail");
  });
  absl::Status faulted = plan.Run(delivered, expected_pairs, flow_start, run_deadline);
  ASSERT_TRUE(faulted.ok()) << faulted << "; logs end:\n"
                            << testing::TailOf(stages.LogOf("importer"), 2000)
                            << testing::TailOf(stages.LogOf("converter"), 2000)
                            << testing::TailOf(stages.LogOf("fetcher"), 2000);
  EXPECT_EQ(kills, kKills);
  EXPECT_GT(refusals, 0) << "the importer never met the rotated password";
  EXPECT_LT(worst_rejoin, absl::InfiniteDuration()) << "a restarted stage never got back to work";

  int syncs_repeated = 0;
  FinishBackfill(sync, stages, run_deadline, &syncs_repeated);
  while (delivered() < expected_pairs && absl::Now() < run_deadline) absl::SleepFor(absl::Milliseconds(500));
  const absl::Duration flow_time = absl::Now() - flow_start;
  absl::StatusOr<json::Value> log = WaitForStatusLog(bootstrap, expected_pairs, bad_ids.size(), run_deadline);
  absl::SleepFor(absl::Seconds(3));  // observing an absence: no late duplicate may appear

  const testing::AuditResult audit = testing::Audit(expected, testing::ReadMaildirMailboxes(mail_root));
  absl::StatusOr<json::Value> stats = GetJson(zoom_url + "/_sim/stats");
  ASSERT_TRUE(stats.ok()) << stats.status();
  const json::Value zoom_faults = json::Object(*stats, "faults");
  std::string per_stage;
  for (const auto& [s, n] : kills_per_stage) absl::StrAppend(&per_stage, per_stage.empty() ? "" : ", ", s, " ", n);
  std::printf(
      "%d meetings, %lld pairs expected; %d SIGKILLs (%s); Zoom faults injected: %lld 5xx, %lld 429, "
      "%lld slow, %lld truncated, %lld HTML (%d storms); outages: Azurite 60 s, Dovecot logins "
      "refused 60 s, Dovecot down 20 s; slowest stage back at work %s after its kill; longest wait "
      "for the next delivery after a fault %s; backfill asked for again %d times after it reported "
      "failures; all delivered %s after the backfill began; test wall time %s\n",
      kMeetings, static_cast<long long>(expected_pairs), kills, per_stage.c_str(),
      static_cast<long long>(json::Int(zoom_faults, "errors")),
      static_cast<long long>(json::Int(zoom_faults, "throttled")),
      static_cast<long long>(json::Int(zoom_faults, "slow")),
      static_cast<long long>(json::Int(zoom_faults, "truncated")),
      static_cast<long long>(json::Int(zoom_faults, "html")), zoom_storms,
      absl::FormatDuration(worst_rejoin).c_str(), absl::FormatDuration(plan.worst_resumption()).c_str(),
      syncs_repeated, absl::FormatDuration(flow_time).c_str(),
      absl::FormatDuration(absl::Now() - test_start).c_str());
  std::printf("missing %lld, duplicated %lld, unexpected %lld\n", static_cast<long long>(audit.missing),
              static_cast<long long>(audit.duplicated), static_cast<long long>(audit.unexpected));
  EXPECT_EQ(audit.missing, 0) << audit.examples << testing::TailOf(stages.LogOf("importer"));
  EXPECT_EQ(audit.duplicated, 0) << audit.examples;
  EXPECT_EQ(audit.unexpected, 0) << audit.examples;

  ExpectOnlyTheBadItemsFailedAndParked(log, bootstrap, expected_pairs, bad_ids);
  EXPECT_LT(absl::Now() - test_start, kRunBound + absl::Minutes(1));
}

// Graph as the mailbox and the directory: the importer (target graph) and the mapper (mode graph)
// against the Graph simulator, which throttles every 25th request throughout (429 with
// Retry-After: 1), every other one for 15 s in a storm, and twice revokes every token it issued (a
// 401 for each request with one), while the importer and the mapper are SIGKILLed. Every pair
// arrives once; nothing fails. A smaller tenant than the first case: Graph's faults are the
// subject here.
TEST(FaultSuiteTest, GraphThrottlingRevokedTokensAndKillsDeliverEveryPairExactlyOnce) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const absl::Time test_start = absl::Now();
  const absl::Time run_deadline = test_start + absl::Minutes(8);
  testing::TempDir dir;
  Tenant tenant;
  absl::Status started = StartTenant(dir.path(),
      {"--port=0", "--threads=16", "--seed=37", "--users=12", "--meetings=100", "--days=14", std::string("--from=") + kFrom,
       "--recording-bytes=1024", "--audio-bytes=512", "--archiving=false", "--plan=unlimited",
       std::string("--account-id=") + kAccount, "--log-level=warn"},
      &tenant);
  ASSERT_TRUE(started.ok()) << started;
  const std::string& bootstrap = tenant.bootstrap;
  const std::string& zoom_url = tenant.zoom_url;
  const json::Value& manifest = tenant.manifest;
  const std::map<std::string, std::set<std::string>>& expected = tenant.expected;
  const int64_t expected_pairs = testing::Pairs(expected);
  ASSERT_GT(expected_pairs, 100);

  // Every mailbox the manifest calls for is a Graph user whose mail is that address.
  json::Value users = json::Value::Array();
  size_t n = 0;
  for (const auto& [mailbox, ids] : expected) {
    json::Value u = json::Value::Object();
    u["userPrincipalName"] = json::Value::String(mailbox);
    u["mail"] = json::Value::String(mailbox);
    u["displayName"] = json::Value::String(mailbox);
    users[n++] = std::move(u);
  }
  json::Value directory = json::Value::Object();
  directory["users"] = std::move(users);
  const std::string users_file = dir.path() + "/graph-users.json";
  std::ofstream(users_file) << json::Serialize(directory);
  std::unique_ptr<Subprocess> graph;
  absl::StatusOr<std::string> graph_url = testing::StartSimulator(
      "zarc-graph-sim", {"--port=0", "--users=" + users_file, "--throttle-every=25", "--retry-after=1",
                         "--log-level=warn"},
      dir.path() + "/graph-sim.log", &graph);
  ASSERT_TRUE(graph_url.ok()) << graph_url.status();
  auto delivered_contents = [&] {
    testing::MailboxContents out;
    for (const auto& [mailbox, ids] : expected) {
      absl::StatusOr<json::Value> box = GetJson(*graph_url + "/_sim/mailboxes/" + mailbox);
      if (!box.ok()) continue;
      for (const json::Value& m : json::Array(*box, "messages")) {
        if (json::String(m, "folder") != "Zoom Meetings") continue;
        std::string id = json::String(m, "internetMessageId");
        if (id.size() >= 2 && id.front() == '<') id = id.substr(1, id.size() - 2);
        ++out[mailbox][id];
      }
    }
    return out;
  };
  auto delivered = [&] { return Count(delivered_contents()); };

  const std::string staging = "file://" + dir.path() + "/staging";
  const std::vector<std::string> graph_flags = {"--graph.login_url=" + *graph_url, "--graph.api_url=" + *graph_url,
                                                "--graph.tenant_id=faults-tenant",
                                                "--graph.client_id=zarc-graph-client"};
  Stages stages(dir.path(), {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"},
                             {"ZARC_GRAPH_CLIENT_SECRET", "zarc-graph-secret"}});
  std::vector<std::string> importer = {"--messages.url=" + staging, "--archive.url=file://" + dir.path() + "/archive",
                                       "--importer.target=graph"};
  importer.insert(importer.end(), graph_flags.begin(), graph_flags.end());
  ASSERT_TRUE(stages.Start("importer", StageArgv("importer", bootstrap, importer)).ok());
  std::vector<std::string> mapper = {"--mapper.mode=graph", "--mapper.tenant_domains=" + json::String(manifest, "domain")};
  mapper.insert(mapper.end(), graph_flags.begin(), graph_flags.end());
  ASSERT_TRUE(stages.Start("mapper", StageArgv("mapper", bootstrap, mapper)).ok());
  ASSERT_TRUE(stages.Start("converter", StageArgv("converter", bootstrap, {"--staging.url=" + staging})).ok());
  ASSERT_TRUE(stages.Start("fetcher", StageArgv("fetcher", bootstrap, FetcherFlags(zoom_url, staging))).ok());
  const absl::Time flow_start = absl::Now();
  std::unique_ptr<Subprocess> sync = StartSync(stages.at("fetcher").grpc_port);
  ASSERT_NE(sync, nullptr);

  FaultPlan plan;
  int kills = 0;
  auto kill = [&](const std::string& stage) {
    return [&, stage]() -> absl::StatusOr<std::string> {
      stages.Kill(stage);
      if (absl::Status s = stages.Restart(stage); !s.ok()) return s;
      ++kills;
      return absl::StrCat("SIGKILL of the ", stage, ", restarted");
    };
  };
  int revocations = 0;
  auto revoke = [&]() -> absl::StatusOr<std::string> {
    if (absl::Status s = PostJson(*graph_url + "/_sim/revoke-tokens", "{}"); !s.ok()) return s;
    ++revocations;
    return std::string("every Graph token revoked");
  };
  plan.Add(0.15, kill("importer"));
  plan.Add(0.3, revoke);
  plan.Add(0.45, [&]() -> absl::StatusOr<std::string> {
    const std::string throttle = *graph_url + "/_sim/throttle";
    if (absl::Status s = PostJson(throttle, R"({"every_n": 2, "retry_after": 1})"); !s.ok()) return s;
    absl::SleepFor(absl::Seconds(15));
    if (absl::Status s = PostJson(throttle, R"({"every_n": 25, "retry_after": 1})"); !s.ok()) return s;
    return std::string("Graph throttled every other request for 15 s");
  });
  plan.Add(0.55, kill("mapper"));
  plan.Add(0.7, revoke);
  plan.Add(0.8, kill("importer"));
  absl::Status faulted = plan.Run(delivered, expected_pairs, flow_start, run_deadline);
  ASSERT_TRUE(faulted.ok()) << faulted << "; logs end:\n" << testing::TailOf(stages.LogOf("importer"), 3000)
                            << testing::TailOf(stages.LogOf("mapper"), 2000);

  int syncs_repeated = 0;
  FinishBackfill(sync, stages, run_deadline, &syncs_repeated);
  while (delivered() < expected_pairs && absl::Now() < run_deadline) absl::SleepFor(absl::Seconds(1));
  const absl::Duration flow_time = absl::Now() - flow_start;
  absl::StatusOr<json::Value> log = WaitForStatusLog(bootstrap, expected_pairs, 0, run_deadline);
  absl::SleepFor(absl::Seconds(3));  // observing an absence: no late duplicate may appear

  const testing::AuditResult audit = testing::Audit(expected, delivered_contents());
  absl::StatusOr<json::Value> stats = GetJson(*graph_url + "/_sim/stats");
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::printf("Graph case: %lld pairs expected; %d SIGKILLs, %d revocations; Graph answered %lld "
              "requests 429 and issued %lld tokens; all delivered %s after the backfill began; "
              "test wall time %s\n",
              static_cast<long long>(expected_pairs), kills, revocations,
              static_cast<long long>(json::Int(*stats, "throttled")),
              static_cast<long long>(json::Int(*stats, "tokens_issued")), absl::FormatDuration(flow_time).c_str(),
              absl::FormatDuration(absl::Now() - test_start).c_str());
  std::printf("missing %lld, duplicated %lld, unexpected %lld\n", static_cast<long long>(audit.missing),
              static_cast<long long>(audit.duplicated), static_cast<long long>(audit.unexpected));
  EXPECT_EQ(audit.missing, 0) << audit.examples << testing::TailOf(stages.LogOf("importer"));
  EXPECT_EQ(audit.duplicated, 0) << audit.examples;
  EXPECT_EQ(audit.unexpected, 0) << audit.examples;
  EXPECT_EQ(kills, 3);
  EXPECT_EQ(revocations, 2);
  // Tokens were fetched again after each revocation and each restart.
  EXPECT_GT(json::Int(*stats, "tokens_issued"), 4);
  EXPECT_GT(json::Int(*stats, "throttled"), 0);
  ExpectOnlyTheBadItemsFailedAndParked(log, bootstrap, expected_pairs, {});
}

}  // namespace
}  // namespace zarc

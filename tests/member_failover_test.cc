// A stage replica that dies must not hold up its partitions for long (issue 13: deliveries resume
// within 15 s of a SIGKILL). The four services run as separate processes on zarc-devbroker, the
// importer as two replicas, and a simulator tenant flows through them. One importer replica is SIGKILLed while items flow; the other must take over its
// partitions and commit on every one of them that has deliveries waiting within 15 s. A third
// replica then joins and the survivor is stopped with SIGTERM: it leaves the group, and the
// newcomer takes over within the same bound. At the end every (mailbox, meeting) pair the
// simulator's manifest calls for holds exactly one message, and no mailbox holds anything else.
//
// The measured times are printed; docs/reliability.md records them. The bound is the issue's
// requirement, not a benchmark.
//
// The replicas run with kafka.session_timeout=4s rather than the default 6s: librdkafka's mock
// cluster (zarc-devbroker) waits the session timeout less 1 s for the members left to join again
// before it forms the next generation, where a broker goes on once they all have; and a commit
// that waited on the connection behind the survivor's JoinGroup is then refused with
// ILLEGAL_GENERATION, which librdkafka 2.0.2 takes for a lost assignment, so a second such round
// follows. A takeover on the mock thus costs about three session timeouts, against about one plus
// a heartbeat on a broker (see ARCHITECTURE.md, "librdkafka's mock cluster").
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "runtime/json/json.h"
#include "runtime/kafka/admin.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/kafka/topics.h"
#include "tests/support/mailbox_audit.h"
#include "tests/support/processes.h"

namespace zarc {
namespace {

using testing::Count;
using testing::ReadEmlMailboxes;
using testing::ReadFile;
using testing::Service;
using testing::StartLoggedService;
using testing::Subprocess;

constexpr char kFrom[] = "2024-03-01";
constexpr char kTo[] = "2024-03-15";
constexpr int kMeetings = 120;
constexpr char kImporterGroup[] = "zarc-importer";
const absl::Duration kRecoveryBound = absl::Seconds(15);

// The zarc.deliveries partitions a replica's log says it was given after byte `from`.
std::set<int> AssignedDeliveryPartitions(const std::string& log_path, size_t from) {
  const std::string text = ReadFile(log_path);
  std::set<int> partitions;
  const std::string prefix = std::string(kafka::kDeliveriesTopic) + "/";
  for (absl::string_view line : absl::StrSplit(absl::string_view(text).substr(std::min(from, text.size())), '\n')) {
    if (line.find("partitions assigned") == absl::string_view::npos ||
        line.find("stage=importer") == absl::string_view::npos) {
      continue;
    }
    const size_t at = line.find("partitions=");
    if (at == absl::string_view::npos) continue;
    absl::string_view list = line.substr(at + 11);
    list = list.substr(0, list.find(' '));
    for (absl::string_view tp : absl::StrSplit(list, ',')) {
      int p = 0;
      if (absl::ConsumePrefix(&tp, prefix) && absl::SimpleAtoi(tp, &p)) partitions.insert(p);
    }
  }
  return partitions;
}

// The group membership lines of a replica's log (assignments, revocations, losses), for failure
// messages: its tail is mostly deliveries.
std::string MembershipLines(const std::string& log_path) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(ReadFile(log_path), '\n')) {
    if (line.find("partitions ") != absl::string_view::npos) absl::StrAppend(&out, line, "\n");
  }
  return out;
}

absl::StatusOr<std::map<int, kafka::PartitionPosition>> Positions(const kafka::KafkaConfig& kafka) {
  absl::StatusOr<kafka::GroupLag> lag = kafka::ConsumerGroupLag(
      kafka, kImporterGroup, std::string(kafka::kDeliveriesTopic), absl::Seconds(3));
  if (!lag.ok()) return lag.status();
  std::map<int, kafka::PartitionPosition> out;
  for (const kafka::PartitionPosition& p : lag->positions) out[p.partition] = p;
  return out;
}

struct Takeover {
  absl::Duration assigned = absl::InfiniteDuration();  // the survivor logs the partitions
  absl::Duration resumed = absl::InfiniteDuration();   // it committed on every waiting one
  std::set<int> partitions;                            // what it took over
  int waiting = 0;  // of those, the partitions that had deliveries waiting
};

// Watches, from `stopped_at` for at most `limit`, how the replica whose log is `survivor_log`
// takes over the partitions of the one that stopped (`before`: the group's positions at that
// moment; `log_from`: the survivor's log size then). A partition counts as resumed when the
// group's committed offset on it passed its position at the stop.
Takeover WatchTakeover(const kafka::KafkaConfig& kafka, const std::string& survivor_log,
                       size_t log_from, const std::map<int, kafka::PartitionPosition>& before,
                       absl::Time stopped_at, absl::Duration limit) {
  Takeover t;
  std::set<int> waiting;
  while (absl::Now() - stopped_at < limit) {
    if (t.partitions.empty()) {
      t.partitions = AssignedDeliveryPartitions(survivor_log, log_from);
      if (!t.partitions.empty()) t.assigned = absl::Now() - stopped_at;
    }
    absl::StatusOr<std::map<int, kafka::PartitionPosition>> now = Positions(kafka);
    if (now.ok() && !t.partitions.empty()) {
      bool all = true;
      for (int p : t.partitions) {
        const kafka::PartitionPosition& was = before.at(p);
        const kafka::PartitionPosition& is = now->at(p);
        // Deliveries waiting on it (a partition never committed on stands at its start, 0).
        if (is.end > std::max<int64_t>(was.committed, 0)) waiting.insert(p);
        if (waiting.count(p) > 0 && is.committed <= was.committed) all = false;
      }
      t.waiting = static_cast<int>(waiting.size());
      if (all && !waiting.empty()) {
        t.resumed = absl::Now() - stopped_at;
        return t;
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return t;
}

class ImporterReplicas {
 public:
  ImporterReplicas(std::vector<std::string> argv, std::string dir)
      : argv_(std::move(argv)), dir_(std::move(dir)) {}
  // Starts replica `name`, its output in DIR/importer-NAME.log.
  absl::Status Start(const std::string& name) {
    absl::StatusOr<Service> s = StartLoggedService(argv_, {}, LogOf(name));
    if (!s.ok()) return s.status();
    replicas_[name] = *std::move(s);
    return absl::OkStatus();
  }
  void Stop(const std::string& name, int signo) {
    Service& s = replicas_.at(name);
    s.process->Signal(signo);
    (void)s.process->Wait(absl::Seconds(60));
    replicas_.erase(name);
  }
  std::string LogOf(const std::string& name) const { return dir_ + "/importer-" + name + ".log"; }

 private:
  std::vector<std::string> argv_;
  std::string dir_;
  std::map<std::string, Service> replicas_;
};

// Waits until `replica`'s log shows it owns zarc.deliveries partitions.
bool WaitForAssignment(const std::string& log_path, absl::Duration timeout) {
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    if (!AssignedDeliveryPartitions(log_path, 0).empty()) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

// Stops replica `stopped` with `signo` and checks that `survivor` takes over its partitions and
// commits on every one with deliveries waiting within the bound; prints what it measured.
void StopAndWatchTakeover(const kafka::KafkaConfig& kafka, ImporterReplicas& importers,
                          const std::string& stopped, int signo, const std::string& survivor,
                          int64_t delivered, int64_t expected_pairs) {
  absl::StatusOr<std::map<int, kafka::PartitionPosition>> before = Positions(kafka);
  ASSERT_TRUE(before.ok()) << before.status();
  const std::string survivor_log = importers.LogOf(survivor);
  const size_t log_from = ReadFile(survivor_log).size();
  const absl::Time stopped_at = absl::Now();
  importers.Stop(stopped, signo);
  const Takeover t =
      WatchTakeover(kafka, survivor_log, log_from, *before, stopped_at, absl::Seconds(60));
  std::printf(
      "%s of replica %s with %lld of %lld pairs delivered: replica %s was given %zu partitions "
      "after %s, and committed on all %d with deliveries waiting after %s\n",
      signo == SIGKILL ? "SIGKILL" : "SIGTERM", stopped.c_str(), static_cast<long long>(delivered),
      static_cast<long long>(expected_pairs), survivor.c_str(), t.partitions.size(),
      absl::FormatDuration(t.assigned).c_str(), t.waiting, absl::FormatDuration(t.resumed).c_str());
  EXPECT_FALSE(t.partitions.empty()) << MembershipLines(survivor_log);
  EXPECT_GT(t.waiting, 0) << "replica " << stopped << "'s partitions had nothing waiting";
  EXPECT_LE(t.resumed, kRecoveryBound) << MembershipLines(survivor_log);
}

TEST(MemberFailoverTest, AKilledImporterReplicasPartitionsResumeWithinFifteenSecondsAndNothingIsLostOrTwice) {
  testing::TempDir dir;
  auto broker = Subprocess::Start({.argv = {testing::BinPath("zarc-devbroker")}});
  ASSERT_TRUE(broker.ok()) << broker.status();
  absl::StatusOr<std::string> line = (*broker)->WaitForLine("bootstrap.servers=", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  kafka::KafkaConfig kafka;
  kafka.bootstrap_servers = line->substr(line->find('=') + 1);
  const std::string brokers = "--kafka.brokers=" + kafka.bootstrap_servers;

  const std::string manifest_path = dir.path() + "/manifest.json";
  std::unique_ptr<Subprocess> zoom;
  absl::StatusOr<std::string> zoom_url = testing::StartZoomSimulator(
      {"--port=0", "--seed=31", "--users=30", absl::StrCat("--meetings=", kMeetings), "--days=14",
       std::string("--from=") + kFrom, "--recording-bytes=1024", "--audio-bytes=512",
       "--archive-bytes=512", "--plan=unlimited", "--account-id=acct-failover", "--log-level=warn",
       // Every call and download answered after 150 ms, four at a time: the items flow for over
       // a minute whatever the machine's speed, so both stops happen while deliveries wait.
       R"(--faults={"slow": {"every_n": 1}, "slow_ms": 150})", "--manifest-out=" + manifest_path},
      dir.path() + "/zoom-sim.log", &zoom);
  ASSERT_TRUE(zoom_url.ok()) << zoom_url.status();
  absl::StatusOr<json::Value> manifest = json::Parse(ReadFile(manifest_path), "simulator manifest");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  const std::map<std::string, std::set<std::string>> expected = testing::ExpectedFromManifest(*manifest);
  const int64_t expected_pairs = testing::Pairs(expected);
  ASSERT_GT(expected_pairs, kMeetings);

  const std::string store = "file://" + dir.path();
  const std::string mailboxes = dir.path() + "/mailboxes";
  // Replicas of one stage share its configuration, as the Pods of one Deployment do.
  ImporterReplicas importers(
      {testing::BinPath("zarc-importer"), brokers, "--kafka.session_timeout=4s",
       "--messages.url=" + store + "/staging",
       "--archive.url=" + store + "/archive", "--importer.target=eml",
       "--importer.eml_root=" + mailboxes},
      dir.path());
  for (const char* name : {"a", "b"}) {
    absl::Status started = importers.Start(name);
    ASSERT_TRUE(started.ok()) << started;
  }
  // Both replicas own partitions before anything flows.
  ASSERT_TRUE(WaitForAssignment(importers.LogOf("a"), absl::Seconds(60))) << testing::TailOf(importers.LogOf("a"));
  ASSERT_TRUE(WaitForAssignment(importers.LogOf("b"), absl::Seconds(60))) << testing::TailOf(importers.LogOf("b"));

  auto start = [&](const std::string& name, std::vector<std::string> argv) {
    return StartLoggedService(std::move(argv), {{"ZARC_ZOOM_CLIENT_SECRET", "zarc-sim-secret"}},
                              dir.path() + "/" + name + ".log");
  };
  absl::StatusOr<Service> mapper =
      start("mapper", {testing::BinPath("zarc-mapper"), brokers, "--mapper.mode=csv-only",
                       "--mapper.tenant_domains=" + json::String(*manifest, "domain")});
  ASSERT_TRUE(mapper.ok()) << mapper.status();
  absl::StatusOr<Service> converter =
      start("converter", {testing::BinPath("zarc-converter"), brokers, "--staging.url=" + store + "/staging"});
  ASSERT_TRUE(converter.ok()) << converter.status();
  absl::StatusOr<Service> fetcher = start(
      "fetcher", {testing::BinPath("zarc-fetcher"), brokers, "--staging.url=" + store + "/staging",
                  "--zoom.api_url=" + *zoom_url + "/v2", "--zoom.oauth_url=" + *zoom_url + "/oauth/token",
                  "--zoom.account_id=acct-failover", "--zoom.client_id=zarc-sim-client",
                  "--zoom.retry_backoff=100ms", "--fetcher.concurrency=4", "--fetcher.poll_interval=0",
                  "--fetcher.reconcile_interval=0", "--fetcher.verify_interval=0",
                  "--fetcher.webhook_port=0"});
  ASSERT_TRUE(fetcher.ok()) << fetcher.status();
  auto sync = Subprocess::Start(
      {.argv = {testing::BinPath("zarc"), "sync", std::string("--from=") + kFrom,
                std::string("--to=") + kTo, absl::StrCat("--fetcher=127.0.0.1:", fetcher->grpc_port)},
       .capture_stdout = false});
  ASSERT_TRUE(sync.ok()) << sync.status();

  // SIGKILL replica b while deliveries flow.
  for (const absl::Time end = absl::Now() + absl::Seconds(120);
       Count(ReadEmlMailboxes(mailboxes)) < expected_pairs / 10 && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  const int64_t at_kill = Count(ReadEmlMailboxes(mailboxes));
  ASSERT_GE(at_kill, expected_pairs / 10) << "no deliveries; replica a's log ends:\n"
                                          << testing::TailOf(importers.LogOf("a"));
  StopAndWatchTakeover(kafka, importers, "b", SIGKILL, "a", at_kill, expected_pairs);

  // A new replica joins; then a is stopped cleanly, and leaves its group on the way out.
  absl::Status started = importers.Start("c");
  ASSERT_TRUE(started.ok()) << started;
  ASSERT_TRUE(WaitForAssignment(importers.LogOf("c"), absl::Seconds(60))) << testing::TailOf(importers.LogOf("c"));
  const int64_t at_term = Count(ReadEmlMailboxes(mailboxes));
  StopAndWatchTakeover(kafka, importers, "a", SIGTERM, "c", at_term, expected_pairs);

  // Everything arrives, once.
  for (const absl::Time end = absl::Now() + absl::Seconds(120);
       Count(ReadEmlMailboxes(mailboxes)) < expected_pairs && absl::Now() < end;) {
    absl::SleepFor(absl::Milliseconds(300));
  }
  absl::SleepFor(absl::Seconds(2));  // observing an absence: no late duplicate may appear
  const testing::AuditResult audit = testing::Audit(expected, ReadEmlMailboxes(mailboxes));
  std::printf("%lld pairs expected; missing %lld, duplicated %lld, unexpected %lld\n",
              static_cast<long long>(expected_pairs), static_cast<long long>(audit.missing),
              static_cast<long long>(audit.duplicated), static_cast<long long>(audit.unexpected));
  EXPECT_EQ(audit.missing, 0) << audit.examples << testing::TailOf(importers.LogOf("c"));
  EXPECT_EQ(audit.duplicated, 0) << audit.examples;
  EXPECT_EQ(audit.unexpected, 0) << audit.examples;
  importers.Stop("c", SIGTERM);
}

}  // namespace
}  // namespace zarc

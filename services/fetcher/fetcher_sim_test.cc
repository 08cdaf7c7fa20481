// The fetcher against the Zoom simulator over real HTTP: what a compliance admin relies on.
#include <prometheus/registry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/fetcher_app.h"
#include "services/fetcher/zoom_webhook.h"
#include "simulators/zoom/file_content.h"
#include "simulators/zoom/simulator.h"
#include "simulators/zoom/webhook.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;

struct Seen {
  std::string path;
  std::string authorization;
};

// A simulator served on 127.0.0.1, recording which paths received which Authorization header.
class SimHarness {
 public:
  explicit SimHarness(zoom_sim::TenantOptions tenant_options, zoom_sim::SimulatorOptions sim_options = {})
      : tenant_options_(tenant_options) {
    sim_ = std::make_unique<zoom_sim::Simulator>(zoom_sim::GenerateTenant(tenant_options),
                                                 tenant_options, sim_options);
    auto server = http::HttpServer::Start(
        http::ServerOptions{.threads = 4}, [this](const http::ServerRequest& r) {
          {
            std::lock_guard<std::mutex> lock(seen_mutex_);
            seen_.push_back({r.path, http::FindHeader(r.headers, "Authorization").value_or("")});
          }
          return sim_->Handle(r);
        });
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
    sim_->SetPublicBaseUrl(base_);
  }

  zoom_sim::Simulator& sim() { return *sim_; }
  const std::string& base() const { return base_; }
  uint16_t port() const { return server_->port(); }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    return seen_;
  }

 private:
  zoom_sim::TenantOptions tenant_options_;
  std::unique_ptr<zoom_sim::Simulator> sim_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_;
  std::mutex seen_mutex_;
  std::vector<Seen> seen_;
};

// The fetcher under test, publishing into a list instead of Kafka.
class FetcherHarness {
 public:
  FetcherHarness(SimHarness& sim, const zoom_sim::Tenant& tenant,
                 std::function<void(FetcherConfig&)> adjust = nullptr,
                 std::string staging_dir = "")
      : staging_dir_(staging_dir.empty() ? dir_.path() + "/staging" : staging_dir) {
    absl::StatusOr<FetcherConfig> config = FetcherSchema().Load(config::Sources{});
    EXPECT_TRUE(config.ok()) << config.status();
    config_ = *config;
    config_.zoom_api_url = sim.base() + "/v2";
    config_.zoom_oauth_url = sim.base() + "/oauth/token";
    config_.zoom_account_id = tenant.account_id;
    config_.zoom_client_id = "zarc-sim-client";
    config_.zoom_client_secret = "zarc-sim-secret";
    config_.zoom_plan = "business";
    config_.sources = "recordings";  // the default (auto) is tested by ZoomSourcesTest and the archive tests
    config_.poll_interval = absl::ZeroDuration();
    config_.pending_delay = absl::Milliseconds(200);
    config_.host.listen_address = "127.0.0.1";
    config_.staging.url = "file://" + staging_dir_;
    if (adjust) adjust(config_);
    auto app = FetcherApp::Create(config_, &registry_, [this](const zarc::v1::MeetingCaptured& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(e);
      // The broker got the event; the hook decides whether the ack reaches the fetcher.
      return after_publish_ ? after_publish_(e) : absl::OkStatus();
    });
    EXPECT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
  }

  SyncProgress& Sync(absl::Time from, absl::Time to, bool archiving = false) {
    absl::Status s = app_->fetcher().SyncRange(from, to, archiving, progress_,
                                               zarc::v1::CAPTURE_SOURCE_SYNC);
    EXPECT_TRUE(s.ok()) << s;
    return progress_;
  }
  std::vector<zarc::v1::MeetingCaptured> events() {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }
  // The events published for one meeting, in order.
  std::vector<zarc::v1::MeetingCaptured> events(const std::string& uuid) {
    std::vector<zarc::v1::MeetingCaptured> out;
    for (auto& e : events()) {
      if (e.meeting().uuid() == uuid) out.push_back(std::move(e));
    }
    return out;
  }
  void SetAfterPublish(std::function<absl::Status(const zarc::v1::MeetingCaptured&)> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    after_publish_ = std::move(hook);
  }
  // A fresh progress for each call (Sync() reuses one).
  SyncProgress& SyncAgain(absl::Time from, absl::Time to, bool archiving = false) {
    progresses_.push_back(std::make_unique<SyncProgress>());
    absl::Status s = app_->fetcher().SyncRange(from, to, archiving, *progresses_.back(),
                                               zarc::v1::CAPTURE_SOURCE_POLL);
    EXPECT_TRUE(s.ok()) << s;
    return *progresses_.back();
  }
  void RecheckFollowUps() {
    SyncProgress progress;
    app_->fetcher().RecheckFollowUps(progress);
  }
  std::unique_ptr<blob::BlobStore> Staging() {
    auto store = blob::OpenBlobStore({.url = "file://" + staging_dir_});
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }
  FetcherApp& app() { return *app_; }
  prometheus::Registry& registry() { return registry_; }
  const std::string& dir() const { return dir_.path(); }

  double Metric(const std::string& name) {
    double total = 0;
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) total += m.counter.value;
    }
    return total;
  }

 private:
  testing::TempDir dir_;
  std::string staging_dir_;
  FetcherConfig config_;
  prometheus::Registry registry_;
  std::unique_ptr<FetcherApp> app_;
  std::mutex mutex_;
  std::vector<zarc::v1::MeetingCaptured> events_;
  std::function<absl::Status(const zarc::v1::MeetingCaptured&)> after_publish_;
  SyncProgress progress_;
  std::vector<std::unique_ptr<SyncProgress>> progresses_;
};

// Every recording file of every meeting, by meeting UUID, as the simulator would serve it.
std::map<std::string, std::multiset<std::string>> ExpectedFiles(const zoom_sim::Tenant& tenant,
                                                                 bool archive) {
  std::map<std::string, std::multiset<std::string>> out;
  for (const zoom_sim::Meeting& m : tenant.meetings) {
    for (const zoom_sim::FileEntry& f : m.files) {
      if (zoom_sim::IsArchiveKind(f.kind) != archive) continue;
      out[m.uuid].insert(zoom_sim::FileSha256(m, f));
    }
  }
  return out;
}

std::map<std::string, std::multiset<std::string>> CapturedFiles(
    const std::vector<zarc::v1::MeetingCaptured>& events) {
  std::map<std::string, std::multiset<std::string>> out;
  for (const auto& e : events) {
    auto& files = out[e.meeting().uuid()];
    files.clear();  // the newest version holds every file
    for (const auto& a : e.artifacts()) files.insert(a.blob().sha256());
  }
  return out;
}

// What differs between the files the simulator serves and the files captured, in a few lines.
std::string Diff(const std::map<std::string, std::multiset<std::string>>& captured,
                 const std::map<std::string, std::multiset<std::string>>& expected) {
  std::string out;
  int shown = 0;
  for (const auto& [uuid, files] : expected) {
    auto it = captured.find(uuid);
    if (it == captured.end()) {
      out += "meeting " + uuid + " not captured\n";
    } else if (it->second != files) {
      out += "meeting " + uuid + ": captured " + std::to_string(it->second.size()) + " of " +
             std::to_string(files.size()) + " files; missing:";
      for (const std::string& f : files) {
        if (it->second.count(f) == 0) out += " " + f;
      }
      out += "\n";
    } else {
      continue;
    }
    if (++shown == 5) break;
  }
  if (captured.size() != expected.size()) {
    out += "captured " + std::to_string(captured.size()) + " meetings, expected " +
           std::to_string(expected.size()) + "\n";
  }
  return out;
}

zoom_sim::TenantOptions TenantOf(int meetings, int users, int days) {
  zoom_sim::TenantOptions o;
  o.seed = 42;
  o.meetings = meetings;
  o.users = users;
  o.days = days;
  return o;
}

absl::Time From(const zoom_sim::TenantOptions& o) { return o.from; }
absl::Time To(const zoom_sim::TenantOptions& o) { return o.from + absl::Hours(24 * (o.days + 1)); }

TEST(FetcherSimTest, CapturesA200MeetingTenantCompletelyAndOnlyOnce) {
  const zoom_sim::TenantOptions options = TenantOf(200, 12, 40);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant);

  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  EXPECT_EQ(progress.found, 200);
  EXPECT_EQ(progress.captured, 200);
  EXPECT_EQ(progress.pending, 0);
  const auto events = fetcher.events();
  ASSERT_EQ(events.size(), 200u);
  EXPECT_EQ(Diff(CapturedFiles(events), ExpectedFiles(tenant, false)), "");

  // Participants are folded per person, and every staged file is where its BlobRef says.
  bool saw_rejoin = false;
  for (const auto& e : events) {
    EXPECT_EQ(e.version(), 1);
    EXPECT_FALSE(e.meeting().host_email().empty()) << e.meeting().uuid();
    std::set<std::string> emails;
    for (const auto& p : e.participants()) {
      if (!p.email().empty()) {
        EXPECT_TRUE(emails.insert(p.email()).second) << p.email();
      }
      saw_rejoin |= p.intervals_size() > 1;
    }
    for (const auto& a : e.artifacts()) {
      EXPECT_TRUE(std::filesystem::exists(fetcher.dir() + "/staging/" + a.blob().name()))
          << a.blob().name();
    }
  }
  EXPECT_TRUE(saw_rejoin);

  // The same range again: every meeting is a duplicate, nothing is published.
  SyncProgress again;
  ASSERT_TRUE(fetcher.app()
                  .fetcher()
                  .SyncRange(From(options), To(options), false, again, zarc::v1::CAPTURE_SOURCE_POLL)
                  .ok());
  EXPECT_EQ(again.duplicates, 200);
  EXPECT_EQ(fetcher.events().size(), 200u);
}

TEST(FetcherSimTest, InjectedFaultsLoseNothing) {
  zoom_sim::TenantOptions options = TenantOf(60, 6, 20);
  options.processing_every = 7;
  options.processing_listings = 2;
  zoom_sim::SimulatorOptions sim_options;
  sim_options.faults.error = {.every_n = 9};
  sim_options.faults.error_status = 503;
  sim_options.faults.truncate = {.every_n = 5};
  sim_options.faults.html = {.every_n = 11};
  sim_options.faults.slow = {.every_n = 13};
  sim_options.faults.slow_ms = 100;
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) {
    c.pending_delay = absl::Milliseconds(300);
    c.retry_backoff = absl::Milliseconds(20);
  });

  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  const zoom_sim::FaultStats faults = sim.sim().fault_injector().stats();
  EXPECT_GT(faults.errors, 0);
  EXPECT_GT(faults.truncated, 0);
  EXPECT_GT(faults.html, 0);
  EXPECT_EQ(progress.pending, 0);
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), ExpectedFiles(tenant, false)), "");
  for (const auto& e : fetcher.events()) {
    EXPECT_EQ(e.problems_size(), 0) << e.problems(0);
  }
}

TEST(FetcherSimTest, ArchivingApiCapturesArchiveFilesWithFingerprintsChecked) {
  const zoom_sim::TenantOptions options = TenantOf(30, 5, 20);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant);
  fetcher.Sync(From(options), To(options), /*archiving=*/true);
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), ExpectedFiles(tenant, true)), "");
}

TEST(FetcherSimTest, OddUuidsAreFoundThroughDoubleEncoding) {
  const zoom_sim::TenantOptions options = TenantOf(80, 8, 20);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant);
  fetcher.Sync(From(options), To(options));
  int odd = 0;
  for (const auto& e : fetcher.events()) {
    const std::string& uuid = e.meeting().uuid();
    if (uuid[0] != '/' && uuid.find("//") == std::string::npos) continue;
    ++odd;
    EXPECT_GT(e.participants_size(), 0) << uuid;
    EXPECT_FALSE(e.meeting().host_name().empty()) << uuid;  // from /past_meetings/{uuid}
    EXPECT_EQ(e.problems_size(), 0) << uuid;
  }
  EXPECT_GT(odd, 0) << "the generated tenant should hold UUIDs with '/' and '//'";
  bool double_encoded = false;
  for (const Seen& s : sim.seen()) double_encoded |= s.path.find("%252F") != std::string::npos;
  EXPECT_TRUE(double_encoded);
}

TEST(FetcherSimTest, MonthClampIsDetectedAndNothingIsMissed) {
  const zoom_sim::TenantOptions options = TenantOf(90, 4, 75);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  // Ask for 75-day windows: Zoom (and the simulator) silently clamps them to a month.
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) { c.recordings_window_days = 75; });
  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  EXPECT_EQ(progress.found, 90);
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), ExpectedFiles(tenant, false)), "");
}

TEST(FetcherSimTest, TokenNeverReachesAHostOutsideTheAllowlist) {
  const zoom_sim::TenantOptions options = TenantOf(6, 2, 5);
  SimHarness sim(options);
  // Downloads redirect to "localhost:PORT", which is not an allowed Zoom host (the API is
  // configured as 127.0.0.1:PORT): the redirect must be followed without the token.
  sim.sim().SetStorageBaseUrl("http://localhost:" + std::to_string(sim.port()));
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant);
  fetcher.Sync(From(options), To(options));
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), ExpectedFiles(tenant, false)), "");
  int storage = 0;
  for (const Seen& s : sim.seen()) {
    if (s.path.rfind("/storage/", 0) != 0) continue;
    ++storage;
    EXPECT_EQ(s.authorization, "") << s.path;
  }
  EXPECT_GT(storage, 0);

  // A download_url on a foreign host is refused before any request is made.
  SimHarness other(options);
  other.sim().SetPublicBaseUrl("http://localhost:" + std::to_string(other.port()));
  FetcherHarness fetcher2(other, other.sim().TenantSnapshot(), [&](FetcherConfig& c) {
    c.zoom_api_url = "http://127.0.0.1:" + std::to_string(other.port()) + "/v2";
    c.zoom_oauth_url = "http://127.0.0.1:" + std::to_string(other.port()) + "/oauth/token";
  });
  fetcher2.Sync(From(options), To(options));
  for (const Seen& s : other.seen()) {
    EXPECT_NE(s.path.rfind("/rec/", 0), 0u) << "a download was attempted on a foreign host";
  }
  ASSERT_FALSE(fetcher2.events().empty());
  EXPECT_THAT(fetcher2.events()[0].problems(0), HasSubstr("refusing to send the Zoom token to host \"localhost\""));
  EXPECT_EQ(fetcher2.events()[0].artifacts_size(), 0);
}

TEST(FetcherSimTest, RateStaysWithinTheLimitAndThrottlingIsCounted) {
  const zoom_sim::TenantOptions options = TenantOf(40, 4, 10);
  zoom_sim::SimulatorOptions sim_options;
  sim_options.limits = *zoom_sim::LimitsForPlan("pro");
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();

  // Configured for the right plan: Zoom's limit is respected.
  FetcherHarness paced(sim, tenant, [](FetcherConfig& c) { c.zoom_plan = "pro"; });
  paced.Sync(From(options), To(options));
  const auto medium = sim.sim().rate_limiter().Stats(zoom_sim::Category::kMedium);
  EXPECT_LE(medium.max_requests_in_second, 21);
  EXPECT_EQ(medium.rejected_qps, 0);

  // Configured for a bigger plan than the account has: 429s happen, are survived, and are counted
  // exactly as Zoom (the simulator) counted them.
  SimHarness sim2(options, sim_options);
  FetcherHarness eager(sim2, sim2.sim().TenantSnapshot(), [](FetcherConfig& c) {
    c.zoom_plan = "business";
    c.concurrency = 8;
  });
  eager.Sync(From(options), To(options));
  EXPECT_EQ(CapturedFiles(eager.events()), ExpectedFiles(sim2.sim().TenantSnapshot(), false));
  int64_t rejected = 0;
  for (auto c : {zoom_sim::Category::kLight, zoom_sim::Category::kMedium, zoom_sim::Category::kHeavy}) {
    rejected += sim2.sim().rate_limiter().Stats(c).rejected_qps;
  }
  EXPECT_EQ(eager.Metric("zarc_zoom_rate_limited_total"), static_cast<double>(rejected));
}

// Posts a webhook request to the fetcher's endpoint the way Zoom would.
absl::StatusOr<http::ClientResponse> Post(int port, const zoom_sim::WebhookRequest& hook) {
  static std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  http::ClientRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/zoom/webhook";
  req.headers = hook.headers;
  req.body = hook.body;
  return client->Send(req);
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return condition();
}

TEST(FetcherSimTest, WebhooksAreVerifiedAndCapturedOnceWithoutAPoll) {
  const zoom_sim::TenantOptions options = TenantOf(4, 2, 3);
  zoom_sim::SimulatorOptions sim_options;
  sim_options.webhook_secret = "whsec-test";
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) { c.webhook_secret = "whsec-test"; });
  ASSERT_TRUE(fetcher.app().Start().ok());
  const int port = fetcher.app().webhook_port();
  ASSERT_GT(port, 0);
  const std::string uuid = tenant.meetings[1].uuid;

  // The endpoint.url_validation handshake, checked by the simulator's independent rule.
  zoom_sim::WebhookRequest validation = zoom_sim::SignWebhook(
      "", "whsec-test", zoom_sim::UrlValidationBody("p1a1nT0ken", absl::Now()), absl::Now());
  absl::StatusOr<http::ClientResponse> answer = Post(port, validation);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(zoom_sim::CheckUrlValidationReply("whsec-test", "p1a1nT0ken", answer->status,
                                                answer->body)
                  .ok());

  // Forged (wrong secret), altered and stale events are refused with 401 and capture nothing.
  absl::StatusOr<zoom_sim::WebhookRequest> real = sim.sim().BuildWebhook("recording.completed", uuid);
  ASSERT_TRUE(real.ok()) << real.status();
  zoom_sim::WebhookRequest forged = zoom_sim::SignWebhook("", "not-the-secret", real->body, absl::Now());
  zoom_sim::WebhookRequest altered = *real;
  altered.body.replace(altered.body.find(uuid), uuid.size(), tenant.meetings[2].uuid);
  zoom_sim::WebhookRequest stale =
      zoom_sim::SignWebhook("", "whsec-test", real->body, absl::Now() - absl::Minutes(10));
  for (const auto* bad : {&forged, &altered, &stale}) {
    absl::StatusOr<http::ClientResponse> r = Post(port, *bad);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 401) << r->body;
  }
  // Nothing of them was recorded, queued or captured.
  EXPECT_TRUE(fetcher.Staging()->List("state/fetcher/webhooks/")->empty());
  EXPECT_EQ(fetcher.app().fetcher().QueueLength(), 0u);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(fetcher.events().empty());

  // The real event is acknowledged at once and captured shortly after, without any poll.
  const absl::Time sent = absl::Now();
  absl::StatusOr<http::ClientResponse> ok = Post(port, *real);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_LT(absl::Now() - sent, absl::Seconds(3));
  ASSERT_TRUE(WaitFor([&] { return !fetcher.events().empty(); }, absl::Seconds(30)));
  EXPECT_EQ(fetcher.events()[0].meeting().uuid(), uuid);
  EXPECT_EQ(fetcher.events()[0].source(), zarc::v1::CAPTURE_SOURCE_WEBHOOK);

  // Zoom delivering the same event twice, and a poll seeing the meeting, publish nothing more.
  ASSERT_EQ(Post(port, *real)->status, 200);
  ASSERT_TRUE(WaitFor([&] { return fetcher.app().fetcher().QueueLength() == 0; }, absl::Seconds(30)));
  SyncProgress poll;
  ASSERT_TRUE(fetcher.app().fetcher().SyncRange(From(options), To(options), false, poll,
                                                zarc::v1::CAPTURE_SOURCE_POLL).ok());
  EXPECT_EQ(poll.duplicates, 1);
  EXPECT_EQ(poll.captured, 3);
  std::map<std::string, int> per_meeting;
  for (const auto& e : fetcher.events()) ++per_meeting[e.meeting().uuid()];
  EXPECT_EQ(per_meeting[uuid], 1);
  EXPECT_EQ(per_meeting.size(), 4u);
  fetcher.app().Stop();
}

// Opens up to `wanted` TCP connections to 127.0.0.1:port that never send a byte, raising the
// soft open-files limit (up to the hard limit) as needed; `spare` descriptors stay free.
std::vector<int> OpenIdleConnections(int port, int wanted, int spare) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t need = static_cast<rlim_t>(wanted + spare);
  if (limit.rlim_cur < need) {
    limit.rlim_cur = std::min(need, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  const int allowed = static_cast<int>(std::min<rlim_t>(wanted, limit.rlim_cur - spare));
  if (allowed < wanted) {
    std::cout << "open-files hard limit is " << limit.rlim_max << ": using " << allowed
              << " idle connections instead of " << wanted << "\n";
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> fds;
  for (int i = 0; i < allowed; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      close(fd);
      break;
    }
    fds.push_back(fd);
  }
  return fds;
}

TEST(FetcherSimTest, TheWebhookEndpointWithstandsIdleOversizedAndSlowClients) {
  const zoom_sim::TenantOptions options = TenantOf(2, 1, 2);
  zoom_sim::SimulatorOptions sim_options;
  sim_options.webhook_secret = "whsec-test";
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) {
    c.webhook_secret = "whsec-test";
    c.webhook_read_timeout = absl::Seconds(1);
  });
  ASSERT_TRUE(fetcher.app().Start().ok());
  const int port = fetcher.app().webhook_port();
  ASSERT_GT(port, 0);
  const std::string uuid = tenant.meetings[0].uuid;
  absl::StatusOr<zoom_sim::WebhookRequest> real = sim.sim().BuildWebhook("recording.completed", uuid);
  ASSERT_TRUE(real.ok()) << real.status();

  // A validly signed body past the 64 KiB limit: 413, nothing recorded or captured.
  const std::string padded = real->body + std::string(100 * 1024, ' ');
  absl::StatusOr<http::ClientResponse> too_large =
      Post(port, zoom_sim::SignWebhook("", "whsec-test", padded, absl::Now()));
  ASSERT_TRUE(too_large.ok()) << too_large.status();
  EXPECT_EQ(too_large->status, 413) << too_large->body;

  // A client dripping its headers a byte at a time is disconnected at the read deadline.
  {
    const int fd = OpenIdleConnections(port, 1, 64).at(0);
    const std::string head = "POST /zoom/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " +
                             std::string(100, 's') + "\r\n\r\n";
    const absl::Time start = absl::Now();
    bool cut_off = false;
    for (char c : head) {
      if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
        cut_off = true;
        break;
      }
      char reply;
      if (recv(fd, &reply, 1, MSG_DONTWAIT) == 0) {  // end of stream: the server closed it
        cut_off = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    close(fd);
    EXPECT_TRUE(cut_off);
    EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  }
  EXPECT_TRUE(fetcher.Staging()->List("state/fetcher/webhooks/")->empty());
  EXPECT_TRUE(fetcher.events().empty());

  // 10,000 connections that never send a byte still leave room for Zoom's event.
  std::vector<int> idle = OpenIdleConnections(port, 10000, 1024 + 256);
  std::cout << "holding " << idle.size() << " idle connections\n";
  EXPECT_GE(idle.size(), 5000u);
  const absl::Time sent = absl::Now();
  absl::StatusOr<http::ClientResponse> ok = Post(port, *real);
  const absl::Duration took = absl::Now() - sent;
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_LT(took, absl::Seconds(3));
  std::cout << "signed event answered in " << took << " beside the idle connections\n";
  for (int fd : idle) close(fd);
  ASSERT_TRUE(WaitFor([&] { return !fetcher.events().empty(); }, absl::Seconds(30)));
  EXPECT_EQ(fetcher.events()[0].meeting().uuid(), uuid);
  EXPECT_EQ(fetcher.events().size(), 1u);
  fetcher.app().Stop();
}

TEST(FetcherSimTest, AnAcceptedWebhookSurvivesACrashBeforeItsCapture) {
  const zoom_sim::TenantOptions options = TenantOf(3, 2, 3);
  zoom_sim::SimulatorOptions sim_options;
  sim_options.webhook_secret = "whsec-test";
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  testing::TempDir shared;
  const std::string staging = shared.path() + "/staging";
  const std::string uuid = tenant.meetings[0].uuid;
  auto webhooks_on = [](FetcherConfig& c) { c.webhook_secret = "whsec-test"; };
  {
    // Accepted (200) but never captured: the process "dies" before any worker ran.
    FetcherHarness first(sim, tenant, webhooks_on, staging);
    absl::StatusOr<zoom_sim::WebhookRequest> hook = sim.sim().BuildWebhook("recording.completed", uuid);
    ASSERT_TRUE(hook.ok()) << hook.status();
    http::ServerRequest request{.method = "POST", .path = "/zoom/webhook", .headers = hook->headers,
                                .body = hook->body};
    EXPECT_EQ(first.app().fetcher().HandleWebhook(request, "whsec-test").status, 200);
    EXPECT_TRUE(first.events().empty());
  }
  FetcherHarness second(sim, tenant, webhooks_on, staging);
  ASSERT_TRUE(second.app().Start().ok());
  ASSERT_TRUE(WaitFor([&] { return !second.events().empty(); }, absl::Seconds(30)));
  EXPECT_EQ(second.events()[0].meeting().uuid(), uuid);
  second.app().Stop();
  auto left = blob::OpenBlobStore({.url = "file://" + staging});
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE((*left)->List("state/fetcher/webhooks/")->empty());  // removed once captured
}

TEST(FetcherSimTest, ProgressAndVersionsSurviveARestart) {
  const zoom_sim::TenantOptions options = TenantOf(5, 2, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  testing::TempDir shared;
  const std::string staging = shared.path() + "/staging";
  {
    FetcherHarness first(sim, tenant, nullptr, staging);
    first.Sync(From(options), To(options));
    EXPECT_EQ(first.events().size(), 5u);
    ASSERT_TRUE(first.app().fetcher().RecordCompletedWindowEnd(To(options)).ok());
  }
  FetcherHarness second(sim, tenant, nullptr, staging);
  absl::StatusOr<absl::Time> progress = second.app().fetcher().LastCompletedWindowEnd();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(*progress, To(options));
  SyncProgress& again = second.Sync(From(options), To(options));
  EXPECT_EQ(again.duplicates, 5);
  EXPECT_TRUE(second.events().empty());
}

const zoom_sim::FileEntry& FileOf(const zoom_sim::Meeting& m, zoom_sim::FileKind kind) {
  for (const zoom_sim::FileEntry& f : m.files) {
    if (f.kind == kind) return f;
  }
  ADD_FAILURE() << "meeting " << m.uuid << " has no file of kind " << zoom_sim::FileKindName(kind);
  return m.files.front();
}

const zarc::v1::MissingFile* MissingOf(const zarc::v1::MeetingCaptured& e, const std::string& id) {
  for (const auto& m : e.missing()) {
    if (m.file_id() == id) return &m;
  }
  return nullptr;
}

std::string AllProblems(const zarc::v1::MeetingCaptured& e) {
  std::string out;
  for (const std::string& p : e.problems()) out += p + "\n";
  return out;
}

std::multiset<std::string> Shas(const zarc::v1::MeetingCaptured& e) {
  std::multiset<std::string> out;
  for (const auto& a : e.artifacts()) out.insert(a.blob().sha256());
  return out;
}

absl::Time CompletedUntil(SyncProgress& p) {
  absl::MutexLock lock(&p.mutex);
  return p.completed_until;
}

TEST(FetcherSimTest, AVersionWhoseAckWasLostIsPublishedAgainWithTheSameBytes) {
  const zoom_sim::TenantOptions options = TenantOf(4, 2, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant);
  const std::string uuid = tenant.meetings[0].uuid;
  std::atomic<int> publishes{0};
  // The broker stores the first event of this meeting, but its ack never reaches the fetcher.
  fetcher.SetAfterPublish([&](const zarc::v1::MeetingCaptured& e) -> absl::Status {
    if (e.meeting().uuid() == uuid && publishes++ == 0) {
      return absl::UnavailableError("ack lost");
    }
    return absl::OkStatus();
  });
  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  EXPECT_EQ(progress.pending, 0);
  const auto events = fetcher.events(uuid);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].version(), 1);
  EXPECT_EQ(events[1].SerializeAsString(), events[0].SerializeAsString())
      << "a version must be published with the same bytes every time";

  // Every recorded version is listed, with whether its publish was acknowledged.
  std::unique_ptr<blob::BlobStore> staging = fetcher.Staging();
  VersionStore versions(*staging);
  absl::StatusOr<std::vector<std::string>> all = versions.ListRecords();
  ASSERT_TRUE(all.ok()) << all.status();
  std::set<std::string> uuids;
  for (const std::string& name : *all) {
    absl::StatusOr<zarc::v1::MeetingCaptured> r = versions.ReadRecord(name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.status();
    uuids.insert(r->meeting().uuid());
    EXPECT_EQ(r->version(), 1) << name;
    EXPECT_TRUE(*versions.Published(r->meeting().uuid(), r->version())) << name;
  }
  EXPECT_EQ(uuids.size(), 4u);
  EXPECT_EQ(all->size(), 4u);
}

TEST(FetcherSimTest, AVersionRecordedButNotPublishedIsPublishedFromItsRecord) {
  const zoom_sim::TenantOptions options = TenantOf(2, 1, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const zoom_sim::Meeting& m = tenant.meetings[0];
  const zoom_sim::FileEntry& transcript = FileOf(m, zoom_sim::FileKind::kTranscript);
  sim.sim().SetFileState(transcript.file_id, zoom_sim::FileState::kProcessing);
  FetcherHarness fetcher(sim, tenant,
                         [](FetcherConfig& c) { c.pending_delay = absl::Milliseconds(50); });
  // Kafka is down for this meeting's first capture: every attempt of the sync fails to publish.
  fetcher.SetAfterPublish([&](const zarc::v1::MeetingCaptured& e) -> absl::Status {
    if (e.meeting().uuid() == m.uuid) return absl::UnavailableError("broker unreachable");
    return absl::OkStatus();
  });
  fetcher.Sync(From(options), To(options));
  const auto failed = fetcher.events(m.uuid);
  ASSERT_FALSE(failed.empty());
  for (const auto& e : failed) EXPECT_EQ(e.SerializeAsString(), failed[0].SerializeAsString());

  // Later the transcript is done and Kafka is back: version 1 goes out exactly as recorded, then
  // version 2 adds the transcript.
  fetcher.SetAfterPublish(nullptr);
  sim.sim().SetFileState(transcript.file_id, zoom_sim::FileState::kCompleted);
  fetcher.SyncAgain(From(options), To(options));
  const auto events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), failed.size() + 2);
  EXPECT_EQ(events[failed.size()].SerializeAsString(), failed[0].SerializeAsString());
  EXPECT_EQ(events.back().version(), 2);
  EXPECT_EQ(events.back().missing_size(), 0) << AllProblems(events.back());
  EXPECT_EQ(Shas(events.back()), ExpectedFiles(tenant, false)[m.uuid]);
}

TEST(FetcherSimTest, AUserWhoseListingFailsDoesNotStopThePoll) {
  const zoom_sim::TenantOptions options = TenantOf(40, 5, 5);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const std::string removed = tenant.users[1].id;
  const std::string refused = tenant.users[2].id;
  const std::string limited = tenant.users[3].id;
  sim.sim().SetUserRecordingsError(removed, 404);
  sim.sim().SetUserRecordingsError(refused, 400);
  sim.sim().SetUserRecordingsError(limited, 429);  // Zoom's daily limit, until midnight
  FetcherHarness fetcher(sim, tenant);
  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  EXPECT_EQ(progress.listings_failed, 3);
  EXPECT_EQ(fetcher.Metric("zarc_fetcher_listing_failures_total"), 3);
  auto expected = ExpectedFiles(tenant, false);
  size_t others = 0;
  for (const zoom_sim::Meeting& m : tenant.meetings) {
    if (m.host_id == removed || m.host_id == refused || m.host_id == limited) {
      expected.erase(m.uuid);
    }
  }
  others = expected.size();
  ASSERT_GT(others, 0u);
  ASSERT_LT(others, tenant.meetings.size());
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), expected), "");
  EXPECT_LE(CompletedUntil(progress), From(options)) << "progress must not pass a failed user";

  // Once Zoom answers for them again, the next poll captures their meetings too.
  sim.sim().SetUserRecordingsError(removed, 0);
  sim.sim().SetUserRecordingsError(refused, 0);
  sim.sim().SetUserRecordingsError(limited, 0);
  SyncProgress& again = fetcher.SyncAgain(From(options), To(options));
  EXPECT_EQ(again.listings_failed, 0);
  EXPECT_EQ(again.duplicates, static_cast<int64_t>(others));
  EXPECT_EQ(Diff(CapturedFiles(fetcher.events()), ExpectedFiles(tenant, false)), "");
  EXPECT_EQ(CompletedUntil(again), To(options));
}

TEST(FetcherSimTest, ParticipantsMissingAtFirstCaptureArriveWithALaterVersion) {
  const zoom_sim::TenantOptions options = TenantOf(3, 2, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const std::string empty = tenant.meetings[0].uuid;
  const std::string absent = tenant.meetings[1].uuid;
  sim.sim().SetParticipantsHidden(empty, true);
  sim.sim().SetParticipantsHidden(absent, true, 404);
  FetcherHarness fetcher(sim, tenant);
  fetcher.Sync(From(options), To(options));
  for (const std::string& uuid : {empty, absent}) {
    const auto events = fetcher.events(uuid);
    ASSERT_EQ(events.size(), 1u) << uuid;
    EXPECT_EQ(events[0].participants_size(), 0);
    EXPECT_THAT(AllProblems(events[0]), HasSubstr("participant list unavailable"));
  }
  // Unchanged: a poll publishes nothing new.
  fetcher.SyncAgain(From(options), To(options));
  EXPECT_EQ(fetcher.events(empty).size(), 1u);

  sim.sim().SetParticipantsHidden(empty, false);
  sim.sim().SetParticipantsHidden(absent, false);
  fetcher.SyncAgain(From(options), To(options));
  for (const std::string& uuid : {empty, absent}) {
    const auto events = fetcher.events(uuid);
    ASSERT_EQ(events.size(), 2u) << uuid;
    EXPECT_EQ(events[1].version(), 2);
    EXPECT_GT(events[1].participants_size(), 0) << uuid;
    EXPECT_EQ(Shas(events[1]), Shas(events[0])) << "the new version keeps every artifact";
    EXPECT_THAT(AllProblems(events[1]), ::testing::Not(HasSubstr("participant list")));
  }
  EXPECT_EQ(fetcher.events(tenant.meetings[2].uuid).size(), 1u);
}

TEST(FetcherSimTest, AFollowUpVersionKeepsWhatZoomNoLongerGives) {
  const zoom_sim::TenantOptions options = TenantOf(2, 1, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const zoom_sim::Meeting& m = tenant.meetings[0];
  const zoom_sim::FileEntry& transcript = FileOf(m, zoom_sim::FileKind::kTranscript);
  sim.sim().SetFileState(transcript.file_id, zoom_sim::FileState::kProcessing);
  FetcherHarness fetcher(sim, tenant,
                         [](FetcherConfig& c) { c.pending_delay = absl::Milliseconds(50); });
  fetcher.Sync(From(options), To(options));
  ASSERT_EQ(fetcher.events(m.uuid).size(), 1u);
  const zarc::v1::MeetingCaptured v1 = fetcher.events(m.uuid)[0];
  ASSERT_GT(v1.participants_size(), 0);

  // Days later the transcript is done, but Zoom's participant report has expired.
  sim.sim().SetParticipantsHidden(m.uuid, true, 404);
  sim.sim().SetFileState(transcript.file_id, zoom_sim::FileState::kCompleted);
  fetcher.RecheckFollowUps();
  const auto events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].participants_size(), v1.participants_size());
  EXPECT_EQ(events[1].meeting().topic(), v1.meeting().topic());
  EXPECT_EQ(events[1].missing_size(), 0);
  EXPECT_THAT(AllProblems(events[1]), ::testing::Not(HasSubstr("participant list")));
  EXPECT_EQ(Shas(events[1]), ExpectedFiles(tenant, false)[m.uuid]);
}

TEST(FetcherSimTest, AMeetingIsCapturedWithoutFilesZoomCannotGiveYetAndCompletedLater) {
  const zoom_sim::TenantOptions options = TenantOf(3, 2, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const zoom_sim::Meeting& m = tenant.meetings[0];
  const zoom_sim::FileEntry& video = FileOf(m, zoom_sim::FileKind::kVideo);
  const zoom_sim::FileEntry& chat = FileOf(m, zoom_sim::FileKind::kChat);
  sim.sim().SetFileState(video.file_id, zoom_sim::FileState::kProcessing);
  sim.sim().SetFileState(chat.file_id, zoom_sim::FileState::kHtmlRefusal);
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) {
    c.retry_backoff = absl::Milliseconds(10);
    c.pending_delay = absl::Milliseconds(50);
  });
  SyncProgress& progress = fetcher.Sync(From(options), To(options));
  EXPECT_EQ(progress.pending, 0);
  EXPECT_EQ(CompletedUntil(progress), To(options))
      << "a partly captured meeting holds nothing back";
  auto events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), 1u);
  const zarc::v1::MeetingCaptured& v1 = events[0];
  ASSERT_EQ(v1.missing_size(), 2) << AllProblems(v1);
  const zarc::v1::MissingFile* processing = MissingOf(v1, video.file_id);
  const zarc::v1::MissingFile* refused = MissingOf(v1, chat.file_id);
  ASSERT_NE(processing, nullptr);
  ASSERT_NE(refused, nullptr);
  EXPECT_THAT(processing->reason(), HasSubstr("not yet available (Zoom is still processing it)"));
  EXPECT_THAT(refused->reason(), HasSubstr("HTML page"));
  EXPECT_FALSE(processing->final());
  EXPECT_FALSE(refused->final());
  EXPECT_THAT(AllProblems(v1), HasSubstr(video.file_id + " not captured: not yet available"));
  EXPECT_THAT(AllProblems(v1), HasSubstr("a later version will add it"));
  std::multiset<std::string> partial = ExpectedFiles(tenant, false)[m.uuid];
  partial.erase(partial.find(zoom_sim::FileSha256(m, video)));
  partial.erase(partial.find(zoom_sim::FileSha256(m, chat)));
  EXPECT_EQ(Shas(v1), partial);
  for (size_t i = 1; i < tenant.meetings.size(); ++i) {
    EXPECT_EQ(fetcher.events(tenant.meetings[i].uuid).size(), 1u);
  }

  // Re-checked while Zoom still cannot give the files: nothing new.
  fetcher.RecheckFollowUps();
  EXPECT_EQ(fetcher.events(m.uuid).size(), 1u);

  // Zoom finishes: the follow-up publishes a version with every file, then stops following up.
  sim.sim().SetFileState(video.file_id, zoom_sim::FileState::kCompleted);
  sim.sim().SetFileState(chat.file_id, zoom_sim::FileState::kCompleted);
  fetcher.RecheckFollowUps();
  events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].version(), 2);
  EXPECT_EQ(events[1].missing_size(), 0) << AllProblems(events[1]);
  EXPECT_EQ(Shas(events[1]), ExpectedFiles(tenant, false)[m.uuid]);
  EXPECT_TRUE(fetcher.Staging()->List("state/fetcher/followup/")->empty());
  fetcher.RecheckFollowUps();
  EXPECT_EQ(fetcher.events(m.uuid).size(), 2u);
}

TEST(FetcherSimTest, ArchiveFilesThatFailOrMismatchAreNamedThenGivenUpAtTheDeadline) {
  const zoom_sim::TenantOptions options = TenantOf(3, 2, 3);
  SimHarness sim(options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  const zoom_sim::Meeting& m = tenant.meetings[0];
  const zoom_sim::FileEntry& video = FileOf(m, zoom_sim::FileKind::kArchiveVideo);
  const zoom_sim::FileEntry& chat = FileOf(m, zoom_sim::FileKind::kArchiveChat);
  sim.sim().SetFileState(video.file_id, zoom_sim::FileState::kFailed);
  sim.sim().SetFileState(chat.file_id, zoom_sim::FileState::kBadFingerprint);
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) {
    c.retry_backoff = absl::Milliseconds(10);
    c.pending_delay = absl::Milliseconds(50);
    c.missing_file_deadline = absl::Seconds(1);
  });
  SyncProgress& progress = fetcher.Sync(From(options), To(options), /*archiving=*/true);
  EXPECT_EQ(progress.pending, 0);
  auto events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), 1u);
  ASSERT_EQ(events[0].missing_size(), 2) << AllProblems(events[0]);
  ASSERT_NE(MissingOf(events[0], video.file_id), nullptr);
  ASSERT_NE(MissingOf(events[0], chat.file_id), nullptr);
  EXPECT_THAT(MissingOf(events[0], video.file_id)->reason(), HasSubstr("status \"failed\""));
  EXPECT_THAT(MissingOf(events[0], chat.file_id)->reason(), HasSubstr("encryption_fingerprint"));
  EXPECT_FALSE(MissingOf(events[0], chat.file_id)->final());

  fetcher.RecheckFollowUps();  // before the deadline: still waiting
  EXPECT_EQ(fetcher.events(m.uuid).size(), 1u);
  absl::SleepFor(absl::Seconds(1));
  fetcher.RecheckFollowUps();
  events = fetcher.events(m.uuid);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].version(), 2);
  EXPECT_EQ(Shas(events[1]), Shas(events[0]));
  ASSERT_EQ(events[1].missing_size(), 2);
  for (const auto& missing : events[1].missing()) {
    EXPECT_TRUE(missing.final()) << missing.file_id();
    EXPECT_THAT(missing.reason(), HasSubstr("given up")) << missing.file_id();
  }
  EXPECT_THAT(AllProblems(events[1]), ::testing::Not(HasSubstr("a later version will add it")));
  EXPECT_TRUE(fetcher.Staging()->List("state/fetcher/followup/")->empty());
  fetcher.RecheckFollowUps();
  fetcher.SyncAgain(From(options), To(options), /*archiving=*/true);
  EXPECT_EQ(fetcher.events(m.uuid).size(), 2u) << "a given-up file is not looked for again";
}

TEST(FetcherSimTest, AnExpiredWebhookDownloadTokenGivesWayToTheOAuthToken) {
  const zoom_sim::TenantOptions options = TenantOf(2, 1, 3);
  zoom_sim::SimulatorOptions sim_options;
  sim_options.webhook_secret = "whsec-test";
  SimHarness sim(options, sim_options);
  const zoom_sim::Tenant tenant = sim.sim().TenantSnapshot();
  FetcherHarness fetcher(sim, tenant, [](FetcherConfig& c) {
    c.webhook_secret = "whsec-test";
    c.retry_backoff = absl::Milliseconds(10);
  });
  const std::string uuid = tenant.meetings[0].uuid;
  absl::StatusOr<zoom_sim::WebhookRequest> hook =
      sim.sim().BuildWebhook("recording.completed", uuid);
  ASSERT_TRUE(hook.ok()) << hook.status();
  absl::StatusOr<WebhookEvent> event = ParseWebhookEvent(hook->body);
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_TRUE(fetcher.app().Start().ok());
  ASSERT_TRUE(fetcher.app().fetcher().Enqueue(MeetingFromJson(event->object), "dl.expired").ok());
  ASSERT_TRUE(WaitFor([&] { return !fetcher.events(uuid).empty(); }, absl::Seconds(20)));
  fetcher.app().Stop();
  const auto events = fetcher.events(uuid);
  EXPECT_EQ(events[0].missing_size(), 0) << AllProblems(events[0]);
  EXPECT_EQ(Shas(events[0]), ExpectedFiles(tenant, false)[uuid]);
}

}  // namespace
}  // namespace zarc::fetcher

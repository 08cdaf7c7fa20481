// The fetcher against the Zoom simulator over real HTTP: what a compliance admin relies on.
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <filesystem>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/fetcher_app.h"
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
    config_.poll_interval = absl::ZeroDuration();
    config_.pending_delay = absl::Milliseconds(200);
    config_.host.listen_address = "127.0.0.1";
    config_.staging.url = "file://" + staging_dir_;
    if (adjust) adjust(config_);
    auto app = FetcherApp::Create(config_, &registry_, [this](const zarc::v1::MeetingCaptured& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(e);
      return absl::OkStatus();
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
  SyncProgress progress_;
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

}  // namespace
}  // namespace zarc::fetcher

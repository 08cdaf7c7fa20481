#include "services/fetcher/fetcher_app.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/blob/random_id.h"
#include "runtime/http/http_server.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/topics.h"
#include "runtime/log/log.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/reconciler.h"
#include "services/fetcher/verifier.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::fetcher {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// Sync and Verify take a range [from, to) with from < to.
template <typename Request>
grpc::Status CheckRange(const char* call, const Request& request, absl::Time from, absl::Time to) {
  if (request.has_from() && request.has_to() && from < to) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat(call, " needs from < to (got from=", absl::FormatTime(from),
                                   ", to=", absl::FormatTime(to), ")"));
}

// FetcherControl: backfills on demand. Each Sync runs on its own thread; its status stays
// queryable until the process ends.
class ControlService final : public zarc::v1::FetcherControl::Service {
 public:
  ControlService(Fetcher& fetcher, Verifier& verifier) : fetcher_(fetcher), verifier_(verifier) {}
  ~ControlService() override { Join(); }

  void Join() {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mutex_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  grpc::Status Sync(grpc::ServerContext*, const zarc::v1::SyncRequest* request,
                    zarc::v1::SyncResponse* response) override {
    const absl::Time from = FromProto(request->from());
    const absl::Time to = FromProto(request->to());
    if (grpc::Status s = CheckRange("Sync", *request, from, to); !s.ok()) return s;
    const std::string id = blob::RandomHex(8);
    auto progress = std::make_shared<SyncProgress>();
    const bool archiving = request->use_archiving_api();
    absl::MutexLock lock(&mutex_);
    jobs_[id] = progress;
    threads_.emplace_back([this, from, to, archiving, progress] {
      (void)fetcher_.SyncRange(from, to, archiving, *progress, zarc::v1::CAPTURE_SOURCE_SYNC);
    });
    response->set_sync_id(id);
    return grpc::Status::OK;
  }

  grpc::Status Verify(grpc::ServerContext*, const zarc::v1::VerifyRequest* request,
                      zarc::v1::VerifyReport* response) override {
    const absl::Time from = FromProto(request->from());
    const absl::Time to = FromProto(request->to());
    if (grpc::Status s = CheckRange("Verify", *request, from, to); !s.ok()) return s;
    absl::StatusOr<zarc::v1::VerifyReport> report = verifier_.Run(from, to, request->report_only());
    if (!report.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(report.status().message()));
    }
    *response = *std::move(report);
    return grpc::Status::OK;
  }

  grpc::Status GetSyncStatus(grpc::ServerContext*, const zarc::v1::GetSyncStatusRequest* request,
                             zarc::v1::SyncStatus* response) override {
    std::shared_ptr<SyncProgress> p;
    {
      absl::MutexLock lock(&mutex_);
      auto it = jobs_.find(request->sync_id());
      if (it == jobs_.end() && request->sync_id().empty()) {
        // No scheduled poll has run (polling off, or not yet): STATE_UNSPECIFIED, and what the
        // console still wants to know.
        SetLastWebhook(response);
        return grpc::Status::OK;
      }
      if (it == jobs_.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no sync \"" + request->sync_id() + "\"");
      }
      p = it->second;
    }
    response->set_sync_id(request->sync_id());
    response->set_meetings_found(p->found);
    response->set_meetings_captured(p->captured + p->duplicates);
    response->set_meetings_failed(p->failed + p->pending);
    absl::MutexLock lock(&p->mutex);
    if (!p->done) {
      response->set_state(zarc::v1::SyncStatus::STATE_RUNNING);
    } else if (!p->error.empty()) {
      response->set_state(zarc::v1::SyncStatus::STATE_FAILED);
      response->set_error(p->error);
    } else {
      response->set_state(zarc::v1::SyncStatus::STATE_DONE);
    }
    if (p->completed_until != absl::InfinitePast()) {
      response->mutable_last_completed_window_end()->set_seconds(absl::ToUnixSeconds(p->completed_until));
    }
    if (request->sync_id().empty()) SetLastWebhook(response);
    return grpc::Status::OK;
  }

 private:
  void SetLastWebhook(zarc::v1::SyncStatus* response) {
    if (fetcher_.last_webhook() == absl::InfinitePast()) return;
    response->mutable_last_webhook_at()->set_seconds(absl::ToUnixSeconds(fetcher_.last_webhook()));
  }

  Fetcher& fetcher_;
  Verifier& verifier_;
  absl::Mutex mutex_;
  std::map<std::string, std::shared_ptr<SyncProgress>> jobs_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace

struct FetcherApp::Impl {
  FetcherConfig config;
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<blob::BlobStore> staging;
  std::unique_ptr<kafka::Producer> producer;
  std::unique_ptr<ZoomHostPolicy> hosts;
  std::unique_ptr<ZoomTokenSource> tokens;
  std::unique_ptr<ZoomRateLimiter> limiter;
  std::unique_ptr<ZoomApi> api;
  std::unique_ptr<ZoomDownloader> downloader;
  std::unique_ptr<VersionStore> versions;
  std::unique_ptr<FollowUpStore> followups;
  std::unique_ptr<MeetingCapturer> capturer;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Reconciler> reconciler;
  std::unique_ptr<Verifier> verifier;
  std::unique_ptr<Fetcher> fetcher;
  std::unique_ptr<ControlService> control;
  std::unique_ptr<http::HttpServer> webhook_server;
};

FetcherApp::FetcherApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FetcherApp::~FetcherApp() { Stop(); }

absl::StatusOr<std::unique_ptr<FetcherApp>> FetcherApp::Create(const FetcherConfig& config,
                                                               prometheus::Registry* metrics,
                                                               MeetingPublisher publish) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->http = http::NewHttpClient(http::ClientOptions{.ca_file = config.ca_file});
  absl::StatusOr<std::unique_ptr<blob::BlobStore>> staging = blob::OpenBlobStore(config.staging);
  if (!staging.ok()) return staging.status();
  impl->staging = *std::move(staging);
  if (publish == nullptr) {
    if (config.kafka.bootstrap_servers.empty()) {
      return absl::InvalidArgumentError("kafka.brokers is required for the fetcher service");
    }
    absl::StatusOr<std::unique_ptr<kafka::Producer>> producer =
        kafka::Producer::Create(config.kafka, metrics);
    if (!producer.ok()) return producer.status();
    impl->producer = *std::move(producer);
    kafka::Producer* p = impl->producer.get();
    publish = [p](const zarc::v1::MeetingCaptured& event) {
      return p->ProduceAndWait({kafka::OutgoingRecord{
                                   .topic = std::string(kafka::kMeetingsTopic),
                                   .key = event.meeting().uuid(),
                                   .value = event.SerializeAsString(),
                                   .headers = {{"zarc-event", "zarc.v1.MeetingCaptured"}}}},
                               absl::Seconds(60));
    };
  }
  // Meetings the fetcher gives up capturing go to the status log through the same broker.
  ResultReporter report_not_captured;
  if (impl->producer != nullptr) {
    kafka::Producer* p = impl->producer.get();
    report_not_captured = [p](const zarc::v1::ImportResult& result) {
      return p->ProduceAndWait({kafka::OutgoingRecord{
                                   .topic = std::string(kafka::kImportLogTopic),
                                   .key = result.item_id(),
                                   .value = result.SerializeAsString(),
                                   .headers = {{"zarc-event", "zarc.v1.ImportResult"}}}},
                               absl::Seconds(60));
    };
  }
  impl->hosts = std::make_unique<ZoomHostPolicy>(ZoomHostsFor(config));
  impl->tokens = std::make_unique<ZoomTokenSource>(
      *impl->http,
      ZoomCredentials{.oauth_url = config.zoom_oauth_url,
                      .account_id = config.zoom_account_id,
                      .client_id = config.zoom_client_id,
                      .client_secret = config.zoom_client_secret},
      metrics);
  ZoomRateLimiter::Limits limits;
  if (config.zoom_plan == "business") {
    limits = {.light_per_second = 80, .medium_per_second = 60, .heavy_per_second = 40};
  }
  impl->limiter = std::make_unique<ZoomRateLimiter>(limits);
  impl->api = std::make_unique<ZoomApi>(*impl->http, *impl->tokens, *impl->limiter, *impl->hosts,
                                        ZoomApi::Options{.api_base = config.zoom_api_url,
                                                         .backoff = config.retry_backoff,
                                                         .account_id = config.zoom_account_id},
                                        metrics);
  impl->downloader = std::make_unique<ZoomDownloader>(*impl->http, *impl->tokens, *impl->hosts,
                                                      *impl->staging,
                                                      ZoomDownloader::Options{.backoff = config.retry_backoff},
                                                      metrics);
  impl->versions = std::make_unique<VersionStore>(*impl->staging);
  impl->followups = std::make_unique<FollowUpStore>(*impl->staging);
  impl->capturer = std::make_unique<MeetingCapturer>(
      *impl->api, *impl->downloader, *impl->versions, *impl->followups, publish,
      MeetingCapturer::Options{.missing_file_deadline = config.missing_file_deadline}, metrics);
  impl->ledger = std::make_unique<ledger::Ledger>(*impl->staging);
  impl->reconciler = std::make_unique<Reconciler>(
      *impl->versions, *impl->ledger, publish,
      Reconciler::Options{.min_age = config.reconcile_min_age,
                          .interval = config.reconcile_interval,
                          .first_round_min_age = config.broker_forgets_on_restart
                                                     ? absl::ZeroDuration()
                                                     : config.reconcile_min_age},
      metrics);
  absl::StatusOr<ZoomSources> sources = ParseZoomSources(config.sources);
  if (!sources.ok()) return sources.status();
  impl->fetcher = std::make_unique<Fetcher>(
      *impl->api, *impl->capturer, *impl->followups, *impl->staging,
      Fetcher::Options{.sources = *sources,
                       .concurrency = static_cast<int>(config.concurrency),
                       .recordings_window_days = static_cast<int>(config.recordings_window_days),
                       .pending_delay = config.pending_delay,
                       .poll_interval = config.poll_interval,
                       .poll_overlap = config.poll_overlap,
                       .first_poll_lookback = config.first_poll_lookback,
                       .report_not_captured = std::move(report_not_captured)},
      metrics);
  Fetcher* fetcher = impl->fetcher.get();
  MeetingCapturer* capturer = impl->capturer.get();
  const bool archiving = false;  // the configured sources
  impl->verifier = std::make_unique<Verifier>(
      [fetcher, archiving](absl::Time from, absl::Time to) -> absl::StatusOr<ZoomListing> {
        SyncProgress progress;
        absl::StatusOr<Fetcher::Listing> listed = fetcher->ListWindow(from, to, archiving, progress);
        if (!listed.ok()) return listed.status();
        return ZoomListing{.meetings = std::move(listed->meetings), .errors = std::move(listed->errors)};
      },
      [capturer](const ZoomMeeting& m) {
        return capturer->Capture(m, zarc::v1::CAPTURE_SOURCE_SYNC, "");
      },
      *impl->versions, *impl->ledger, std::move(publish), *impl->staging, metrics);
  impl->control = std::make_unique<ControlService>(*impl->fetcher, *impl->verifier);
  return std::unique_ptr<FetcherApp>(new FetcherApp(std::move(impl)));
}

grpc::Service* FetcherApp::control_service() { return impl_->control.get(); }
Fetcher& FetcherApp::fetcher() { return *impl_->fetcher; }
Reconciler& FetcherApp::reconciler() { return *impl_->reconciler; }
int FetcherApp::webhook_port() const {
  return impl_->webhook_server ? impl_->webhook_server->port() : 0;
}

absl::Status FetcherApp::Start() {
  const FetcherConfig& c = impl_->config;
  if (!c.webhook_secret.empty()) {
    Fetcher* f = impl_->fetcher.get();
    const std::string secret = c.webhook_secret;
    absl::StatusOr<std::unique_ptr<http::HttpServer>> server = http::HttpServer::Start(
        http::ServerOptions{.host = c.host.listen_address,
                            .port = static_cast<uint16_t>(c.webhook_port),
                            .threads = 2,
                            .handler_threads = 4,
                            .max_connections = static_cast<int>(c.webhook_max_connections),
                            .tls_cert_file = c.webhook_tls_cert,
                            .tls_key_file = c.webhook_tls_key,
                            .max_body_bytes = static_cast<size_t>(c.webhook_max_body_bytes),
                            .idle_timeout = c.webhook_idle_timeout,
                            .header_timeout = c.webhook_read_timeout,
                            .body_timeout = c.webhook_read_timeout},
        [f, secret](const http::ServerRequest& request) {
          if (request.path != "/zoom/webhook") {
            http::ServerResponse r;
            r.status = 404;
            r.body = "{\"error\":\"the webhook endpoint is POST /zoom/webhook\"}";
            return r;
          }
          return f->HandleWebhook(request, secret);
        });
    if (!server.ok()) return server.status();
    impl_->webhook_server = *std::move(server);
    log::Info("fetcher", "webhook endpoint listening",
              {{"port", impl_->webhook_server->port()},
               {"tls", !c.webhook_tls_cert.empty()}});
  }
  impl_->fetcher->Start();
  impl_->reconciler->Start();
  impl_->verifier->StartSchedule(c.verify_interval, c.verify_lookback, c.reconcile_min_age);
  return absl::OkStatus();
}

void FetcherApp::Stop() {
  if (impl_ == nullptr) return;
  if (impl_->webhook_server) impl_->webhook_server->Stop();
  // Zoom calls waiting out a rate-limit pause (a daily limit can last hours) end now, so the
  // fetcher's threads can be joined.
  impl_->limiter->Stop();
  impl_->verifier->Stop();
  impl_->reconciler->Stop();
  impl_->fetcher->Stop();
  impl_->control->Join();
  if (impl_->producer) (void)impl_->producer->Flush(absl::Seconds(30));
}

}  // namespace zarc::fetcher

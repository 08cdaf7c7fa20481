// zarc-fetcher: captures Zoom meetings (polls, webhooks, Sync backfills) into zarc.meetings.
#include <memory>

#include "runtime/service/service_host.h"
#include "services/fetcher/fetcher_app.h"
#include "services/fetcher/fetcher_config.h"

int main(int argc, char** argv) {
  std::unique_ptr<zarc::fetcher::FetcherApp> app;
  zarc::service::ServiceMain<zarc::fetcher::FetcherConfig> m{
      .name = "fetcher",
      .schema = zarc::fetcher::FetcherSchema(),
      .host_member = &zarc::fetcher::FetcherConfig::host,
  };
  m.start = [&](const zarc::fetcher::FetcherConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = zarc::fetcher::FetcherApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{app->control_service()};
  };
  m.stop = [&] { app.reset(); };
  return zarc::service::RunServiceMain(m, argc, argv);
}

#include "services/fetcher/fetcher_main.h"

#include <memory>

#include "runtime/service/service_host.h"
#include "services/fetcher/fetcher_app.h"
#include "services/fetcher/fetcher_config.h"

namespace zarc::fetcher {

int RunFetcherService(int argc, char** argv) {
  std::unique_ptr<FetcherApp> app;
  service::ServiceMain<FetcherConfig> m{
      .name = "fetcher",
      .schema = FetcherSchema(),
      .host_member = &FetcherConfig::host,
  };
  m.start = [&](const FetcherConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = FetcherApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{app->control_service()};
  };
  m.stop = [&] { app.reset(); };
  return service::RunServiceMain(m, argc, argv);
}

}  // namespace zarc::fetcher

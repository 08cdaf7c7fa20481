#include "services/importer/importer_main.h"

#include <memory>

#include "runtime/service/service_host.h"
#include "services/importer/importer_app.h"
#include "services/importer/importer_config.h"

namespace zarc::importer {

int RunImporterService(int argc, char** argv) {
  std::unique_ptr<ImporterApp> app;
  service::ServiceMain<ImporterConfig> m{
      .name = "importer",
      .schema = ImporterSchema(),
      .host_member = &ImporterConfig::host,
  };
  m.start = [&](const ImporterConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = ImporterApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{app->control_service()};
  };
  m.stop = [&] { app.reset(); };
  return service::RunServiceMain(m, argc, argv);
}

}  // namespace zarc::importer

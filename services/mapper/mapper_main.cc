#include "services/mapper/mapper_main.h"

#include <memory>

#include "runtime/service/service_host.h"
#include "services/mapper/mapper_app.h"
#include "services/mapper/mapper_config.h"

namespace zarc::mapper {

int RunMapperService(int argc, char** argv) {
  std::unique_ptr<MapperApp> app;
  service::ServiceMain<MapperConfig> m{
      .name = "mapper",
      .schema = MapperSchema(),
      .host_member = &MapperConfig::host,
  };
  m.start = [&](const MapperConfig& config,
                prometheus::Registry& metrics) -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = MapperApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{app->control_service()};
  };
  m.stop = [&] { app.reset(); };
  return service::RunServiceMain(m, argc, argv);
}

}  // namespace zarc::mapper

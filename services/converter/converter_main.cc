#include "services/converter/converter_main.h"

#include <memory>

#include "runtime/service/service_host.h"
#include "services/converter/converter_app.h"
#include "services/converter/converter_config.h"

namespace zarc::converter {

int RunConverterService(int argc, char** argv) {
  std::unique_ptr<ConverterApp> app;
  service::ServiceMain<ConverterConfig> m{
      .name = "converter",
      .schema = ConverterSchema(),
      .host_member = &ConverterConfig::host,
  };
  m.start = [&](const ConverterConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = ConverterApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{};
  };
  m.stop = [&] { app.reset(); };
  return service::RunServiceMain(m, argc, argv);
}

}  // namespace zarc::converter

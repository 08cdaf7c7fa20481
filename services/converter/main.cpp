// zarc-converter: renders each captured meeting (zarc.meetings) into an RFC 5322 message in the
// blob store and publishes it on zarc.messages.
#include <memory>

#include "runtime/service/service_host.h"
#include "services/converter/converter_app.h"
#include "services/converter/converter_config.h"

int main(int argc, char** argv) {
  std::unique_ptr<zarc::converter::ConverterApp> app;
  zarc::service::ServiceMain<zarc::converter::ConverterConfig> m{
      .name = "converter",
      .schema = zarc::converter::ConverterSchema(),
      .host_member = &zarc::converter::ConverterConfig::host,
  };
  m.start = [&](const zarc::converter::ConverterConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto created = zarc::converter::ConverterApp::Create(config, &metrics);
    if (!created.ok()) return created.status();
    app = *std::move(created);
    if (absl::Status s = app->Start(); !s.ok()) return s;
    return std::vector<grpc::Service*>{};
  };
  m.stop = [&] { app.reset(); };
  return zarc::service::RunServiceMain(m, argc, argv);
}

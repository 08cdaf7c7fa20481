// zarc-converter: one stage of the pipeline as its own process (see ARCHITECTURE.md).
#include "runtime/service/service_host.h"
#include "services/converter/converter_config.h"

int main(int argc, char** argv) {
  zarc::service::ServiceMain<zarc::converter::ConverterConfig> app{
      .name = "converter",
      .schema = zarc::converter::ConverterSchema(),
      .host_member = &zarc::converter::ConverterConfig::host,
  };
  return zarc::service::RunServiceMain(app, argc, argv);
}

// zarc-importer: one stage of the pipeline as its own process (see ARCHITECTURE.md).
#include "runtime/service/service_host.h"
#include "services/importer/importer_config.h"

int main(int argc, char** argv) {
  zarc::service::ServiceMain<zarc::importer::ImporterConfig> app{
      .name = "importer",
      .schema = zarc::importer::ImporterSchema(),
      .host_member = &zarc::importer::ImporterConfig::host,
  };
  return zarc::service::RunServiceMain(app, argc, argv);
}

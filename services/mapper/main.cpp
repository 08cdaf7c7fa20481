// zarc-mapper: one stage of the pipeline as its own process (see ARCHITECTURE.md).
#include "runtime/service/service_host.h"
#include "services/mapper/mapper_config.h"

int main(int argc, char** argv) {
  zarc::service::ServiceMain<zarc::mapper::MapperConfig> app{
      .name = "mapper",
      .schema = zarc::mapper::MapperSchema(),
      .host_member = &zarc::mapper::MapperConfig::host,
  };
  return zarc::service::RunServiceMain(app, argc, argv);
}

#include "services/importer/importer_main.h"

#include "runtime/service/service_host.h"
#include "services/importer/importer_app.h"
#include "services/importer/importer_config.h"

namespace zarc::importer {

int RunImporterService(int argc, char** argv) {
  return service::RunAppService<ImporterApp>("importer", ImporterSchema(), &ImporterConfig::host, argc, argv);
}

}  // namespace zarc::importer

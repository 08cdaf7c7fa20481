#include "services/importer/importer_config.h"

namespace zarc::importer {

config::Schema<ImporterConfig> ImporterSchema() {
  config::Schema<ImporterConfig> schema;
  schema.Include(service::HostSchema(7004, 9404), &ImporterConfig::host);
  return schema;
}

}  // namespace zarc::importer

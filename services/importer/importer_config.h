#pragma once

#include "runtime/config/config.h"
#include "runtime/service/service_host.h"

namespace zarc::importer {

// Everything the importer service is configured with; see ImporterSchema() for keys and defaults.
struct ImporterConfig {
  service::HostConfig host;
};

config::Schema<ImporterConfig> ImporterSchema();

}  // namespace zarc::importer

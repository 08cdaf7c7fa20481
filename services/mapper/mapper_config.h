#pragma once

#include "runtime/config/config.h"
#include "runtime/service/service_host.h"

namespace zarc::mapper {

// Everything the mapper service is configured with; see MapperSchema() for keys and defaults.
struct MapperConfig {
  service::HostConfig host;
};

config::Schema<MapperConfig> MapperSchema();

}  // namespace zarc::mapper

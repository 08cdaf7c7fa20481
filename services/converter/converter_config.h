#pragma once

#include "runtime/config/config.h"
#include "runtime/service/service_host.h"

namespace zarc::converter {

// Everything the converter service is configured with; see ConverterSchema() for keys and defaults.
struct ConverterConfig {
  service::HostConfig host;
};

config::Schema<ConverterConfig> ConverterSchema();

}  // namespace zarc::converter

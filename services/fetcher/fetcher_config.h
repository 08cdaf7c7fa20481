#pragma once

#include "runtime/config/config.h"
#include "runtime/service/service_host.h"

namespace zarc::fetcher {

// Everything the fetcher service is configured with; see FetcherSchema() for keys and defaults.
struct FetcherConfig {
  service::HostConfig host;
};

config::Schema<FetcherConfig> FetcherSchema();

}  // namespace zarc::fetcher

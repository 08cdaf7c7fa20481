#include "services/fetcher/fetcher_config.h"

namespace zarc::fetcher {

config::Schema<FetcherConfig> FetcherSchema() {
  config::Schema<FetcherConfig> schema;
  schema.Include(service::HostSchema(7001, 9401), &FetcherConfig::host);
  return schema;
}

}  // namespace zarc::fetcher

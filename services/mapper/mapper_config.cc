#include "services/mapper/mapper_config.h"

namespace zarc::mapper {

config::Schema<MapperConfig> MapperSchema() {
  config::Schema<MapperConfig> schema;
  schema.Include(service::HostSchema(7003, 9403), &MapperConfig::host);
  return schema;
}

}  // namespace zarc::mapper

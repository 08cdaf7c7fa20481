#include "services/converter/converter_config.h"

namespace zarc::converter {

config::Schema<ConverterConfig> ConverterSchema() {
  config::Schema<ConverterConfig> schema;
  schema.Include(service::HostSchema(7002, 9402), &ConverterConfig::host);
  return schema;
}

}  // namespace zarc::converter

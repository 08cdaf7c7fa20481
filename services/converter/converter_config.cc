#include "services/converter/converter_config.h"

#include "runtime/common_options/common_options.h"

namespace zarc::converter {

config::Schema<ConverterConfig> ConverterSchema() {
  config::Schema<ConverterConfig> schema;
  schema.Include(service::HostSchema(7002, 9402), &ConverterConfig::host)
      .Include(common_options::KafkaSchema("zarc-converter"), &ConverterConfig::kafka)
      .Include(common_options::StageSchema(), &ConverterConfig::stage)
      .Include(common_options::BlobSchema("staging", "file:///var/lib/zarc/staging", "zarc-staging"),
               &ConverterConfig::staging)
      .Int("converter.message_size_limit", &ConverterConfig::message_size_limit, 36'000'000,
           1'000'000, 150'000'000,
           "largest message (bytes, encoded) to build; bigger artifacts are kept in the archive "
           "and listed with location and SHA-256 instead of attached (Exchange Online default: "
           "36 MB, maximum 150 MB)")
      .String("converter.message_id_domain", &ConverterConfig::message_id_domain, "zarc.archive",
              "right-hand side of the Message-IDs zarc derives for archived meetings");
  return schema;
}

}  // namespace zarc::converter

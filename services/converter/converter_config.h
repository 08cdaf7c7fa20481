#pragma once

#include <cstdint>
#include <string>

#include "runtime/blob/blob_store.h"
#include "runtime/config/config.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/service/service_host.h"

namespace zarc::converter {

// Everything the converter service is configured with; see ConverterSchema() for keys and defaults.
struct ConverterConfig {
  service::HostConfig host;
  kafka::KafkaConfig kafka;
  kafka::StageSettings stage;
  // Where the fetcher staged the artifacts, and where rendered messages are written.
  blob::BlobStoreConfig staging;
  int64_t message_size_limit = 0;
  std::string message_id_domain;
};

config::Schema<ConverterConfig> ConverterSchema();

}  // namespace zarc::converter

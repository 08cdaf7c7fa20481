#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "runtime/common_options/graph_config.h"
#include "runtime/config/config.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/service/service_host.h"

namespace zarc::mapper {

// Everything the mapper service is configured with; see MapperSchema() for keys and defaults.
struct MapperConfig {
  service::HostConfig host;
  kafka::KafkaConfig kafka;
  kafka::StageSettings stage;

  // Microsoft Graph and the identity platform (national clouds and simulators are just URLs).
  common_options::GraphConfig graph;

  std::string mode;  // graph | csv-only
  std::string custom_mapping_file;
  absl::Duration custom_mapping_check_interval;
  std::vector<std::string> tenant_domains;
  std::string fallback_mailbox;
  bool deliver_to_disabled = false;
  std::string group_id;
  absl::Duration cache_positive_ttl;
  absl::Duration cache_negative_ttl;
  int64_t cache_max_entries = 100000;
};

config::Schema<MapperConfig> MapperSchema();

}  // namespace zarc::mapper

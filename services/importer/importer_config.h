#pragma once

#include <string>

#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "runtime/common_options/graph_config.h"
#include "runtime/config/config.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/service/service_host.h"
#include "services/importer/console/console_config.h"

namespace zarc::importer {

// Everything the importer service is configured with; see ImporterSchema() for keys and defaults.
struct ImporterConfig {
  service::HostConfig host;
  kafka::KafkaConfig kafka;
  kafka::StageSettings stage;
  blob::BlobStoreConfig messages;  // where the converter wrote the rendered messages
  blob::BlobStoreConfig archive;   // the archive: every delivered item, per mailbox

  std::string target;  // none | eml | imap | graph
  std::string eml_root;
  bool read_log_at_start = true;
  absl::Duration retry_max_backoff;

  std::string imap_host;
  int64_t imap_port = 993;
  std::string imap_tls;  // none | starttls | implicit
  std::string imap_ca_file;
  absl::Duration imap_timeout;
  std::string imap_auth;  // master | plain | xoauth2
  std::string imap_master_user;
  std::string imap_master_separator;
  std::string imap_password;
  std::string imap_password_dir;
  std::string imap_token_file;
  std::string imap_oauth_scope;
  int64_t imap_max_idle_connections = 32;
  absl::Duration imap_idle_timeout = absl::Seconds(60);
  std::string imap_proxy;  // secret: may hold proxy credentials
  bool graph_received = true;

  // Microsoft Graph (importer.target = graph); the same keys as the mapper's, so one setting
  // serves both in the one-binary mode.
  common_options::GraphConfig graph;

  console::ConsoleConfig console;  // the read-only web console (console.*)
};

config::Schema<ImporterConfig> ImporterSchema();

}  // namespace zarc::importer

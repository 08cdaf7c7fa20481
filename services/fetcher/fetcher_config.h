#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "runtime/config/config.h"
#include "runtime/kafka/kafka_config.h"
#include "runtime/service/service_host.h"
#include "services/fetcher/url_policy.h"

namespace zarc::fetcher {

// Everything the fetcher service is configured with; see FetcherSchema() for keys and defaults.
struct FetcherConfig {
  service::HostConfig host;
  kafka::KafkaConfig kafka;
  blob::BlobStoreConfig staging;

  // Zoom endpoints and Server-to-Server OAuth app credentials.
  std::string zoom_api_url;
  std::string zoom_oauth_url;
  std::string zoom_account_id;
  std::string zoom_client_id;
  std::string zoom_client_secret;
  std::vector<std::string> zoom_domains;
  std::string zoom_plan;
  std::string ca_file;

  std::string sources = "auto";  // auto | recordings | archive | both
  bool use_archiving_api = false;       // replaced by `sources`: refused when set
  int64_t concurrency = 16;
  int64_t recordings_window_days = 30;
  absl::Duration poll_interval;
  absl::Duration poll_overlap;
  absl::Duration first_poll_lookback;
  absl::Duration pending_delay;
  absl::Duration reconcile_interval;
  absl::Duration reconcile_min_age;
  absl::Duration verify_interval;
  absl::Duration verify_lookback;
  // Not an option: set by the one-machine mode, whose embedded broker loses what was in flight at
  // a restart, so the reconciler's first round drives every unsettled version at once.
  bool broker_forgets_on_restart = false;
  absl::Duration missing_file_deadline;
  absl::Duration retry_backoff;

  int64_t webhook_port = 0;
  std::string webhook_secret;
  std::string webhook_tls_cert;
  std::string webhook_tls_key;
  int64_t webhook_max_connections = 1024;
  int64_t webhook_max_body_bytes = 64 * 1024;
  absl::Duration webhook_read_timeout;
  absl::Duration webhook_idle_timeout;
};

config::Schema<FetcherConfig> FetcherSchema();

// Where a Zoom token may go: zoom.domains (https, port 443) and exactly the configured API and
// OAuth URLs' scheme, host and port.
ZoomHostPolicy ZoomHostsFor(const FetcherConfig& config);

}  // namespace zarc::fetcher

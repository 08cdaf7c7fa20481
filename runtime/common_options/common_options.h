#pragma once

#include "runtime/blob/blob_store.h"
#include "runtime/common_options/graph_config.h"
#include "runtime/config/config.h"
#include "runtime/kafka/kafka_config.h"

namespace zarc::common_options {


// Configuration keys of the runtime pieces every stage uses, declared once so every service and
// the one-binary mode spell them the same way.

// kafka.brokers, kafka.client_id, kafka.security_protocol, kafka.sasl_mechanism,
// kafka.sasl_username, kafka.sasl_password (secret), kafka.ssl_ca_file, kafka.session_timeout.
config::Schema<kafka::KafkaConfig> KafkaSchema(const std::string& default_client_id);

// blob.url (file:///... for a local folder; empty for Azure), blob.azure_account,
// blob.azure_container, blob.azure_endpoint, blob.azure_key (secret), blob.azure_sas (secret). `prefix` lets a service have two stores (e.g. "archive").
config::Schema<blob::BlobStoreConfig> BlobSchema(const std::string& prefix,
                                                 const std::string& default_url,
                                                 const std::string& default_container);

// graph.login_url, graph.api_url, graph.tenant_id, graph.client_id, graph.client_secret (secret),
// graph.client_certificate_file, graph.client_assertion_algorithm, graph.ca_file, graph.patience.
// `permissions` says which application permissions the app needs for this service; `patience`
// what waiting out Graph means for it.
config::Schema<GraphConfig> GraphSchema(const std::string& permissions, const std::string& patience);

// "X needs graph.tenant_id, graph.client_id and graph.client_secret or ..." when `c` lacks them.
absl::Status RequireGraphCredentials(const GraphConfig& c, absl::string_view needed_by);

// stage.stuck_alert_after.
config::Schema<kafka::StageSettings> StageSchema();

// Checks that a blob config names exactly one kind of store and, for Azure, one credential.
absl::Status ValidateBlobConfig(const std::string& prefix, const blob::BlobStoreConfig& config);

}  // namespace zarc::common_options

#include "runtime/common_options/common_options.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "runtime/blob/azure_blob_store.h"

namespace zarc::common_options {

config::Schema<kafka::KafkaConfig> KafkaSchema(const std::string& default_client_id) {
  using kafka::KafkaConfig;
  config::Schema<KafkaConfig> s;
  s.String("kafka.brokers", &KafkaConfig::bootstrap_servers, "",
           "Kafka bootstrap servers, host:port,...")
      .String("kafka.client_id", &KafkaConfig::client_id, default_client_id,
              "client.id reported to the brokers")
      .String("kafka.security_protocol", &KafkaConfig::security_protocol, "",
              "plaintext, ssl, sasl_plaintext or sasl_ssl (empty: plaintext)")
      .String("kafka.sasl_mechanism", &KafkaConfig::sasl_mechanism, "",
              "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
      .String("kafka.sasl_username", &KafkaConfig::sasl_username, "", "SASL user name")
      .Secret("kafka.sasl_password", &KafkaConfig::sasl_password, "SASL password")
      .String("kafka.ssl_ca_file", &KafkaConfig::ssl_ca_file, "", "PEM CA file for TLS brokers")
      .Duration("kafka.session_timeout", &KafkaConfig::session_timeout, "6s",
                "how long the partitions of a stage replica that died (SIGKILL, a lost node) "
                "wait before its consumer group gives them to the other replicas; a replica that "
                "stops cleanly leaves at once. 1s to 1h; brokers accept 6s to 30m by default")
      // Empty brokers is allowed here: `zarc run` then starts its embedded cluster; each service
      // refuses to start without brokers.
      .Check([](const KafkaConfig& c) {
        if (absl::Status s = c.ValidateSessionTimeout(); !s.ok()) return s;
        return c.bootstrap_servers.empty() ? absl::OkStatus() : c.Validate();
      });
  return s;
}

config::Schema<GraphConfig> GraphSchema(const std::string& permissions,
                                        const std::string& patience) {
  config::Schema<GraphConfig> s;
  s.Url("graph.login_url", &GraphConfig::login_url, "https://login.microsoftonline.com",
        "Microsoft identity platform base URL (login.microsoftonline.us for GCC High, "
        "login.chinacloudapi.cn for 21Vianet, or a simulator)")
      .Url("graph.api_url", &GraphConfig::api_url, "https://graph.microsoft.com",
           "Microsoft Graph base URL, without /v1.0; the token scope is {api_url}/.default")
      .String("graph.tenant_id", &GraphConfig::tenant_id, "",
              "Microsoft Entra tenant id (or domain) of the app registration")
      .String("graph.client_id", &GraphConfig::client_id, "",
              "application (client) id; " + permissions)
      .Secret("graph.client_secret", &GraphConfig::client_secret,
              "client secret of the app registration (or graph.client_certificate_file)")
      .String("graph.client_certificate_file", &GraphConfig::client_certificate_file, "",
              "PEM file with the app's RSA private key and the certificate registered on the app: "
              "a certificate credential (signed client assertion) instead of a client secret; "
              "re-read at every token refresh, so a rotated certificate needs no restart")
      .Enum("graph.client_assertion_algorithm", &GraphConfig::client_assertion_algorithm, "PS256",
            {"PS256", "RS256"}, "how the client assertion of a certificate credential is signed")
      .String("graph.ca_file", &GraphConfig::ca_file, "", "extra PEM CA file for Graph")
      .Duration("graph.patience", &GraphConfig::patience, "2m", patience)
      .Check([](const GraphConfig& c) {
        if (!c.client_secret.empty() && !c.client_certificate_file.empty()) {
          return absl::InvalidArgumentError(
              "graph.client_secret and graph.client_certificate_file are both set; the app "
              "authenticates with one of them");
        }
        return absl::OkStatus();
      });
  return s;
}

absl::Status RequireGraphCredentials(const GraphConfig& c, absl::string_view needed_by) {
  if (c.HasCredentials()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      needed_by, " needs graph.tenant_id, graph.client_id and graph.client_secret "
                 "(or ZARC_GRAPH_CLIENT_SECRET_FILE) or graph.client_certificate_file"));
}

config::Schema<kafka::StageSettings> StageSchema() {
  using kafka::StageSettings;
  config::Schema<StageSettings> s;
  s.Duration("stage.stuck_alert_after", &StageSettings::stuck_alert_after, "1h",
             "a record failing transiently for longer than this is logged as stuck and raises "
             "ZarcStageRecordStuck (zarc_stage_oldest_waiting_seconds); it is still retried, "
             "its partition paused, until Kafka's retention (7 days) deletes it")
      .Check([](const StageSettings& c) {
        if (c.stuck_alert_after > absl::ZeroDuration()) return absl::OkStatus();
        return absl::InvalidArgumentError(
            absl::StrCat("stage.stuck_alert_after is ", absl::FormatDuration(c.stuck_alert_after),
                         "; give a positive duration such as 1h"));
      });
  s.Int("stage.concurrency", &StageSettings::concurrency, 16, 1, 256,
        "records each stage handles at once (worker threads per stage); records with one key "
        "(one meeting, one mailbox) are handled one after the other, in order");
  s.Duration("stage.commit_interval", &StageSettings::commit_interval, "100ms",
             "how often a stage commits the offsets of the records it settled, together; 0 "
             "commits each at once. A crash hands at most this much settled work to be handled "
             "again, which the stages recognise (idempotent)")
      .Check([](const StageSettings& c) {
        if (c.commit_interval >= absl::ZeroDuration() && c.commit_interval <= absl::Minutes(1)) {
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "stage.commit_interval is ", absl::FormatDuration(c.commit_interval),
            "; give a duration from 0 to 1m such as 100ms"));
      });
  return s;
}

config::Schema<blob::BlobStoreConfig> BlobSchema(const std::string& prefix,
                                                 const std::string& default_url,
                                                 const std::string& default_container) {
  using blob::AzureBlobOptions;
  using blob::BlobStoreConfig;
  config::Schema<AzureBlobOptions> azure;
  azure.String(prefix + ".azure_account", &AzureBlobOptions::account, "",
               "Azure storage account (used when " + prefix + ".url is empty)")
      .String(prefix + ".azure_container", &AzureBlobOptions::container, default_container,
              "Azure blob container")
      .String(prefix + ".azure_endpoint", &AzureBlobOptions::endpoint, "",
              "blob service endpoint; empty: https://ACCOUNT.blob.core.windows.net")
      .Secret(prefix + ".azure_key", &AzureBlobOptions::shared_key,
              "storage account key (SharedKey auth)")
      .Secret(prefix + ".azure_sas", &AzureBlobOptions::sas_token, "SAS token (instead of a key)")
      .Enum(prefix + ".azure_identity", &AzureBlobOptions::identity, "auto",
            {"auto", "workload-identity", "managed-identity", "client-credentials"},
            "with neither " + prefix + ".azure_key nor " + prefix + ".azure_sas: Entra ID bearer "
            "tokens (the identity needs Storage Blob Data Contributor; HTTPS endpoints only) from "
            "workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID), "
            "the managed identity (IMDS; AZURE_CLIENT_ID for a user-assigned one), or client "
            "credentials (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or "
            "AZURE_CLIENT_CERTIFICATE_PATH); auto picks the first whose variables are set, else "
            "the managed identity")
      .String(prefix + ".azure_ca_file", &AzureBlobOptions::ca_file, "",
              "extra PEM CA file for the endpoint");
  config::Schema<BlobStoreConfig> s;
  s.String(prefix + ".url", &BlobStoreConfig::url, default_url,
           "file:///PATH for a local folder store; empty to use Azure Blob Storage")
      .Bool(prefix + ".create_container", &BlobStoreConfig::create_container, true,
            "create the Azure container at start-up if missing")
      .Include(azure, &BlobStoreConfig::azure)
      .Check([prefix](const BlobStoreConfig& c) { return ValidateBlobConfig(prefix, c); });
  return s;
}

absl::Status ValidateBlobConfig(const std::string& prefix, const blob::BlobStoreConfig& c) {
  if (!c.url.empty()) {
    if (c.url.rfind("file://", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, ".url = \"", c.url,
                                                     "\" is not allowed: use file:///PATH, or "
                                                     "leave it empty and set the Azure options"));
    }
    return absl::OkStatus();
  }
  if (c.azure.account.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, ".url is empty, so Azure is used, but ", prefix,
        ".azure_account is not set: set one of them"));
  }
  if (!c.azure.shared_key.empty() && !c.azure.sas_token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "set at most one of ", prefix, ".azure_key and ", prefix, ".azure_sas for account ",
        c.azure.account, " (neither: Entra ID, see ", prefix, ".azure_identity)"));
  }
  if (c.azure.shared_key.empty() && c.azure.sas_token.empty()) {
    // Entra ID: what the environment must give is checked the same way the store checks it.
    absl::StatusOr<entra::Credentials> entra = blob::AzureEntraCredentials(
        c.azure, [](const char* name) { return std::getenv(name); });
    if (!entra.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, ".azure_key and ", prefix, ".azure_sas are not set, so ", entra.status().message(),
          " (or set ", prefix, ".azure_key or ", prefix, ".azure_sas)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace zarc::common_options

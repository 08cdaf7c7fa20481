#include "services/fetcher/fetcher_config.h"

#include "absl/strings/str_cat.h"
#include "runtime/common_options/common_options.h"
#include "services/fetcher/url_policy.h"

namespace zarc::fetcher {

config::Schema<FetcherConfig> FetcherSchema() {
  config::Schema<FetcherConfig> s;
  s.Include(service::HostSchema(7001, 9401), &FetcherConfig::host)
      .Include(common_options::KafkaSchema("zarc-fetcher"), &FetcherConfig::kafka)
      .Include(common_options::BlobSchema("staging", "file:///var/lib/zarc/staging", "zarc-staging"),
               &FetcherConfig::staging)
      .Url("zoom.api_url", &FetcherConfig::zoom_api_url, "https://api.zoom.us/v2",
           "Zoom REST API base URL (regional hosts and simulators are just configuration)")
      .Url("zoom.oauth_url", &FetcherConfig::zoom_oauth_url, "https://zoom.us/oauth/token",
           "Zoom Server-to-Server OAuth token URL")
      .String("zoom.account_id", &FetcherConfig::zoom_account_id, "", "Zoom account ID of the S2S OAuth app")
      .String("zoom.client_id", &FetcherConfig::zoom_client_id, "", "S2S OAuth app client ID")
      .Secret("zoom.client_secret", &FetcherConfig::zoom_client_secret, "S2S OAuth app client secret")
      .List("zoom.domains", &FetcherConfig::zoom_domains, "zoom.us,zoom.com",
            "hosts (and their subdomains) a Zoom token may be sent to, over https on port 443 only; "
            "the API and OAuth URLs are allowed as configured (scheme, host and port)")
      .Enum("zoom.plan", &FetcherConfig::zoom_plan, "pro", {"pro", "business"},
            "Zoom plan, for the per-second rate limits per category")
      .String("zoom.ca_file", &FetcherConfig::ca_file, "", "extra PEM CA file for Zoom endpoints")
      .Duration("zoom.retry_backoff", &FetcherConfig::retry_backoff, "500ms",
                "first wait before retrying a failed Zoom call or download; doubles per attempt")
      .Enum("fetcher.sources", &FetcherConfig::sources, "auto",
            {"auto", "recordings", "archive", "both"},
            "Zoom sources each sync and poll lists: cloud recordings (per user), archive files "
            "(the Archiving API), both (merged into one item per meeting instance), or auto: "
            "both when GET /archive_files shows the account has the Archiving API (asked again "
            "daily), else recordings")
      .Bool("fetcher.use_archiving_api", &FetcherConfig::use_archiving_api, false,
            "replaced by fetcher.sources; setting it true is refused with the replacement named")
      .Int("fetcher.concurrency", &FetcherConfig::concurrency, 16, 1, 64,
           "meetings captured in parallel (Zoom's rate limits are kept by the rate limiter, "
           "whatever this is; each capture mostly waits for downloads and fsync)")
      .Int("fetcher.recordings_window_days", &FetcherConfig::recordings_window_days, 30, 1, 90,
           "days asked per user-recordings call; Zoom allows a month and silently clamps longer "
           "ranges, which the fetcher detects and walks in halves")
      .Duration("fetcher.poll_interval", &FetcherConfig::poll_interval, "24h",
                "time between scheduled polls; 0 turns polling off (webhooks and Sync only)")
      .Duration("fetcher.poll_overlap", &FetcherConfig::poll_overlap, "48h",
                "how far before the last completed window each poll starts again")
      .Duration("fetcher.first_poll_lookback", &FetcherConfig::first_poll_lookback, "24h",
                "how far back the very first poll reaches; use Sync for older backfills")
      .Duration("fetcher.pending_delay", &FetcherConfig::pending_delay, "30s",
                "wait before retrying a meeting whose files Zoom is still processing")
      .Duration("fetcher.reconcile_interval", &FetcherConfig::reconcile_interval, "1h",
                "time between reconciliation rounds, which publish again every captured version "
                "whose deliveries are not all settled in the ledger; 0 turns them off")
      .Duration("fetcher.reconcile_min_age", &FetcherConfig::reconcile_min_age, "1h",
                "a version captured less than this long ago counts as in flight, not lost")
      .Duration("fetcher.verify_interval", &FetcherConfig::verify_interval, "24h",
                "time between scheduled completeness checks (what zarc verify does: every meeting "
                "Zoom lists against what was captured and delivered, gaps driven again); 0 turns "
                "them off")
      .Duration("fetcher.verify_lookback", &FetcherConfig::verify_lookback, "720h",
                "how far back each scheduled completeness check reaches (it ends "
                "fetcher.reconcile_min_age before now)")
      .Duration("fetcher.missing_file_deadline", &FetcherConfig::missing_file_deadline, "168h",
                "how long a file a meeting was captured without (still processing, refused, "
                "failed) is looked for again by each poll before the item records it as not "
                "captured")
      .Int("fetcher.webhook_port", &FetcherConfig::webhook_port, 0, 0, 65535,
           "port of the Zoom webhook endpoint (POST /zoom/webhook), served when "
           "fetcher.webhook_secret is set; 0 picks a free port")
      .Secret("fetcher.webhook_secret", &FetcherConfig::webhook_secret,
              "Zoom webhook secret token, to verify x-zm-signature")
      .String("fetcher.webhook_tls_cert", &FetcherConfig::webhook_tls_cert, "",
              "PEM certificate for HTTPS on the webhook port")
      .String("fetcher.webhook_tls_key", &FetcherConfig::webhook_tls_key, "",
              "PEM private key for HTTPS on the webhook port")
      .Int("fetcher.webhook_max_connections", &FetcherConfig::webhook_max_connections, 1024, 1,
           65536,
           "connections the webhook endpoint keeps open at once; at the cap a new one closes the "
           "longest-idle one")
      .Int("fetcher.webhook_max_body_bytes", &FetcherConfig::webhook_max_body_bytes, 64 * 1024,
           1024, 16 << 20,
           "largest webhook request body accepted (Zoom sends a few KB); larger ones get 413")
      .Duration("fetcher.webhook_read_timeout", &FetcherConfig::webhook_read_timeout, "10s",
                "time a webhook request's headers, and then its body, may take to arrive; a "
                "slower client is disconnected")
      .Duration("fetcher.webhook_idle_timeout", &FetcherConfig::webhook_idle_timeout, "60s",
                "how long an idle keep-alive connection to the webhook endpoint stays open")
      .Check([](const FetcherConfig& c) -> absl::Status {
        for (const std::string& domain : c.zoom_domains) {
          if (absl::Status s = CheckZoomDomain(domain); !s.ok()) return s;
        }
        if (c.webhook_port != 0 && c.webhook_secret.empty()) {  // asked for, but unverifiable
          return absl::InvalidArgumentError(
              "fetcher.webhook_port is set but fetcher.webhook_secret is not: webhooks cannot be "
              "verified; set ZARC_FETCHER_WEBHOOK_SECRET_FILE or turn webhooks off");
        }
        if (c.use_archiving_api) {
          return absl::InvalidArgumentError(
              "fetcher.use_archiving_api was replaced by fetcher.sources: set "
              "fetcher.sources=archive (archive files only), both, or auto (both when the account "
              "has the Archiving API), and remove fetcher.use_archiving_api");
        }
        if (c.webhook_tls_cert.empty() != c.webhook_tls_key.empty()) {
          return absl::InvalidArgumentError(
              "set both fetcher.webhook_tls_cert and fetcher.webhook_tls_key, or neither");
        }
        return absl::OkStatus();
      });
  return s;
}

ZoomHostPolicy ZoomHostsFor(const FetcherConfig& config) {
  return ZoomHostPolicy(config.zoom_domains, {config.zoom_api_url, config.zoom_oauth_url});
}

}  // namespace zarc::fetcher

#include "services/importer/importer_config.h"

#include "absl/strings/str_cat.h"
#include "runtime/common_options/common_options.h"

namespace zarc::importer {

config::Schema<ImporterConfig> ImporterSchema() {
  using C = ImporterConfig;
  config::Schema<C> s;
  s.Include(service::HostSchema(7004, 9404), &C::host)
      .Include(common_options::KafkaSchema("zarc-importer"), &C::kafka)
      .Include(common_options::StageSchema(), &C::stage)
      .Include(common_options::BlobSchema("messages", "file:///var/lib/zarc/staging", "zarc-staging"),
               &C::messages)
      .Include(common_options::BlobSchema("archive", "file:///var/lib/zarc/archive", "zarc-archive"),
               &C::archive)
      .Enum("importer.target", &C::target, "eml", {"none", "eml", "imap", "graph"},
            "where items are delivered: none (archive only), eml (a folder of .eml files per "
            "mailbox), imap (INBOX/Zoom Meetings over IMAP), graph (Inbox/Zoom Meetings through "
            "Microsoft Graph, see services/importer/graph_target.h)")
      .Bool("importer.graph_received", &C::graph_received, true,
            "importer.target=graph: create each message from JSON as a received, read message "
            "dated at the meeting start (PidTagMessageFlags and the delivery time set at "
            "creation); false: post the MIME, which Graph makes a draft dated at import")
      .String("importer.eml_root", &C::eml_root, "/var/lib/zarc/mailboxes",
              "folder the eml target writes <mailbox>/Inbox/Zoom Meetings/*.eml under")
      .Bool("importer.read_log_at_start", &C::read_log_at_start, true,
            "read zarc.import-log at start so GetImportStatus also covers earlier runs")
      .Duration("importer.retry_max_backoff", &C::retry_max_backoff, "30s",
                "longest wait between retries while a mailbox server is down or throttling")
      .String("imap.host", &C::imap_host, "", "IMAP server host (e.g. outlook.office365.com)")
      .Int("imap.port", &C::imap_port, 993, 1, 65535, "IMAP server port")
      .Enum("imap.tls", &C::imap_tls, "implicit", {"implicit", "starttls", "none"},
            "implicit (IMAPS, port 993), starttls (port 143), none (plain text; tests only)")
      .String("imap.ca_file", &C::imap_ca_file, "",
              "extra PEM CA file for the IMAP server's certificate (always verified)")
      .Secret("imap.proxy", &C::imap_proxy,
              "HTTP proxy for IMAP, tunnelled with CONNECT (http://[user:password@]host:port); "
              "unset: HTTPS_PROXY unless NO_PROXY names imap.host; none: connect directly")
      .Duration("imap.timeout", &C::imap_timeout, "60s",
                "bound on connecting and on each read or write to the IMAP server")
      .Enum("imap.auth", &C::imap_auth, "master", {"master", "plain", "xoauth2"},
            "master: log in as <mailbox><separator><master_user> with imap.password (Dovecot "
            "master users); plain: as the mailbox with the password in imap.password_dir/<mailbox>; "
            "xoauth2: as the mailbox with an app-only bearer token (Exchange Online), which zarc "
            "obtains and refreshes itself with the graph.* app registration (client secret or "
            "certificate; the app needs the Office 365 Exchange Online permission "
            "IMAP.AccessAsApp and a mailbox permission per mailbox), or else reads from "
            "imap.token_file")
      .String("imap.master_user", &C::imap_master_user, "", "master user name (imap.auth=master)")
      .String("imap.master_separator", &C::imap_master_separator, "*",
              "separator between mailbox and master user (Dovecot's auth_master_user_separator)")
      .Secret("imap.password", &C::imap_password, "master user's password (imap.auth=master)")
      .String("imap.password_dir", &C::imap_password_dir, "",
              "folder with one password file per mailbox (imap.auth=plain)")
      .String("imap.token_file", &C::imap_token_file, "",
              "file holding an OAuth2 access token kept fresh by something else (imap.auth=xoauth2 "
              "without zarc's own tokens), re-read at every delivery")
      .String("imap.oauth_scope", &C::imap_oauth_scope, "https://outlook.office365.com/.default",
              "scope zarc asks its IMAP tokens for (imap.auth=xoauth2 without imap.token_file)")
      .Int("imap.max_idle_connections", &C::imap_max_idle_connections, 32, 0, 1024,
           "connections kept logged in, their Zoom Meetings folder selected, for the next "
           "delivery to the same mailbox (0: a new connection and login per delivery)")
      .Duration("imap.idle_timeout", &C::imap_idle_timeout, "60s",
                "how long an idle IMAP connection is kept for reuse")
      .Include(common_options::GraphSchema(
                   "importer.target=graph needs Mail.ReadWrite as an application permission",
                   "how long one Graph request keeps waiting out 429s and failures before the "
                   "delivery is retried later"),
               &C::graph)
      .Include(console::ConsoleSchema(), &C::console)
      .Check([](const C& c) -> absl::Status {
        if (c.target == "graph") {
          if (absl::Status s = common_options::RequireGraphCredentials(c.graph, "importer.target = graph");
              !s.ok()) {
            return s;
          }
        }
        if (c.target != "imap") return absl::OkStatus();
        if (c.imap_host.empty()) {
          return absl::InvalidArgumentError(
              "importer.target = imap needs imap.host (e.g. outlook.office365.com)");
        }
        if (c.imap_auth == "master" && (c.imap_master_user.empty() || c.imap_password.empty())) {
          return absl::InvalidArgumentError(
              "imap.auth = master needs imap.master_user and imap.password (or "
              "ZARC_IMAP_PASSWORD_FILE)");
        }
        if (c.imap_auth == "plain" && c.imap_password_dir.empty()) {
          return absl::InvalidArgumentError("imap.auth = plain needs imap.password_dir");
        }
        if (c.imap_auth == "xoauth2" && c.imap_token_file.empty()) {
          if (absl::Status s = common_options::RequireGraphCredentials(
                  c.graph, "imap.auth = xoauth2 without imap.token_file");
              !s.ok()) {
            return s;
          }
        }
        return absl::OkStatus();
      });
  return s;
}

}  // namespace zarc::importer

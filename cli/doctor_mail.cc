// zarc doctor, the Microsoft 365 side: Microsoft Graph for the mapper, IMAP for the importer.
#include "absl/strings/str_cat.h"
#include "cli/doctor.h"
#include "runtime/entra/token_source.h"
#include "runtime/http/http_client.h"
#include "services/importer/imap_client.h"
#include "services/mapper/graph_client.h"

namespace zarc::cli {
namespace {

CheckResult CheckGraph(const RunConfig& c) {
  const mapper::MapperConfig& m = c.mapper;
  if (m.mode != "graph") {
    return {"Microsoft Graph token and permissions", absl::OkStatus(),
            "mapper.mode=" + m.mode + ": Graph is not used", true};
  }
  std::unique_ptr<http::HttpClient> http =
      http::NewHttpClient(http::ClientOptions{.ca_file = m.graph.ca_file});
  mapper::GraphTokenSource tokens(*http, mapper::CredentialsFrom(m.graph));
  absl::StatusOr<std::string> token = tokens.Token();
  if (!token.ok()) {
    return {"Microsoft Graph token", token.status(),
            "check graph.tenant_id, graph.client_id and graph.client_secret of the app "
            "registration in Entra ID, and graph.login_url for national clouds"};
  }
  // A lookup of an address nobody has proves User.Read.All without touching real users.
  mapper::GraphClient graph(*http, tokens, m.graph.api_url,
                            mapper::GraphClientOptions{.patience = absl::Seconds(20)}, nullptr);
  absl::StatusOr<std::vector<std::optional<mapper::DirectoryUser>>> found =
      graph.FindUsers({"zarc-doctor-probe@invalid.example"});
  if (!found.ok()) {
    return {"Microsoft Graph permissions", found.status(),
            "grant the application permission User.Read.All (and GroupMember.Read.All with "
            "mapper.group_id, Mail.ReadWrite for importer.target=graph) with admin consent"};
  }
  return {"Microsoft Graph token and permissions", absl::OkStatus(), ""};
}

CheckResult CheckImap(const RunConfig& c) {
  const importer::ImporterConfig& i = c.importer;
  const std::string name = "IMAP server";
  if (i.target != "imap") {
    return {name, absl::OkStatus(), "importer.target=" + i.target + ": IMAP is not used", true};
  }
  const importer::ImapTls tls = i.imap_tls == "none"       ? importer::ImapTls::kNone
                                : i.imap_tls == "starttls" ? importer::ImapTls::kStartTls
                                                           : importer::ImapTls::kImplicit;
  absl::StatusOr<std::unique_ptr<importer::ImapClient>> client = importer::ImapClient::Connect(
      {.host = i.imap_host, .port = static_cast<int>(i.imap_port), .tls = tls,
       .ca_file = i.imap_ca_file, .timeout = absl::Seconds(15), .proxy = i.imap_proxy});
  if (!client.ok()) {
    return {name, client.status(),
            "check imap.host, imap.port and imap.tls (and imap.ca_file for a private CA, "
            "imap.proxy or HTTPS_PROXY/NO_PROXY behind a proxy)"};
  }
  const std::string mailbox = c.mapper.fallback_mailbox;
  if (i.imap_auth == "xoauth2" && i.imap_token_file.empty()) {
    std::unique_ptr<http::HttpClient> http =
        http::NewHttpClient(http::ClientOptions{.ca_file = i.graph.ca_file});
    entra::TokenSource tokens(*http, entra::CredentialsOf(i.graph), i.imap_oauth_scope);
    absl::StatusOr<std::string> token = tokens.Token();
    if (!token.ok()) {
      (void)(*client)->Logout();
      return {"Exchange Online token for IMAP (" + i.imap_oauth_scope + ")", token.status(),
              "check graph.tenant_id, graph.client_id and graph.client_secret or "
              "graph.client_certificate_file of the app registration in Entra ID"};
    }
    if (mailbox.empty()) {
      (void)(*client)->Logout();
      return {name + " (connection, TLS and an Exchange Online token; set "
                     "mapper.fallback_mailbox to also try a login)",
              absl::OkStatus(), ""};
    }
    absl::Status login = (*client)->AuthenticateXOAuth2(mailbox, *token);
    if (login.ok()) login = (*client)->Select("INBOX");
    (void)(*client)->Logout();
    return {name + " XOAUTH2 login (as " + mailbox + ")", login,
            "grant the app the Office 365 Exchange Online application permission "
            "IMAP.AccessAsApp with admin consent, register its service principal in Exchange "
            "Online (New-ServicePrincipal) and give it FullAccess on the mailboxes "
            "(Add-MailboxPermission)"};
  }
  if (mailbox.empty() || i.imap_auth != "master") {
    (void)(*client)->Logout();
    return {name + " (connection and TLS)", absl::OkStatus(), ""};
  }
  absl::Status login = (*client)->Login(
      absl::StrCat(mailbox, i.imap_master_separator, i.imap_master_user), i.imap_password);
  if (login.ok()) login = (*client)->Select("INBOX");
  (void)(*client)->Logout();
  return {name + " login (as " + mailbox + ")", login,
          "check imap.master_user and imap.password, and that the master user may open "
          "every mailbox"};
}

}  // namespace

std::vector<CheckResult> MailChecks(const RunConfig& config) {
  return {CheckGraph(config), CheckImap(config)};
}

}  // namespace zarc::cli

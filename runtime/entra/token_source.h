#pragma once

// App-only tokens from the Microsoft identity platform (Entra ID): the OAuth 2.0 client
// credentials grant, with a client secret or a certificate credential (a client assertion JWT
// signed RS256 or PS256). One token source per scope: Graph ({graph}/.default) for the mapper and
// the importer's Graph target, Exchange Online (https://outlook.office365.com/.default) for IMAP
// XOAUTH2. Light header: no OpenSSL, no JSON library.

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"

namespace zarc::common_options {
struct GraphConfig;
}

namespace zarc::entra {

// The app registration. Exactly one of client_secret and certificate_file is set.
struct Credentials {
  std::string login_url = "https://login.microsoftonline.com";
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;  // secret: never logged
  // PEM with the RSA private key and the certificate registered on the app; re-read at every
  // token refresh, so a rotated certificate is picked up without a restart.
  std::string certificate_file;
  std::string assertion_algorithm = "PS256";  // PS256 or RS256
  // Workload identity (a federated credential): the token the platform keeps in this file (in
  // Kubernetes the service account token, AZURE_FEDERATED_TOKEN_FILE), re-read at every refresh
  // and sent as the client assertion instead of a secret or a certificate.
  std::string federated_token_file;
  // Managed identity: tokens from the instance metadata service instead of the token endpoint;
  // client_id, when set, names a user-assigned identity.
  bool managed_identity = false;
  std::string imds_endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";
  // The settings an error tells the operator to check; empty: the graph.* options.
  std::string settings;
};

// The app registration the graph.* options describe (the IMAP target asks its Exchange Online
// tokens with the same one).
Credentials CredentialsOf(const common_options::GraphConfig& graph);

// "the app's credentials" wording for errors: which settings to check, given the option prefix
// ("graph").
std::string CredentialSettings(const Credentials& c, absl::string_view prefix);

// {login}/{tenant}/oauth2/v2.0/token: where tokens are asked for, and a client assertion's `aud`.
std::string TokenEndpoint(const Credentials& c);

// A client assertion for `c` (RFC 7523; Microsoft's "certificate credentials" format): header
// alg, typ JWT, x5t#S256 (and x5t for RS256); claims aud (the token endpoint), iss = sub = the
// client id, a fresh jti, nbf and iat now, exp ten minutes on.
absl::StatusOr<std::string> ClientAssertion(const Credentials& c, absl::Time now);

// The federated token in `path`, trimmed; UNAVAILABLE when it cannot be read or is empty.
absl::StatusOr<std::string> ReadFederatedToken(const std::string& path);

// A token is reused until less than five minutes of it remain. Thread-safe; one refresh at a
// time. Every failure is UNAVAILABLE: an unreachable endpoint, a refused secret or certificate,
// an unreadable certificate file are the deployment's problem, never an item's, so work waits
// for the fix (the message names the setting to check, never a secret).
class TokenSource {
 public:
  TokenSource(http::HttpClient& http, Credentials credentials, std::string scope,
              std::function<absl::Time()> now = nullptr);
  virtual ~TokenSource();
  absl::StatusOr<std::string> Token();
  // The resource refused `token` (401): the next Token() fetches a new one.
  void Invalidate(const std::string& token);
  const std::string& scope() const { return scope_; }

 private:
  http::HttpClient& http_;
  const Credentials credentials_;
  const std::string scope_;
  const std::function<absl::Time()> now_;
  absl::Mutex mutex_;
  std::string token_ ABSL_GUARDED_BY(mutex_);
  absl::Time expires_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace zarc::entra

#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/common_options/graph_config.h"
#include "runtime/entra/token_source.h"
#include "runtime/http/http_client.h"

namespace prometheus {
class Registry;
}

namespace zarc::mapper {

// Where Graph and its token endpoint are, and the app registration (client credentials with a
// secret or a certificate). National clouds and the simulator are just other URLs.
struct GraphCredentials {
  std::string login_url = "https://login.microsoftonline.com";
  std::string api_url = "https://graph.microsoft.com";
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;     // secret: never logged
  std::string certificate_file;  // PEM key + certificate, instead of client_secret
  std::string assertion_algorithm = "PS256";
};

// The credentials the graph.* options give.
GraphCredentials CredentialsFrom(const common_options::GraphConfig& config);

// What zarc needs to know about a Microsoft 365 user.
struct DirectoryUser {
  std::string id;
  std::string mail;  // primary SMTP address; empty: no mailbox
  std::string user_principal_name;
  bool account_enabled = true;
  std::vector<std::string> proxy_addresses;

  friend bool operator==(const DirectoryUser&, const DirectoryUser&) = default;
};

// App-only tokens for Graph (scope {api}/.default) from the Microsoft identity platform; see
// runtime/entra/token_source.h.
class GraphTokenSource : public entra::TokenSource {
 public:
  GraphTokenSource(http::HttpClient& http, const GraphCredentials& credentials,
                   std::function<absl::Time()> now = nullptr);
};

struct GraphClientOptions {
  // Requests per $batch; Graph allows at most 20.
  int batch_size = 20;
  // How long one call keeps retrying throttled (429) or failing (5xx, unreachable) requests
  // before it gives up with UNAVAILABLE; the stage then retries the whole record later.
  absl::Duration patience = absl::Minutes(2);
  // Wait before retrying a 5xx or transport failure (doubling); a 429 waits its Retry-After.
  absl::Duration backoff = absl::Milliseconds(200);
  // Injectable for tests; defaults absl::SleepFor and absl::Now.
  std::function<void(absl::Duration)> sleep;
  std::function<absl::Time()> now;
};

// The Microsoft Graph calls the mapper makes. Thread-safe.
// Metrics: zarc_graph_requests_total{code} (every HTTP request and every request inside a
// $batch), zarc_graph_throttled_total.
class GraphClient {
 public:
  GraphClient(http::HttpClient& http, GraphTokenSource& tokens, std::string api_url,
              GraphClientOptions options, prometheus::Registry* metrics);
  ~GraphClient();

  // For each address, the user whose `mail` or any of whose `proxyAddresses` equals it
  // (case-insensitively), or nullopt. One GET for a single address, $batch requests of at most
  // batch_size otherwise; throttled requests (also inside a batch) are retried after their
  // Retry-After until `patience` runs out (UNAVAILABLE).
  //
  // Failure classes. Transient, UNAVAILABLE (the whole call waits and is retried): 429, 5xx,
  // 408, transport errors, a $batch refused as a whole, and 401/403 unless the same $batch
  // proves the credential works (another lookup in it answered 200): a refused token or a
  // missing User.Read.All permission is the deployment's problem, never an address's. About the
  // address (a poison address must not hold up its partition for ever): any other 4xx of one
  // lookup (400 for a value Graph's $filter cannot take, 404, 414, ...), and a 401/403 of one
  // lookup while others of its $batch succeeded. With `refused`, such an address reads nullopt
  // and (*refused)[i] says what Graph answered; without it, it is FAILED_PRECONDITION.
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> FindUsers(
      const std::vector<std::string>& addresses, std::vector<std::string>* refused = nullptr);

  // The ids of the group's members (every page). NOT_FOUND for an unknown group.
  absl::StatusOr<std::set<std::string>> GroupMemberIds(const std::string& group_id);

  // The relative Graph URL (after /v1.0) that looks `address` up by mail or proxy address.
  static std::string UserLookupPath(const std::string& address);

 private:
  struct Metrics;
  struct Reply {
    int status = 0;
    std::string body;
    http::Headers headers;
  };
  // One authorised request with retries of 401 (once), 5xx and 429 within `deadline`.
  absl::StatusOr<Reply> Call(const std::string& method, const std::string& url,
                             const std::string& body, const http::Headers& headers,
                             absl::Time deadline);
  absl::StatusOr<std::vector<std::optional<DirectoryUser>>> FindBatched(
      const std::vector<std::string>& addresses, absl::Time deadline,
      std::vector<std::string>* refused);
  void Count(int code);
  absl::Time Now() const;
  void Sleep(absl::Duration d) const;

  http::HttpClient& http_;
  GraphTokenSource& tokens_;
  const std::string api_url_;  // without a trailing slash
  const GraphClientOptions options_;
  std::unique_ptr<Metrics> metrics_;
};

// Parses a Graph users answer ({"value":[user, ...]}) and picks the user `address` belongs to.
absl::StatusOr<std::optional<DirectoryUser>> ParseUserLookup(const std::string& body,
                                                             const std::string& address);

}  // namespace zarc::mapper

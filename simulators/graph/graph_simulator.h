#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"
#include "simulators/graph/directory.h"

namespace zarc::crypto {
class Sha256;
}

namespace zarc::graph_sim {

struct GraphSimOptions {
  // App registration the token endpoint accepts. An empty tenant_id accepts any tenant.
  std::string tenant_id;
  std::string client_id = "zarc-graph-client";
  std::string client_secret = "zarc-graph-secret";
  // Certificate credentials: the PEM certificates registered on the app. A client assertion
  // (RFC 7523) signed RS256 or PS256 by the key of one of them, naming it by x5t#S256 or x5t, is
  // accepted as Entra ID accepts it (aud the token endpoint, iss = sub = client_id, within
  // nbf..exp give or take five minutes).
  std::vector<std::string> client_certificates_pem;
  // Federated credentials (workload identity): a client assertion issued by `issuer` for
  // `subject` with audience api://AzureADTokenExchange stands in for a secret, as Entra ID takes a
  // Kubernetes service account token. Its signature is not checked (the issuer's keys are not
  // reachable here); issuer, subject, audience and times are.
  struct FederatedCredential {
    std::string issuer;
    std::string subject;
  };
  std::vector<FederatedCredential> federated_credentials;
  // Managed identities the instance metadata endpoint (GET /metadata/identity/oauth2/token)
  // answers for: "" is the system-assigned identity, others are user-assigned client ids.
  std::vector<std::string> managed_identities = {""};
  absl::Duration token_ttl = absl::Hours(1);
  // Base URL clients reach the simulator at (upload URLs point there). Set after binding.
  std::string public_base_url = "http://127.0.0.1";

  // Tenant-wide throttling of /v1.0 requests (each request inside a $batch counts on its own):
  // every Nth answered 429 (0: never), and/or at most `throttle_per_second` per second (0: no
  // rate limit). 429s carry Retry-After: retry_after_seconds.
  int throttle_every_n = 0;
  int throttle_per_second = 0;
  int retry_after_seconds = 1;

  // Exchange Online's per-mailbox limits (BRIEF.md, "Contracts").
  int mailbox_concurrency = 4;
  uint64_t mailbox_upload_bytes = 150ull << 20;
  absl::Duration mailbox_upload_window = absl::Minutes(5);
  uint64_t max_request_bytes = 4ull << 20;
  uint64_t max_attachment_bytes = 150ull << 20;
  // createUploadSession refuses smaller attachments, as Outlook does (post them directly).
  uint64_t min_upload_session_bytes = 3ull << 20;
  // Test hook: every mailbox request holds its concurrency slot this long.
  absl::Duration mailbox_request_delay = absl::ZeroDuration();
  // Test hooks for upload-session failures: every Nth PUT to an upload URL (0: never), and/or the
  // Nth one only (1-based, 0: never), is answered 503 without storing its bytes. PUTs are counted
  // across all sessions from the start (or from the last SetUploadFaults).
  int fail_upload_put_every = 0;
  int fail_upload_put_at = 0;
  // Test hook for a poison address: a user query (GET /users?$filter=..., also inside $batch)
  // naming one of these lower-cased addresses is answered with the HTTP status given (400, 403,
  // 404, ...) and a Graph error body, as Graph answers one request of a $batch on its own.
  std::map<std::string, int> refuse_address_lookups;

  // Injected for tests; default absl::Now.
  std::function<absl::Time()> clock;
};

// Request counts by kind, for tests that assert how often a client called Graph.
struct GraphSimStats {
  int64_t tokens_issued = 0;
  int64_t tokens_by_certificate = 0;  // of tokens_issued, for a client assertion
  int64_t tokens_by_federation = 0;   // of tokens_issued, for a federated token
  int64_t tokens_by_managed_identity = 0;  // of tokens_issued, by the metadata endpoint
  int64_t http_requests = 0;   // /v1.0 HTTP requests (a $batch is one)
  int64_t graph_requests = 0;  // /v1.0 requests, each inside a $batch counted
  int64_t user_queries = 0;    // GET /users?$filter=...
  int64_t user_gets = 0;       // GET /users/{id}
  int64_t batches = 0;
  int64_t batch_requests = 0;
  int64_t max_batch_size = 0;
  int64_t group_member_pages = 0;
  int64_t throttled = 0;
  int64_t mailbox_requests = 0;
  int64_t upload_puts = 0;         // PUTs to upload URLs, failed ones included
  int64_t failed_upload_puts = 0;  // answered 503 by fail_upload_put_every / _at
  // Lower-cased address -> user queries whose $filter named it.
  std::map<std::string, int64_t> address_lookups;
};

struct StoredAttachment {
  std::string id;
  std::string name;
  std::string content_type;
  uint64_t size = 0;      // declared
  uint64_t received = 0;  // bytes stored so far
  std::string sha256;     // of the bytes, once complete
  bool complete = false;
};

struct StoredMessage {
  std::string id;
  std::string folder_id;
  std::string internet_message_id;  // with angle brackets, as Graph shows it
  std::string subject;
  std::string mime;  // the posted MIME; empty for a message created from JSON
  // As Graph sets them: a message created from MIME is a draft, received (and created) at import;
  // one created from JSON is a draft unless PidTagMessageFlags (Integer 0x0E07) was given at
  // creation without MSGFLAG_UNSENT (0x8), and received at PidTagMessageDeliveryTime
  // (SystemTime 0x0E06) when given.
  bool is_draft = true;
  bool is_read = false;
  absl::Time created;
  absl::Time received;
  std::optional<absl::Time> sent;  // PidTagClientSubmitTime (SystemTime 0x0039)
  // From JSON: the body, and the internet message headers (x- headers only).
  std::string body_content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> internet_headers;
  std::vector<StoredAttachment> attachments;
};

struct StoredFolder {
  std::string id;
  std::string display_name;
  std::string parent_id;
};

// Microsoft Graph v1.0 and the Microsoft identity platform token endpoint, as far as zarc uses
// them (README.md beside this file lists every route). Handle() is called concurrently by the HTTP
// server: thread-safe.
class GraphSimulator {
 public:
  GraphSimulator(Directory directory, GraphSimOptions options);

  http::ServerResponse Handle(const http::ServerRequest& request);

  void SetPublicBaseUrl(absl::string_view url);
  void SetThrottling(int every_n, int per_second, int retry_after_seconds);
  // As GraphSimOptions::fail_upload_put_every / _at; restarts the PUT count.
  void SetUploadFaults(int every_n, int at);
  // As GraphSimOptions::refuse_address_lookups (replaces it).
  void SetAddressFaults(std::map<std::string, int> refuse_address_lookups);
  // Every token issued so far stops being accepted, as when an admin revokes the app's sessions
  // or Exchange Online refuses a token before its expiry (clients must fetch a new one).
  void RevokeTokens();
  GraphSimStats Stats() const;
  // Stored messages of the mailbox of user `id_or_upn` (empty if unknown).
  std::vector<StoredMessage> Messages(absl::string_view id_or_upn) const;

 private:
  struct Mailbox {
    std::vector<StoredFolder> folders;
    std::vector<StoredMessage> messages;
    int in_flight = 0;
    std::vector<std::pair<absl::Time, uint64_t>> uploads;  // (when, bytes) inside the window
  };
  struct UploadSession {
    std::string user_id;
    std::string message_id;
    std::string attachment_id;
    uint64_t next = 0;
    std::shared_ptr<crypto::Sha256> hash;  // of the bytes received so far
    absl::Time expires;
  };

  absl::Time Now() const;
  http::ServerResponse HandleToken(const http::ServerRequest& request);
  // One Graph request (top-level or from a $batch); `path` is after /v1.0, decoded per segment.
  http::ServerResponse Route(const std::string& method, const std::vector<std::string>& segments,
                             absl::string_view query, const http::Headers& headers,
                             const std::string& body, bool in_batch);
  http::ServerResponse Batch(const http::ServerRequest& request);
  http::ServerResponse QueryUsers(absl::string_view query, const http::Headers& headers);
  http::ServerResponse GetUser(absl::string_view id, absl::string_view query);
  http::ServerResponse GroupMembers(absl::string_view group_id, absl::string_view query);
  http::ServerResponse MailboxRequest(const std::string& method,
                                      const std::vector<std::string>& segments,
                                      absl::string_view query, const http::Headers& headers,
                                      const std::string& body);
  http::ServerResponse MailboxRequestLocked(const GraphUser& user, const std::string& method,
                                            const std::vector<std::string>& segments,
                                            absl::string_view query, const http::Headers& headers,
                                            const std::string& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  http::ServerResponse Upload(const http::ServerRequest& request, absl::string_view token);
  http::ServerResponse Admin(const http::ServerRequest& request,
                             const std::vector<std::string>& segments);

  // True (and counts it) when this Graph request is to be answered 429.
  bool Throttle() ABSL_LOCKS_EXCLUDED(mu_);
  bool Authorized(const http::Headers& headers) ABSL_LOCKS_EXCLUDED(mu_);
  // Records `bytes` uploaded to `mailbox`; false when the window's budget is spent.
  bool ChargeUpload(Mailbox& mailbox, uint64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NewId(absl::string_view prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Mailbox& MailboxOf(const GraphUser& user) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Directory directory_;

  mutable absl::Mutex mu_;
  GraphSimOptions options_ ABSL_GUARDED_BY(mu_);
  GraphSimStats stats_ ABSL_GUARDED_BY(mu_);
  struct IssuedToken {
    absl::Time expires;
    std::string scope;
    bool by_certificate = false;
  };
  // A new access token for `scope` (the caller holds mu_): a JWT with the claims an app-only token
  // of Entra ID carries (aud, iss, iat, nbf, exp, appid, tid, roles, uti), unsigned (alg none),
  // since resources here check tokens by asking the simulator (or, as Azurite --oauth basic does,
  // by their claims alone).
  std::string IssueToken(const std::string& scope, const std::string& app_id, absl::Time now,
                         bool by_certificate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // POST .../messages with Content-Type application/json: a message created from JSON (the
  // caller holds mu_); `base` for @odata.context.
  http::ServerResponse CreateJsonMessage(Mailbox& mailbox, const std::string& folder_id,
                                         const std::string& body, const std::string& base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // GET /metadata/identity/oauth2/token: Azure's instance metadata service (IMDS).
  http::ServerResponse ManagedIdentityToken(const http::ServerRequest& request);
  // GET /_sim/token-info: the claims of the bearer token (aud, appid, tid, roles, exp), 401 for
  // one that is unknown, expired or revoked. Stands in for the resource's own check of a token
  // (Dovecot's oauth2 passdb asks it, as Exchange Online checks the token itself).
  http::ServerResponse TokenInfo(const http::ServerRequest& request);
  std::map<std::string, IssuedToken> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Mailbox> mailboxes_ ABSL_GUARDED_BY(mu_);      // by user id
  std::map<std::string, UploadSession> uploads_ ABSL_GUARDED_BY(mu_);  // by URL token
  int64_t throttle_counter_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t upload_put_counter_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t second_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t in_second_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace zarc::graph_sim

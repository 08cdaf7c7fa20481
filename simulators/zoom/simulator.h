#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"
#include "simulators/zoom/faults.h"
#include "simulators/zoom/rate_limit.h"
#include "simulators/zoom/rng.h"
#include "simulators/zoom/tenant.h"
#include "simulators/zoom/webhook.h"

namespace zarc::zoom_sim {

struct SimulatorOptions {
  // Server-to-Server OAuth app credentials the token endpoint accepts.
  std::string client_id = "zarc-sim-client";
  std::string client_secret = "zarc-sim-secret";
  absl::Duration token_ttl = absl::Hours(1);
  // Base URL clients reach the simulator at (download_url, play_url, api_url). Set after binding.
  std::string public_base_url = "http://127.0.0.1";
  // Where /rec/download redirects to; empty: public_base_url. Point it at another host name or
  // port to check that a client drops its token on the redirect.
  std::string storage_base_url;
  RateLimits limits;  // default: unlimited; see LimitsForPlan
  FaultConfig faults;
  uint64_t seed = 1;
  std::string webhook_url;
  std::string webhook_secret;
  // Injected for tests; defaults: absl::Now and absl::SleepFor.
  std::function<absl::Time()> clock;
  std::function<void(absl::Duration)> sleep;
};

// What a single file does, for tests that need one file to misbehave while the others are fine.
enum class FileState {
  kCompleted,       // as generated
  kProcessing,      // listed as still processing (file_type "", size 0; archive: status
                    // "processing"); its download answers 404 "still processing"
  kFailed,          // listed with status "failed"; its download answers 404
  kHtmlRefusal,     // listed as completed; storage answers 200 with an HTML refusal page
  kBadFingerprint,  // archive files: encryption_fingerprint does not match the bytes served
};

struct WebhookReply {
  int status = 0;
  std::string body;
};
// Delivers one signed webhook request (an HTTP POST in the executable, a fake in tests).
using WebhookTransport = std::function<absl::StatusOr<WebhookReply>(const WebhookRequest&)>;

// The Zoom API as published (/work/shared/zoom-api/README.md), over one tenant. Handle() is a
// plain function of the request and is called concurrently by the HTTP server: thread-safe.
//
// Routes: POST /oauth/token; GET /v2/users, /v2/users/{userId}/recordings,
// /v2/meetings/{meetingId}/recordings, /v2/past_meetings/{meetingId}[/participants],
// /v2/past_meetings/{meetingUUID}/archive_files, /v2/archive_files; GET /rec/download/{fileId},
// /rec/archive/download/{fileId} (token required, 302 to storage), /storage/{fileId} (signed);
// admin: GET /_sim/stats, GET|POST /_sim/faults, POST /_sim/webhooks/fire,
// POST /_sim/webhooks/build, POST /_sim/meetings, POST /_sim/state, GET /_sim/manifest.
class Simulator {
 public:
  Simulator(Tenant tenant, TenantOptions generator, SimulatorOptions options);

  http::ServerResponse Handle(const http::ServerRequest& request);

  void SetPublicBaseUrl(absl::string_view url);
  void SetStorageBaseUrl(absl::string_view url);
  void SetWebhookTransport(WebhookTransport transport);

  // The signed webhook for `event` about meeting `meeting_uuid` (not sent). Events:
  // recording.completed, recording.transcript_completed, recording.archive_files_completed,
  // meeting.ended.
  absl::StatusOr<WebhookRequest> BuildWebhook(absl::string_view event,
                                              absl::string_view meeting_uuid);

  Tenant TenantSnapshot() const;

  // Per-file, per-user and per-meeting behaviours; each can be switched back while running.
  void SetFileState(absl::string_view file_id, FileState state);
  // GET /users/{userId}/recordings answers `http_status` for this user (404: the user was removed;
  // 400: refused; 429: the daily limit, Retry-After the next UTC midnight); 0 turns it off.
  void SetUserRecordingsError(absl::string_view user_id, int http_status);
  // Past meeting participants answers an empty list while hidden (`status` 0), or 404 (`status`
  // 404), as Zoom does for a meeting whose report is not ready yet; `status` 500 answers Zoom's
  // internal error on every call (a meeting whose capture fails until switched back).
  void SetParticipantsHidden(absl::string_view meeting_uuid, bool hidden, int status = 0);
  RateLimiter& rate_limiter() { return limiter_; }
  FaultInjector& fault_injector() { return faults_; }

 private:
  struct PageCursor {
    std::string scope;
    size_t offset = 0;
    absl::Time issued;
  };
  struct Route;

  absl::Time Now() const;
  http::ServerResponse Dispatch(const http::ServerRequest& request);
  http::ServerResponse HandleToken(const http::ServerRequest& request);
  http::ServerResponse HandleApi(const http::ServerRequest& request,
                                 const std::vector<std::string>& segments);
  http::ServerResponse HandleDownload(const http::ServerRequest& request,
                                      absl::string_view file_id);
  http::ServerResponse HandleStorage(const http::ServerRequest& request,
                                     absl::string_view file_id);
  http::ServerResponse HandleAdmin(const http::ServerRequest& request,
                                   const std::vector<std::string>& segments);

  http::ServerResponse ListUsers(absl::string_view query);
  http::ServerResponse ListUserRecordings(absl::string_view user, absl::string_view query);
  http::ServerResponse GetMeetingRecordings(absl::string_view raw_meeting);
  http::ServerResponse GetPastMeeting(absl::string_view raw_meeting);
  http::ServerResponse ListParticipants(absl::string_view raw_meeting, absl::string_view query);
  http::ServerResponse GetMeetingArchive(absl::string_view raw_meeting);
  http::ServerResponse ListArchives(absl::string_view query);
  http::ServerResponse FireWebhook(absl::string_view body);
  http::ServerResponse AddMeeting(absl::string_view body);
  http::ServerResponse SetState(absl::string_view body);
  http::ServerResponse Stats();

  bool TokenValid(absl::string_view token, bool for_download) ABSL_LOCKS_EXCLUDED(mu_);
  std::string NewSecret(absl::string_view prefix) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Resolves next_page_token for a listing identified by `scope`: the offset to start at.
  absl::StatusOr<size_t> PageStart(absl::string_view query, absl::string_view scope)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string NextPageToken(absl::string_view scope, size_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts one recording listing of `meeting`; true while its files still show as processing.
  bool CountListing(const Meeting& meeting) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool StillProcessing(const Meeting& meeting) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Fingerprint(const Meeting& meeting, const FileEntry& file)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TenantOptions generator_;
  const std::string storage_key_;  // signs storage URLs
  RateLimiter limiter_;
  FaultInjector faults_;

  mutable absl::Mutex mu_;
  SimulatorOptions options_ ABSL_GUARDED_BY(mu_);
  Tenant tenant_ ABSL_GUARDED_BY(mu_);
  Rng rng_ ABSL_GUARDED_BY(mu_);
  WebhookTransport transport_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> access_tokens_ ABSL_GUARDED_BY(mu_);    // token -> expiry
  std::map<std::string, absl::Time> download_tokens_ ABSL_GUARDED_BY(mu_);  // webhook tokens
  std::map<std::string, PageCursor> cursors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> listings_ ABSL_GUARDED_BY(mu_);  // meeting uuid -> listings so far
  std::map<std::string, std::string> fingerprints_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, FileState> file_states_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> user_recordings_errors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> hidden_participants_ ABSL_GUARDED_BY(mu_);  // uuid -> status
  int added_meetings_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t tokens_issued_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t downloads_started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t webhooks_sent_ ABSL_GUARDED_BY(mu_) = 0;
};

// Resolves a {meetingId}/{meetingUUID} path segment as Zoom does: percent-decoded once; a UUID
// that then starts with '/' or holds "//" was sent single-encoded and is not found (nullopt);
// what still holds %XX escapes was double-encoded and is decoded again.
std::optional<std::string> DecodeMeetingPathSegment(absl::string_view raw);

// Writes one JSON file per API response (every path above, including paging and the
// double-encoded cases) into `dir` for the contract checker: {"path": template, "request": ...,
// "status": N, "body": <response>}. Returns how many were written.
absl::StatusOr<int> DumpContractResponses(const TenantOptions& tenant_options,
                                          absl::string_view dir);

}  // namespace zarc::zoom_sim

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"
#include "services/fetcher/rate_limiter.h"
#include "services/fetcher/url_policy.h"
#include "services/fetcher/zoom_types.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

struct ZoomCredentials {
  std::string oauth_url = "https://zoom.us/oauth/token";
  std::string account_id;
  std::string client_id;
  std::string client_secret;  // secret: never logged
};

// Server-to-Server OAuth (zoom-api/README.md, "Authentication"): a token is fetched with the
// account_credentials grant and reused until less than a minute of it remains. Thread-safe; one
// refresh at a time.
class ZoomTokenSource {
 public:
  ZoomTokenSource(http::HttpClient& http, ZoomCredentials credentials, prometheus::Registry* metrics);
  ~ZoomTokenSource();
  absl::StatusOr<std::string> Token();
  // The API refused `token` (401 code 124): the next Token() fetches a new one.
  void Invalidate(const std::string& token);

 private:
  struct Metrics;
  http::HttpClient& http_;
  const ZoomCredentials credentials_;
  std::unique_ptr<Metrics> metrics_;
  absl::Mutex mutex_;
  std::string token_ ABSL_GUARDED_BY(mutex_);
  absl::Time expires_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

// The Zoom REST calls the fetcher makes, each paced by its rate-limit category and retried on
// 429 (honouring Retry-After, capped by the limiter), 5xx and transport errors. A daily-limit 429
// pauses the category and ends the call with RESOURCE_EXHAUSTED. Once the limiter is stopped,
// calls end with CANCELLED, also those waiting. A token goes only to allowed hosts.
class ZoomApi {
 public:
  struct Options {
    std::string api_base = "https://api.zoom.us/v2";
    int max_attempts = 6;
    absl::Duration backoff = absl::Milliseconds(500);
    // A pause longer than this ends the call with RESOURCE_EXHAUSTED instead of waiting in it.
    absl::Duration max_wait = absl::Minutes(2);
    int page_size = 300;
    // The account the credentials are for. Zoom's Archiving API answers carry no `account_id`
    // (cloud recordings and webhooks do): a meeting that arrives without one is given this one,
    // so its item id and Message-ID do not depend on which source listed it.
    std::string account_id;
  };

  ZoomApi(http::HttpClient& http, ZoomTokenSource& tokens, ZoomRateLimiter& limiter,
          const ZoomHostPolicy& hosts, Options options, prometheus::Registry* metrics);
  ~ZoomApi();

  absl::StatusOr<std::vector<ZoomUser>> ListActiveUsers();
  // One page of /users/{id}/recordings. Zoom clamps ranges over a month: callers walk months.
  absl::StatusOr<ZoomPage<ZoomMeeting>> UserRecordings(const std::string& user_id, absl::Time from,
                                                       absl::Time to, const std::string& page_token);
  // One page of /archive_files (range at most 7 days).
  absl::StatusOr<ZoomPage<ZoomMeeting>> ArchiveFiles(absl::Time from, absl::Time to,
                                                     const std::string& page_token);
  absl::StatusOr<ZoomMeeting> MeetingRecordings(const std::string& meeting_uuid);
  absl::StatusOr<ZoomMeeting> MeetingArchiveFiles(const std::string& meeting_uuid);
  absl::StatusOr<ZoomPastMeeting> PastMeeting(const std::string& meeting_uuid);
  // Every participant row of a past meeting (all pages).
  absl::StatusOr<std::vector<ZoomParticipantRow>> Participants(const std::string& meeting_uuid);

  // GET api_base + path_and_query, returning the body of a 200.
  absl::StatusOr<std::string> Get(const std::string& path_and_query, ZoomCategory category);

  ZoomTokenSource& tokens() { return tokens_; }
  const ZoomHostPolicy& hosts() const { return hosts_; }

 private:
  struct Metrics;
  void FillAccount(ZoomMeeting& meeting) const;
  http::HttpClient& http_;
  ZoomTokenSource& tokens_;
  ZoomRateLimiter& limiter_;
  const ZoomHostPolicy& hosts_;
  const Options options_;
  std::unique_ptr<Metrics> metrics_;
};

// When a Zoom error response says to come back: Retry-After as seconds or ISO/HTTP date.
absl::Time RetryAt(const http::ClientResponse& response, absl::Time now, absl::Duration fallback);

}  // namespace zarc::fetcher

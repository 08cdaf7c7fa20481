#include "services/fetcher/zoom_client.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/retrying_client.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"

namespace zarc::fetcher {

struct ZoomTokenSource::Metrics {
  prometheus::Counter* ok = nullptr;
  prometheus::Counter* failed = nullptr;
};

ZoomTokenSource::ZoomTokenSource(http::HttpClient& http, ZoomCredentials credentials,
                                 prometheus::Registry* registry)
    : http_(http), credentials_(std::move(credentials)), metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    auto& family = prometheus::BuildCounter()
                       .Name("zarc_zoom_token_refreshes_total")
                       .Help("Zoom OAuth token requests by outcome")
                       .Register(*registry);
    metrics_->ok = &family.Add({{"outcome", "ok"}});
    metrics_->failed = &family.Add({{"outcome", "failed"}});
  }
}

ZoomTokenSource::~ZoomTokenSource() = default;

absl::StatusOr<std::string> ZoomTokenSource::Token() {
  absl::MutexLock lock(&mutex_);
  if (!token_.empty() && absl::Now() + absl::Seconds(60) < expires_) return token_;
  auto fail = [this](absl::Status s) {
    if (metrics_->failed) metrics_->failed->Increment();
    log::Error("fetcher", "Zoom token request failed", {{"error", s}});
    return s;
  };
  http::ClientRequest req;
  req.method = "POST";
  req.url = credentials_.oauth_url;
  req.headers = {{"Authorization", "Basic " + crypto::Base64Encode(absl::StrCat(
                                                  credentials_.client_id, ":",
                                                  credentials_.client_secret))},
                 {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = absl::StrCat("grant_type=account_credentials&account_id=",
                          http::PercentEncode(credentials_.account_id));
  req.timeout = absl::Seconds(30);
  absl::StatusOr<http::ClientResponse> resp = http_.Send(req);
  if (!resp.ok()) {
    return fail(absl::UnavailableError(
        absl::StrCat("Zoom token endpoint unreachable: ", resp.status().message())));
  }
  if (resp->status != 200) {
    absl::StatusOr<json::Value> body = json::Parse(resp->body, "Zoom token error");
    const std::string reason = body.ok() ? json::String(*body, "reason", json::String(*body, "error"))
                                         : std::string("no details");
    const std::string hint = (resp->status == 400 || resp->status == 401)
                                 ? "check zoom.account_id, zoom.client_id and zoom.client_secret"
                                 : "Zoom may be unavailable; it will be retried";
    absl::Status s(resp->status >= 500 ? absl::StatusCode::kUnavailable
                                       : absl::StatusCode::kUnauthenticated,
                   absl::StrCat("Zoom refused the token request (HTTP ", resp->status, ": ", reason,
                                "); ", hint));
    return fail(s);
  }
  absl::StatusOr<json::Value> body = json::Parse(resp->body, "Zoom token response");
  if (!body.ok()) return fail(body.status());
  std::string token = json::String(*body, "access_token");
  if (token.empty()) return fail(absl::InternalError("Zoom token response has no access_token"));
  token_ = std::move(token);
  expires_ = absl::Now() + absl::Seconds(json::Int(*body, "expires_in", 3600));
  if (metrics_->ok) metrics_->ok->Increment();
  log::Info("fetcher", "Zoom token refreshed", {{"expires_in_s", json::Int(*body, "expires_in", 3600)}});
  return token_;
}

void ZoomTokenSource::Invalidate(const std::string& token) {
  absl::MutexLock lock(&mutex_);
  if (token == token_) token_.clear();
}

struct ZoomApi::Metrics {
  prometheus::Family<prometheus::Counter>* calls = nullptr;
  prometheus::Family<prometheus::Counter>* throttled = nullptr;
};

ZoomApi::ZoomApi(http::HttpClient& http, ZoomTokenSource& tokens, ZoomRateLimiter& limiter,
                 const ZoomHostPolicy& hosts, Options options, prometheus::Registry* registry)
    : http_(http),
      tokens_(tokens),
      limiter_(limiter),
      hosts_(hosts),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->calls = &prometheus::BuildCounter()
                           .Name("zarc_zoom_api_calls_total")
                           .Help("Zoom API calls by rate-limit category and HTTP status")
                           .Register(*registry);
    metrics_->throttled = &prometheus::BuildCounter()
                               .Name("zarc_zoom_rate_limited_total")
                               .Help("Zoom 429 answers by rate-limit category")
                               .Register(*registry);
    // Present at 0 from the start, so alerts on their rate see a series before the first 429.
    for (ZoomCategory c : {ZoomCategory::kLight, ZoomCategory::kMedium, ZoomCategory::kHeavy}) {
      metrics_->throttled->Add({{"category", CategoryName(c)}});
    }
  }
}

ZoomApi::~ZoomApi() = default;

absl::Time RetryAt(const http::ClientResponse& response, absl::Time now, absl::Duration fallback) {
  if (auto value = http::FindHeader(response.headers, "Retry-After")) {
    if (auto d = http::ParseRetryAfter(*value, now)) return now + *d;
  }
  return now + fallback;
}

absl::StatusOr<std::string> ZoomApi::Get(const std::string& path_and_query, ZoomCategory category) {
  const std::string url = options_.api_base + path_and_query;
  if (absl::Status s = hosts_.Check(url); !s.ok()) return s;
  absl::Status last = absl::UnknownError("no attempt made");
  bool refreshed = false;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    // A category paused for longer than max_wait: fail now rather than hold this thread (and the
    // caller's other work) until then.
    if (const absl::Time paused = limiter_.PausedUntil(category);
        paused - absl::Now() > options_.max_wait) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Zoom rate limit (", CategoryName(category), ") reached; no ", CategoryName(category),
          " call before ", FormatZoomDateTime(paused), ", not calling ", http::RedactUrl(url)));
    }
    absl::StatusOr<std::string> token = tokens_.Token();
    if (!token.ok()) return token.status();
    if (absl::Status s = limiter_.Acquire(category); !s.ok()) return s;
    http::ClientRequest req;
    req.url = url;
    req.headers = {{"Authorization", "Bearer " + *token}, {"Accept", "application/json"}};
    req.timeout = absl::Seconds(60);
    absl::StatusOr<http::ClientResponse> resp = http_.Send(req);
    const int code = resp.ok() ? resp->status : 0;
    if (metrics_->calls != nullptr) {
      metrics_->calls->Add({{"category", CategoryName(category)}, {"code", std::to_string(code)}})
          .Increment();
    }
    if (!resp.ok()) {
      last = resp.status();
    } else if (code == 200) {
      limiter_.OnSuccess(category);
      return std::move(resp->body);
    } else if (code == 429) {
      if (metrics_->throttled != nullptr) {
        metrics_->throttled->Add({{"category", CategoryName(category)}}).Increment();
      }
      const std::string type =
          http::FindHeader(resp->headers, "X-RateLimit-Type").value_or("QPS");
      const bool daily = absl::EqualsIgnoreCase(type, "Daily-limit");
      const absl::Time now = absl::Now();
      const absl::Time retry_at = RetryAt(*resp, now, absl::Seconds(1));
      last = absl::ResourceExhaustedError(
          absl::StrCat("Zoom rate limit (", CategoryName(category), ", ", type, ") on ",
                       http::RedactUrl(url), "; retry after ", FormatZoomDateTime(retry_at)));
      // Zoom's daily limit may be this call's own (per user) as well as the category's: end this
      // call, and leave the other calls to learn it from Zoom rather than pausing them all until
      // the limit resets (hours away).
      if (daily) {
        limiter_.OnThrottled(category, now + std::min(options_.max_wait, absl::Seconds(1)));
        return last;
      }
      // A per-second limit pauses the category, capped by the limiter (Retry-After comes from
      // outside); a pause still beyond max_wait ends this call rather than hold its thread.
      const absl::Time resume_at = limiter_.OnThrottled(category, retry_at, ZoomLimitType::kQps);
      if (resume_at - now > options_.max_wait) return last;
      continue;  // the limiter holds the next Acquire until resume_at
    } else if (code == 401 && !refreshed) {
      // Code 124: the token expired or was revoked; fetch a new one once.
      tokens_.Invalidate(*token);
      refreshed = true;
      --attempt;
      continue;
    } else if (code == 404) {
      return absl::NotFoundError(absl::StrCat("Zoom has no ", http::RedactUrl(url), ": ",
                                              resp->body.substr(0, 200)));
    } else if (code >= 500 || code == 408) {
      last = absl::UnavailableError(
          absl::StrCat("Zoom answered HTTP ", code, " for ", http::RedactUrl(url)));
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          "Zoom refused ", http::RedactUrl(url), " with HTTP ", code, ": ",
          resp->body.substr(0, 300), code == 401 || code == 403 ? " (check the app's scopes)" : ""));
    }
    if (absl::Status s = limiter_.Wait(options_.backoff * (1 << std::min(attempt - 1, 6)));
        !s.ok()) {
      return s;
    }
  }
  return absl::UnavailableError(absl::StrCat("Zoom call failed after ", options_.max_attempts,
                                             " attempts: ", last.message()));
}

absl::StatusOr<std::vector<ZoomUser>> ZoomApi::ListActiveUsers() {
  std::vector<ZoomUser> users;
  std::string token;
  do {
    absl::StatusOr<std::string> body =
        Get(absl::StrCat("/users?status=active&page_size=", options_.page_size,
                         token.empty() ? "" : "&next_page_token=" + http::PercentEncode(token)),
            ZoomCategory::kMedium);
    if (!body.ok()) return body.status();
    absl::StatusOr<ZoomPage<ZoomUser>> page = ParseUsersPage(*body);
    if (!page.ok()) return page.status();
    for (ZoomUser& u : page->items) users.push_back(std::move(u));
    token = page->next_page_token;
  } while (!token.empty());
  return users;
}

absl::StatusOr<ZoomPage<ZoomMeeting>> ZoomApi::UserRecordings(const std::string& user_id,
                                                              absl::Time from, absl::Time to,
                                                              const std::string& page_token) {
  absl::StatusOr<std::string> body = Get(
      absl::StrCat("/users/", http::PercentEncode(user_id), "/recordings?from=", FormatZoomDate(from),
                   "&to=", FormatZoomDate(to), "&page_size=", options_.page_size,
                   page_token.empty() ? "" : "&next_page_token=" + http::PercentEncode(page_token)),
      ZoomCategory::kMedium);
  if (!body.ok()) return body.status();
  absl::StatusOr<ZoomPage<ZoomMeeting>> page = ParseRecordingsPage(*body);
  if (page.ok()) {
    for (ZoomMeeting& m : page->items) FillAccount(m);
  }
  return page;
}

void ZoomApi::FillAccount(ZoomMeeting& meeting) const {
  if (meeting.account_id.empty()) meeting.account_id = options_.account_id;
}

absl::StatusOr<ZoomPage<ZoomMeeting>> ZoomApi::ArchiveFiles(absl::Time from, absl::Time to,
                                                           const std::string& page_token) {
  absl::StatusOr<std::string> body = Get(
      absl::StrCat("/archive_files?from=", http::PercentEncode(FormatZoomDateTime(from)),
                   "&to=", http::PercentEncode(FormatZoomDateTime(to)),
                   "&query_date_type=meeting_start_time&page_size=", options_.page_size,
                   page_token.empty() ? "" : "&next_page_token=" + http::PercentEncode(page_token)),
      ZoomCategory::kMedium);
  if (!body.ok()) return body.status();
  absl::StatusOr<ZoomPage<ZoomMeeting>> page = ParseArchivePage(*body);
  if (page.ok()) {
    for (ZoomMeeting& m : page->items) FillAccount(m);
  }
  return page;
}

absl::StatusOr<ZoomMeeting> ZoomApi::MeetingRecordings(const std::string& uuid) {
  absl::StatusOr<std::string> body =
      Get(absl::StrCat("/meetings/", EncodeMeetingUuid(uuid), "/recordings"), ZoomCategory::kLight);
  if (!body.ok()) return body.status();
  absl::StatusOr<ZoomMeeting> meeting = ParseMeetingRecordings(*body);
  if (meeting.ok()) FillAccount(*meeting);
  return meeting;
}

absl::StatusOr<ZoomMeeting> ZoomApi::MeetingArchiveFiles(const std::string& uuid) {
  absl::StatusOr<std::string> body = Get(
      absl::StrCat("/past_meetings/", EncodeMeetingUuid(uuid), "/archive_files"), ZoomCategory::kLight);
  if (!body.ok()) return body.status();
  absl::StatusOr<ZoomMeeting> meeting = ParseMeetingRecordings(*body);
  if (meeting.ok()) FillAccount(*meeting);
  return meeting;
}

absl::StatusOr<ZoomPastMeeting> ZoomApi::PastMeeting(const std::string& uuid) {
  absl::StatusOr<std::string> body =
      Get(absl::StrCat("/past_meetings/", EncodeMeetingUuid(uuid)), ZoomCategory::kLight);
  if (!body.ok()) return body.status();
  return ParsePastMeeting(*body);
}

absl::StatusOr<std::vector<ZoomParticipantRow>> ZoomApi::Participants(const std::string& uuid) {
  std::vector<ZoomParticipantRow> rows;
  std::string token;
  do {
    absl::StatusOr<std::string> body =
        Get(absl::StrCat("/past_meetings/", EncodeMeetingUuid(uuid),
                         "/participants?page_size=", options_.page_size,
                         token.empty() ? "" : "&next_page_token=" + http::PercentEncode(token)),
            ZoomCategory::kMedium);
    if (!body.ok()) return body.status();
    absl::StatusOr<ZoomPage<ZoomParticipantRow>> page = ParseParticipantsPage(*body);
    if (!page.ok()) return page.status();
    for (ZoomParticipantRow& r : page->items) rows.push_back(std::move(r));
    token = page->next_page_token;
  } while (!token.empty());
  return rows;
}

}  // namespace zarc::fetcher

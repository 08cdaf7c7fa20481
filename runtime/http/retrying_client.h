#pragma once

#include <functional>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"

namespace zarc::http {

struct RetryPolicy {
  int max_attempts = 5;
  // Backoff before retry n (1-based) is uniform in [0, min(max_backoff, initial_backoff * 2^(n-1)))
  // ("full jitter"), unless the server sent Retry-After.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  // No attempt starts, and no wait is begun, past this much time after the first attempt.
  absl::Duration total_deadline = absl::Minutes(5);
  // Injectable for tests; defaults are absl::SleepFor, absl::Now and a thread-safe uniform [0, 1).
  std::function<void(absl::Duration)> sleep;
  std::function<absl::Time()> now;
  std::function<double()> random;
};

// Retries transient failures of an inner client: transport errors (Unavailable, DeadlineExceeded)
// and statuses 408, 429, 500, 502, 503, 504. Only GET, HEAD, PUT, DELETE and requests marked
// retry_safe are retried. A streaming request is retried only while nothing reached the sink.
// When retries run out the last response (or error) is returned as is. When the server's
// Retry-After points past the deadline, the call returns at once with a ResourceExhausted (429)
// or Unavailable status whose RetryAfterTime() says when to come back.
// Thread-safe if the inner client and the policy's functions are.
class RetryingHttpClient final : public HttpClient {
 public:
  RetryingHttpClient(HttpClient& inner, RetryPolicy policy);

  absl::StatusOr<ClientResponse> Send(const ClientRequest& request) override;
  absl::StatusOr<ClientResponse> SendStreaming(const ClientRequest& request,
                                               io::ByteSink& sink) override;

 private:
  absl::StatusOr<ClientResponse> Run(
      const ClientRequest& request,
      const std::function<absl::StatusOr<ClientResponse>()>& attempt,
      const std::function<bool()>& may_retry);

  HttpClient& inner_;  // not owned; outlives this
  RetryPolicy policy_;
};

bool IsRetryableStatusCode(int status);

// Parses a Retry-After value given as delay-seconds, an HTTP-date (RFC 9110 section 5.6.7, all
// three historic forms) or an ISO 8601 / RFC 3339 date-time (Zoom's daily-limit answer). Returns
// the wait from `now` (zero for a date in the past), or nullopt if the value is none of these.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// The time a status returned by RetryingHttpClient asks the caller to come back, if any.
std::optional<absl::Time> RetryAfterTime(const absl::Status& status);

}  // namespace zarc::http

#include "runtime/http/retrying_client.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/types/optional.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "runtime/log/log.h"

namespace zarc::http {
namespace {

constexpr char kRetryAfterPayload[] = "type.zarc.dev/retry-after";

bool IsIdempotent(absl::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
}

bool IsRetryableError(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

double DefaultRandom() {
  static absl::Mutex mu(absl::kConstInit);
  static std::mt19937_64* engine = new std::mt19937_64(std::random_device{}());
  absl::MutexLock lock(&mu);
  return std::uniform_real_distribution<double>(0.0, 1.0)(*engine);
}

// Counts what reaches the sink so a retry never duplicates bytes already written.
class CountingSink final : public io::ByteSink {
 public:
  explicit CountingSink(io::ByteSink& inner) : inner_(inner) {}
  absl::Status Write(absl::string_view bytes) override {
    touched_ = true;
    return inner_.Write(bytes);
  }
  absl::Status Close() override { return inner_.Close(); }
  bool touched() const { return touched_; }

 private:
  io::ByteSink& inner_;
  bool touched_ = false;
};

}  // namespace

bool IsRetryableStatusCode(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

RetryingHttpClient::RetryingHttpClient(HttpClient& inner, RetryPolicy policy)
    : inner_(inner), policy_(std::move(policy)) {
  if (!policy_.sleep) policy_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  if (!policy_.now) policy_.now = [] { return absl::Now(); };
  if (!policy_.random) policy_.random = DefaultRandom;
  policy_.max_attempts = std::max(1, policy_.max_attempts);
}

absl::StatusOr<ClientResponse> RetryingHttpClient::Send(const ClientRequest& request) {
  return Run(
      request, [&] { return inner_.Send(request); }, [] { return true; });
}

absl::StatusOr<ClientResponse> RetryingHttpClient::SendStreaming(const ClientRequest& request,
                                                                 io::ByteSink& sink) {
  CountingSink counting(sink);
  return Run(
      request, [&] { return inner_.SendStreaming(request, counting); },
      [&] { return !counting.touched(); });
}

absl::StatusOr<ClientResponse> RetryingHttpClient::Run(
    const ClientRequest& request, const std::function<absl::StatusOr<ClientResponse>()>& attempt,
    const std::function<bool()>& may_retry) {
  const bool retryable_method = request.retry_safe || IsIdempotent(request.method);
  const absl::Time deadline = policy_.now() + policy_.total_deadline;
  for (int n = 1;; ++n) {
    absl::StatusOr<ClientResponse> result = attempt();
    const bool transient =
        result.ok() ? IsRetryableStatusCode(result->status) : IsRetryableError(result.status());
    if (!transient || !retryable_method || !may_retry()) return result;

    const absl::Time now = policy_.now();
    std::optional<absl::Duration> server_wait;
    if (result.ok()) {
      if (auto header = FindHeader(result->headers, "Retry-After")) {
        server_wait = ParseRetryAfter(*header, now);
      }
    }
    if (server_wait.has_value() && now + *server_wait > deadline) {
      const absl::Time come_back = now + *server_wait;
      const std::string message = absl::StrCat(
          request.method, " ", RedactUrl(request.url), " answered ", result->status,
          " and asks to retry after ", absl::FormatTime(absl::RFC3339_sec, come_back, absl::UTCTimeZone()),
          ", past this call's retry deadline; try again after that time");
      absl::Status status = result->status == 429 ? absl::ResourceExhaustedError(message)
                                                  : absl::UnavailableError(message);
      status.SetPayload(kRetryAfterPayload,
                        absl::Cord(absl::StrCat(absl::ToUnixMillis(come_back))));
      return status;
    }
    if (n >= policy_.max_attempts) return result;

    absl::Duration wait;
    if (server_wait.has_value()) {
      wait = *server_wait;
    } else {
      const absl::Duration ceiling =
          std::min(policy_.max_backoff, policy_.initial_backoff * std::ldexp(1.0, std::min(n - 1, 30)));
      wait = ceiling * policy_.random();
    }
    if (now + wait > deadline) return result;
    log::Warn("http", "retrying request",
              {{"method", request.method},
               {"url", RedactUrl(request.url)},
               {"attempt", n},
               {"outcome", result.ok() ? absl::StrCat(result->status) : result.status().ToString()},
               {"wait_ms", absl::ToInt64Milliseconds(wait)}});
    policy_.sleep(wait);
  }
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(value, &seconds)) return std::nullopt;
    return absl::Seconds(seconds);
  }
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",   // IMF-fixdate (RFC 9110)
      "%A, %d-%b-%y %H:%M:%S GMT",   // obsolete RFC 850 form
      "%a %b %e %H:%M:%S %Y",        // obsolete asctime() form
      absl::RFC3339_full,            // ISO 8601 with offset or Z
      "%Y-%m-%d%ET%H:%M:%E*S",       // ISO 8601 without offset: UTC
  };
  for (const char* format : kFormats) {
    absl::Time when;
    std::string error;
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &when, &error)) {
      return std::max(absl::ZeroDuration(), when - now);
    }
  }
  return std::nullopt;
}

std::optional<absl::Time> RetryAfterTime(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRetryAfterPayload);
  if (!payload.has_value()) return std::nullopt;
  int64_t millis = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &millis)) return std::nullopt;
  return absl::FromUnixMillis(millis);
}

}  // namespace zarc::http

#include "services/fetcher/zoom_client.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace zarc::fetcher {
namespace {

using ::testing::HasSubstr;

// Zoom answering every API call with 429 and the given headers (the token request succeeds).
class ThrottlingZoom final : public http::HttpClient {
 public:
  explicit ThrottlingZoom(http::Headers headers) : headers_(std::move(headers)) {}
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    if (request.method == "POST") {
      return http::ClientResponse{
          .status = 200, .body = R"({"access_token":"tok","token_type":"bearer","expires_in":3600})"};
    }
    absl::MutexLock lock(&mu_);
    ++calls_;
    return http::ClientResponse{
        .status = 429,
        .headers = headers_,
        .body = R"({"code":429,"message":"You have reached the maximum rate limit."})"};
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest&,
                                                     io::ByteSink&) override {
    return absl::UnimplementedError("not used");
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const http::Headers headers_;
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Client {
  explicit Client(http::Headers headers)
      : http(std::move(headers)),
        tokens(http, ZoomCredentials{.account_id = "a", .client_id = "c", .client_secret = "s"},
               nullptr),
        hosts({"zoom.us"}),
        limiter({}),
        api(http, tokens, limiter, hosts, ZoomApi::Options{.api_base = "https://api.zoom.us/v2"},
            nullptr) {}
  ThrottlingZoom http;
  ZoomTokenSource tokens;
  ZoomHostPolicy hosts;
  ZoomRateLimiter limiter;
  ZoomApi api;
};

// Runs `api.Get` on a thread; Stop() after `before_stop`; reports how long Stop() took to end it.
absl::Duration StopDuringGet(Client& c, absl::Status* result) {
  absl::Time returned;
  std::thread caller([&] {
    *result = c.api.Get("/users?status=active", ZoomCategory::kMedium).status();
    returned = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time stop = absl::Now();
  c.limiter.Stop();
  caller.join();
  return returned - stop;
}

TEST(ZoomApiTest, AHugeQpsRetryAfterDoesNotHoldStop) {
  Client c({{"Retry-After", "86400"}, {"X-RateLimit-Type", "QPS"}});
  absl::Status result;
  EXPECT_LT(StopDuringGet(c, &result), absl::Milliseconds(1100));
  EXPECT_EQ(result.code(), absl::StatusCode::kCancelled) << result;
  EXPECT_EQ(c.http.calls(), 1) << "waiting out the (capped) pause, not hammering Zoom";
}

TEST(ZoomApiTest, ADailyLimitEndsOnlyTheCallThatGotIt) {
  const std::string reset = FormatZoomDateTime(absl::Now() + absl::Hours(6));
  Client c({{"Retry-After", reset}, {"X-RateLimit-Type", "Daily-limit"}});
  const absl::Time start = absl::Now();
  absl::Status first = c.api.Get("/report/meetings/1/participants", ZoomCategory::kMedium).status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(first.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(first.message(), HasSubstr("Daily-limit"));
  EXPECT_THAT(first.message(), HasSubstr("retry after " + reset));
  // The category is not held until the reset (the limit may be that call's own, per user): the
  // next call asks Zoom, which answers for itself, and Stop() has nothing to wait for.
  const absl::Time again = absl::Now();
  absl::Status second = c.api.Get("/report/meetings/2/participants", ZoomCategory::kMedium).status();
  EXPECT_LT(absl::Now() - again, absl::Seconds(2));
  EXPECT_EQ(second.code(), absl::StatusCode::kResourceExhausted) << second;
  EXPECT_EQ(c.http.calls(), 2);
}

}  // namespace
}  // namespace zarc::fetcher

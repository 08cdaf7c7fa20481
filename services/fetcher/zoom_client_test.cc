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

// Zoom answering a GET of one meeting with `meeting` and any other GET with `page`.
class CannedZoom final : public http::HttpClient {
 public:
  CannedZoom(std::string page, std::string meeting)
      : page_(std::move(page)), meeting_(std::move(meeting)) {}
  absl::StatusOr<http::ClientResponse> Send(const http::ClientRequest& request) override {
    if (request.method == "POST") {
      return http::ClientResponse{
          .status = 200, .body = R"({"access_token":"tok","token_type":"bearer","expires_in":3600})"};
    }
    const bool one = absl::StrContains(request.url, "/past_meetings/");
    return http::ClientResponse{.status = 200, .body = one ? meeting_ : page_};
  }
  absl::StatusOr<http::ClientResponse> SendStreaming(const http::ClientRequest&,
                                                     io::ByteSink&) override {
    return absl::UnimplementedError("not used");
  }

 private:
  const std::string page_;
  const std::string meeting_;
};

// The Archiving API's answers have no account_id (only account_name), cloud recordings' do. A
// meeting must carry the same account whichever source listed it: its item id and Message-ID are
// derived from it, and an archive-only meeting with an empty account was delivered under a
// Message-ID the rest of zarc (and the auditor's expectation) does not know.
TEST(ZoomApiTest, AMeetingWithoutAnAccountIsGivenTheCredentialsAccount) {
  CannedZoom http(R"({"from":"2024-03-04T00:00:00Z","meetings":[
      {"uuid":"u1==","account_name":"Example","start_time":"2024-03-04T10:00:00Z",
       "archive_files":[]},
      {"uuid":"u2==","account_id":"other-acct","start_time":"2024-03-04T11:00:00Z",
       "recording_files":[]}]})",
                  R"({"uuid":"u1==","start_time":"2024-03-04T10:00:00Z","archive_files":[]})");
  ZoomTokenSource tokens(http, ZoomCredentials{.account_id = "acct-1", .client_id = "c",
                                               .client_secret = "s"},
                         nullptr);
  ZoomHostPolicy hosts({"zoom.us"});
  ZoomRateLimiter limiter({});
  ZoomApi api(http, tokens, limiter, hosts,
              ZoomApi::Options{.api_base = "https://api.zoom.us/v2", .account_id = "acct-1"},
              nullptr);
  absl::StatusOr<ZoomPage<ZoomMeeting>> page =
      api.ArchiveFiles(absl::FromUnixSeconds(1709510400), absl::FromUnixSeconds(1709596800), "");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].account_id, "acct-1");
  EXPECT_EQ(page->items[1].account_id, "other-acct") << "an account Zoom names is kept";
  absl::StatusOr<ZoomMeeting> one = api.MeetingArchiveFiles("u1==");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->account_id, "acct-1");
}

}  // namespace
}  // namespace zarc::fetcher

#include "runtime/http/retrying_client.h"

#include <atomic>
#include <deque>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/http/http_server.h"

namespace zarc::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromCivil(absl::CivilSecond(2024, 5, 1, 12, 0, 0), absl::UTCTimeZone());

TEST(ParseRetryAfterTest, DelaySeconds) {
  EXPECT_EQ(ParseRetryAfter("120", kNow), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", kNow), absl::ZeroDuration());
}

TEST(ParseRetryAfterTest, HttpDateInAllThreeForms) {
  // 2024-05-01 12:00:30 UTC was a Wednesday.
  EXPECT_EQ(ParseRetryAfter("Wed, 01 May 2024 12:00:30 GMT", kNow), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wednesday, 01-May-24 12:00:30 GMT", kNow), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed May  1 12:00:30 2024", kNow), absl::Seconds(30));
}

TEST(ParseRetryAfterTest, Iso8601AsZoomSendsIt) {
  EXPECT_EQ(ParseRetryAfter("2024-05-02T00:00:00Z", kNow), absl::Hours(12));
  EXPECT_EQ(ParseRetryAfter("2024-05-01T14:00:00+02:00", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("2024-05-01T12:01:00.500Z", kNow), absl::Milliseconds(60500));
  EXPECT_EQ(ParseRetryAfter("2024-05-01T12:00:10", kNow), absl::Seconds(10));
}

TEST(ParseRetryAfterTest, PastDateIsZeroAndGarbageIsNothing) {
  EXPECT_EQ(ParseRetryAfter("Tue, 30 Apr 2024 12:00:00 GMT", kNow), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", kNow), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", kNow), std::nullopt);
}

// A clock that moves only when the injected sleeper "sleeps".
struct FakeTime {
  absl::Time now = kNow;
  std::vector<absl::Duration> sleeps;
  RetryPolicy Policy() {
    RetryPolicy policy;
    policy.max_attempts = 5;
    policy.initial_backoff = absl::Milliseconds(100);
    policy.max_backoff = absl::Seconds(2);
    policy.total_deadline = absl::Minutes(1);
    policy.sleep = [this](absl::Duration d) {
      sleeps.push_back(d);
      now += d;
    };
    policy.now = [this] { return now; };
    policy.random = [] { return 0.5; };
    return policy;
  }
};

TEST(RetryingHttpClientTest, RetriesAgainstServerAndHonoursRetryAfter) {
  std::atomic<int> attempts{0};
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ServerResponse response;
    switch (++attempts) {
      case 1:
        response.status = 503;
        break;
      case 2:
        response.status = 429;
        response.headers = {{"Retry-After", "1"}};
        break;
      default:
        response.body = "finally";
    }
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<HttpClient> inner = NewHttpClient();
  FakeTime time;
  RetryingHttpClient client(*inner, time.Policy());
  auto response =
      client.Send({.url = absl::StrCat("http://127.0.0.1:", (*server)->port(), "/meetings")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "finally");
  EXPECT_EQ(attempts.load(), 3);
  // First wait: full jitter, half of the 100 ms ceiling; second: exactly the server's Retry-After.
  EXPECT_THAT(time.sleeps, ElementsAre(absl::Milliseconds(50), absl::Seconds(1)));
}

TEST(RetryingHttpClientTest, PostIsNotRetriedUnlessMarkedSafe) {
  std::atomic<int> attempts{0};
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ++attempts;
    ServerResponse response;
    response.status = 503;
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<HttpClient> inner = NewHttpClient();
  FakeTime time;
  RetryingHttpClient client(*inner, time.Policy());
  const std::string url = absl::StrCat("http://127.0.0.1:", (*server)->port(), "/batch");
  auto response = client.Send({.method = "POST", .url = url, .body = "x"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(attempts.load(), 1);
  EXPECT_TRUE(time.sleeps.empty());

  auto safe = client.Send({.method = "POST", .url = url, .body = "x", .retry_safe = true});
  ASSERT_TRUE(safe.ok()) << safe.status();
  EXPECT_EQ(safe->status, 503);  // retries ran out: the last response as is
  EXPECT_EQ(attempts.load(), 1 + 5);
}

// Scripted inner client for cases a live server cannot easily produce.
class ScriptedClient final : public HttpClient {
 public:
  std::deque<absl::StatusOr<ClientResponse>> script;
  int calls = 0;
  std::string write_before_failing;
  absl::StatusOr<ClientResponse> Send(const ClientRequest&) override {
    ++calls;
    auto next = script.front();
    if (script.size() > 1) script.pop_front();
    return next;
  }
  absl::StatusOr<ClientResponse> SendStreaming(const ClientRequest& request,
                                               io::ByteSink& sink) override {
    if (!write_before_failing.empty()) {
      if (auto s = sink.Write(write_before_failing); !s.ok()) return s;
    }
    return Send(request);
  }
};

ClientResponse Status(int code, Headers headers = {}) {
  ClientResponse response;
  response.status = code;
  response.headers = std::move(headers);
  return response;
}

TEST(RetryingHttpClientTest, RetryAfterPastDeadlineReturnsWhenToComeBack) {
  ScriptedClient inner;
  inner.script = {Status(429, {{"Retry-After", "2024-05-02T00:00:00Z"}})};
  FakeTime time;
  RetryingHttpClient client(inner, time.Policy());
  auto response = client.Send({.url = "https://api.zoom.us/v2/users?page_token=SECRET"});
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(response.status())) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("2024-05-02T00:00:00"));
  EXPECT_THAT(response.status().message(), ::testing::Not(HasSubstr("SECRET")));
  EXPECT_EQ(RetryAfterTime(response.status()),
            absl::FromCivil(absl::CivilSecond(2024, 5, 2, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(inner.calls, 1);
  EXPECT_TRUE(time.sleeps.empty());
}

TEST(RetryingHttpClientTest, TransportErrorsRetryWithCappedBackoffThenGiveUp) {
  ScriptedClient inner;
  inner.script = {absl::UnavailableError("connection refused")};
  FakeTime time;
  RetryPolicy policy = time.Policy();
  policy.random = [] { return 0.999; };
  RetryingHttpClient client(inner, policy);
  auto response = client.Send({.method = "PUT", .url = "http://127.0.0.1:1/x"});
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_EQ(inner.calls, 5);
  ASSERT_EQ(time.sleeps.size(), 4u);
  // Ceilings 100, 200, 400, 800 ms (cap 2 s not reached), each scaled by the jitter 0.999.
  EXPECT_NEAR(absl::ToDoubleMilliseconds(time.sleeps[0]), 99.9, 0.01);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(time.sleeps[3]), 799.2, 0.01);
}

TEST(RetryingHttpClientTest, BackoffIsCappedAndDeadlineStopsRetries) {
  ScriptedClient inner;
  inner.script = {Status(502)};
  FakeTime time;
  RetryPolicy policy = time.Policy();
  policy.max_attempts = 100;
  policy.random = [] { return 1.0; };
  RetryingHttpClient client(inner, policy);
  auto response = client.Send({.url = "http://127.0.0.1:1/x"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 502);
  for (absl::Duration d : time.sleeps) EXPECT_LE(d, absl::Seconds(2));
  EXPECT_LE(time.now - kNow, absl::Minutes(1));
  EXPECT_GT(inner.calls, 10);
  EXPECT_LT(inner.calls, 100);
}

TEST(RetryingHttpClientTest, NonTransientAnswersAreNotRetried) {
  ScriptedClient inner;
  inner.script = {Status(404)};
  FakeTime time;
  RetryingHttpClient client(inner, time.Policy());
  auto response = client.Send({.url = "http://127.0.0.1:1/x"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(inner.calls, 1);

  inner.script = {absl::InvalidArgumentError("bad url")};
  EXPECT_TRUE(absl::IsInvalidArgument(client.Send({.url = "x"}).status()));
  EXPECT_EQ(inner.calls, 2);
}

TEST(RetryingHttpClientTest, StreamingIsNotRetriedOnceBytesReachedTheSink) {
  ScriptedClient inner;
  inner.script = {absl::UnavailableError("connection reset"), Status(200)};
  inner.write_before_failing = "partial";
  FakeTime time;
  RetryingHttpClient client(inner, time.Policy());
  io::StringSink sink;
  auto response = client.SendStreaming({.url = "http://127.0.0.1:1/x"}, sink);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(sink.data(), "partial");

  ScriptedClient clean;
  clean.script = {Status(503), Status(200)};
  RetryingHttpClient retrying(clean, time.Policy());
  io::StringSink sink2;
  auto ok = retrying.SendStreaming({.url = "http://127.0.0.1:1/x"}, sink2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(clean.calls, 2);
}

}  // namespace
}  // namespace zarc::http

#include "runtime/http/http_client.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"
#include "runtime/testing/tls_certificate.h"

namespace zarc::http {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Base(const HttpServer& server) {
  return absl::StrCat("http://127.0.0.1:", server.port());
}

TEST(HttpClientTest, RoundTripCarriesMethodPathQueryHeadersAndBody) {
  ServerRequest seen;
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    seen = request;
    ServerResponse response;
    response.status = 201;
    response.headers = {{"X-Answer", "42"}, {"Content-Type", "application/json"}};
    response.body = R"({"ok":true})";
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<HttpClient> client = NewHttpClient();
  ClientRequest request;
  request.method = "POST";
  request.url = Base(**server) + "/v2/users/a%2Fb?page_size=300&next=x%3D";
  request.headers = {{"X-Custom", "hello"}, {"Content-Type", "application/json"}};
  request.body = R"({"name":"zarc"})";
  auto response = client->Send(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(FindHeader(response->headers, "x-answer"), "42");
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.path, "/v2/users/a%2Fb");
  EXPECT_EQ(seen.query, "page_size=300&next=x%3D");
  EXPECT_EQ(FindHeader(seen.headers, "X-Custom"), "hello");
  EXPECT_EQ(FindHeader(seen.headers, "Content-Type"), "application/json");
  EXPECT_EQ(seen.body, R"({"name":"zarc"})");
  EXPECT_EQ(seen.remote_address, "127.0.0.1");
}

TEST(HttpClientTest, DoesNotFollowRedirects) {
  int hits = 0;
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ++hits;
    ServerResponse response;
    response.status = 302;
    response.headers = {{"Location", "/elsewhere"}};
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto response = NewHttpClient()->Send({.url = Base(**server) + "/start"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(FindHeader(response->headers, "Location"), "/elsewhere");
  EXPECT_EQ(hits, 1);
}

TEST(HttpClientTest, StreamingWritesSuccessBodyToSinkAndErrorBodyToResponse) {
  const std::string big(3 * 1024 * 1024 + 17, 'z');
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ServerResponse response;
    if (request.path == "/ok") {
      response.body = big;
    } else {
      response.status = 404;
      response.body = std::string(200 * 1024, 'e');  // longer than the error-body bound
    }
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<HttpClient> client = NewHttpClient();

  io::StringSink ok_sink;
  auto ok = client->SendStreaming({.url = Base(**server) + "/ok"}, ok_sink);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(ok->body.empty());
  EXPECT_EQ(ok_sink.data(), big);

  io::StringSink error_sink;
  auto missing = client->SendStreaming({.url = Base(**server) + "/missing"}, error_sink);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(error_sink.data().empty());
  EXPECT_EQ(missing->body, std::string(kMaxErrorBodyBytes, 'e'));
}

class FailingSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view) override {
    return absl::ResourceExhaustedError("disk full at /staging");
  }
  absl::Status Close() override { return absl::OkStatus(); }
};

TEST(HttpClientTest, SinkFailureIsReturned) {
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ServerResponse response;
    response.body = std::string(1 << 20, 'x');
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  FailingSink sink;
  auto response = NewHttpClient()->SendStreaming({.url = Base(**server) + "/f"}, sink);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(response.status())) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("disk full"));
}

TEST(HttpClientTest, ConnectionErrorNamesMethodAndUrlButNoSecrets) {
  uint16_t dead_port;
  {
    auto server = HttpServer::Start({}, [](const ServerRequest&) { return ServerResponse{}; });
    ASSERT_TRUE(server.ok()) << server.status();
    dead_port = (*server)->port();
  }  // stopped: nothing listens on dead_port any more
  ClientRequest request;
  request.method = "DELETE";
  request.url = absl::StrCat("http://127.0.0.1:", dead_port, "/container/blob?sig=QUERYSECRET&sv=1");
  request.headers = {{"Authorization", "Bearer HEADERSECRET"}};
  auto response = NewHttpClient()->Send(request);
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  const std::string message(response.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("DELETE http://127.0.0.1:", dead_port, "/container/blob")));
  EXPECT_THAT(message, Not(HasSubstr("QUERYSECRET")));
  EXPECT_THAT(message, Not(HasSubstr("sv=1")));
  EXPECT_THAT(message, Not(HasSubstr("HEADERSECRET")));
}

TEST(HttpClientTest, TimeoutIsDeadlineExceededWithoutSecrets) {
  absl::Notification release;
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    // Holds the answer back past the client's timeout (released when the test ends).
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
    return ServerResponse{};
  });
  ASSERT_TRUE(server.ok()) << server.status();
  ClientRequest request;
  request.url = Base(**server) + "/slow?token=QUERYSECRET";
  request.headers = {{"Authorization", "Bearer HEADERSECRET"}};
  request.timeout = absl::Milliseconds(300);
  auto response = NewHttpClient()->Send(request);
  release.Notify();
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(response.status())) << response.status();
  EXPECT_THAT(response.status().message(), HasSubstr("/slow"));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("QUERYSECRET")));
  EXPECT_THAT(response.status().message(), Not(HasSubstr("HEADERSECRET")));
}

// A body that trickles (a chunk every 150 ms, 2 s in all) is not cut by a 500 ms timeout: the
// timeout is about silence, not about the whole transfer.
class TrickleSource final : public io::ByteSource {
 public:
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    if (chunks_left_-- == 0) return 0;
    absl::SleepFor(absl::Milliseconds(150));
    const size_t n = std::min<size_t>(size, 1000);
    std::fill(buffer, buffer + n, 't');
    return n;
  }

 private:
  int chunks_left_ = 14;
};

TEST(HttpClientTest, TimeoutIsInactivityNotTotalDuration) {
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ServerResponse response;
    response.body_stream = std::make_unique<TrickleSource>();
    response.content_length = 14 * 1000;
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  io::StringSink sink;
  const absl::Time start = absl::Now();
  auto response = NewHttpClient()->SendStreaming(
      {.url = Base(**server) + "/trickle", .timeout = absl::Milliseconds(500)}, sink);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(sink.data(), std::string(14 * 1000, 't'));
  EXPECT_GT(absl::Now() - start, absl::Seconds(1));
}

// A sink slower than the timeout is back-pressure, not a silent server.
class SlowSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    absl::SleepFor(absl::Milliseconds(400));
    data_.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

TEST(HttpClientTest, SlowSinkPausesTheTransferWithoutTimingOut) {
  const std::string body(256 * 1024, 's');
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ServerResponse response;
    response.body = body;
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  SlowSink sink;
  auto response = NewHttpClient({.chunk_size = 64 * 1024})
                      ->SendStreaming({.url = Base(**server) + "/s", .timeout = absl::Milliseconds(300)}, sink);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(sink.data(), body);
}

TEST(HttpClientTest, OneClientServesConcurrentRequests) {
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ServerResponse response;
    response.body = absl::StrCat("echo:", request.query);
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::unique_ptr<HttpClient> client = NewHttpClient();
  std::vector<std::thread> threads;
  std::vector<int> good(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string query = absl::StrCat("t=", t, "&i=", i);
        auto response = client->Send({.url = Base(**server) + "/e?" + query});
        if (response.ok() && response->body == "echo:" + query) ++good[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good, std::vector<int>(8, 20));
}

// ca_file is trusted besides the system store, not instead of it. The "system store" here is
// $SSL_CERT_FILE, which the client honours as OpenSSL does.
TEST(HttpClientTest, CaFileIsTrustedBesidesTheSystemStore) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::MakeServerCertificate(dir.path(), "system", "IP:127.0.0.1").ok());
  ASSERT_TRUE(testing::MakeServerCertificate(dir.path(), "extra", "IP:127.0.0.1").ok());
  auto start = [&](const std::string& name) {
    return HttpServer::Start(
        {.tls_cert_file = dir.path() + "/" + name + ".crt", .tls_key_file = dir.path() + "/" + name + ".key"},
        [name](const ServerRequest&) {
          ServerResponse response;
          response.body = name;
          return response;
        });
  };
  auto system_server = start("system");
  auto extra_server = start("extra");
  ASSERT_TRUE(system_server.ok() && extra_server.ok());
  const std::string system_url = absl::StrCat("https://127.0.0.1:", (*system_server)->port(), "/");
  const std::string extra_url = absl::StrCat("https://127.0.0.1:", (*extra_server)->port(), "/");
  ::setenv("SSL_CERT_FILE", (dir.path() + "/system.crt").c_str(), 1);

  std::unique_ptr<HttpClient> both = NewHttpClient({.ca_file = dir.path() + "/extra.crt"});
  auto a = both->Send({.url = system_url});
  auto b = both->Send({.url = extra_url});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->body, "system");
  EXPECT_EQ(b->body, "extra");

  std::unique_ptr<HttpClient> system_only = NewHttpClient();
  auto c = system_only->Send({.url = system_url});
  ASSERT_TRUE(c.ok()) << c.status();
  auto d = system_only->Send({.url = extra_url});
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(absl::IsUnavailable(d.status())) << d.status();

  auto missing = NewHttpClient({.ca_file = dir.path() + "/nonexistent.pem"})->Send({.url = extra_url});
  ::unsetenv("SSL_CERT_FILE");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("nonexistent.pem"));
}

TEST(HttpClientTest, InvalidUrlIsInvalidArgument) {
  auto response = NewHttpClient()->Send({.url = "ftp://example.invalid/x?secret=1"});
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(response.status())) << response.status();
  EXPECT_THAT(response.status().message(), Not(HasSubstr("secret=1")));
}

TEST(HttpClientTest, RedactUrlDropsQueryAndFragment) {
  EXPECT_EQ(RedactUrl("https://a.example/p/q?sig=x#frag"), "https://a.example/p/q");
  EXPECT_EQ(RedactUrl("http://h/p#f?x"), "http://h/p");
  EXPECT_EQ(RedactUrl("http://h/p"), "http://h/p");
  EXPECT_EQ(RedactUrl("https://user:pw@h:8443/p?x"), "https://h:8443/p");
  EXPECT_EQ(RedactUrl("http://h/p@q"), "http://h/p@q");
}

// 1 GiB from HttpServer (body_stream) through HttpClient::SendStreaming into a hashing sink, in a
// child process so its peak RSS is this transfer's alone.
TEST(HttpClientTest, OneGibStreamsThroughServerAndClientInBoundedMemory) {
  constexpr uint64_t kBytes = uint64_t{1} << 30;
  auto child = testing::Subprocess::Start(
      {.argv = {testing::BinPath("http_stream_probe"), absl::StrCat(kBytes)}});
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = (*child)->WaitForLine("bytes=", absl::Seconds(100));
  ASSERT_TRUE(line.ok()) << line.status() << "\n" << (*child)->output();
  auto exit_code = (*child)->Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);

  std::map<std::string, std::string> fields;
  for (absl::string_view part : absl::StrSplit(*line, ' ', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    fields[kv.first] = kv.second;
  }
  EXPECT_EQ(fields["status"], "200");
  EXPECT_EQ(fields["bytes"], absl::StrCat(kBytes));
  EXPECT_EQ(fields["served_sha256"].size(), 64u);
  EXPECT_EQ(fields["received_sha256"], fields["served_sha256"]);
  uint64_t growth = 0;
  ASSERT_TRUE(absl::SimpleAtoi(fields["peak_growth_bytes"], &growth)) << *line;
  EXPECT_LT(growth, 64u * 1024 * 1024) << "peak RSS grew by " << growth << " bytes";
  std::printf("1 GiB transfer: peak RSS growth %llu bytes\n", static_cast<unsigned long long>(growth));
}

}  // namespace
}  // namespace zarc::http

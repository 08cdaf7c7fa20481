#include "runtime/http/http_server.h"

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/testing/subprocess.h"

namespace zarc::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;

// A plain Beast client on one connection, to see exactly what goes over the wire.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }
  bhttp::response<bhttp::string_body> RoundTrip(bhttp::request<bhttp::string_body> request,
                                                beast::error_code& ec) {
    request.prepare_payload();
    bhttp::write(socket_, request, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 30);
    if (request.method() == bhttp::verb::head) parser.skip(true);
    if (!ec) bhttp::read(socket_, buffer_, parser, ec);
    return parser.release();
  }

 private:
  boost::asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

bhttp::request<bhttp::string_body> Get(const std::string& target) {
  bhttp::request<bhttp::string_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  return request;
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::atomic<int> count{0};
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ServerResponse response;
    response.body = absl::StrCat(request.path, "#", ++count);
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection connection((*server)->port());
  for (int i = 1; i <= 3; ++i) {
    beast::error_code ec;
    auto response = connection.RoundTrip(Get(absl::StrCat("/r", i)), ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), absl::StrCat("/r", i, "#", i));
    EXPECT_TRUE(response.keep_alive());
  }
}

TEST(HttpServerTest, OversizedBodyGets413) {
  bool called = false;
  auto server = HttpServer::Start({.max_body_bytes = 1024}, [&](const ServerRequest&) {
    called = true;
    return ServerResponse{};
  });
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection connection((*server)->port());
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/upload", 11};
  request.set(bhttp::field::host, "127.0.0.1");
  request.body() = std::string(4096, 'x');
  beast::error_code ec;
  auto response = connection.RoundTrip(std::move(request), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr("1024"));
  EXPECT_FALSE(called);
}

TEST(HttpServerTest, HandlerExceptionBecomes500WithoutDetail) {
  auto server = HttpServer::Start({}, [](const ServerRequest&) -> ServerResponse {
    throw std::runtime_error("db password is hunter2");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  auto response = NewHttpClient()->Send(
      {.url = absl::StrCat("http://127.0.0.1:", (*server)->port(), "/boom")});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 500);
  EXPECT_THAT(response->body, Not(HasSubstr("hunter2")));
}

TEST(HttpServerTest, StreamsBodyWithoutLengthAsChunkedAndHeadSendsNoBody) {
  const std::string payload(1 << 20, 'q');
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ServerResponse response;
    response.headers = {{"Content-Type", "video/mp4"}};
    response.body_stream = std::make_unique<io::StringSource>(payload);
    if (request.path == "/sized") response.content_length = payload.size();
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection connection((*server)->port());
  beast::error_code ec;
  auto chunked = connection.RoundTrip(Get("/chunked"), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(chunked.chunked());
  EXPECT_EQ(chunked.body(), payload);
  EXPECT_EQ(chunked[bhttp::field::content_type], "video/mp4");

  auto sized = connection.RoundTrip(Get("/sized"), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_FALSE(sized.chunked());
  EXPECT_EQ(sized[bhttp::field::content_length], absl::StrCat(payload.size()));
  EXPECT_EQ(sized.body(), payload);

  bhttp::request<bhttp::string_body> head{bhttp::verb::head, "/sized", 11};
  head.set(bhttp::field::host, "127.0.0.1");
  auto head_response = connection.RoundTrip(std::move(head), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(head_response[bhttp::field::content_length], absl::StrCat(payload.size()));
  EXPECT_TRUE(head_response.body().empty());
  // The connection is still usable after HEAD: nothing stray was sent.
  auto after = connection.RoundTrip(Get("/sized"), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(after.body().size(), payload.size());
}

TEST(HttpServerTest, ShortStreamWithDeclaredLengthClosesTheConnection) {
  auto server = HttpServer::Start({}, [&](const ServerRequest&) {
    ServerResponse response;
    response.body_stream = std::make_unique<io::StringSource>("only this");
    response.content_length = 1000;
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  RawConnection connection((*server)->port());
  beast::error_code ec;
  connection.RoundTrip(Get("/short"), ec);
  EXPECT_EQ(ec, bhttp::error::partial_message) << ec.message();
}

TEST(HttpServerTest, BadTlsConfigurationIsRefused) {
  auto half = HttpServer::Start({.tls_cert_file = "/nonexistent/cert.pem"},
                                [](const ServerRequest&) { return ServerResponse{}; });
  EXPECT_TRUE(absl::IsInvalidArgument(half.status())) << half.status();
  auto missing = HttpServer::Start(
      {.tls_cert_file = "/nonexistent/cert.pem", .tls_key_file = "/nonexistent/key.pem"},
      [](const ServerRequest&) { return ServerResponse{}; });
  EXPECT_TRUE(absl::IsInvalidArgument(missing.status())) << missing.status();
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/cert.pem"));
}

TEST(HttpServerTest, TlsRoundTripWithSelfSignedCertificate) {
  testing::TempDir dir;
  const std::string cert = dir.path() + "/cert.pem";
  const std::string key = dir.path() + "/key.pem";
  auto openssl = testing::Subprocess::Start(
      {.argv = {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost"},
       .merge_stderr = true});
  ASSERT_TRUE(openssl.ok()) << openssl.status();
  auto exit_code = (*openssl)->Wait(absl::Seconds(30));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  ASSERT_EQ(*exit_code, 0) << (*openssl)->ReadRemaining(absl::Seconds(1));

  auto server = HttpServer::Start({.tls_cert_file = cert, .tls_key_file = key},
                                  [](const ServerRequest& request) {
                                    ServerResponse response;
                                    response.body = absl::StrCat("secure:", request.body);
                                    return response;
                                  });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string url = absl::StrCat("https://127.0.0.1:", (*server)->port(), "/webhook");

  auto trusted = NewHttpClient({.ca_file = cert})
                     ->Send({.method = "POST", .url = url, .body = "event"});
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  EXPECT_EQ(trusted->status, 200);
  EXPECT_EQ(trusted->body, "secure:event");

  // Verification stays on: without the CA the same server is refused.
  auto untrusted = NewHttpClient()->Send({.url = url});
  EXPECT_FALSE(untrusted.ok());

  // Plain HTTP to the TLS port gets no answer.
  auto plain = NewHttpClient()->Send(
      {.url = absl::StrCat("http://127.0.0.1:", (*server)->port(), "/"), .timeout = absl::Seconds(5)});
  EXPECT_FALSE(plain.ok() && plain->status == 200);
}

// Connects and sends `bytes` one at a time, `gap` apart, until the server closes the connection.
// Returns how long the server let it drip, and whether any answer came back.
struct Drip {
  absl::Duration lasted;
  bool answered = false;
};
Drip DripBytes(uint16_t port, const std::string& bytes, absl::Duration gap) {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  socket.non_blocking(true);
  const absl::Time start = absl::Now();
  Drip drip;
  for (char c : bytes) {
    beast::error_code ec;
    boost::asio::write(socket, boost::asio::buffer(&c, 1), ec);
    if (ec) break;
    char reply[256];
    const size_t n = socket.read_some(boost::asio::buffer(reply), ec);
    if (ec != boost::asio::error::would_block) {  // data, or the server closed it
      drip.answered = !ec && n > 0;
      break;
    }
    absl::SleepFor(gap);
  }
  drip.lasted = absl::Now() - start;
  return drip;
}

TEST(HttpServerTest, SlowDripClientIsCutOffAtTheHeaderDeadline) {
  std::atomic<bool> called{false};
  auto server = HttpServer::Start(
      {.header_timeout = absl::Milliseconds(800), .body_timeout = absl::Milliseconds(800)},
      [&](const ServerRequest&) {
        called = true;
        return ServerResponse{};
      });
  ASSERT_TRUE(server.ok()) << server.status();
  // Headers a byte every 100 ms: valid, but never finished in time (slowloris).
  const std::string headers =
      "POST /zoom/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(200, 'p') +
      "\r\n\r\n";
  const Drip slow_headers = DripBytes((*server)->port(), headers, absl::Milliseconds(100));
  EXPECT_FALSE(slow_headers.answered);
  EXPECT_LT(slow_headers.lasted, absl::Seconds(3)) << "a header drip was allowed to go on";
  // A body dripped after quick headers is cut off at the body deadline.
  const std::string body_drip =
      "POST /zoom/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" +
      std::string(100, 'b');
  const Drip slow_body = DripBytes((*server)->port(), body_drip, absl::Milliseconds(100));
  EXPECT_FALSE(slow_body.answered);
  EXPECT_LT(slow_body.lasted, absl::Seconds(4)) << "a body drip was allowed to go on";
  EXPECT_FALSE(called);
}

TEST(HttpServerTest, IdleConnectionsAtTheCapDoNotKeepOutARealRequest) {
  auto server = HttpServer::Start({.max_connections = 16}, [](const ServerRequest& request) {
    ServerResponse response;
    response.body = request.path;
    return response;
  });
  ASSERT_TRUE(server.ok()) << server.status();
  boost::asio::io_context io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 200; ++i) {
    idle.emplace_back(io);
    idle.back().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), (*server)->port()));
  }
  const absl::Time start = absl::Now();
  auto response = NewHttpClient()->Send(
      {.url = absl::StrCat("http://127.0.0.1:", (*server)->port(), "/real"),
       .timeout = absl::Seconds(5)});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "/real");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // The oldest idle connections were closed to make room: reading them gives end of stream.
  beast::error_code ec;
  char byte;
  idle.front().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, boost::asio::error::eof) << ec.message();
}

TEST(HttpServerTest, ASlowHandlerDoesNotHoldUpOtherConnections) {
  // One I/O thread: if handlers ran on it, /fast would wait for /slow.
  auto server = HttpServer::Start({.threads = 1, .handler_threads = 4},
                                  [](const ServerRequest& request) {
                                    if (request.path == "/slow") absl::SleepFor(absl::Seconds(3));
                                    return ServerResponse{};
                                  });
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base = absl::StrCat("http://127.0.0.1:", (*server)->port());
  std::thread slow([&] { (void)NewHttpClient()->Send({.url = base + "/slow"}); });
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time start = absl::Now();
  auto fast = NewHttpClient()->Send({.url = base + "/fast"});
  const absl::Duration took = absl::Now() - start;
  slow.join();
  ASSERT_TRUE(fast.ok()) << fast.status();
  EXPECT_EQ(fast->status, 200);
  EXPECT_LT(took, absl::Seconds(1));
}

TEST(HttpServerTest, ChunkedBodyPastTheLimitGets413WhileReading) {
  bool called = false;
  auto server = HttpServer::Start({.max_body_bytes = 1024}, [&](const ServerRequest&) {
    called = true;
    return ServerResponse{};
  });
  ASSERT_TRUE(server.ok()) << server.status();
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), (*server)->port()));
  std::string request = "POST /zoom/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'z') + "\r\n";
  request += "0\r\n\r\n";
  boost::asio::write(socket, boost::asio::buffer(request));
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  beast::error_code ec;
  bhttp::read(socket, buffer, response, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace zarc::http

// The HTTP client through a forward proxy. The target servers have names that do not resolve
// (*.sim.invalid, RFC 6761); only the test's proxy maps them to 127.0.0.1, so a request that goes
// around the proxy fails, and one that succeeds went through it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"
#include "runtime/testing/tls_certificate.h"

namespace zarc::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// A forward proxy on 127.0.0.1: CONNECT host:port for https, absolute-form requests for http
// (forwarded with "Connection: close", one request per connection). It records what it is asked
// for ("CONNECT zoom.sim.invalid:4711", "GET graph.sim.invalid:4712") and the Proxy-Authorization
// it got, and reaches only the hosts in `hosts`, at 127.0.0.1 and the requested port. With
// `required_auth` set, anything else gets 407.
class ForwardProxy {
 public:
  ForwardProxy(std::set<std::string> hosts, std::string required_auth = "")
      : hosts_(std::move(hosts)), required_auth_(std::move(required_auth)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::abort();
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~ForwardProxy() {
    stop_ = true;
    acceptor_.join();
    ::close(listener_);
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(absl::string_view userinfo = "") const {
    return absl::StrCat("http://", userinfo, userinfo.empty() ? "" : "@", "127.0.0.1:", port_);
  }
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<std::string> auth_seen() {
    absl::MutexLock lock(&mu_);
    return auth_seen_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      absl::MutexLock lock(&mu_);
      open_fds_.insert(client);
      threads_.emplace_back([this, client] { Serve(client); });
    }
  }

  int ConnectUpstream(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    absl::MutexLock lock(&mu_);
    open_fds_.insert(fd);
    return fd;
  }

  void Close(int fd) {
    {
      absl::MutexLock lock(&mu_);
      open_fds_.erase(fd);
    }
    ::close(fd);
  }

  // Copies both ways until either side closes.
  static void Relay(int a, int b) {
    char buffer[64 * 1024];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (::poll(fds, 2, 10000) > 0) {
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::recv(fds[i].fd, buffer, sizeof(buffer), 0);
        if (n <= 0 || !WriteAll(fds[1 - i].fd, absl::string_view(buffer, n))) return;
      }
    }
  }

  void Serve(int client) {
    std::string head;
    char buffer[4096];
    size_t end;
    while ((end = head.find("\r\n\r\n")) == std::string::npos) {
      const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
      if (n <= 0) return Close(client);
      head.append(buffer, n);
    }
    const std::string rest = head.substr(end + 4);
    head.resize(end + 2);
    std::vector<std::string> lines = absl::StrSplit(head, "\r\n", absl::SkipEmpty());
    std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() != 3) return Close(client);
    const std::string& method = request_line[0];
    std::string target = request_line[1];
    std::string auth;
    std::string forwarded_headers;
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
      const std::string value(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
      if (name == "proxy-authorization") {
        auth = value;
      } else if (name != "proxy-connection" && name != "connection") {
        absl::StrAppend(&forwarded_headers, lines[i], "\r\n");
      }
    }
    // The authority the client asked for, and for http the origin-form target.
    std::string authority;
    std::string path = "/";
    if (method == "CONNECT") {
      authority = target;
    } else if (absl::StartsWith(target, "http://")) {
      target = target.substr(7);
      const size_t slash = target.find('/');
      authority = target.substr(0, slash);
      if (slash != std::string::npos) path = target.substr(slash);
      if (authority.find(':') == std::string::npos) absl::StrAppend(&authority, ":80");
    } else {
      WriteAll(client, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return Close(client);
    }
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(absl::StrCat(method, " ", authority));
      if (!auth.empty()) auth_seen_.push_back(auth);
    }
    if (!required_auth_.empty() && auth != required_auth_) {
      WriteAll(client,
               "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic "
               "realm=\"egress\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return Close(client);
    }
    const size_t colon = authority.rfind(':');
    int port = 0;
    const int upstream =
        hosts_.count(authority.substr(0, colon)) != 0 &&
                absl::SimpleAtoi(authority.substr(colon + 1), &port)
            ? ConnectUpstream(static_cast<uint16_t>(port))
            : -1;
    if (upstream < 0) {
      WriteAll(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return Close(client);
    }
    const bool ok =
        method == "CONNECT"
            ? WriteAll(client, "HTTP/1.1 200 Connection established\r\n\r\n")
            : WriteAll(upstream, absl::StrCat(method, " ", path, " ", request_line[2], "\r\n",
                                              forwarded_headers, "Connection: close\r\n\r\n"));
    if (ok && WriteAll(upstream, rest)) Relay(client, upstream);
    Close(upstream);
    Close(client);
  }

  const std::set<std::string> hosts_;
  const std::string required_auth_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::set<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> auth_seen_ ABSL_GUARDED_BY(mu_);
};

constexpr const char* kProxyVariables[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                                           "http_proxy",  "ALL_PROXY",   "all_proxy",
                                           "NO_PROXY",    "no_proxy"};

// An https server (zoom.sim.invalid, graph.sim.invalid) and an http one, and a clean proxy
// environment for each test.
class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kProxyVariables) ::unsetenv(name);
    ASSERT_TRUE(testing::MakeServerCertificate(dir_.path(), "sim",
                                               "DNS:zoom.sim.invalid,DNS:graph.sim.invalid")
                    .ok());
    ca_file_ = dir_.path() + "/sim.crt";
    auto handler = [this](const ServerRequest& request) {
      {
        absl::MutexLock lock(&mu_);
        seen_.push_back(request);
      }
      ServerResponse response;
      response.body = request.path == "/big" ? std::string(2 * 1024 * 1024 + 3, 'b')
                                             : absl::StrCat("answer:", request.path, ":", request.body);
      return response;
    };
    auto tls = HttpServer::Start({.tls_cert_file = ca_file_, .tls_key_file = dir_.path() + "/sim.key"},
                                 handler);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = std::move(*tls);
    auto plain = HttpServer::Start({}, handler);
    ASSERT_TRUE(plain.ok()) << plain.status();
    plain_ = std::move(*plain);
  }
  void TearDown() override {
    for (const char* name : kProxyVariables) ::unsetenv(name);
  }

  std::string Https(absl::string_view host, absl::string_view path) const {
    return absl::StrCat("https://", host, ":", tls_->port(), path);
  }
  std::string Http(absl::string_view host, absl::string_view path) const {
    return absl::StrCat("http://", host, ":", plain_->port(), path);
  }
  std::string ConnectTo(absl::string_view host) const {
    return absl::StrCat("CONNECT ", host, ":", tls_->port());
  }
  std::vector<ServerRequest> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

  testing::TempDir dir_;
  std::string ca_file_;
  std::unique_ptr<HttpServer> tls_;
  std::unique_ptr<HttpServer> plain_;
  absl::Mutex mu_;
  std::vector<ServerRequest> seen_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ProxyTest, WithoutAProxyTheTestHostsCannotBeReached) {
  auto response = NewHttpClient({.ca_file = ca_file_})->Send({.url = Https("zoom.sim.invalid", "/")});
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_THAT(seen(), IsEmpty());
}

TEST_F(ProxyTest, HttpsGoesThroughConnectFromTheEnvironmentAndReusesTheTunnel) {
  ForwardProxy proxy({"zoom.sim.invalid"});
  ::setenv("HTTPS_PROXY", proxy.Url().c_str(), 1);
  std::unique_ptr<HttpClient> client = NewHttpClient({.ca_file = ca_file_});
  for (int i = 0; i < 3; ++i) {
    auto response = client->Send(
        {.method = "POST", .url = Https("zoom.sim.invalid", "/oauth/token?grant=x"), .body = "b"});
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "answer:/oauth/token:b");
  }
  io::StringSink sink;
  auto streamed = client->SendStreaming({.url = Https("zoom.sim.invalid", "/big")}, sink);
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_EQ(sink.data(), std::string(2 * 1024 * 1024 + 3, 'b'));
  // One tunnel carried all four requests.
  EXPECT_THAT(proxy.requests(), ElementsAre(ConnectTo("zoom.sim.invalid")));
  EXPECT_EQ(seen().size(), 4u);
}

TEST_F(ProxyTest, HttpGoesThroughTheProxyInAbsoluteFormWithUpperCaseHttpProxy) {
  ForwardProxy proxy({"graph.sim.invalid"});
  ::setenv("HTTP_PROXY", proxy.Url().c_str(), 1);  // libcurl alone would ignore upper case
  auto response = NewHttpClient()->Send(
      {.method = "PUT", .url = Http("graph.sim.invalid", "/v1.0/users?$top=1"), .body = "put"});
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "answer:/v1.0/users:put");
  EXPECT_THAT(proxy.requests(),
              ElementsAre(absl::StrCat("PUT graph.sim.invalid:", plain_->port())));
  ASSERT_EQ(seen().size(), 1u);
  EXPECT_EQ(seen()[0].query, "$top=1");
}

TEST_F(ProxyTest, NoProxyExemptsHostsByNameSuffixWildcardAndCidr) {
  ForwardProxy proxy({"zoom.sim.invalid", "graph.sim.invalid"});
  ::setenv("https_proxy", proxy.Url().c_str(), 1);
  ::setenv("http_proxy", proxy.Url().c_str(), 1);
  // "om.sim.invalid" ends zoom.sim.invalid's name but not at a dot: it must not exempt it.
  ::setenv("NO_PROXY", ".dot.invalid, *.star.invalid,127.0.0.0/8,om.sim.invalid", 1);
  std::unique_ptr<HttpClient> client = NewHttpClient({.ca_file = ca_file_});

  // 127.0.0.1 by CIDR: direct, and it answers (the proxy would refuse it with 502).
  auto direct = client->Send({.url = Http("127.0.0.1", "/direct")});
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(direct->status, 200);
  EXPECT_EQ(direct->body, "answer:/direct:");
  // Exempt names go direct, where they do not resolve.
  for (const char* host : {"api.dot.invalid", "api.star.invalid"}) {
    auto exempt = client->Send({.url = Https(host, "/")});
    ASSERT_FALSE(exempt.ok()) << host;
    EXPECT_THAT(exempt.status().message(), Not(HasSubstr("via proxy"))) << exempt.status();
  }
  // Everything else still goes through the proxy.
  auto proxied = client->Send({.url = Https("zoom.sim.invalid", "/p")});
  ASSERT_TRUE(proxied.ok()) << proxied.status();
  EXPECT_THAT(proxy.requests(), ElementsAre(ConnectTo("zoom.sim.invalid")));
}

TEST_F(ProxyTest, ProxyCredentialsAreSentButNeverShown) {
  const std::string userinfo = "zarc-egress:S3cretPr0xyPw";
  ForwardProxy proxy({"zoom.sim.invalid"}, "Basic " + crypto::Base64Encode(userinfo));
  ::setenv("HTTPS_PROXY", proxy.Url(userinfo).c_str(), 1);
  std::unique_ptr<HttpClient> client = NewHttpClient({.ca_file = ca_file_});

  auto ok = client->Send({.url = Https("zoom.sim.invalid", "/me")});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_THAT(proxy.auth_seen(), ElementsAre("Basic " + crypto::Base64Encode(userinfo)));

  // The proxy refuses an unknown host (502 to CONNECT): the error names the proxy, not its
  // credentials.
  auto refused = client->Send({.url = Https("elsewhere.sim.invalid", "/x?sig=QUERYSECRET")});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  const std::string message(refused.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("via proxy http://127.0.0.1:", proxy.port())));
  EXPECT_THAT(message, Not(HasSubstr("S3cretPr0xyPw")));
  EXPECT_THAT(message, Not(HasSubstr("zarc-egress")));
  EXPECT_THAT(message, Not(HasSubstr("QUERYSECRET")));

  // Wrong credentials (407) and a proxy that is gone: no password in either error.
  auto wrong = NewHttpClient({.ca_file = ca_file_, .proxy = proxy.Url("zarc-egress:WrongPw9876")})
                   ->Send({.url = Https("zoom.sim.invalid", "/me")});
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), Not(HasSubstr("WrongPw9876")));
  EXPECT_THAT(wrong.status().message(), HasSubstr("407"));
  uint16_t dead_port;
  {
    ForwardProxy gone({});
    dead_port = gone.port();
  }
  auto unreachable =
      NewHttpClient({.ca_file = ca_file_,
                     .proxy = absl::StrCat("http://zarc-egress:GonePw5432@127.0.0.1:", dead_port)})
          ->Send({.url = Https("zoom.sim.invalid", "/me")});
  ASSERT_FALSE(unreachable.ok());
  EXPECT_TRUE(absl::IsUnavailable(unreachable.status())) << unreachable.status();
  EXPECT_THAT(unreachable.status().message(), Not(HasSubstr("GonePw5432")));
  EXPECT_THAT(unreachable.status().message(), HasSubstr(absl::StrCat("127.0.0.1:", dead_port)));
}

TEST_F(ProxyTest, ExplicitProxyOptionOverridesTheEnvironment) {
  ForwardProxy from_env({"zoom.sim.invalid", "graph.sim.invalid"});
  ForwardProxy explicit_proxy({"zoom.sim.invalid", "graph.sim.invalid"});
  ::setenv("HTTPS_PROXY", from_env.Url().c_str(), 1);
  ::setenv("HTTP_PROXY", from_env.Url().c_str(), 1);
  ::setenv("NO_PROXY", ".sim.invalid,127.0.0.1", 1);  // ignored with an explicit proxy

  std::unique_ptr<HttpClient> client =
      NewHttpClient({.ca_file = ca_file_, .proxy = explicit_proxy.Url()});
  auto https = client->Send({.url = Https("zoom.sim.invalid", "/a")});
  ASSERT_TRUE(https.ok()) << https.status();
  auto http = client->Send({.url = Http("graph.sim.invalid", "/b")});
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->body, "answer:/b:");
  EXPECT_THAT(explicit_proxy.requests(),
              ElementsAre(ConnectTo("zoom.sim.invalid"),
                          absl::StrCat("GET graph.sim.invalid:", plain_->port())));
  EXPECT_THAT(from_env.requests(), IsEmpty());

  // The option's own no_proxy exempts a host.
  auto direct = NewHttpClient({.proxy = explicit_proxy.Url(), .no_proxy = "127.0.0.1"})
                    ->Send({.url = Http("127.0.0.1", "/c")});
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(direct->body, "answer:/c:");
  EXPECT_EQ(explicit_proxy.requests().size(), 2u);
  EXPECT_THAT(from_env.requests(), IsEmpty());
}

}  // namespace
}  // namespace zarc::http

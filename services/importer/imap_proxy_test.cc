// IMAP through an HTTPS proxy (CONNECT), as banks' egress requires. A small forward proxy on
// 127.0.0.1 records every host it is asked for; the IMAP server's name does not resolve, so a
// delivery that went around the proxy would fail.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "runtime/crypto/digest.h"
#include "runtime/io/byte_stream.h"
#include "services/importer/imap_client.h"
#include "services/importer/imap_target.h"
#include "services/importer/testing/dovecot_fixture.h"

namespace zarc::importer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMessage[] =
    "From: zarc <zarc@example.com>\r\nTo: alice@example.com\r\nSubject: standup\r\n"
    "Message-ID: <proxied-1@zarc.archive>\r\nDate: Tue, 05 Mar 2024 14:00:00 +0000\r\n\r\nhi\r\n";

// CONNECT host:port → 127.0.0.1:port, then bytes both ways. Answers 407 without the expected
// Proxy-Authorization when `credentials` is set.
class ConnectProxy {
 public:
  explicit ConnectProxy(std::string credentials = "") : credentials_(std::move(credentials)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listen_, 16);
    socklen_t len = sizeof a;
    getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accepter_ = std::thread([this] { Accept(); });
  }
  ~ConnectProxy() {
    shutdown(listen_, SHUT_RDWR);
    close(listen_);
    accepter_.join();
    for (std::thread& t : tunnels_) t.join();
  }
  std::string url(const std::string& userinfo = "") const {
    return absl::StrCat("http://", userinfo.empty() ? "" : userinfo + "@", "127.0.0.1:", port_);
  }
  std::vector<std::string> targets() const {
    absl::MutexLock lock(&mu_);
    return targets_;
  }
  std::vector<std::string> authorizations() const {
    absl::MutexLock lock(&mu_);
    return authorizations_;
  }

 private:
  void Accept() {
    while (true) {
      const int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      tunnels_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int client) {
    std::string head;
    char c;
    while (!absl::EndsWith(head, "\r\n\r\n") && recv(client, &c, 1, 0) == 1) head.push_back(c);
    std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
    std::vector<std::string> words = absl::StrSplit(lines[0], ' ');
    std::string auth;
    for (const std::string& l : lines) {
      if (absl::StartsWithIgnoreCase(l, "Proxy-Authorization: ")) auth = l.substr(21);
    }
    {
      absl::MutexLock lock(&mu_);
      if (words.size() >= 2) targets_.push_back(words[1]);
      authorizations_.push_back(auth);
    }
    auto answer = [client](absl::string_view text) { send(client, text.data(), text.size(), 0); };
    if (words.size() < 2 || words[0] != "CONNECT") {
      answer("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      close(client);
      return;
    }
    if (!credentials_.empty() && auth != "Basic " + crypto::Base64Encode(credentials_)) {
      answer("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      close(client);
      return;
    }
    const std::string port = words[1].substr(words[1].rfind(':') + 1);
    const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
    if (connect(upstream, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      answer("HTTP/1.1 502 Bad Gateway\r\n\r\n");
      close(upstream);
      close(client);
      return;
    }
    answer("HTTP/1.1 200 Connection established\r\n\r\n");
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    char buf[16384];
    bool open = true;
    while (open && poll(fds, 2, 10000) > 0) {
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0 || send(fds[1 - i].fd, buf, n, MSG_NOSIGNAL) != n) open = false;
      }
    }
    close(upstream);
    close(client);
  }

  const std::string credentials_;
  int listen_ = -1;
  int port_ = 0;
  std::thread accepter_;
  std::vector<std::thread> tunnels_;  // only the accepter thread adds, the destructor joins
  mutable absl::Mutex mu_;
  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorizations_ ABSL_GUARDED_BY(mu_);
};

// Sets environment variables for one test and restores them.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<std::pair<const char*, std::string>> vars = {}) {
    for (const char* name : {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}) unsetenv(name);
    for (const auto& [k, v] : vars) setenv(k, v.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const char* name : {"HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"}) unsetenv(name);
  }
};

class ImapProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<testing::DovecotProcess>> d =
        testing::DovecotProcess::Start({.users = {{"alice@example.com", "alice-pw"}}});
    if (d.ok()) dovecot_ = d->release();
  }
  static void TearDownTestSuite() {
    delete dovecot_;
    dovecot_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(dovecot_, nullptr); }

  static ImapTargetOptions Options(const std::string& host, const std::string& proxy = "") {
    return {.server = {.host = host,
                       .port = dovecot_->port(),
                       .tls = ImapTls::kNone,
                       .timeout = absl::Seconds(10),
                       .proxy = proxy},
            .auth = "master",
            .master_user = "zarc-master",
            .password = dovecot_->options().master_password};
  }
  static DeliveryRequest Request(const std::string& id) {
    const std::string text = absl::StrReplaceAll(kMessage, {{"proxied-1", id}});
    return {.mailbox = "alice@example.com",
            .message_id = id + "@zarc.archive",
            .topic = "standup",
            .internal_date = absl::FromUnixSeconds(1709647200),
            .size = text.size(),
            .open = [text]() -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
              return std::make_unique<io::StringSource>(text);
            }};
  }
  static std::string Target(const std::string& host) {
    return absl::StrCat(host, ":", dovecot_->port());
  }

  static testing::DovecotProcess* dovecot_;
};

testing::DovecotProcess* ImapProxyTest::dovecot_ = nullptr;

TEST_F(ImapProxyTest, EveryConnectionGoesThroughTheProxyOfTheEnvironment) {
  ConnectProxy proxy;
  ScopedEnv env({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "localhost,.corp.example"}});
  // The name resolves nowhere: only the proxy can reach it.
  ImapTarget target(Options("imap.zarc.invalid"));
  absl::StatusOr<DeliveryOutcome> out = target.Deliver(Request("proxied-1"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, DeliveryOutcome::kDelivered);
  EXPECT_THAT(proxy.targets(), ElementsAre(Target("imap.zarc.invalid")));
  // Without the proxy the same delivery cannot even resolve the name.
  ScopedEnv none;
  ImapTarget direct(Options("imap.zarc.invalid"));
  EXPECT_FALSE(direct.Deliver(Request("proxied-2")).ok());
}

TEST_F(ImapProxyTest, NoProxyExemptsAHostAndAnExplicitProxyBeatsTheEnvironment) {
  ConnectProxy proxy;
  {
    ScopedEnv env({{"HTTPS_PROXY", "http://127.0.0.1:1"}, {"NO_PROXY", "127.0.0.1"}});
    ImapTarget exempt(Options("127.0.0.1"));
    ASSERT_TRUE(exempt.Deliver(Request("direct-1")).ok());
  }
  {
    ScopedEnv env({{"https_proxy", "http://127.0.0.1:1"}});
    ImapTarget explicit_proxy(Options("imap.zarc.invalid", proxy.url()));
    absl::StatusOr<DeliveryOutcome> out = explicit_proxy.Deliver(Request("explicit-1"));
    ASSERT_TRUE(out.ok()) << out.status();
    ImapTarget dead(Options("imap.zarc.invalid"));  // the environment's proxy: nothing listens
    absl::StatusOr<DeliveryOutcome> refused = dead.Deliver(Request("explicit-2"));
    ASSERT_FALSE(refused.ok());
    EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
    EXPECT_THAT(refused.status().message(), HasSubstr("proxy"));
  }
  EXPECT_THAT(proxy.targets(), ElementsAre(Target("imap.zarc.invalid")));
}

TEST_F(ImapProxyTest, ProxyCredentialsGoToTheProxyAndNeverIntoAnError) {
  ConnectProxy proxy("zarc:pr0xy-secret");
  ScopedEnv env;
  ImapTarget with(Options("imap.zarc.invalid", proxy.url("zarc:pr0xy-secret")));
  absl::StatusOr<DeliveryOutcome> out = with.Deliver(Request("auth-1"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(proxy.authorizations().at(0), "Basic " + crypto::Base64Encode("zarc:pr0xy-secret"));

  ImapTarget wrong(Options("imap.zarc.invalid", proxy.url("zarc:wr0ng-secret")));
  absl::StatusOr<DeliveryOutcome> refused = wrong.Deliver(Request("auth-2"));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("407"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("wr0ng")));
}

TEST(ImapProxyForTest, TheHttpClientsRulesAndAnExplicitProxyOrNone) {
  ImapConnectOptions o{.host = "outlook.office365.com"};
  auto env = [](const char* name) -> const char* {
    if (std::string(name) == "https_proxy") return "http://proxy.bank:3128";
    return nullptr;
  };
  EXPECT_EQ(ImapProxyFor(o, env), "http://proxy.bank:3128");
  o.proxy = "none";
  EXPECT_EQ(ImapProxyFor(o, env), "");
  auto exempt = [](const char* name) -> const char* {
    if (std::string(name) == "HTTPS_PROXY") return "http://proxy.bank:3128";
    if (std::string(name) == "NO_PROXY") return "localhost,*.office365.com";
    return nullptr;
  };
  o.proxy.clear();
  EXPECT_EQ(ImapProxyFor(o, exempt), "");
}

}  // namespace
}  // namespace zarc::importer

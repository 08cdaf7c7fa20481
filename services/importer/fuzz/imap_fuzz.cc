// libFuzzer target for what the importer's IMAP target reads from a server while it delivers one
// message (ImapTarget::Deliver through ImapClient): the greeting, CAPABILITY, LOGIN, LIST and its
// separator, SELECT, CREATE, SUBSCRIBE, UID SEARCH, the APPEND continuation, tagged and untagged
// answers, response codes, literals, BYE. A fake server on 127.0.0.1 sends the input's parts
// (split at "%%" lines) as the whole answer stream of one connection each, then closes. Also
// replayed by importer_fuzz_replay_test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/io/byte_stream.h"
#include "runtime/testing/fuzz/fuzz_support.h"
#include "services/importer/imap_target.h"

namespace {

using zarc::fuzz::Require;

constexpr absl::string_view kPassword = "fuzz-imap-master-password";

// Every line the client sent is a command under one of its tags ("Z<n> ..."), a literal it
// announced ({n} at the end of a line), or the answer to an AUTHENTICATE challenge: never text an
// answer smuggled in with a line break.
void CheckClientStream(absl::string_view sent) {
  while (!sent.empty()) {
    const size_t eol = sent.find("\r\n");
    if (eol == absl::string_view::npos) return;  // cut off when the connection ended
    const absl::string_view line = sent.substr(0, eol);
    sent.remove_prefix(eol + 2);
    Require(line.size() >= 2 && line[0] == 'Z' && line[1] >= '0' && line[1] <= '9',
            "each client line is a tagged command");
    Require(line.find('\n') == absl::string_view::npos && line.find('\r') == absl::string_view::npos,
            "no line break inside a command");
    // A line ending in {n} or {n+} is followed by n bytes of literal, then the rest of the command.
    absl::string_view rest = line;
    while (absl::EndsWith(rest, "}")) {
      const size_t open = rest.rfind('{');
      if (open == absl::string_view::npos) break;
      absl::string_view digits = rest.substr(open + 1, rest.size() - open - 2);
      absl::ConsumeSuffix(&digits, "+");
      size_t n = 0;
      if (!absl::SimpleAtoi(digits, &n)) break;
      if (n > sent.size()) return;  // the server ended before the literal went out
      sent.remove_prefix(n);
      const size_t more = sent.find("\r\n");
      if (more == absl::string_view::npos) return;
      rest = sent.substr(0, more);
      sent.remove_prefix(more + 2);
    }
  }
}

// A server that answers each connection with the next scripted byte stream, then closes it.
class FakeServer {
 public:
  FakeServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Require(fd_ >= 0, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Require(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind 127.0.0.1");
    Require(listen(fd_, 16) == 0, "listen");
    socklen_t len = sizeof addr;
    Require(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
    port_ = ntohs(addr.sin_port);
  }
  int port() const { return port_; }

  // Serves `streams` (one per connection, in order) until Stop(); returns what each client sent.
  std::vector<std::string> Run(const std::vector<std::string>& streams,
                               const std::function<void()>& client) {
    std::atomic<bool> stop{false};
    std::vector<std::string> received;
    std::thread server([&] {
      size_t next = 0;
      while (!stop.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 5) <= 0) continue;
        const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        const std::string& out = next < streams.size() ? streams[next] : std::string();
        ++next;
        for (size_t at = 0; at < out.size();) {
          const ssize_t n = send(c, out.data() + at, out.size() - at, MSG_NOSIGNAL);
          if (n <= 0) break;
          at += static_cast<size_t>(n);
        }
        shutdown(c, SHUT_WR);
        std::string in;
        char buf[4096];
        while (true) {
          pollfd q{c, POLLIN, 0};
          if (poll(&q, 1, 2000) <= 0) break;
          const ssize_t n = recv(c, buf, sizeof buf, 0);
          if (n <= 0) break;
          in.append(buf, static_cast<size_t>(n));
        }
        linger l{1, 0};  // reset, not TIME_WAIT: thousands of connections a second
        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(c);
        received.push_back(std::move(in));
      }
    });
    client();
    stop = true;
    server.join();
    return received;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zarc::importer;
  zarc::fuzz::QuietLogs();
  static FakeServer* server = new FakeServer();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> streams;
  for (absl::string_view part : zarc::fuzz::SplitParts(input)) streams.emplace_back(part);

  ImapTargetOptions options;
  options.server.host = "127.0.0.1";
  options.server.port = server->port();
  options.server.tls = ImapTls::kNone;
  options.server.timeout = absl::Seconds(2);
  options.auth = "master";
  options.master_user = "zarc-master";
  options.password = std::string(kPassword);
  ImapTarget target(options);

  const std::string message =
      "From: Zoom <no-reply@zoom.example>\r\nTo: alice@corp.example\r\nSubject: Weekly sync\r\n"
      "Message-ID: <fuzz-1@zarc>\r\n\r\nThe transcript.\r\n";
  DeliveryRequest request;
  request.mailbox = "alice@corp.example";
  request.message_id = "fuzz-1@zarc";
  request.internal_date = absl::FromUnixSeconds(1'700'000'000);
  request.size = message.size();
  request.open = [&message]() -> absl::StatusOr<std::unique_ptr<zarc::io::ByteSource>> {
    return std::make_unique<zarc::io::StringSource>(message);
  };
  absl::StatusOr<DeliveryOutcome> outcome;
  const std::vector<std::string> sent =
      server->Run(streams, [&] { outcome = target.Deliver(request); });
  if (!outcome.ok()) {
    Require(!outcome.status().message().empty(), "a failure says why");
    Require(absl::StrContains(input, kPassword) ||
                !absl::StrContains(outcome.status().message(), kPassword),
            "a failure never shows the password");
    Require(outcome.status().message().size() <= 4096, "a failure quotes the server briefly");
  }
  for (const std::string& s : sent) CheckClientStream(s);
  return 0;
}

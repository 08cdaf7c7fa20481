#include "services/importer/imap_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/proxy_rules.h"

namespace zarc::importer {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;      // a server line longer than this is malformed
constexpr size_t kMaxLiteralBytes = 16 << 20;  // server literals we accept inline (LIST names...)
constexpr size_t kAppendChunk = 64 << 10;

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "no OpenSSL error detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

bool IsIpAddress(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

bool ContainsIgnoreCase(absl::string_view haystack, absl::string_view needle) {
  return absl::StrContains(absl::AsciiStrToLower(haystack), absl::AsciiStrToLower(needle));
}

// Codes after which trying again later may succeed (RFC 5530 and Exchange's throttling text).
bool IsTransientNo(const ImapResponse& r) {
  // OVERQUOTA (RFC 5530): the mailbox is full until someone frees or raises its quota.
  static const char* const kCodes[] = {"UNAVAILABLE", "INUSE", "SERVERBUG", "OVERQUOTA"};
  const std::string code = absl::AsciiStrToUpper(r.code);
  for (const char* c : kCodes) {
    if (code == c) return true;
  }
  const std::string text = absl::AsciiStrToLower(r.text);
  return absl::StrContains(text, "unavailable") || absl::StrContains(text, "throttl") ||
         absl::StrContains(text, "try again");
}

}  // namespace

// A TCP connection, optionally wrapped in TLS, with a read buffer. Every read and write is bounded
// by the timeout (SO_RCVTIMEO / SO_SNDTIMEO).
class ImapClient::Transport {
 public:
  Transport(int fd, std::string server, absl::Duration timeout)
      : fd_(fd), server_(std::move(server)), timeout_(timeout) {}
  ~Transport() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) close(fd_);
  }

  static absl::StatusOr<std::unique_ptr<Transport>> Connect(const ImapConnectOptions& o) {
    const std::string server = absl::StrCat(o.host, ":", o.port);
    const std::string proxy = ImapProxyFor(o, [](const char* name) { return std::getenv(name); });
    if (proxy.empty()) return Dial(o.host, o.port, o, server, "IMAP server", "imap.host");
    return Tunnel(proxy, o, server);
  }

  // A TCP connection to host:port with the timeouts of `o`.
  static absl::StatusOr<std::unique_ptr<Transport>> Dial(const std::string& host, int port_number,
                                                         const ImapConnectOptions& o,
                                                         const std::string& server,
                                                         absl::string_view what,
                                                         absl::string_view setting) {
    const std::string target = absl::StrCat(host, ":", port_number);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(port_number);
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return absl::UnavailableError(absl::StrCat("cannot resolve ", what, " ", target, ": ",
                                                 gai_strerror(rc), "; check ", setting));
    }
    std::string last_error = "no address";
    int fd = -1;
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (ConnectWithTimeout(fd, a->ai_addr, a->ai_addrlen, o.timeout, &last_error)) break;
      close(fd);
      fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", what, " ", target, ": ", last_error));
    }
    timeval tv{};
    const int64_t ms = absl::ToInt64Milliseconds(o.timeout);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return std::make_unique<Transport>(fd, server, o.timeout);
  }

  // Through an HTTP proxy: CONNECT host:port (RFC 9110 section 9.3.6), then the IMAP bytes
  // (TLS end to end) flow through the tunnel.
  static absl::StatusOr<std::unique_ptr<Transport>> Tunnel(const std::string& proxy_url,
                                                           const ImapConnectOptions& o,
                                                           const std::string& server) {
    absl::string_view rest = proxy_url;
    if (!absl::ConsumePrefix(&rest, "http://") && absl::StrContains(rest, "://")) {
      return absl::InvalidArgumentError(
          "the IMAP proxy must be an http:// URL or host:port (the CONNECT tunnel carries TLS "
          "itself)");
    }
    rest = rest.substr(0, rest.find('/'));
    std::string userinfo;
    if (const size_t at = rest.rfind('@'); at != absl::string_view::npos) {
      userinfo = std::string(rest.substr(0, at));
      rest.remove_prefix(at + 1);
    }
    const size_t colon = rest.rfind(':');
    int port = 80;
    std::string host(rest.substr(0, colon));
    if (colon != absl::string_view::npos && !absl::SimpleAtoi(rest.substr(colon + 1), &port)) {
      return absl::InvalidArgumentError(absl::StrCat("the IMAP proxy ", host, " has a bad port"));
    }
    const std::string shown = absl::StrCat("proxy ", host, ":", port);  // never the userinfo
    absl::StatusOr<std::unique_ptr<Transport>> t =
        Dial(host, port, o, server, "the IMAP proxy", "imap.proxy or HTTPS_PROXY");
    if (!t.ok()) return t.status();
    std::string request = absl::StrCat("CONNECT ", server, " HTTP/1.1\r\nHost: ", server, "\r\n");
    if (!userinfo.empty()) {
      std::string decoded;
      for (size_t i = 0; i < userinfo.size(); ++i) {
        int hi = 0, lo = 0;
        if (userinfo[i] == '%' && i + 2 < userinfo.size() && HexDigit(userinfo[i + 1], &hi) &&
            HexDigit(userinfo[i + 2], &lo)) {
          decoded.push_back(static_cast<char>(hi * 16 + lo));
          i += 2;
        } else {
          decoded.push_back(userinfo[i]);
        }
      }
      absl::StrAppend(&request, "Proxy-Authorization: Basic ", crypto::Base64Encode(decoded),
                      "\r\n");
    }
    request += "\r\n";
    if (absl::Status s = (*t)->Write(request); !s.ok()) return s;
    // The proxy's answer head, byte by byte so that nothing of the tunnel is read ahead.
    std::string head;
    while (!absl::EndsWith(head, "\r\n\r\n")) {
      char c;
      const ssize_t n = recv((*t)->fd_, &c, 1, 0);
      if (n <= 0) {
        return absl::UnavailableError(
            absl::StrCat("the IMAP ", shown, " closed the connection during CONNECT ", server));
      }
      head.push_back(c);
      if (head.size() > 16384) {
        return absl::UnavailableError(absl::StrCat("the IMAP ", shown, " sent an endless answer"));
      }
    }
    const std::string status_line = head.substr(0, head.find("\r\n"));
    std::vector<absl::string_view> words = absl::StrSplit(status_line, ' ');
    if (words.size() < 2 || words[1] != "200") {
      return absl::UnavailableError(absl::StrCat("the IMAP ", shown, " refused CONNECT ", server,
                                                 ": ", status_line.substr(0, 200),
                                                 "; check imap.proxy or HTTPS_PROXY/NO_PROXY"));
    }
    return t;
  }

  static bool HexDigit(char c, int* v) {
    if (c >= '0' && c <= '9') { *v = c - '0'; return true; }
    if (c >= 'a' && c <= 'f') { *v = c - 'a' + 10; return true; }
    if (c >= 'A' && c <= 'F') { *v = c - 'A' + 10; return true; }
    return false;
  }

  // Upgrades to TLS (after connect for implicit TLS, after the STARTTLS OK otherwise) and
  // verifies the server certificate against the system store plus `ca_file`, and the host name.
  absl::Status StartTls(const std::string& host, const std::string& ca_file) {
    if (!buffer_.empty()) {
      return absl::UnavailableError(absl::StrCat("IMAP server ", server_,
                                                 " sent data before the TLS handshake"));
    }
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) return absl::InternalError("SSL_CTX_new failed: " + OpenSslError());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_default_verify_paths(ctx_);
    if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr) != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot load imap.ca_file \"", ca_file, "\": ", OpenSslError(), "; give a PEM file"));
    }
    ssl_ = SSL_new(ctx_);
    if (ssl_ == nullptr) return absl::InternalError("SSL_new failed: " + OpenSslError());
    SSL_set_fd(ssl_, fd_);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (IsIpAddress(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, host.c_str());
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
    if (SSL_connect(ssl_) != 1) {
      const long verify = SSL_get_verify_result(ssl_);
      std::string detail = OpenSslError();
      if (verify != X509_V_OK) detail = X509_verify_cert_error_string(verify);
      // A certificate problem will not pass by retrying; a reset handshake might.
      if (verify != X509_V_OK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "TLS certificate of IMAP server ", server_, " not trusted: ", detail,
            "; set imap.ca_file to the CA that signed it"));
      }
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with IMAP server ", server_, " failed: ", detail));
    }
    return absl::OkStatus();
  }

  absl::Status Write(absl::string_view data) {
    while (!data.empty()) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
        if (n <= 0) return IoError("write", SSL_get_error(ssl_, static_cast<int>(n)));
      } else {
        n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return IoError("write", 0);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  // One line without its CRLF.
  absl::StatusOr<std::string> ReadLine() {
    while (true) {
      const size_t eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        std::string line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return line;
      }
      if (buffer_.size() > kMaxLineBytes) {
        return absl::UnavailableError(absl::StrCat("IMAP server ", server_,
                                                   " sent a line over 1 MiB; giving up"));
      }
      if (absl::Status s = Fill(); !s.ok()) return s;
    }
  }

  absl::StatusOr<std::string> ReadExact(size_t n) {
    while (buffer_.size() < n) {
      if (absl::Status s = Fill(); !s.ok()) return s;
    }
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

 private:
  static bool ConnectWithTimeout(int fd, const sockaddr* addr, socklen_t len,
                                 absl::Duration timeout, std::string* error) {
    const int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, addr, len);
    if (rc != 0 && errno != EINPROGRESS) {
      *error = strerror(errno);
      return false;
    }
    if (rc != 0) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
      if (rc <= 0) {
        *error = rc == 0 ? "connect timed out" : strerror(errno);
        return false;
      }
      int so_error = 0;
      socklen_t l = sizeof(so_error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &l);
      if (so_error != 0) {
        *error = strerror(so_error);
        return false;
      }
    }
    fcntl(fd, F_SETFL, flags);
    return true;
  }

  absl::Status Fill() {
    char buf[16 << 10];
    while (true) {
      ssize_t n;
      if (ssl_ != nullptr) {
        n = SSL_read(ssl_, buf, sizeof(buf));
        if (n <= 0) return IoError("read", SSL_get_error(ssl_, static_cast<int>(n)));
      } else {
        n = recv(fd_, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return IoError("read", 0);
        if (n == 0) {
          return absl::UnavailableError(
              absl::StrCat("IMAP server ", server_, " closed the connection"));
        }
      }
      buffer_.append(buf, static_cast<size_t>(n));
      return absl::OkStatus();
    }
  }

  absl::Status IoError(absl::string_view op, int ssl_error) {
    const int e = errno;
    std::string detail;
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
      detail = "connection closed";
    } else if (e == EAGAIN || e == EWOULDBLOCK) {
      detail = absl::StrCat("timed out after ", absl::FormatDuration(timeout_));
    } else if (ssl_error == SSL_ERROR_SSL) {
      detail = OpenSslError();
    } else {
      detail = e != 0 ? strerror(e) : "connection closed";
    }
    return absl::UnavailableError(absl::StrCat("IMAP ", op, " to ", server_, " failed: ", detail));
  }

  int fd_;
  std::string server_;
  absl::Duration timeout_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

std::optional<std::string> ImapQuote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u == 0 || c == '\r' || c == '\n' || u >= 0x80) return std::nullopt;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string ImapDateTime(absl::Time t) {
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond c = absl::ToCivilSecond(t, utc);
  return absl::StrCat("\"", absl::FormatTime("%d", t, utc), "-", kMonths[c.month() - 1], "-",
                      absl::FormatTime("%Y %H:%M:%S", t, utc), " +0000\"");
}

void ParseStatusText(absl::string_view rest, std::string* status, std::string* code,
                     std::string* text) {
  const size_t sp = rest.find(' ');
  *status = absl::AsciiStrToUpper(rest.substr(0, sp));
  absl::string_view after = sp == absl::string_view::npos ? "" : rest.substr(sp + 1);
  code->clear();
  if (absl::StartsWith(after, "[")) {
    const size_t close = after.find(']');
    if (close != absl::string_view::npos) {
      absl::string_view inside = after.substr(1, close - 1);
      *code = absl::AsciiStrToUpper(inside.substr(0, inside.find(' ')));
      after = absl::StripLeadingAsciiWhitespace(after.substr(close + 1));
    }
  }
  *text = std::string(after);
}

absl::StatusOr<std::optional<char>> ParseListSeparator(absl::string_view untagged) {
  // LIST (\flags) "/" INBOX   |   LIST () NIL INBOX
  const size_t close = untagged.find(')');
  if (!absl::StartsWithIgnoreCase(untagged, "LIST (") || close == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("malformed LIST response: ", untagged));
  }
  absl::string_view rest = absl::StripLeadingAsciiWhitespace(untagged.substr(close + 1));
  if (absl::StartsWithIgnoreCase(rest, "NIL")) return std::optional<char>();
  if (rest.size() >= 3 && rest[0] == '"') {
    if (rest[1] == '\\' && rest.size() >= 4) return std::optional<char>(rest[2]);
    return std::optional<char>(rest[1]);
  }
  return absl::InvalidArgumentError(absl::StrCat("malformed LIST separator: ", untagged));
}

std::vector<uint32_t> ParseSearch(absl::string_view untagged) {
  std::vector<uint32_t> out;
  std::vector<absl::string_view> words = absl::StrSplit(untagged, ' ', absl::SkipEmpty());
  for (size_t i = 1; i < words.size(); ++i) {
    uint32_t n;
    if (absl::SimpleAtoi(words[i], &n)) out.push_back(n);
  }
  return out;
}

ImapClient::ImapClient(std::unique_ptr<Transport> transport, std::string server)
    : transport_(std::move(transport)), server_(std::move(server)) {}
ImapClient::~ImapClient() = default;

std::string ImapProxyFor(const ImapConnectOptions& o,
                         const std::function<const char*(const char*)>& getenv) {
  return http::HttpsProxyFor(o.host, o.proxy, getenv);
}

absl::StatusOr<std::unique_ptr<ImapClient>> ImapClient::Connect(const ImapConnectOptions& options) {
  absl::StatusOr<std::unique_ptr<Transport>> t = Transport::Connect(options);
  if (!t.ok()) return t.status();
  std::unique_ptr<ImapClient> client(
      new ImapClient(*std::move(t), absl::StrCat(options.host, ":", options.port)));
  if (options.tls == ImapTls::kImplicit) {
    if (absl::Status s = client->transport_->StartTls(options.host, options.ca_file); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = client->ReadGreeting(); !s.ok()) return s;
  if (options.tls == ImapTls::kStartTls) {
    if (absl::Status s = client->StartTls(options); !s.ok()) return s;
  }
  return client;
}

absl::Status ImapClient::ReadGreeting() {
  absl::StatusOr<std::string> line = ReadResponseLine();
  if (!line.ok()) return line.status();
  if (!absl::StartsWith(*line, "* ")) {
    return absl::UnavailableError(
        absl::StrCat("IMAP server ", server_, " sent no greeting but: ", line->substr(0, 200)));
  }
  std::string status, code, text;
  ParseStatusText(absl::string_view(*line).substr(2), &status, &code, &text);
  if (status == "BYE") {
    return absl::UnavailableError(
        absl::StrCat("IMAP server ", server_, " refused the connection: ", text));
  }
  if (status != "OK" && status != "PREAUTH") {
    return absl::UnavailableError(absl::StrCat("IMAP server ", server_, " greeted with ", *line));
  }
  return RefreshCapabilities();
}

absl::Status ImapClient::RefreshCapabilities() {
  absl::StatusOr<ImapResponse> r = Command("CAPABILITY");
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, "CAPABILITY");
  capabilities_.clear();
  for (const std::string& u : r->untagged) {
    if (!absl::StartsWithIgnoreCase(u, "CAPABILITY ")) continue;
    for (absl::string_view w : absl::StrSplit(absl::string_view(u).substr(11), ' ', absl::SkipEmpty())) {
      capabilities_.push_back(absl::AsciiStrToUpper(w));
    }
  }
  return absl::OkStatus();
}

bool ImapClient::HasCapability(absl::string_view capability) const {
  const std::string want = absl::AsciiStrToUpper(capability);
  for (const std::string& c : capabilities_) {
    if (c == want) return true;
  }
  return false;
}

absl::Status ImapClient::StartTls(const ImapConnectOptions& options) {
  if (!HasCapability("STARTTLS")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "IMAP server ", server_, " does not offer STARTTLS; use imap.tls=implicit (port 993)"));
  }
  absl::StatusOr<ImapResponse> r = Command("STARTTLS");
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, "STARTTLS");
  if (absl::Status s = transport_->StartTls(options.host, options.ca_file); !s.ok()) {
    broken_ = true;
    return s;
  }
  // RFC 3501 6.2.1: capabilities learnt before TLS must be discarded.
  return RefreshCapabilities();
}

std::string ImapClient::NextTag() { return absl::StrCat("Z", next_tag_++); }

absl::StatusOr<std::string> ImapClient::ReadResponseLine() {
  absl::StatusOr<std::string> line = transport_->ReadLine();
  if (!line.ok()) {
    broken_ = true;
    return line.status();
  }
  // A line ending in {n} continues after n bytes of literal (RFC 3501 section 4.3).
  std::string out = *std::move(line);
  while (!out.empty() && out.back() == '}') {
    const size_t open = out.rfind('{');
    uint64_t n;
    if (open == std::string::npos ||
        !absl::SimpleAtoi(absl::string_view(out).substr(open + 1, out.size() - open - 2), &n)) {
      break;
    }
    if (n > kMaxLiteralBytes) {
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("IMAP server ", server_, " sent a literal of ", n,
                                                 " bytes where a short one was expected"));
    }
    absl::StatusOr<std::string> literal = transport_->ReadExact(n);
    if (!literal.ok()) {
      broken_ = true;
      return literal.status();
    }
    absl::StatusOr<std::string> more = transport_->ReadLine();
    if (!more.ok()) {
      broken_ = true;
      return more.status();
    }
    out.append(*literal);
    out.append(*more);
  }
  return out;
}

absl::StatusOr<ImapResponse> ImapClient::ReadUntilTagged(const std::string& tag) {
  ImapResponse response;
  while (true) {
    absl::StatusOr<std::string> line = ReadResponseLine();
    if (!line.ok()) return line.status();
    if (absl::StartsWith(*line, "* ")) {
      std::string u = line->substr(2);
      if (absl::StartsWithIgnoreCase(u, "BYE")) {
        std::string status, code, text;
        ParseStatusText(u, &status, &code, &text);
        broken_ = true;
        return absl::UnavailableError(
            absl::StrCat("IMAP server ", server_, " closed the session: ", text));
      }
      response.untagged.push_back(std::move(u));
      continue;
    }
    if (absl::StartsWith(*line, tag + " ")) {
      ParseStatusText(absl::string_view(*line).substr(tag.size() + 1), &response.status,
                      &response.code, &response.text);
      return response;
    }
    if (absl::StartsWith(*line, "+")) {
      broken_ = true;
      return absl::InvalidArgumentError(
          absl::StrCat("IMAP server ", server_, " asked for a continuation nobody sent"));
    }
    // Anything else (another tag) is a protocol violation for a one-command-at-a-time client.
    broken_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected IMAP line from ", server_, ": ", line->substr(0, 200)));
  }
}

absl::StatusOr<ImapResponse> ImapClient::Command(absl::string_view command) {
  return CommandParts({Part{false, std::string(command)}}, command.substr(0, command.find(' ')));
}

absl::StatusOr<ImapResponse> ImapClient::CommandParts(const std::vector<Part>& parts,
                                                      absl::string_view what) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("IMAP connection to ", server_, " is unusable after an earlier error"));
  }
  const std::string tag = NextTag();
  std::string pending = tag + " ";
  for (const Part& p : parts) {
    if (!p.literal) {
      pending += p.data;
      continue;
    }
    absl::StrAppend(&pending, "{", p.data.size(), "}\r\n");
    if (absl::Status s = transport_->Write(pending); !s.ok()) {
      broken_ = true;
      return s;
    }
    pending.clear();
    absl::StatusOr<std::string> line = ReadResponseLine();
    if (!line.ok()) return line.status();
    if (!absl::StartsWith(*line, "+")) {
      ImapResponse r;
      if (absl::StartsWith(*line, tag + " ")) {
        ParseStatusText(absl::string_view(*line).substr(tag.size() + 1), &r.status, &r.code,
                        &r.text);
        return r;
      }
      broken_ = true;
      return absl::UnavailableError(absl::StrCat("IMAP server ", server_, " did not accept the ",
                                                 what, " literal: ", line->substr(0, 200)));
    }
    pending = p.data;
  }
  pending += "\r\n";
  if (absl::Status s = transport_->Write(pending); !s.ok()) {
    broken_ = true;
    return s;
  }
  return ReadUntilTagged(tag);
}

absl::Status ImapClient::Refused(const ImapResponse& r, absl::string_view what) const {
  return RefusalStatus(r, server_, what);
}

absl::Status RefusalStatus(const ImapResponse& r, absl::string_view server,
                           absl::string_view what) {
  const std::string detail = absl::StrCat(
      "IMAP server ", server, " answered ", what, " with ", r.status,
      r.code.empty() ? "" : absl::StrCat(" [", r.code, "]"), ": ", r.text);
  // Exchange Online throttles with BAD ("Request is throttled. Suggested Backoff Time: 201317
  // milliseconds"): a wait, never a fault of the command or the item.
  if (absl::StrContains(absl::AsciiStrToLower(r.text), "throttl")) {
    return absl::UnavailableError(detail);
  }
  if (r.status == "BAD") return absl::InvalidArgumentError(detail);
  if (r.code == "AUTHENTICATIONFAILED" || r.code == "AUTHORIZATIONFAILED") {
    return absl::PermissionDeniedError(detail);
  }
  if (IsTransientNo(r)) return absl::UnavailableError(detail);
  return absl::FailedPreconditionError(detail);
}

absl::Status ImapClient::Login(absl::string_view user, absl::string_view password) {
  if (HasCapability("LOGINDISABLED")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "IMAP server ", server_,
        " disables LOGIN on this connection; use imap.tls=starttls or imap.tls=implicit"));
  }
  std::vector<Part> parts;
  parts.push_back({false, "LOGIN "});
  for (absl::string_view arg : {user, password}) {
    if (std::optional<std::string> q = ImapQuote(arg)) {
      parts.push_back({false, *q});
    } else {
      parts.push_back({true, std::string(arg)});
    }
    parts.push_back({false, " "});
  }
  parts.pop_back();
  absl::StatusOr<ImapResponse> r = CommandParts(parts, "LOGIN");
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, absl::StrCat("LOGIN as ", user));
  return RefreshCapabilities();
}

absl::Status ImapClient::Authenticate(absl::string_view mechanism,
                                      absl::string_view initial_response, absl::string_view what) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("IMAP connection to ", server_, " is unusable after an earlier error"));
  }
  const std::string encoded = crypto::Base64Encode(initial_response);
  const std::string tag = NextTag();
  const bool sasl_ir = HasCapability("SASL-IR");
  std::string line = absl::StrCat(tag, " AUTHENTICATE ", mechanism);
  if (sasl_ir) absl::StrAppend(&line, " ", encoded.empty() ? "=" : encoded);
  line += "\r\n";
  if (absl::Status s = transport_->Write(line); !s.ok()) {
    broken_ = true;
    return s;
  }
  bool sent_response = sasl_ir;
  while (true) {
    absl::StatusOr<std::string> reply = ReadResponseLine();
    if (!reply.ok()) return reply.status();
    if (absl::StartsWith(*reply, "+")) {
      // First challenge without SASL-IR: send the response. A later challenge is the server's
      // error detail (XOAUTH2); answering it with an empty line ends the exchange with NO.
      const std::string answer = sent_response ? "\r\n" : encoded + "\r\n";
      sent_response = true;
      if (absl::Status s = transport_->Write(answer); !s.ok()) {
        broken_ = true;
        return s;
      }
      continue;
    }
    if (absl::StartsWith(*reply, "* ")) continue;
    if (!absl::StartsWith(*reply, tag + " ")) {
      broken_ = true;
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected IMAP line from ", server_, ": ", reply->substr(0, 200)));
    }
    ImapResponse r;
    ParseStatusText(absl::string_view(*reply).substr(tag.size() + 1), &r.status, &r.code, &r.text);
    if (r.status != "OK") {
      // Without a code, a refused AUTHENTICATE is a refused login all the same.
      if (r.status == "NO" && r.code.empty()) r.code = "AUTHENTICATIONFAILED";
      return Refused(r, what);
    }
    return RefreshCapabilities();
  }
}

absl::Status ImapClient::AuthenticatePlain(absl::string_view authzid, absl::string_view user,
                                           absl::string_view password) {
  std::string message;
  message.append(authzid.data(), authzid.size());
  message.push_back('\0');
  message.append(user.data(), user.size());
  message.push_back('\0');
  message.append(password.data(), password.size());
  return Authenticate("PLAIN", message, absl::StrCat("AUTHENTICATE PLAIN as ", user));
}

absl::Status ImapClient::AuthenticateXOAuth2(absl::string_view user, absl::string_view token) {
  std::string message = absl::StrCat("user=", user, "\x01", "auth=Bearer ", token, "\x01\x01");
  return Authenticate("XOAUTH2", message, absl::StrCat("AUTHENTICATE XOAUTH2 as ", user));
}

absl::StatusOr<std::optional<char>> ImapClient::HierarchySeparator() {
  absl::StatusOr<ImapResponse> r = Command("LIST \"\" \"INBOX\"");
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, "LIST \"\" INBOX");
  for (const std::string& u : r->untagged) {
    if (absl::StartsWithIgnoreCase(u, "LIST ")) return ParseListSeparator(u);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("IMAP server ", server_, " lists no INBOX for this user"));
}

absl::Status ImapClient::CreateIfMissing(absl::string_view mailbox) {
  std::optional<std::string> q = ImapQuote(mailbox);
  if (!q) return absl::InvalidArgumentError(absl::StrCat("mailbox name not quotable: ", mailbox));
  absl::StatusOr<ImapResponse> r = Command("CREATE " + *q);
  if (!r.ok()) return r.status();
  if (r->status == "OK" || r->code == "ALREADYEXISTS") return absl::OkStatus();
  // Servers without RFC 5530 codes say so in words.
  if (r->status == "NO" && ContainsIgnoreCase(r->text, "exists")) return absl::OkStatus();
  return Refused(*r, absl::StrCat("CREATE ", *q));
}

absl::Status ImapClient::Subscribe(absl::string_view mailbox) {
  std::optional<std::string> q = ImapQuote(mailbox);
  if (!q) return absl::InvalidArgumentError(absl::StrCat("mailbox name not quotable: ", mailbox));
  absl::StatusOr<ImapResponse> r = Command("SUBSCRIBE " + *q);
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, absl::StrCat("SUBSCRIBE ", *q));
  return absl::OkStatus();
}

absl::Status ImapClient::Select(absl::string_view mailbox) {
  std::optional<std::string> q = ImapQuote(mailbox);
  if (!q) return absl::InvalidArgumentError(absl::StrCat("mailbox name not quotable: ", mailbox));
  absl::StatusOr<ImapResponse> r = Command("SELECT " + *q);
  if (!r.ok()) return r.status();
  if (r->status == "OK") return absl::OkStatus();
  if (r->status == "NO" && (r->code == "NONEXISTENT" || r->code == "TRYCREATE" ||
                            ContainsIgnoreCase(r->text, "doesn't exist") ||
                            ContainsIgnoreCase(r->text, "does not exist"))) {
    return absl::NotFoundError(absl::StrCat("IMAP mailbox ", *q, " does not exist on ", server_));
  }
  return Refused(*r, absl::StrCat("SELECT ", *q));
}

absl::StatusOr<std::vector<uint32_t>> ImapClient::SearchMessageId(absl::string_view message_id) {
  std::optional<std::string> q = ImapQuote(absl::StrCat("<", message_id, ">"));
  if (!q) {
    return absl::InvalidArgumentError(
        absl::StrCat("Message-ID has characters IMAP cannot quote: ", message_id));
  }
  absl::StatusOr<ImapResponse> r = Command("UID SEARCH HEADER Message-ID " + *q);
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, "UID SEARCH HEADER Message-ID");
  std::vector<uint32_t> uids;
  for (const std::string& u : r->untagged) {
    if (absl::StartsWithIgnoreCase(u, "SEARCH")) {
      std::vector<uint32_t> found = ParseSearch(u);
      uids.insert(uids.end(), found.begin(), found.end());
    }
  }
  return uids;
}

absl::Status ImapClient::Append(absl::string_view mailbox, absl::string_view flags,
                                absl::Time internal_date, uint64_t size, io::ByteSource& message) {
  if (broken_) {
    return absl::UnavailableError(
        absl::StrCat("IMAP connection to ", server_, " is unusable after an earlier error"));
  }
  std::optional<std::string> q = ImapQuote(mailbox);
  if (!q) return absl::InvalidArgumentError(absl::StrCat("mailbox name not quotable: ", mailbox));
  const std::string tag = NextTag();
  const std::string what = absl::StrCat("APPEND to ", *q);
  const std::string header = absl::StrCat(tag, " APPEND ", *q, " (", flags, ") ",
                                          ImapDateTime(internal_date), " {", size, "}\r\n");
  if (absl::Status s = transport_->Write(header); !s.ok()) {
    broken_ = true;
    return s;
  }
  // The server either invites the literal with "+" or refuses at once (e.g. NO [TOOBIG]).
  while (true) {
    absl::StatusOr<std::string> line = ReadResponseLine();
    if (!line.ok()) return line.status();
    if (absl::StartsWith(*line, "+")) break;
    if (absl::StartsWith(*line, "* ")) continue;
    if (absl::StartsWith(*line, tag + " ")) {
      ImapResponse r;
      ParseStatusText(absl::string_view(*line).substr(tag.size() + 1), &r.status, &r.code, &r.text);
      return Refused(r, what);
    }
    broken_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected IMAP line from ", server_, ": ", line->substr(0, 200)));
  }
  std::string chunk(kAppendChunk, '\0');
  uint64_t sent = 0;
  while (true) {
    absl::StatusOr<size_t> n = message.Read(chunk.data(), chunk.size());
    if (!n.ok()) {
      broken_ = true;  // the literal is incomplete: the session cannot continue
      return n.status();
    }
    if (*n == 0) break;
    if (sent + *n > size) {
      broken_ = true;
      return absl::DataLossError(absl::StrCat("message for ", what, " is longer than its stated ",
                                              size, " bytes"));
    }
    if (absl::Status s = transport_->Write(absl::string_view(chunk.data(), *n)); !s.ok()) {
      broken_ = true;
      return s;
    }
    sent += *n;
  }
  if (sent != size) {
    broken_ = true;
    return absl::DataLossError(absl::StrCat("message for ", what, " ended after ", sent,
                                            " of its stated ", size, " bytes"));
  }
  if (absl::Status s = transport_->Write("\r\n"); !s.ok()) {
    broken_ = true;
    return s;
  }
  absl::StatusOr<ImapResponse> r = ReadUntilTagged(tag);
  if (!r.ok()) return r.status();
  if (r->status != "OK") return Refused(*r, what);
  return absl::OkStatus();
}

absl::Status ImapClient::Logout() {
  if (broken_) return absl::OkStatus();
  absl::StatusOr<ImapResponse> r = Command("LOGOUT");
  // The server answers with BYE then OK; BYE surfaces as an error from ReadUntilTagged.
  broken_ = true;
  if (!r.ok() && !absl::IsUnavailable(r.status())) return r.status();
  return absl::OkStatus();
}

}  // namespace zarc::importer

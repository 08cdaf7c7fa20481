#include "runtime/http/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "runtime/http/proxy_rules.h"

namespace zarc::http {
namespace {

// The proxy settings a client uses (runtime/http/proxy_rules.h), read once when it is made.
struct ProxySettings {
  std::string https;  // for https:// URLs
  std::string http;   // for http:// URLs
  std::string no_proxy;
};

std::string Env(const char* lower, const char* upper) { return ProxyEnvironment(lower, upper, nullptr); }

ProxySettings ResolveProxySettings(const ClientOptions& options) {
  ProxySettings settings;
  if (!options.proxy.empty()) {
    settings.https = settings.http = options.proxy;
    settings.no_proxy = options.no_proxy;
    return settings;
  }
  const std::string all = Env("all_proxy", "ALL_PROXY");
  settings.https = Env("https_proxy", "HTTPS_PROXY");
  if (settings.https.empty()) settings.https = all;
  settings.http = Env("http_proxy", "HTTP_PROXY");
  if (settings.http.empty()) settings.http = all;
  settings.no_proxy = Env("no_proxy", "NO_PROXY");
  return settings;
}

// The secrets of a proxy URL's userinfo, as written and percent-decoded: what errors must never
// carry.
std::vector<std::string> ProxySecrets(absl::string_view proxy) {
  std::vector<std::string> secrets;
  const size_t scheme = proxy.find("://");
  const size_t start = scheme == absl::string_view::npos ? 0 : scheme + 3;
  const size_t at = proxy.find('@', start);
  if (at == absl::string_view::npos || at > proxy.find('/', start)) return secrets;
  const absl::string_view userinfo = proxy.substr(start, at - start);
  secrets.emplace_back(userinfo);
  const size_t colon = userinfo.find(':');
  if (colon != absl::string_view::npos && colon + 1 < userinfo.size()) {
    const absl::string_view password = userinfo.substr(colon + 1);
    secrets.emplace_back(password);
    secrets.push_back(PercentDecode(password));
  }
  return secrets;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  *ok = in.good() || in.eof();
  if (!in.is_open()) *ok = false;
  return text.str();
}

bool IsManagedHeader(absl::string_view name) {
  // libcurl writes these itself (from the body, the URL and the transfer).
  return absl::EqualsIgnoreCase(name, "Content-Length") || absl::EqualsIgnoreCase(name, "Host") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
         absl::EqualsIgnoreCase(name, "Connection");
}

// One transfer's state, shared with libcurl's callbacks (which run on the calling thread, inside
// curl_easy_perform).
struct Transfer {
  io::ByteSink* sink = nullptr;  // where a 2xx body goes when streaming
  size_t error_body_limit = 0;   // bound on a body that is kept in memory
  ClientResponse response;
  absl::Status sink_status;
  absl::Duration timeout;
  absl::Time last_activity;
  curl_off_t last_down = 0;
  curl_off_t last_up = 0;
  bool timed_out = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  line = absl::StripTrailingAsciiWhitespace(line);
  if (absl::StartsWith(line, "HTTP/")) {
    // A new response starts (after a 100 Continue, for instance): only the last one counts.
    t->response.headers.clear();
    t->response.status = 0;
    const size_t space = line.find(' ');
    if (space != absl::string_view::npos) {
      (void)absl::SimpleAtoi(line.substr(space + 1, 3), &t->response.status);
    }
  } else if (const size_t colon = line.find(':'); colon != absl::string_view::npos && colon > 0) {
    t->response.headers.emplace_back(
        std::string(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  t->last_activity = absl::Now();
  return size * count;
}

// Writes synchronously: libcurl reads the next chunk from the socket only after this returns, so
// a slow sink slows the transfer and memory stays at one buffer.
size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const absl::string_view bytes(data, size * count);
  const bool success = t->response.status >= 200 && t->response.status < 300;
  if (t->sink != nullptr && success) {
    absl::Status status = t->sink->Write(bytes);
    if (!status.ok()) {
      t->sink_status = std::move(status);
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
  } else if (t->response.body.size() < t->error_body_limit) {
    t->response.body.append(bytes.data(),
                            std::min(bytes.size(), t->error_body_limit - t->response.body.size()));
  }
  // Time spent in the sink is back-pressure, not a silent server.
  t->last_activity = absl::Now();
  return bytes.size();
}

// The inactivity timeout: libcurl calls this at least once a second, and whenever data moves.
int OnProgress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* t = static_cast<Transfer*>(user);
  const absl::Time now = absl::Now();
  if (down != t->last_down || up != t->last_up) {
    t->last_down = down;
    t->last_up = up;
    t->last_activity = now;
  } else if (now - t->last_activity > t->timeout) {
    t->timed_out = true;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const ClientOptions& options)
      : options_(options), proxies_(ResolveProxySettings(options)) {
    for (const std::string* proxy : {&proxies_.https, &proxies_.http}) {
      for (std::string& secret : ProxySecrets(*proxy)) secrets_.push_back(std::move(secret));
    }
    LoadTrust();
  }

  ~CurlHttpClient() override {
    absl::MutexLock lock(&mu_);
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  absl::StatusOr<ClientResponse> Send(const ClientRequest& request) override {
    return Execute(request, nullptr);
  }

  absl::StatusOr<ClientResponse> SendStreaming(const ClientRequest& request,
                                               io::ByteSink& sink) override {
    return Execute(request, &sink);
  }

 private:
  // Trust: the system store plus ClientOptions::ca_file, as one in-memory bundle (CURLOPT_CAINFO
  // alone would replace the system store).
  void LoadTrust() {
    const char* cert_file = std::getenv("SSL_CERT_FILE");
    std::string system_bundle = cert_file != nullptr ? cert_file : "";
    if (system_bundle.empty()) {
      CURL* probe = curl_easy_init();
      char* default_bundle = nullptr;
      if (probe != nullptr && curl_easy_getinfo(probe, CURLINFO_CAINFO, &default_bundle) == CURLE_OK &&
          default_bundle != nullptr) {
        system_bundle = default_bundle;
      }
      if (probe != nullptr) curl_easy_cleanup(probe);
    }
    if (options_.ca_file.empty()) {
      ca_path_ = system_bundle;
      return;
    }
    bool ok = false;
    std::string extra = ReadFile(options_.ca_file, &ok);
    if (!ok || extra.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      trust_error_ = absl::FailedPreconditionError(
          absl::StrCat("CA file ", options_.ca_file,
                       " cannot be read or holds no PEM certificate; point ca_file at a PEM file"));
      return;
    }
    bool system_ok = false;
    ca_bundle_ = system_bundle.empty() ? std::string() : ReadFile(system_bundle, &system_ok);
    if (!ca_bundle_.empty() && ca_bundle_.back() != '\n') ca_bundle_.push_back('\n');
    ca_bundle_ += extra;
  }

  CURL* Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  // The handle keeps its connection cache (and TLS sessions) for the next request.
  void Release(CURL* handle) {
    curl_easy_reset(handle);
    absl::MutexLock lock(&mu_);
    idle_.push_back(handle);
  }

  absl::StatusOr<ClientResponse> Execute(const ClientRequest& request, io::ByteSink* sink) {
    const std::optional<UrlOrigin> origin = ParseOrigin(request.url);
    if (!origin.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(request.method, " ", RedactUrl(request.url),
                       ": not a valid URL; only absolute http and https URLs without userinfo are "
                       "supported"));
    }
    if (!trust_error_.ok()) return trust_error_;
    CURL* handle = Acquire();
    if (handle == nullptr) return absl::ResourceExhaustedError("libcurl could not make a handle");
    absl::StatusOr<ClientResponse> result = Perform(handle, request, *origin, sink);
    Release(handle);
    return result;
  }

  absl::StatusOr<ClientResponse> Perform(CURL* h, const ClientRequest& request,
                                         const UrlOrigin& origin, io::ByteSink* sink) {
    Transfer t;
    t.sink = sink;
    t.error_body_limit = sink != nullptr ? kMaxErrorBodyBytes : std::numeric_limits<size_t>::max();
    t.timeout = request.timeout;
    t.last_activity = absl::Now();
    const std::string& configured = origin.scheme == "https" ? proxies_.https : proxies_.http;
    const std::string proxy =
        NoProxyMatches(proxies_.no_proxy, origin.host) ? std::string() : configured;

    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    // Following a redirect would carry Authorization to wherever the server points.
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
    curl_blob blob{ca_bundle_.data(), ca_bundle_.size(), CURL_BLOB_NOCOPY};
    if (!ca_bundle_.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, nullptr);
      curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
      curl_easy_setopt(h, CURLOPT_PROXY_CAINFO_BLOB, &blob);
    } else if (!ca_path_.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, ca_path_.c_str());
      curl_easy_setopt(h, CURLOPT_PROXY_CAINFO, ca_path_.c_str());
    }
    // Always set ("" is none), so libcurl's own reading of the environment never applies.
    curl_easy_setopt(h, CURLOPT_PROXY, proxy.c_str());
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    curl_easy_setopt(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);

    curl_easy_setopt(h, CURLOPT_BUFFERSIZE,
                     static_cast<long>(std::clamp<size_t>(options_.chunk_size, 1024, CURL_MAX_READ_SIZE)));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, absl::ToInt64Milliseconds(options_.connect_timeout))));
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &OnProgress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);

    Slist headers;
    auto add_header = [&headers](const std::string& line) {
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next != nullptr) {
        (void)headers.release();
        headers.reset(next);
      }
    };
    for (const auto& [name, value] : request.headers) {
      if (IsManagedHeader(name)) continue;
      // "Name;" is libcurl's way to send a header with an empty value.
      add_header(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
    }
    const bool has_type = FindHeader(request.headers, "Content-Type").has_value();
    if (request.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
               request.method == "PATCH") {
      // Sent straight from the caller's buffer, which outlives the transfer: no copy.
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
      if (request.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      // Content-Type goes out exactly as given (signed requests depend on it); a body without one
      // is application/octet-stream, never libcurl's form type.
      if (!has_type) {
        add_header(request.body.empty() ? "Content-Type:" : "Content-Type: application/octet-stream");
      }
      add_header("Expect:");  // no 100-continue round trip
    } else if (request.method != "GET") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    const CURLcode code = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (code == CURLE_OK) return std::move(t.response);
    if (code == CURLE_WRITE_ERROR && !t.sink_status.ok()) return t.sink_status;

    const std::string via =
        proxy.empty() ? std::string() : absl::StrCat(" (via proxy ", RedactUrl(proxy), ")");
    const std::string detail = Scrub(request, error[0] != '\0' ? error : curl_easy_strerror(code));
    if (t.timed_out || code == CURLE_OPERATION_TIMEDOUT) {
      return absl::DeadlineExceededError(absl::StrCat(
          request.method, " ", RedactUrl(request.url), " failed", via, ": ",
          t.timed_out ? absl::StrCat("no data moved for ", absl::FormatDuration(request.timeout))
                      : detail,
          "; check that the server is reachable and answering"));
    }
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
      return absl::InvalidArgumentError(absl::StrCat(request.method, " ", RedactUrl(request.url),
                                                     ": not a valid URL: ", detail));
    }
    return absl::UnavailableError(absl::StrCat(
        request.method, " ", RedactUrl(request.url), " failed", via, ": ", detail,
        "; check that the server", proxy.empty() ? "" : " and the proxy",
        " are reachable and the certificate trusted"));
  }

  // libcurl's messages might echo the request or the proxy; make sure no secret rides along.
  std::string Scrub(const ClientRequest& request, absl::string_view text) const {
    std::string out(text);
    std::vector<std::pair<std::string, std::string>> replacements;
    const size_t q = request.url.find('?');
    if (q != std::string::npos && q + 1 < request.url.size()) {
      replacements.emplace_back(request.url.substr(q + 1), "<redacted>");
    }
    for (const auto& [name, value] : request.headers) {
      if ((absl::EqualsIgnoreCase(name, "Authorization") ||
           absl::EqualsIgnoreCase(name, "Proxy-Authorization")) &&
          !value.empty()) {
        replacements.emplace_back(value, "<redacted>");
      }
    }
    for (const std::string& secret : secrets_) replacements.emplace_back(secret, "<redacted>");
    for (const auto& [from, to] : replacements) out = absl::StrReplaceAll(out, {{from, to}});
    return out;
  }

  const ClientOptions options_;
  const ProxySettings proxies_;
  std::vector<std::string> secrets_;  // of the proxy URLs, never shown
  std::string ca_bundle_;  // system store + ca_file, when ca_file is set
  std::string ca_path_;    // the system store's file otherwise ($SSL_CERT_FILE or libcurl's)
  absl::Status trust_error_;
  absl::Mutex mu_;
  // Idle easy handles, each with its own connection cache: one per concurrent request at most.
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::string RedactUrl(absl::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  // user:password@ in the authority is a secret too.
  const size_t scheme = url.find("://");
  const size_t authority = scheme == absl::string_view::npos ? 0 : scheme + 3;
  const size_t at = url.find('@', authority);
  if (at != absl::string_view::npos && at < url.find('/', authority)) {
    return absl::StrCat(url.substr(0, authority), url.substr(at + 1));
  }
  return std::string(url);
}

std::unique_ptr<HttpClient> NewHttpClient(const ClientOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<CurlHttpClient>(options);
}

}  // namespace zarc::http

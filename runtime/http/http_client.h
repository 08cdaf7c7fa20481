#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"
#include "runtime/io/byte_stream.h"

namespace zarc::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  // Inactivity limit: the request fails when no byte moves for this long (a large download that
  // keeps flowing is not cut off).
  absl::Duration timeout = absl::Seconds(60);
  // Lets RetryingHttpClient retry a non-idempotent method (e.g. a POST the server de-duplicates).
  bool retry_safe = false;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// Thread-safe: one client serves concurrent requests.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Whole-body request. Never follows redirects (callers decide where credentials may go).
  virtual absl::StatusOr<ClientResponse> Send(const ClientRequest& request) = 0;
  // Streams a 2xx response body into `sink` chunk by chunk with bounded memory; a non-2xx body is
  // returned in ClientResponse::body (at most kMaxErrorBodyBytes) and not written to the sink. Does
  // not Close() the sink.
  virtual absl::StatusOr<ClientResponse> SendStreaming(const ClientRequest& request,
                                                       io::ByteSink& sink) = 0;
};

inline constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

struct ClientOptions {
  // Extra PEM CA certificates trusted besides the system store (tests with a self-signed server).
  // The system store is $SSL_CERT_FILE when set, else libcurl's bundle.
  std::string ca_file;
  // Size of each read from the socket and hence of each Write() to a streaming sink.
  size_t chunk_size = 64 * 1024;
  // Limit on establishing a connection (DNS, TCP, TLS, proxy tunnel); the request's own timeout
  // still applies when it is shorter.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Proxy for every request ("http://proxy.corp:3128"; "user:password@" in it is sent as
  // Proxy-Authorization and never shown). Set, it overrides the environment: HTTPS_PROXY,
  // HTTP_PROXY, ALL_PROXY and NO_PROXY are then not read, and only `no_proxy` exempts hosts.
  std::string proxy;
  // Hosts reached without the proxy, NO_PROXY syntax (see ARCHITECTURE.md); only with `proxy`.
  std::string no_proxy;
};

// libcurl-backed client. TLS peer and host verification are always on. Without
// ClientOptions::proxy it uses HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY (either case) as
// they are when the client is made.
std::unique_ptr<HttpClient> NewHttpClient(const ClientOptions& options = {});

// The URL with its query string and fragment removed: what errors and logs may show, since query
// strings carry SAS tokens and other secrets.
std::string RedactUrl(absl::string_view url);

}  // namespace zarc::http

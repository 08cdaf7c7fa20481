#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/http/http_types.h"

namespace zarc::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port, see HttpServer::port()
  // Threads doing network I/O. Handlers run on their own pool (handler_threads), so a slow
  // handler never keeps another connection from being read or answered.
  int threads = 2;
  int handler_threads = 8;
  // Connections open at once. At the cap, a new connection closes the one that has waited
  // longest for its next request (idle keep-alive, or still sending its headers); if every
  // connection has a request in progress, the new one is closed at once. Idle or slow clients
  // therefore cannot keep a real one out.
  int max_connections = 1024;
  // PEM files; both set means HTTPS only, both empty means plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Larger request bodies are refused with 413 (before they are read when Content-Length says
  // so, else as soon as the limit is passed) and the connection is closed.
  size_t max_body_bytes = 64 * 1024 * 1024;
  // Keep-alive: a connection that sends no byte of a next request for this long is closed. Also
  // bounds each response write and the TLS handshake.
  absl::Duration idle_timeout = absl::Seconds(60);
  // From a request's first byte to the end of its headers, then from there to the end of its
  // body: a client dripping bytes (slowloris) is cut off at these deadlines.
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration body_timeout = absl::Seconds(60);
};

// Called concurrently from the server's threads; must be thread-safe. An exception becomes a 500
// with no detail in the response.
using Handler = std::function<ServerResponse(const ServerRequest&)>;

// HTTP/1.1 server with keep-alive (Boost.Beast): I/O on one thread pool, handlers on another. A response's body_stream is
// pulled one chunk at a time, each chunk written before the next is read, so a multi-GB body costs
// one chunk of memory.
class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                           Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Stops accepting, drops open connections and joins the threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::http

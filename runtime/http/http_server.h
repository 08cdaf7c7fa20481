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
  int threads = 2;
  // PEM files; both set means HTTPS only, both empty means plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Larger request bodies are refused with 413 and the connection is closed.
  size_t max_body_bytes = 64 * 1024 * 1024;
  // A connection that sends nothing for this long (or stalls a write) is closed.
  absl::Duration idle_timeout = absl::Seconds(60);
};

// Called concurrently from the server's threads; must be thread-safe. An exception becomes a 500
// with no detail in the response.
using Handler = std::function<ServerResponse(const ServerRequest&)>;

// HTTP/1.1 server with keep-alive on one thread pool (Boost.Beast). A response's body_stream is
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

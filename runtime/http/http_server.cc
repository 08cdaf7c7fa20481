#include "runtime/http/http_server.h"

#include <cerrno>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "runtime/log/log.h"

namespace zarc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

// One open connection, as the admission control sees it.
struct Connection {
  explicit Connection(asio::any_io_executor e) : executor(std::move(e)) {}
  asio::any_io_executor executor;  // the connection's strand
  // Set and cleared by the session, and used by an eviction, only on `executor`.
  beast::tcp_stream* stream = nullptr;
  // Key in HttpServer::Impl::idle while the connection waits for (the headers of) a request;
  // 0 while it has one in progress. Guarded by HttpServer::Impl::connections_mu.
  uint64_t idle_seq = 0;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  std::optional<asio::ssl::context> tls;  // outlives the io_context and so every session
  // Declared before `io`: a session destroyed with the io_context unregisters itself here.
  absl::Mutex connections_mu;
  int open_connections ABSL_GUARDED_BY(connections_mu) = 0;
  uint64_t next_idle_seq ABSL_GUARDED_BY(connections_mu) = 1;
  // Connections that may be closed to admit a new one, oldest first.
  std::map<uint64_t, std::shared_ptr<Connection>> idle ABSL_GUARDED_BY(connections_mu);
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::vector<std::thread> threads;
  // Joined in Stop() after the I/O threads, before `io` is destroyed.
  std::optional<asio::thread_pool> handler_pool;
  absl::Mutex stop_mu;
  bool stopped ABSL_GUARDED_BY(stop_mu) = false;
};

namespace {

constexpr size_t kStreamChunkBytes = 64 * 1024;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// Takes a slot for a new connection; at the cap, closes the longest-idle connection to make
// room. False when every connection has a request in progress.
bool Admit(HttpServer::Impl& server) {
  std::shared_ptr<Connection> victim;
  {
    absl::MutexLock lock(&server.connections_mu);
    if (server.open_connections < server.options.max_connections) {
      ++server.open_connections;
      return true;
    }
    if (server.idle.empty()) return false;
    auto oldest = server.idle.begin();
    victim = std::move(oldest->second);
    victim->idle_seq = 0;
    server.idle.erase(oldest);
    // The victim keeps its slot until its session ends; the new one is let in now, so the count
    // can pass the cap by the connections being closed at this moment.
    ++server.open_connections;
  }
  asio::post(victim->executor, [victim] {
    if (victim->stream == nullptr) return;
    beast::error_code ec;
    victim->stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    victim->stream->close();
  });
  return true;
}

void MarkIdle(HttpServer::Impl& server, const std::shared_ptr<Connection>& connection) {
  absl::MutexLock lock(&server.connections_mu);
  if (connection->idle_seq != 0) return;
  connection->idle_seq = server.next_idle_seq++;
  server.idle.emplace(connection->idle_seq, connection);
}

void MarkBusy(HttpServer::Impl& server, const std::shared_ptr<Connection>& connection) {
  absl::MutexLock lock(&server.connections_mu);
  if (connection->idle_seq == 0) return;
  server.idle.erase(connection->idle_seq);
  connection->idle_seq = 0;
}

// Ties a session's stream to its Connection for the session's lifetime; runs on the strand.
class ConnectionScope {
 public:
  ConnectionScope(HttpServer::Impl& server, std::shared_ptr<Connection> connection,
                  beast::tcp_stream& stream)
      : server_(server), connection_(std::move(connection)) {
    connection_->stream = &stream;
  }
  ~ConnectionScope() {
    connection_->stream = nullptr;
    absl::MutexLock lock(&server_.connections_mu);
    if (connection_->idle_seq != 0) server_.idle.erase(connection_->idle_seq);
    connection_->idle_seq = 0;
    --server_.open_connections;
  }
  ConnectionScope(const ConnectionScope&) = delete;
  ConnectionScope& operator=(const ConnectionScope&) = delete;

 private:
  HttpServer::Impl& server_;
  std::shared_ptr<Connection> connection_;
};

ServerResponse CallHandler(const Handler& handler, const ServerRequest& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    log::Error("http_server", "handler threw; answering 500",
               {{"method", request.method}, {"path", request.path}, {"error", e.what()}});
  } catch (...) {
    log::Error("http_server", "handler threw; answering 500",
               {{"method", request.method}, {"path", request.path}});
  }
  ServerResponse response;
  response.status = 500;
  response.headers.emplace_back("Content-Type", "text/plain");
  response.body = "internal server error\n";
  return response;
}

// Runs the handler on the handler pool and resumes the session on its strand with the answer.
awaitable<ServerResponse> RunHandler(HttpServer::Impl& server, const ServerRequest& request) {
  ServerResponse response;
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&server, &request, &response](auto completion) {
        asio::post(*server.handler_pool,
                   [&server, &request, &response, completion = std::move(completion)]() mutable {
                     response = CallHandler(server.handler, request);
                     auto executor = asio::get_associated_executor(completion);
                     asio::post(executor, std::move(completion));
                   });
      },
      use_awaitable);
  co_return response;
}

ServerResponse TooLarge(size_t limit) {
  ServerResponse too_large;
  too_large.status = 413;
  too_large.headers.emplace_back("Content-Type", "text/plain");
  too_large.body =
      absl::StrCat("request body is larger than the server's limit of ", limit, " bytes\n");
  return too_large;
}

bool IsManagedHeader(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
         absl::EqualsIgnoreCase(name, "Connection");
}

template <class Fields>
void CopyHeaders(const Headers& headers, Fields& out) {
  for (const auto& [name, value] : headers) {
    if (!IsManagedHeader(name)) out.insert(name, value);
  }
}

// Writes `response`; returns whether the connection may carry another request.
template <class Stream>
awaitable<bool> WriteResponse(Stream& stream, ServerResponse response, unsigned version,
                              bool keep_alive, bool head, absl::Duration timeout) {
  beast::error_code ec;
  const auto status = static_cast<bhttp::status>(response.status);
  if (head) {
    bhttp::response<bhttp::empty_body> res{status, version};
    CopyHeaders(response.headers, res);
    res.content_length(response.body_stream ? response.content_length.value_or(0)
                                            : response.body.size());
    res.keep_alive(keep_alive);
    beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
    co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    co_return !ec && keep_alive;
  }
  if (!response.body_stream) {
    bhttp::response<bhttp::string_body> res{status, version};
    CopyHeaders(response.headers, res);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
    co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    co_return !ec && keep_alive;
  }

  bhttp::response<bhttp::buffer_body> res{status, version};
  CopyHeaders(response.headers, res);
  if (response.content_length.has_value()) {
    res.content_length(*response.content_length);
  } else {
    res.chunked(true);
  }
  res.keep_alive(keep_alive);
  res.body().data = nullptr;
  res.body().more = true;
  bhttp::response_serializer<bhttp::buffer_body> serializer{res};
  beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
  co_await bhttp::async_write_header(stream, serializer, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return false;

  std::vector<char> chunk(kStreamChunkBytes);
  uint64_t sent = 0;
  const uint64_t limit = response.content_length.value_or(UINT64_MAX);
  bool complete = true;
  while (sent < limit) {
    absl::StatusOr<size_t> n =
        response.body_stream->Read(chunk.data(), std::min<uint64_t>(chunk.size(), limit - sent));
    if (!n.ok()) {
      log::Error("http_server", "response body stream failed; closing the connection",
                 {{"error", n.status()}, {"bytes_sent", sent}});
      complete = false;
      break;
    }
    if (*n == 0) break;
    res.body().data = chunk.data();
    res.body().size = *n;
    res.body().more = true;
    beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
    co_await bhttp::async_write(stream, serializer, asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return false;
    sent += *n;
  }
  if (!complete || (response.content_length.has_value() && sent != *response.content_length)) {
    // A short body with a declared length cannot be finished; closing tells the client.
    co_return false;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  beast::get_lowest_layer(stream).expires_after(ToChrono(timeout));
  co_await bhttp::async_write(stream, serializer, asio::redirect_error(use_awaitable, ec));
  co_return !ec && keep_alive;
}

// Reads and discards what a refused client is still sending (bounded), so it reads the answer
// instead of a reset.
template <class Stream>
awaitable<void> Drain(Stream& stream, beast::flat_buffer& buffer) {
  constexpr size_t kDrainBytes = 1 << 20;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  size_t drained = buffer.size();
  buffer.consume(buffer.size());
  while (drained < kDrainBytes) {
    beast::error_code ec;
    const size_t n = co_await stream.async_read_some(buffer.prepare(kStreamChunkBytes),
                                                     asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    drained += n;
  }
}

template <class Stream>
awaitable<void> ServeRequests(Stream& stream, HttpServer::Impl& server,
                              const std::shared_ptr<Connection>& connection, std::string remote) {
  const ServerOptions& options = server.options;
  auto& socket = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  while (true) {
    MarkIdle(server, connection);
    beast::error_code ec;
    if (buffer.size() == 0) {  // keep-alive: wait for the first byte of the next request
      socket.expires_after(ToChrono(options.idle_timeout));
      const size_t n = co_await stream.async_read_some(buffer.prepare(kStreamChunkBytes),
                                                       asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;  // closed by the peer, timed out, or evicted
      buffer.commit(n);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(64 * 1024);
    socket.expires_after(ToChrono(options.header_timeout));
    co_await bhttp::async_read_header(stream, buffer, parser,
                                      asio::redirect_error(use_awaitable, ec));
    if (!ec) {
      MarkBusy(server, connection);
      socket.expires_after(ToChrono(options.body_timeout));
      co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
    if (ec == bhttp::error::body_limit) {  // from Content-Length, or while reading the body
      MarkBusy(server, connection);
      co_await WriteResponse(stream, TooLarge(options.max_body_bytes), parser.get().version(),
                             false, false, options.idle_timeout);
      co_await Drain(stream, buffer);
      co_return;
    }
    if (ec) co_return;  // closed, too slow, evicted, or not HTTP

    bhttp::request<bhttp::string_body>& message = parser.get();
    ServerRequest request;
    request.method = std::string(message.method_string());
    const absl::string_view target(message.target().data(), message.target().size());
    const size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != absl::string_view::npos) request.query = std::string(target.substr(question + 1));
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote;

    socket.expires_never();  // the handler's time is not the client's
    ServerResponse response = co_await RunHandler(server, request);
    const bool keep_alive =
        co_await WriteResponse(stream, std::move(response), message.version(),
                               message.keep_alive(), message.method() == bhttp::verb::head,
                               options.idle_timeout);
    if (!keep_alive) co_return;
  }
}

awaitable<void> PlainSession(beast::tcp_stream stream, HttpServer::Impl& server,
                             std::shared_ptr<Connection> connection, std::string remote) {
  ConnectionScope scope(server, connection, stream);
  co_await ServeRequests(stream, server, connection, std::move(remote));
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> TlsSession(beast::tcp_stream tcp, HttpServer::Impl& server,
                           std::shared_ptr<Connection> connection, std::string remote) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *server.tls);
  ConnectionScope scope(server, connection, beast::get_lowest_layer(stream));
  MarkIdle(server, connection);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(ToChrono(server.options.header_timeout));
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  co_await ServeRequests(stream, server, connection, std::move(remote));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
}

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == boost::system::errc::too_many_files_open_in_system;
}

awaitable<void> AcceptLoop(HttpServer::Impl& server) {
  asio::steady_timer pause(server.io);
  bool out_of_descriptors = false;  // logged once per episode, not once per failed accept
  bool at_capacity = false;
  while (true) {
    // A strand per connection: tcp_stream's timer and its I/O must not run concurrently.
    tcp::socket socket(asio::make_strand(server.io));
    beast::error_code ec;
    co_await server.acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !server.acceptor.is_open()) co_return;
    if (ec) {
      if (OutOfDescriptors(ec) && !out_of_descriptors) {
        out_of_descriptors = true;
        log::Warn("http_server",
                  "out of file descriptors: pausing accepts (raise the open-files limit, or "
                  "lower max_connections)",
                  {{"port", server.port}, {"error", ec.message()}});
      }
      // The pending connection stays in the backlog; retrying at once would spin a core.
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (out_of_descriptors) {
      out_of_descriptors = false;
      log::Info("http_server", "accepting connections again", {{"port", server.port}});
    }
    if (!Admit(server)) {
      if (!at_capacity) {
        log::Warn("http_server",
                  "every connection has a request in progress: closing new connections until "
                  "one finishes",
                  {{"port", server.port}, {"max_connections", server.options.max_connections}});
      }
      at_capacity = true;
      socket.close(ec);
      continue;
    }
    at_capacity = false;
    std::string remote;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (!ec) remote = peer.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    auto executor = stream.get_executor();
    auto connection = std::make_shared<Connection>(executor);
    if (server.tls.has_value()) {
      asio::co_spawn(executor,
                     TlsSession(std::move(stream), server, std::move(connection), std::move(remote)),
                     asio::detached);
    } else {
      asio::co_spawn(
          executor,
          PlainSession(std::move(stream), server, std::move(connection), std::move(remote)),
          asio::detached);
    }
  }
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                              Handler handler) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "HTTP server TLS needs both a certificate file and a key file; set both or neither");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->options.threads = std::max(1, options.threads);
  impl->options.handler_threads = std::max(1, options.handler_threads);
  impl->options.max_connections = std::max(1, options.max_connections);
  impl->handler = std::move(handler);
  if (!options.tls_cert_file.empty()) {
    try {
      impl->tls.emplace(asio::ssl::context::tls_server);
      impl->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1);
      impl->tls->use_certificate_chain_file(options.tls_cert_file);
      impl->tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load TLS certificate ", options.tls_cert_file, " or its key file ",
                       options.tls_key_file, ": ", e.what(),
                       "; both must be readable PEM files that match"));
    }
  }
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP server host '", options.host, "' is not an IP address: ", ec.message()));
  }
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.host, ":",
                                               options.port, ": ", ec.message(),
                                               "; pick a free port or 0 for any"));
  }
  Impl& server = *impl;
  server.port = server.acceptor.local_endpoint(ec).port();
  server.handler_pool.emplace(static_cast<size_t>(server.options.handler_threads));
  asio::co_spawn(server.io, AcceptLoop(server), asio::detached);
  for (int i = 0; i < server.options.threads; ++i) {
    server.threads.emplace_back([&server] { server.io.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  {
    absl::MutexLock lock(&impl_->stop_mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->io.stop();
  for (std::thread& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // Handlers still running finish; their sessions are destroyed with the io_context.
  if (impl_->handler_pool.has_value()) impl_->handler_pool->join();
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace zarc::http

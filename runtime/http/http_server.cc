#include "runtime/http/http_server.h"

#include <exception>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
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

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  std::optional<asio::ssl::context> tls;  // outlives the io_context and so every session
  asio::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::vector<std::thread> threads;
  absl::Mutex stop_mu;
  bool stopped ABSL_GUARDED_BY(stop_mu) = false;
};

namespace {

constexpr size_t kStreamChunkBytes = 64 * 1024;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

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

template <class Stream>
awaitable<void> ServeRequests(Stream& stream, HttpServer::Impl& server, std::string remote) {
  beast::flat_buffer buffer;
  while (true) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(server.options.max_body_bytes);
    parser.header_limit(64 * 1024);
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(ToChrono(server.options.idle_timeout));
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::body_limit) {
      ServerResponse too_large;
      too_large.status = 413;
      too_large.headers.emplace_back("Content-Type", "text/plain");
      too_large.body = absl::StrCat("request body is larger than the server's limit of ",
                                    server.options.max_body_bytes, " bytes\n");
      co_await WriteResponse(stream, std::move(too_large), parser.get().version(), false, false,
                             server.options.idle_timeout);
      co_return;
    }
    if (ec) co_return;  // closed by the peer, timed out, or not HTTP

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

    ServerResponse response = CallHandler(server.handler, request);
    const bool keep_alive =
        co_await WriteResponse(stream, std::move(response), message.version(),
                               message.keep_alive(), message.method() == bhttp::verb::head,
                               server.options.idle_timeout);
    if (!keep_alive) co_return;
  }
}

awaitable<void> PlainSession(beast::tcp_stream stream, HttpServer::Impl& server,
                             std::string remote) {
  co_await ServeRequests(stream, server, std::move(remote));
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> TlsSession(beast::tcp_stream tcp, HttpServer::Impl& server, std::string remote) {
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *server.tls);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(ToChrono(server.options.idle_timeout));
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return;
  co_await ServeRequests(stream, server, std::move(remote));
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
}

awaitable<void> AcceptLoop(HttpServer::Impl& server) {
  while (true) {
    // A strand per connection: tcp_stream's timer and its I/O must not run concurrently.
    tcp::socket socket(asio::make_strand(server.io));
    beast::error_code ec;
    co_await server.acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !server.acceptor.is_open()) co_return;
    if (ec) continue;
    std::string remote;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (!ec) remote = peer.address().to_string();
    beast::tcp_stream stream(std::move(socket));
    auto executor = stream.get_executor();
    if (server.tls.has_value()) {
      asio::co_spawn(executor, TlsSession(std::move(stream), server, std::move(remote)),
                     asio::detached);
    } else {
      asio::co_spawn(executor, PlainSession(std::move(stream), server, std::move(remote)),
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
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

}  // namespace zarc::http

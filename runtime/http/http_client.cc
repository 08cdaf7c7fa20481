#include "runtime/http/http_client.h"

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "cpprest/astreambuf.h"
#include "cpprest/http_client.h"
#include "cpprest/rawptrstream.h"
#include "cpprest/streams.h"

namespace zarc::http {
namespace {

namespace cstreams = concurrency::streams;
using web::http::client::http_client;
using web::http::client::http_client_config;

// Where the response body goes. cpprestsdk's asio client waits for each putn_nocopy task before it
// reads the next chunk from the socket, so a buffer that writes synchronously to the sink gives
// backpressure and bounded memory. (Its default producer_consumer_buffer has no backpressure and
// holds whatever the reader has not consumed yet, up to the whole body.)
//
// Writes arrive on cpprestsdk threads before the caller has seen the status line, so they wait on a
// gate until the caller decides whether the body belongs to the sink (2xx) or to the bounded error
// body. Thread-safety: all state is guarded by mu_; writes are sequential by cpprestsdk's contract.
class GatedSinkBuffer final : public cstreams::details::streambuf_state_manager<uint8_t> {
 public:
  using Base = cstreams::details::streambuf_state_manager<uint8_t>;
  using int_type = Base::int_type;
  using pos_type = Base::pos_type;
  using off_type = Base::off_type;

  GatedSinkBuffer() : Base(std::ios_base::out) {}

  // Opens the gate. `sink` may be null: then up to `limit` bytes are kept in body() and the rest
  // dropped.
  void Decide(io::ByteSink* sink, size_t limit) {
    {
      absl::MutexLock lock(&mu_);
      sink_ = sink;
      limit_ = limit;
      decided_ = true;
    }
    gate_.set();
  }

  // After this no write touches the sink again (the caller is about to return).
  void Detach() {
    {
      absl::MutexLock lock(&mu_);
      sink_ = nullptr;
      detached_ = true;
      decided_ = true;
    }
    gate_.set();
  }

  std::string TakeBody() {
    absl::MutexLock lock(&mu_);
    return std::move(body_);
  }
  absl::Status sink_status() {
    absl::MutexLock lock(&mu_);
    return sink_status_;
  }
  uint64_t bytes_to_sink() {
    absl::MutexLock lock(&mu_);
    return bytes_to_sink_;
  }

  bool can_seek() const override { return false; }
  bool has_size() const override { return false; }
  size_t buffer_size(std::ios_base::openmode) const override { return 0; }
  void set_buffer_size(size_t, std::ios_base::openmode) override {}
  size_t in_avail() const override { return 0; }
  pos_type getpos(std::ios_base::openmode) const override {
    return static_cast<pos_type>(traits::eof());
  }
  pos_type seekpos(pos_type, std::ios_base::openmode) override {
    return static_cast<pos_type>(traits::eof());
  }
  pos_type seekoff(off_type, std::ios_base::seekdir, std::ios_base::openmode) override {
    return static_cast<pos_type>(traits::eof());
  }
  bool acquire(uint8_t*& ptr, size_t& count) override {
    ptr = nullptr;
    count = 0;
    return false;
  }
  void release(uint8_t*, size_t) override {}

 protected:
  pplx::task<int_type> _putc(uint8_t ch) override {
    return _putn(&ch, 1).then([ch](size_t) { return static_cast<int_type>(ch); });
  }

  pplx::task<size_t> _putn(const uint8_t* ptr, size_t count) override {
    bool decided;
    {
      absl::MutexLock lock(&mu_);
      decided = decided_;
    }
    if (decided) return Deliver(ptr, count);
    // The caller keeps `ptr` valid until this task completes (cpprestsdk consumes its read buffer
    // only afterwards). `self` keeps this buffer alive.
    auto self = std::static_pointer_cast<GatedSinkBuffer>(shared_from_this());
    return pplx::create_task(gate_).then([self, ptr, count] { return self->Deliver(ptr, count); });
  }

  pplx::task<int_type> _bumpc() override { return pplx::task_from_result(traits::eof()); }
  int_type _sbumpc() override { return traits::eof(); }
  pplx::task<int_type> _getc() override { return pplx::task_from_result(traits::eof()); }
  int_type _sgetc() override { return traits::eof(); }
  pplx::task<int_type> _nextc() override { return pplx::task_from_result(traits::eof()); }
  pplx::task<int_type> _ungetc() override { return pplx::task_from_result(traits::eof()); }
  pplx::task<size_t> _getn(uint8_t*, size_t) override { return pplx::task_from_result<size_t>(0); }
  size_t _scopy(uint8_t*, size_t) override { return 0; }
  pplx::task<bool> _sync() override { return pplx::task_from_result(true); }
  uint8_t* _alloc(size_t) override { return nullptr; }
  void _commit(size_t) override {}

 private:
  pplx::task<size_t> Deliver(const uint8_t* ptr, size_t count) {
    absl::MutexLock lock(&mu_);
    if (detached_) {
      return pplx::task_from_exception<size_t>(std::runtime_error("response abandoned"));
    }
    const absl::string_view bytes(reinterpret_cast<const char*>(ptr), count);
    if (sink_ != nullptr) {
      absl::Status status = sink_->Write(bytes);
      if (!status.ok()) {
        sink_status_ = std::move(status);
        return pplx::task_from_exception<size_t>(std::runtime_error("sink write failed"));
      }
      bytes_to_sink_ += count;
    } else if (body_.size() < limit_) {
      const size_t keep = std::min(count, limit_ - body_.size());
      body_.append(bytes.data(), keep);
    }
    return pplx::task_from_result(count);
  }

  pplx::task_completion_event<void> gate_;
  absl::Mutex mu_;
  bool decided_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  io::ByteSink* sink_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t limit_ ABSL_GUARDED_BY(mu_) = 0;
  std::string body_ ABSL_GUARDED_BY(mu_);
  absl::Status sink_status_ ABSL_GUARDED_BY(mu_);
  uint64_t bytes_to_sink_ ABSL_GUARDED_BY(mu_) = 0;
};

bool IsHopByHopOrManaged(absl::string_view name) {
  // cpprestsdk writes these itself from the body it is given.
  return absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Content-Type") || absl::EqualsIgnoreCase(name, "Host");
}

class CpprestHttpClient final : public HttpClient {
 public:
  explicit CpprestHttpClient(ClientOptions options) : options_(std::move(options)) {}

  absl::StatusOr<ClientResponse> Send(const ClientRequest& request) override {
    return Execute(request, nullptr);
  }

  absl::StatusOr<ClientResponse> SendStreaming(const ClientRequest& request,
                                               io::ByteSink& sink) override {
    return Execute(request, &sink);
  }

 private:
  // One cpprestsdk client (and so one connection pool) per origin and timeout.
  std::shared_ptr<http_client> ClientFor(const std::string& origin, absl::Duration timeout) {
    const std::string key = absl::StrCat(origin, "|", absl::ToInt64Milliseconds(timeout));
    absl::MutexLock lock(&mu_);
    auto it = clients_.find(key);
    if (it != clients_.end()) return it->second;
    http_client_config config;
    config.set_timeout(std::chrono::milliseconds(std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout))));
    config.set_chunksize(options_.chunk_size);
    config.set_validate_certificates(true);
    // Following a redirect would carry Authorization to wherever the server points.
    config.set_max_redirects(0);
    if (!options_.ca_file.empty()) {
      const std::string ca_file = options_.ca_file;
      config.set_ssl_context_callback(
          [ca_file](boost::asio::ssl::context& context) { context.load_verify_file(ca_file); });
    }
    auto client = std::make_shared<http_client>(web::uri(origin), config);
    clients_.emplace(key, client);
    return client;
  }

  absl::StatusOr<ClientResponse> Execute(const ClientRequest& request, io::ByteSink* sink) {
    auto buffer = std::make_shared<GatedSinkBuffer>();
    absl::StatusOr<ClientResponse> result = ExecuteWith(request, sink, buffer);
    buffer->Detach();
    return result;
  }

  absl::StatusOr<ClientResponse> ExecuteWith(const ClientRequest& request, io::ByteSink* sink,
                                             const std::shared_ptr<GatedSinkBuffer>& buffer) {
    try {
      const web::uri uri(request.url);
      if (uri.scheme() != "http" && uri.scheme() != "https") {
        return absl::InvalidArgumentError(
            absl::StrCat(request.method, " ", RedactUrl(request.url),
                         ": only http and https URLs are supported"));
      }
      web::uri_builder origin;
      origin.set_scheme(uri.scheme()).set_host(uri.host());
      if (uri.port() > 0) origin.set_port(uri.port());
      std::shared_ptr<http_client> client = ClientFor(origin.to_string(), request.timeout);

      web::http::http_request message(request.method);
      message.set_request_uri(uri.resource());
      for (const auto& [name, value] : request.headers) {
        if (!IsHopByHopOrManaged(name)) message.headers().add(name, value);
      }
      // Content-Type goes out exactly as given (signed requests depend on it); a body without
      // one is sent as application/octet-stream.
      if (!request.body.empty()) {
        // Sent straight from the caller's buffer, which outlives the request (this call waits for
        // it to finish): no copy, and no large allocation on cpprestsdk's threads, whose malloc
        // arenas would keep freed multi-MB buffers resident.
        message.set_body(cstreams::rawptr_stream<uint8_t>::open_istream(
                             reinterpret_cast<const uint8_t*>(request.body.data()), request.body.size()),
                         request.body.size(),
                         FindHeader(request.headers, "Content-Type").value_or("application/octet-stream"));
      } else {
        if (auto type = FindHeader(request.headers, "Content-Type")) {
          message.headers().add("Content-Type", *type);
        }
        if (request.method == "PUT" || request.method == "POST") {
          message.headers().set_content_length(0);
        }
      }
      message.set_response_stream(
          cstreams::ostream(cstreams::streambuf<uint8_t>(
              std::static_pointer_cast<cstreams::details::basic_streambuf<uint8_t>>(buffer))));

      web::http::http_response response = client->request(message).get();
      ClientResponse out;
      out.status = response.status_code();
      for (const auto& [name, value] : response.headers()) out.headers.emplace_back(name, value);
      const bool to_sink = sink != nullptr && out.status >= 200 && out.status < 300;
      buffer->Decide(to_sink ? sink : nullptr,
                     sink != nullptr ? kMaxErrorBodyBytes : std::numeric_limits<size_t>::max());
      try {
        response.content_ready().get();
      } catch (...) {
        absl::Status sink_status = buffer->sink_status();
        if (!sink_status.ok()) return sink_status;
        throw;
      }
      out.body = buffer->TakeBody();
      return out;
    } catch (const web::uri_exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(
          request.method, " ", RedactUrl(request.url), ": not a valid URL: ", Scrub(request, e.what())));
    } catch (const web::http::http_exception& e) {
      const bool timed_out = e.error_code() == std::errc::timed_out ||
                             e.error_code() == std::errc::operation_canceled;
      const std::string message =
          absl::StrCat(request.method, " ", RedactUrl(request.url), " failed: ",
                       Scrub(request, e.what()),
                       timed_out ? " (no data moved within the timeout)" : "",
                       "; check that the server is reachable and its certificate trusted");
      return timed_out ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat(request.method, " ", RedactUrl(request.url),
                                                 " failed: ", Scrub(request, e.what())));
    } catch (...) {
      return absl::UnknownError(absl::StrCat(request.method, " ", RedactUrl(request.url),
                                             " failed with an unknown exception"));
    }
  }

  // Library messages might echo the request; make sure no secret rides along.
  static std::string Scrub(const ClientRequest& request, absl::string_view text) {
    std::string out(text);
    const size_t q = request.url.find('?');
    if (q != std::string::npos && q + 1 < request.url.size()) {
      const std::string query = request.url.substr(q + 1);
      out = absl::StrReplaceAll(out, {{query, "<redacted>"}});
    }
    for (const auto& [name, value] : request.headers) {
      if ((absl::EqualsIgnoreCase(name, "Authorization") ||
           absl::EqualsIgnoreCase(name, "Proxy-Authorization")) &&
          !value.empty()) {
        out = absl::StrReplaceAll(out, {{value, "<redacted>"}});
      }
    }
    return out;
  }

  const ClientOptions options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<http_client>> clients_ ABSL_GUARDED_BY(mu_);
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
  // cpprestsdk moves multi-MB bodies through a pool of threads. With glibc's dynamic mmap
  // threshold, a freed multi-MB buffer raises the threshold and later ones are carved from
  // per-thread arenas that keep the memory: a 300 MB transfer then grew RSS by over 100 MB under
  // load. A fixed threshold maps every large buffer on its own and unmaps it when freed, so memory
  // follows what is live. Process-wide, set once, before the first large transfer.
  static std::once_flag once;
  std::call_once(once, [] { mallopt(M_MMAP_THRESHOLD, 256 * 1024); });
  return std::make_unique<CpprestHttpClient>(options);
}

}  // namespace zarc::http

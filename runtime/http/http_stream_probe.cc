// Test helper run as a child process by http_client_test: serves a generated body of N bytes with
// HttpServer, downloads it with HttpClient::SendStreaming into a hashing sink, and prints both
// hashes and this process's peak RSS growth during the transfer. A separate process, so the
// measurement sees only this transfer.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/testing/subprocess.h"

namespace zarc::http {
namespace {

// Deterministic pseudo-random bytes (xorshift64), hashed as they are produced.
class GeneratedSource final : public io::ByteSource {
 public:
  GeneratedSource(uint64_t size, crypto::Sha256* hash) : remaining_(size), hash_(hash) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(size, remaining_));
    for (size_t i = 0; i < n; i += 8) {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      std::memcpy(buffer + i, &state_, std::min<size_t>(8, n - i));
    }
    remaining_ -= n;
    hash_->Update(absl::string_view(buffer, n));
    return n;
  }

 private:
  uint64_t remaining_;
  uint64_t state_ = 0x9E3779B97F4A7C15ull;
  crypto::Sha256* hash_;
};

class HashingSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    hash_.Update(bytes);
    bytes_ += bytes.size();
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  std::string Hex() { return hash_.FinishHex(); }
  uint64_t bytes() const { return bytes_; }

 private:
  crypto::Sha256 hash_;
  uint64_t bytes_ = 0;
};

int Run(uint64_t size) {
  crypto::Sha256 served_hash;
  auto server = HttpServer::Start({}, [&](const ServerRequest& request) {
    ServerResponse response;
    if (request.path == "/big") {
      response.body_stream = std::make_unique<GeneratedSource>(size, &served_hash);
      response.content_length = size;
    } else {
      response.body = "warm-up";
    }
    return response;
  });
  if (!server.ok()) {
    std::printf("error=%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<HttpClient> client = NewHttpClient();
  const std::string base = absl::StrCat("http://127.0.0.1:", (*server)->port());
  // The first request sets up libcurl and its connection; measure from after that.
  auto warm = client->Send({.url = base + "/small"});
  if (!warm.ok() || warm->body != "warm-up") {
    std::printf("error=warm-up failed\n");
    return 1;
  }
  const uint64_t baseline = testing::PeakRssBytes();
  HashingSink sink;
  auto response = client->SendStreaming({.url = base + "/big"}, sink);
  const uint64_t peak = testing::PeakRssBytes();
  if (!response.ok()) {
    std::printf("error=%s\n", response.status().ToString().c_str());
    return 1;
  }
  (*server)->Stop();
  std::printf("status=%d bytes=%llu served_sha256=%s received_sha256=%s peak_growth_bytes=%llu\n",
              response->status, static_cast<unsigned long long>(sink.bytes()),
              served_hash.FinishHex().c_str(), sink.Hex().c_str(),
              static_cast<unsigned long long>(peak - baseline));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace zarc::http

int main(int argc, char** argv) {
  uint64_t size = 0;
  if (argc != 2 || !absl::SimpleAtoi(argv[1], &size)) {
    std::fprintf(stderr, "usage: http_stream_probe BYTES\n");
    return 2;
  }
  return zarc::http::Run(size);
}

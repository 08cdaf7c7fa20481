#pragma once

#include <cstdint>
#include <string>

#include "runtime/io/byte_stream.h"

// What the benchmarks share: incompressible input bytes and a sink that only counts.
namespace zarc::bench {

// `size` pseudo-random bytes (xorshift64), the same on every run.
inline std::string RandomBytes(size_t size) {
  std::string s(size, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

// Counts and drops what it is given (the store behind a stage is not what is measured).
class NullSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    written += bytes.size();
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  uint64_t written = 0;
};

}  // namespace zarc::bench

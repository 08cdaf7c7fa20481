#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace zarc::io {

// A pull stream of bytes. Read fills up to `size` bytes and returns how many; 0 means the end.
// Implementations are not thread-safe.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t size) = 0;
};

// A push stream of bytes. Close() flushes and reports the final outcome; a sink that is destroyed
// without Close() abandons what it was writing (a half-written blob never becomes visible).
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(absl::string_view bytes) = 0;
  virtual absl::Status Close() = 0;
};

// Reads from a string the caller keeps alive.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(absl::string_view data) : data_(data) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override;

 private:
  absl::string_view data_;
  size_t offset_ = 0;
};

// Appends everything to a string; for tests and small payloads only.
class StringSink final : public ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override;
  absl::Status Close() override { return absl::OkStatus(); }
  const std::string& data() const { return data_; }
  std::string Take() { return std::move(data_); }

 private:
  std::string data_;
};

// Copies source to sink in chunks of `chunk_size` bytes (memory stays bounded by one chunk) and
// closes the sink. Returns the number of bytes copied.
absl::StatusOr<uint64_t> Copy(ByteSource& source, ByteSink& sink, size_t chunk_size = 1 << 20);

// Reads a whole source into a string. Only for sources known to be small (chat files, JSON).
absl::StatusOr<std::string> ReadAll(ByteSource& source, size_t limit);

}  // namespace zarc::io

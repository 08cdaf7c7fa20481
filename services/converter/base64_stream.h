#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/io/byte_stream.h"

namespace zarc::converter {

// Base64 (RFC 2045 §6.8) as a streaming sink: bytes written in chunks of any size come out as
// 76-character lines ending in CRLF, exactly as a one-shot encoding of the whole input would.
// Only the 0-2 octets of an incomplete group and one output buffer are held between writes, so
// memory stays bounded whatever the input size. Close() writes the final group and line break; it
// does not close `out`, which the caller keeps owning and must outlive this sink. Not thread-safe.
class Base64LineSink final : public io::ByteSink {
 public:
  explicit Base64LineSink(io::ByteSink& out, size_t buffer_size = 64 * 1024);
  absl::Status Write(absl::string_view bytes) override;
  absl::Status Close() override;

  uint64_t bytes_in() const { return bytes_in_; }
  // Encoded size (line breaks included) of `input_size` octets: lets a caller plan a message's
  // size before writing it.
  static uint64_t EncodedSize(uint64_t input_size);

 private:
  void EncodeGroup(const unsigned char* group);
  absl::Status FlushIfFull();

  io::ByteSink& out_;
  size_t buffer_size_;
  std::string buffer_;
  unsigned char leftover_[3] = {0, 0, 0};
  size_t leftover_size_ = 0;
  size_t column_ = 0;
  uint64_t bytes_in_ = 0;
  bool closed_ = false;
};

// Counts the bytes written to it and drops them: sizes a part without keeping it.
class CountingSink final : public io::ByteSink {
 public:
  absl::Status Write(absl::string_view bytes) override {
    count_ += bytes.size();
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace zarc::converter

#include "runtime/io/byte_stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace zarc::io {

absl::StatusOr<size_t> StringSource::Read(char* buffer, size_t size) {
  const size_t n = std::min(size, data_.size() - offset_);
  std::memcpy(buffer, data_.data() + offset_, n);
  offset_ += n;
  return n;
}

absl::Status StringSink::Write(absl::string_view bytes) {
  data_.append(bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Copy(ByteSource& source, ByteSink& sink, size_t chunk_size) {
  std::vector<char> buffer(chunk_size);
  uint64_t total = 0;
  while (true) {
    absl::StatusOr<size_t> n = source.Read(buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (absl::Status s = sink.Write(absl::string_view(buffer.data(), *n)); !s.ok()) return s;
    total += *n;
  }
  if (absl::Status s = sink.Close(); !s.ok()) return s;
  return total;
}

absl::StatusOr<std::string> ReadAll(ByteSource& source, size_t limit) {
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    absl::StatusOr<size_t> n = source.Read(buffer, sizeof buffer);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    if (out.size() + *n > limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat("stream is larger than the ", limit, "-byte limit for in-memory reads"));
    }
    out.append(buffer, *n);
  }
}

}  // namespace zarc::io

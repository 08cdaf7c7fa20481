#include "services/converter/base64_stream.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace zarc::converter {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kLineLength = 76;
constexpr size_t kLineOctets = kLineLength / 4 * 3;  // 57 octets make one full line

// Two output characters per 12 input bits: one table lookup per half group.
struct PairTable {
  char pairs[4096][2];
  PairTable() {
    for (int i = 0; i < 4096; ++i) {
      pairs[i][0] = kAlphabet[i >> 6];
      pairs[i][1] = kAlphabet[i & 0x3F];
    }
  }
};
const PairTable& Pairs() {
  static const PairTable* table = new PairTable();
  return *table;
}

inline void EncodeTo(const unsigned char* g, char* out, const PairTable& t) {
  const uint32_t v = (uint32_t{g[0]} << 16) | (uint32_t{g[1]} << 8) | g[2];
  std::memcpy(out, t.pairs[v >> 12], 2);
  std::memcpy(out + 2, t.pairs[v & 0xFFF], 2);
}

}  // namespace

Base64LineSink::Base64LineSink(io::ByteSink& out, size_t buffer_size)
    : out_(out), buffer_size_(buffer_size < 128 ? 128 : buffer_size) {
  buffer_.reserve(buffer_size_ + kLineLength + 2);
}

uint64_t Base64LineSink::EncodedSize(uint64_t input_size) {
  const uint64_t chars = (input_size + 2) / 3 * 4;
  const uint64_t lines = (chars + kLineLength - 1) / kLineLength;
  return chars + 2 * lines;
}

void Base64LineSink::EncodeGroup(const unsigned char* g) {
  char quad[4];
  EncodeTo(g, quad, Pairs());
  buffer_.append(quad, 4);
  column_ += 4;
  if (column_ == kLineLength) {
    buffer_.append("\r\n");
    column_ = 0;
  }
}

absl::Status Base64LineSink::FlushIfFull() {
  if (buffer_.size() < buffer_size_) return absl::OkStatus();
  absl::Status status = out_.Write(buffer_);
  buffer_.clear();
  return status;
}

absl::Status Base64LineSink::Write(absl::string_view bytes) {
  if (closed_) return absl::FailedPreconditionError("Base64LineSink::Write after Close");
  bytes_in_ += bytes.size();
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t pos = 0;
  while (leftover_size_ > 0 && leftover_size_ < 3 && pos < bytes.size()) {
    leftover_[leftover_size_++] = data[pos++];
  }
  if (leftover_size_ == 3) {
    EncodeGroup(leftover_);
    leftover_size_ = 0;
  }
  // The common case, whole lines at a time, written in place (no per-group append).
  const PairTable& table = Pairs();
  while (column_ == 0 && pos + kLineOctets <= bytes.size()) {
    const size_t at = buffer_.size();
    buffer_.resize(at + kLineLength + 2);
    char* out = buffer_.data() + at;
    for (size_t i = 0; i < kLineOctets; i += 3, out += 4) EncodeTo(data + pos + i, out, table);
    out[0] = '\r';
    out[1] = '\n';
    pos += kLineOctets;
    if (absl::Status s = FlushIfFull(); !s.ok()) return s;
  }
  while (pos + 3 <= bytes.size()) {
    EncodeGroup(data + pos);
    pos += 3;
    if (absl::Status s = FlushIfFull(); !s.ok()) return s;
  }
  while (pos < bytes.size()) leftover_[leftover_size_++] = data[pos++];
  return FlushIfFull();
}

absl::Status Base64LineSink::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (leftover_size_ > 0) {
    unsigned char group[3] = {0, 0, 0};
    for (size_t i = 0; i < leftover_size_; ++i) group[i] = leftover_[i];
    EncodeGroup(group);
    // EncodeGroup may have ended the line; the padding replaces the last 1-2 characters.
    const size_t line_break = column_ == 0 ? 2 : 0;
    const size_t last = buffer_.size() - line_break - 1;
    buffer_[last] = '=';
    if (leftover_size_ == 1) buffer_[last - 1] = '=';
    leftover_size_ = 0;
  }
  if (column_ > 0) {
    buffer_.append("\r\n");
    column_ = 0;
  }
  absl::Status status = buffer_.empty() ? absl::OkStatus() : out_.Write(buffer_);
  buffer_.clear();
  return status;
}

}  // namespace zarc::converter

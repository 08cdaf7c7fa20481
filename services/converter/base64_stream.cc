#include "services/converter/base64_stream.h"

#include "absl/strings/str_cat.h"

namespace zarc::converter {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kLineLength = 76;

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
  const char quad[4] = {kAlphabet[g[0] >> 2], kAlphabet[((g[0] & 0x03) << 4) | (g[1] >> 4)],
                        kAlphabet[((g[1] & 0x0F) << 2) | (g[2] >> 6)], kAlphabet[g[2] & 0x3F]};
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

#pragma once

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace zarc::crypto {

// Incremental SHA-256 (FIPS 180-4) for streams: feed chunks, read the digest once at the end.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view bytes);
  // The 32-byte digest; the object cannot be updated afterwards.
  std::string Finish();
  std::string FinishHex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(absl::string_view bytes);
// HMAC-SHA256 (RFC 2104) raw 32 bytes, and as lowercase hex.
std::string HmacSha256(absl::string_view key, absl::string_view message);
std::string HmacSha256Hex(absl::string_view key, absl::string_view message);
// Compares without leaking where the first difference is (for signatures).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

std::string HexEncode(absl::string_view bytes);
std::string Base64Encode(absl::string_view bytes);
// Accepts standard base64 with or without padding; whitespace is an error.
absl::StatusOr<std::string> Base64Decode(absl::string_view text);

}  // namespace zarc::crypto

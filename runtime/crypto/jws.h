#pragma once

// JSON Web Signatures with an RSA key from a PEM file (RFC 7515, RFC 7518 section 3.3 and 3.5):
// what a certificate credential for Microsoft Entra ID needs (a client assertion signed RS256 or
// PS256, naming its certificate by thumbprint), and what the Graph simulator needs to check one.
// No OpenSSL type appears here.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace zarc::crypto {

enum class JwsAlgorithm { kRs256, kPs256 };

// "RS256" or "PS256"; anything else is INVALID_ARGUMENT naming the value.
absl::StatusOr<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name);
absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm);

// base64url without padding (RFC 7515 section 2), and its inverse (padding tolerated).
std::string Base64UrlEncode(absl::string_view bytes);
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// An RSA private key and the X.509 certificate that carries its public key, read from PEM (both
// in one file, in either order, as Azure's tools write them). The key never leaves this object
// and no error quotes the file's content.
class SigningCertificate {
 public:
  // INVALID_ARGUMENT when the PEM has no certificate, no private key, a key that is not RSA, or a
  // key that does not belong to the certificate; `what` names the source in errors.
  static absl::StatusOr<std::unique_ptr<SigningCertificate>> FromPem(absl::string_view pem,
                                                                      absl::string_view what);
  // Reads `path`; NOT_FOUND / PERMISSION_DENIED name the path.
  static absl::StatusOr<std::unique_ptr<SigningCertificate>> FromPemFile(const std::string& path);
  ~SigningCertificate();

  // SHA-256 (and SHA-1) of the certificate's DER encoding, raw bytes: the x5t#S256 (x5t)
  // thumbprints of a JWS header.
  const std::string& Sha256Thumbprint() const { return sha256_thumbprint_; }
  const std::string& Sha1Thumbprint() const { return sha1_thumbprint_; }

  // The signature of `signing_input`: RSASSA-PKCS1-v1_5 (RS256) or RSASSA-PSS with a 32-byte salt
  // (PS256), both over SHA-256.
  absl::StatusOr<std::string> Sign(JwsAlgorithm algorithm, absl::string_view signing_input) const;

 private:
  struct Key;
  SigningCertificate(std::unique_ptr<Key> key, std::string sha256, std::string sha1);
  std::unique_ptr<Key> key_;
  std::string sha256_thumbprint_;
  std::string sha1_thumbprint_;
};

// A certificate to verify signatures with (only its public key and thumbprints are used).
class VerifyingCertificate {
 public:
  static absl::StatusOr<std::unique_ptr<VerifyingCertificate>> FromPem(absl::string_view pem,
                                                                        absl::string_view what);
  ~VerifyingCertificate();
  const std::string& Sha256Thumbprint() const { return sha256_thumbprint_; }
  const std::string& Sha1Thumbprint() const { return sha1_thumbprint_; }
  // OK when `signature` is this certificate's key's signature of `signing_input`.
  absl::Status Verify(JwsAlgorithm algorithm, absl::string_view signing_input,
                      absl::string_view signature) const;

 private:
  struct Key;
  VerifyingCertificate(std::unique_ptr<Key> key, std::string sha256, std::string sha1);
  std::unique_ptr<Key> key_;
  std::string sha256_thumbprint_;
  std::string sha1_thumbprint_;
};

}  // namespace zarc::crypto

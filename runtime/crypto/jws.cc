#include "runtime/crypto/jws.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace zarc::crypto {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

Bio MemoryBio(absl::string_view pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM text, or null.
X509Ptr ReadCertificate(absl::string_view pem) {
  Bio bio = MemoryBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

struct Thumbprints {
  std::string sha256;
  std::string sha1;
};

Thumbprints ThumbprintsOf(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Thumbprints t;
  if (X509_digest(cert, EVP_sha256(), digest, &length) == 1) {
    t.sha256.assign(reinterpret_cast<char*>(digest), length);
  }
  if (X509_digest(cert, EVP_sha1(), digest, &length) == 1) {
    t.sha1.assign(reinterpret_cast<char*>(digest), length);
  }
  return t;
}

absl::Status ConfigurePadding(EVP_PKEY_CTX* pctx, JwsAlgorithm algorithm) {
  if (algorithm == JwsAlgorithm::kRs256) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
               ? absl::OkStatus()
               : absl::InternalError("cannot select RSASSA-PKCS1-v1_5 padding");
  }
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
    return absl::InternalError("cannot select RSASSA-PSS padding");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name) {
  if (name == "RS256") return JwsAlgorithm::kRs256;
  if (name == "PS256") return JwsAlgorithm::kPs256;
  return absl::InvalidArgumentError(
      absl::StrCat("signature algorithm \"", name, "\" is not supported; use PS256 or RS256"));
}

absl::string_view JwsAlgorithmName(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::kRs256 ? "RS256" : "PS256";
}

std::string Base64UrlEncode(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not base64url (", text.size(), " characters)"));
  }
  return out;
}

struct SigningCertificate::Key {
  Pkey pkey;
};

SigningCertificate::SigningCertificate(std::unique_ptr<Key> key, std::string sha256,
                                       std::string sha1)
    : key_(std::move(key)),
      sha256_thumbprint_(std::move(sha256)),
      sha1_thumbprint_(std::move(sha1)) {}

SigningCertificate::~SigningCertificate() = default;

absl::StatusOr<std::unique_ptr<SigningCertificate>> SigningCertificate::FromPem(
    absl::string_view pem, absl::string_view what) {
  X509Ptr cert = ReadCertificate(pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds no PEM certificate"));
  }
  Bio bio = MemoryBio(pem);
  // No passphrase callback: an encrypted key fails here rather than prompting.
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; },
                                   nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds no unencrypted PEM private key"));
  }
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds a private key that is not RSA; Entra ID certificate "
                           "credentials are signed RS256 or PS256"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the private key in ", what, " does not belong to its certificate"));
  }
  Thumbprints t = ThumbprintsOf(cert.get());
  auto k = std::make_unique<Key>();
  k->pkey = std::move(key);
  return std::unique_ptr<SigningCertificate>(
      new SigningCertificate(std::move(k), std::move(t.sha256), std::move(t.sha1)));
}

absl::StatusOr<std::unique_ptr<SigningCertificate>> SigningCertificate::FromPemFile(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string why = absl::StrCat("cannot read the certificate file ", path, ": ",
                                         std::strerror(error));
    if (error == EACCES) return absl::PermissionDeniedError(why);
    return absl::NotFoundError(why);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return FromPem(text.str(), absl::StrCat("the certificate file ", path));
}

absl::StatusOr<std::string> SigningCertificate::Sign(JwsAlgorithm algorithm,
                                                     absl::string_view signing_input) const {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_->pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot start an RSA signature");
  }
  if (absl::Status s = ConfigurePadding(pctx, algorithm); !s.ok()) return s;
  size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data, signing_input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot size the RSA signature");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("the RSA signature failed");
  }
  signature.resize(length);
  return signature;
}

struct VerifyingCertificate::Key {
  Pkey pkey;
};

VerifyingCertificate::VerifyingCertificate(std::unique_ptr<Key> key, std::string sha256,
                                           std::string sha1)
    : key_(std::move(key)),
      sha256_thumbprint_(std::move(sha256)),
      sha1_thumbprint_(std::move(sha1)) {}

VerifyingCertificate::~VerifyingCertificate() = default;

absl::StatusOr<std::unique_ptr<VerifyingCertificate>> VerifyingCertificate::FromPem(
    absl::string_view pem, absl::string_view what) {
  X509Ptr cert = ReadCertificate(pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds no PEM certificate"));
  }
  Pkey key(X509_get_pubkey(cert.get()));
  if (key == nullptr || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(what, " does not carry an RSA public key"));
  }
  Thumbprints t = ThumbprintsOf(cert.get());
  auto k = std::make_unique<Key>();
  k->pkey = std::move(key);
  return std::unique_ptr<VerifyingCertificate>(
      new VerifyingCertificate(std::move(k), std::move(t.sha256), std::move(t.sha1)));
}

absl::Status VerifyingCertificate::Verify(JwsAlgorithm algorithm, absl::string_view signing_input,
                                          absl::string_view signature) const {
  MdCtx ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key_->pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot start an RSA verification");
  }
  if (absl::Status s = ConfigurePadding(pctx, algorithm); !s.ok()) return s;
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
  ERR_clear_error();
  if (ok != 1) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the ", JwsAlgorithmName(algorithm), " signature does not verify with the certificate"));
  }
  return absl::OkStatus();
}

}  // namespace zarc::crypto

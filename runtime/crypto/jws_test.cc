#include "runtime/crypto/jws.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/digest.h"
#include "runtime/testing/app_certificate.h"
#include "runtime/testing/subprocess.h"

namespace zarc::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using zarc::testing::ReadCredentialFile;

class JwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "app").ok());
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "other").ok());
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  zarc::testing::TempDir dir_;
};

// Signatures checked by openssl itself, not only by our own verifier: RS256 is PKCS#1 v1.5 and
// PS256 is PSS with a 32-byte salt, both over SHA-256 (RFC 7518 3.3, 3.5).
TEST_F(JwsTest, SignaturesVerifyWithOpensslAndOurVerifier) {
  absl::StatusOr<std::unique_ptr<SigningCertificate>> signer =
      SigningCertificate::FromPemFile(Path("app.pem"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  absl::StatusOr<std::unique_ptr<VerifyingCertificate>> verifier =
      VerifyingCertificate::FromPem(ReadCredentialFile(Path("app.crt")), "app.crt");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  absl::StatusOr<std::unique_ptr<VerifyingCertificate>> other =
      VerifyingCertificate::FromPem(ReadCredentialFile(Path("other.crt")), "other.crt");
  ASSERT_TRUE(other.ok()) << other.status();
  const std::string input = "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJhcHAifQ";
  std::ofstream(Path("input")) << input;
  ASSERT_EQ(std::system(absl::StrCat("openssl x509 -in '", Path("app.crt"), "' -pubkey -noout > '",
                                     Path("app.pub"), "'")
                            .c_str()),
            0);
  for (JwsAlgorithm alg : {JwsAlgorithm::kRs256, JwsAlgorithm::kPs256}) {
    SCOPED_TRACE(JwsAlgorithmName(alg));
    absl::StatusOr<std::string> sig = (*signer)->Sign(alg, input);
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_EQ(sig->size(), 256u);  // a 2048-bit key
    std::ofstream(Path("sig"), std::ios::binary) << *sig;
    const std::string pss = alg == JwsAlgorithm::kPs256
                                ? " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32"
                                : "";
    EXPECT_EQ(std::system(absl::StrCat("openssl dgst -sha256", pss, " -verify '", Path("app.pub"),
                                       "' -signature '", Path("sig"), "' '", Path("input"),
                                       "' > /dev/null")
                              .c_str()),
              0);
    EXPECT_TRUE((*verifier)->Verify(alg, input, *sig).ok());
    EXPECT_FALSE((*verifier)->Verify(alg, input + "x", *sig).ok()) << "another input";
    EXPECT_FALSE((*other)->Verify(alg, input, *sig).ok()) << "another certificate";
  }
  // The two paddings are not interchangeable.
  absl::StatusOr<std::string> rs = (*signer)->Sign(JwsAlgorithm::kRs256, input);
  ASSERT_TRUE(rs.ok());
  EXPECT_FALSE((*verifier)->Verify(JwsAlgorithm::kPs256, input, *rs).ok());
}

TEST_F(JwsTest, ThumbprintsAreTheCertificatesFingerprints) {
  absl::StatusOr<std::unique_ptr<SigningCertificate>> signer =
      SigningCertificate::FromPemFile(Path("app.pem"));
  ASSERT_TRUE(signer.ok()) << signer.status();
  ASSERT_EQ(std::system(absl::StrCat("openssl x509 -in '", Path("app.crt"),
                                     "' -noout -fingerprint -sha256 > '", Path("fp"), "'")
                            .c_str()),
            0);
  // "sha256 Fingerprint=AB:CD:..." (the prefix's case differs between OpenSSL versions)
  std::string fp = ReadCredentialFile(Path("fp"));
  fp = fp.substr(fp.find('=') + 1);
  absl::StripAsciiWhitespace(&fp);
  EXPECT_EQ(HexEncode((*signer)->Sha256Thumbprint()),
            absl::AsciiStrToLower(absl::StrReplaceAll(fp, {{":", ""}})));
  EXPECT_EQ((*signer)->Sha1Thumbprint().size(), 20u);
}

TEST_F(JwsTest, BadPemFilesAreRefusedNamingTheFileNeverItsContent) {
  const std::string pem = ReadCredentialFile(Path("app.pem"));
  const std::string key_only = pem.substr(0, pem.find("-----BEGIN CERTIFICATE"));
  auto refused = [&](absl::string_view pem, absl::string_view why) {
    absl::StatusOr<std::unique_ptr<SigningCertificate>> s = SigningCertificate::FromPem(pem, "the file F");
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_THAT(s.status().message(), HasSubstr("the file F")) << why;
    EXPECT_THAT(s.status().message(), Not(HasSubstr("PRIVATE KEY-----"))) << why;
    return std::string(s.status().message());
  };
  EXPECT_THAT(refused(key_only, "no certificate"), HasSubstr("no PEM certificate"));
  EXPECT_THAT(refused(ReadCredentialFile(Path("app.crt")), "no key"), HasSubstr("no unencrypted PEM private key"));
  // The key of one app with the certificate of another.
  const std::string other_cert = ReadCredentialFile(Path("other.crt"));
  EXPECT_THAT(refused(key_only + other_cert, "mismatch"), HasSubstr("does not belong"));
  ASSERT_EQ(std::system(absl::StrCat("cd '", dir_.path(),
                                     "' && openssl req -x509 -newkey ec -pkeyopt "
                                     "ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt "
                                     "-days 2 -subj /CN=ec 2>/dev/null && cat ec.key ec.crt > ec.pem")
                            .c_str()),
            0);
  EXPECT_THAT(refused(ReadCredentialFile(Path("ec.pem")), "EC key"), HasSubstr("not RSA"));
  absl::StatusOr<std::unique_ptr<SigningCertificate>> missing =
      SigningCertificate::FromPemFile(Path("nope.pem"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(Path("nope.pem")));
  EXPECT_THAT(ParseJwsAlgorithm("HS256").status().message(), HasSubstr("\"HS256\""));
}

TEST(Base64UrlTest, RoundTripsWithoutPadding) {
  const std::string bytes("\xfb\xff\x00\x3e", 4);
  EXPECT_EQ(Base64UrlEncode(bytes), "-_8APg");
  absl::StatusOr<std::string> back = Base64UrlDecode("-_8APg");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(Base64UrlDecode("a+b/").ok()) << "standard base64 is not base64url";
}

}  // namespace
}  // namespace zarc::crypto

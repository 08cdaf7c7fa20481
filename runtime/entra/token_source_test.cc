// Certificate credentials against the Graph simulator's token endpoint, which checks a client
// assertion as Entra ID does: signature by a registered certificate's key, thumbprint, audience,
// issuer and subject, time range.
#include "runtime/entra/token_source.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/crypto/jws.h"
#include "runtime/json/json.h"
#include "runtime/testing/app_certificate.h"
#include "runtime/testing/subprocess.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::entra {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using zarc::testing::ReadCredentialFile;

class CertificateCredentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "app").ok());
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "unregistered").ok());
    graph_sim::GraphSimOptions options;
    options.tenant_id = "t1";
    options.client_certificates_pem = {ReadCredentialFile(dir_.path() + "/app.crt")};
    sim_ = graph_sim::testing::StartGraphSim(graph_sim::testing::CorpDirectory(), options);
    ASSERT_NE(sim_, nullptr);
  }
  Credentials WithCertificate(const std::string& name, const std::string& alg = "PS256") {
    return Credentials{.login_url = sim_->url,
                       .tenant_id = "t1",
                       .client_id = "zarc-graph-client",
                       .certificate_file = dir_.path() + "/" + name + ".pem",
                       .assertion_algorithm = alg};
  }
  // A Graph call with the token: 200 when Graph accepts it.
  int GraphStatus(const std::string& token) {
    http::ClientRequest req;
    req.url = sim_->url + "/v1.0/users/u-ann";
    req.headers = {{"Authorization", "Bearer " + token}};
    absl::StatusOr<http::ClientResponse> r = http_->Send(req);
    return r.ok() ? r->status : -1;
  }

  zarc::testing::TempDir dir_;
  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  std::unique_ptr<http::HttpClient> http_ = http::NewHttpClient();
};

TEST_F(CertificateCredentialTest, ARegisteredCertificateGetsATokenWithPs256AndRs256) {
  for (const char* alg : {"PS256", "RS256"}) {
    SCOPED_TRACE(alg);
    TokenSource tokens(*http_, WithCertificate("app", alg), sim_->url + "/.default");
    absl::StatusOr<std::string> token = tokens.Token();
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_EQ(GraphStatus(*token), 200);
  }
  EXPECT_EQ(sim_->sim->Stats().tokens_by_certificate, 2);
}

TEST_F(CertificateCredentialTest, TheAssertionHasTheClaimsEntraIdAsksFor) {
  const absl::Time now = absl::FromUnixSeconds(1764670000);
  absl::StatusOr<std::string> jwt = ClientAssertion(WithCertificate("app"), now);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  std::vector<std::string> parts = absl::StrSplit(*jwt, '.');
  ASSERT_EQ(parts.size(), 3u);
  absl::StatusOr<json::Value> header = json::Parse(*crypto::Base64UrlDecode(parts[0]), "header");
  absl::StatusOr<json::Value> claims = json::Parse(*crypto::Base64UrlDecode(parts[1]), "claims");
  ASSERT_TRUE(header.ok() && claims.ok());
  EXPECT_EQ(json::String(*header, "alg"), "PS256");
  EXPECT_EQ(json::String(*header, "typ"), "JWT");
  absl::StatusOr<std::unique_ptr<crypto::VerifyingCertificate>> cert =
      crypto::VerifyingCertificate::FromPem(ReadCredentialFile(dir_.path() + "/app.crt"), "app.crt");
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(json::String(*header, "x5t#S256"), crypto::Base64UrlEncode((*cert)->Sha256Thumbprint()));
  EXPECT_EQ(json::String(*claims, "aud"), sim_->url + "/t1/oauth2/v2.0/token");
  EXPECT_EQ(json::String(*claims, "iss"), "zarc-graph-client");
  EXPECT_EQ(json::String(*claims, "sub"), "zarc-graph-client");
  EXPECT_EQ(json::Int(*claims, "nbf"), 1764670000);
  EXPECT_EQ(json::Int(*claims, "exp"), 1764670000 + 600);
  EXPECT_EQ(json::String(*claims, "jti").size(), 36u);
  absl::StatusOr<std::string> again = ClientAssertion(WithCertificate("app"), now);
  ASSERT_TRUE(again.ok());
  const std::string again_claims = *crypto::Base64UrlDecode(
      std::vector<std::string>(absl::StrSplit(*again, '.'))[1]);
  EXPECT_NE(json::String(*json::Parse(again_claims, "claims"), "jti"), json::String(*claims, "jti"))
      << "a fresh jti each time";
  EXPECT_TRUE((*cert)->Verify(crypto::JwsAlgorithm::kPs256, parts[0] + "." + parts[1],
                              *crypto::Base64UrlDecode(parts[2]))
                  .ok());
}

TEST_F(CertificateCredentialTest, RefusalsWaitAndSayWhatToCheckNeverTheKey) {
  auto refused = [&](Credentials c, std::function<absl::Time()> now = nullptr) {
    TokenSource tokens(*http_, std::move(c), sim_->url + "/.default", std::move(now));
    absl::StatusOr<std::string> token = tokens.Token();
    EXPECT_EQ(token.status().code(), absl::StatusCode::kUnavailable) << token.status();
    EXPECT_THAT(token.status().message(), Not(HasSubstr("PRIVATE KEY")));
    return std::string(token.status().message());
  };
  // A certificate the app does not have registered.
  EXPECT_THAT(refused(WithCertificate("unregistered")),
              AllOf(HasSubstr("AADSTS700027"), HasSubstr("graph.client_certificate_file")));
  // The registered certificate, but the client id of another app.
  Credentials other_app = WithCertificate("app");
  other_app.client_id = "someone-else";
  EXPECT_THAT(refused(other_app), HasSubstr("AADSTS700016"));
  // A clock an hour behind: the assertion has expired by the endpoint's clock.
  EXPECT_THAT(refused(WithCertificate("app"), [] { return absl::Now() - absl::Hours(1); }),
              HasSubstr("AADSTS700024"));
  // No such file, or one without a key: said before anything is sent.
  const int64_t asked = sim_->sim->Stats().tokens_issued;
  EXPECT_THAT(refused(WithCertificate("missing")), HasSubstr("missing.pem"));
  Credentials cert_only = WithCertificate("app");
  cert_only.certificate_file = dir_.path() + "/app.crt";
  EXPECT_THAT(refused(cert_only), HasSubstr("no unencrypted PEM private key"));
  EXPECT_THAT(refused(WithCertificate("app", "HS256")), HasSubstr("\"HS256\""));
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, asked);
}

TEST_F(CertificateCredentialTest, ATamperedAssertionIsRefusedByTheEndpoint) {
  absl::StatusOr<std::string> jwt = ClientAssertion(WithCertificate("app"), absl::Now());
  ASSERT_TRUE(jwt.ok());
  std::vector<std::string> parts = absl::StrSplit(*jwt, '.');
  // The claims of another client id under the original signature.
  absl::StatusOr<json::Value> claims = json::Parse(*crypto::Base64UrlDecode(parts[1]), "claims");
  ASSERT_TRUE(claims.ok());
  (*claims)["sub"] = json::Str("intruder");
  const std::string forged = absl::StrCat(parts[0], ".",
                                          crypto::Base64UrlEncode(json::Serialize(*claims)), ".",
                                          parts[2]);
  http::ClientRequest req;
  req.method = "POST";
  req.url = sim_->url + "/t1/oauth2/v2.0/token";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = absl::StrCat(
      "client_id=zarc-graph-client&scope=", http::PercentEncode(sim_->url + "/.default"),
      "&grant_type=client_credentials&client_assertion_type=",
      http::PercentEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
      "&client_assertion=", forged);
  absl::StatusOr<http::ClientResponse> r = http_->Send(req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_THAT(r->body, HasSubstr("failed signature validation"));
}

// A token for Exchange Online (IMAP) is not a token for Graph, as in Entra ID.
TEST_F(CertificateCredentialTest, ATokenIsOnlyForTheResourceItWasAskedFor) {
  TokenSource outlook(*http_, WithCertificate("app"), "https://outlook.office365.com/.default");
  absl::StatusOr<std::string> token = outlook.Token();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(GraphStatus(*token), 401);
}

}  // namespace
}  // namespace zarc::entra

// Azure Blob Storage with Entra ID bearer tokens instead of a shared key: Azurite over HTTPS with
// `--oauth basic` (it checks issuer, audience and lifetime of each token), tokens from the Graph
// simulator's identity platform: client credentials, workload identity (a federated token file)
// and the managed identity endpoint.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/blob/azure_auth.h"
#include "runtime/blob/azure_blob_store.h"
#include "runtime/blob/azurite_fixture.h"
#include "runtime/crypto/jws.h"
#include "runtime/io/byte_stream.h"
#include "runtime/testing/app_certificate.h"
#include "runtime/testing/subprocess.h"
#include "simulators/graph/testing/graph_sim_fixture.h"

namespace zarc::blob {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kTenant[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
constexpr char kSecret[] = "storage-app-secret-value";
constexpr char kIssuer[] = "https://oidc.aks.test/6f1c";
constexpr char kSubject[] = "system:serviceaccount:zarc:zarc";

// A service account token as the kubelet projects it (unsigned here: the simulator checks its
// claims, as it cannot reach the issuer's keys).
std::string ServiceAccountToken(const std::string& subject) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  return absl::StrCat(
      crypto::Base64UrlEncode(R"({"alg":"RS256","kid":"k1"})"), ".",
      crypto::Base64UrlEncode(absl::StrCat(R"({"aud":["api://AzureADTokenExchange"],"iss":")",
                                           kIssuer, R"(","sub":")", subject, R"(","iat":)", now,
                                           R"(,"nbf":)", now, R"(,"exp":)", now + 3600, "}")),
      ".c2lnbmF0dXJl");
}

class AzureEntraTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<AzuriteProcess>> a = AzuriteProcess::Start({.oauth = true});
    if (!a.ok()) {
      start_error_ = new std::string(a.status().ToString());
      return;
    }
    azurite_ = a->release();
  }
  static void TearDownTestSuite() {
    delete azurite_;
    azurite_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(azurite_, nullptr) << *start_error_;
    graph_sim::GraphSimOptions options;
    options.tenant_id = kTenant;
    options.client_id = "storage-app";
    options.client_secret = kSecret;
    options.federated_credentials = {{.issuer = kIssuer, .subject = kSubject}};
    ASSERT_TRUE(zarc::testing::MakeAppCertificate(dir_.path(), "storage-app").ok());
    options.client_certificates_pem = {
        zarc::testing::ReadCredentialFile(dir_.path() + "/storage-app.crt")};
    options.managed_identities = {"", "user-assigned-1"};
    sim_ = graph_sim::testing::StartGraphSim(graph_sim::Directory{}, options);
    ASSERT_NE(sim_, nullptr);
  }

  AzureBlobOptions Options(const std::string& identity, const std::string& container) const {
    AzureBlobOptions o;
    o.account = kAzuriteAccount;
    o.container = container;
    o.endpoint = azurite_->endpoint();
    o.ca_file = azurite_->ca_file();
    o.identity = identity;
    o.entra.authority_host = sim_->url;
    o.entra.tenant_id = kTenant;
    o.entra.client_id = "storage-app";
    o.entra.imds_endpoint = sim_->url + "/metadata/identity/oauth2/token";
    return o;
  }

  // Creates the container, writes a blob and reads it back through `options`.
  static void RoundTrip(const AzureBlobOptions& options) {
    absl::StatusOr<std::unique_ptr<AzureBlobStore>> store = AzureBlobStore::Connect(options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->EnsureContainer().ok());
    absl::StatusOr<std::unique_ptr<BlobWriter>> writer = (*store)->Create("meeting/1.eml", {});
    ASSERT_TRUE(writer.ok()) << writer.status();
    ASSERT_TRUE((*writer)->Write("Subject: standup\r\n\r\nhello\r\n").ok());
    ASSERT_TRUE((*writer)->Close().ok());
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = (*store)->Open("meeting/1.eml");
    ASSERT_TRUE(source.ok()) << source.status();
    absl::StatusOr<std::string> text = io::ReadAll(**source, 1 << 20);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, "Subject: standup\r\n\r\nhello\r\n");
  }

  zarc::testing::TempDir dir_;
  std::unique_ptr<graph_sim::testing::RunningGraphSim> sim_;
  static AzuriteProcess* azurite_;
  static std::string* start_error_;
};

AzuriteProcess* AzureEntraTest::azurite_ = nullptr;
std::string* AzureEntraTest::start_error_ = nullptr;

TEST_F(AzureEntraTest, ClientCredentialsReadAndWriteOverHttps) {
  AzureBlobOptions o = Options("client-credentials", "by-secret");
  o.entra.client_secret = kSecret;
  RoundTrip(o);
  EXPECT_EQ(sim_->sim->Stats().tokens_issued, 1) << "one token serves every call";
}

// Azurite checks each token's audience: a Graph token on the same request is refused, so the
// round trips here prove the storage token was checked, not waved through.
TEST_F(AzureEntraTest, ATokenForAnotherResourceIsRefusedByStorage) {
  AzureBlobOptions o = Options("client-credentials", "audience");
  o.entra.client_secret = kSecret;
  RoundTrip(o);
  absl::StatusOr<entra::Credentials> credentials =
      AzureEntraCredentials(o, [](const char*) -> const char* { return nullptr; });
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  std::unique_ptr<http::HttpClient> http = http::NewHttpClient({.ca_file = o.ca_file});
  auto status_with = [&](const std::string& scope) {
    entra::TokenSource tokens(*http, *credentials, scope);
    absl::StatusOr<std::string> token = tokens.Token();
    EXPECT_TRUE(token.ok()) << token.status();
    http::ClientRequest get;
    get.url = absl::StrCat(o.endpoint, "/audience/meeting/1.eml");
    get.headers = {{"x-ms-version", AzureBlobStore::kApiVersion},
                   {"x-ms-date", FormatHttpDate(absl::Now())},
                   {"Authorization", absl::StrCat("Bearer ", token.value_or(""))}};
    absl::StatusOr<http::ClientResponse> r = http->Send(get);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->status : 0;
  };
  EXPECT_EQ(status_with(kAzureStorageScope), 200);
  const int graph = status_with("https://graph.microsoft.com/.default");
  EXPECT_TRUE(graph == 401 || graph == 403) << graph;
}

TEST_F(AzureEntraTest, ACertificateCredentialReadsAndWrites) {
  AzureBlobOptions o = Options("client-credentials", "by-certificate");
  o.entra.certificate_file = dir_.path() + "/storage-app.pem";
  RoundTrip(o);
  EXPECT_EQ(sim_->sim->Stats().tokens_by_certificate, 1);
}

TEST_F(AzureEntraTest, WorkloadIdentityExchangesTheFederatedTokenOfItsFile) {
  const std::string file = dir_.path() + "/azure-identity-token";
  std::ofstream(file) << ServiceAccountToken(kSubject);
  AzureBlobOptions o = Options("workload-identity", "by-federation");
  o.entra.federated_token_file = file;
  RoundTrip(o);
  EXPECT_EQ(sim_->sim->Stats().tokens_by_federation, 1);

  // A token for a service account the app does not trust is refused, naming what to check.
  std::ofstream(file) << ServiceAccountToken("system:serviceaccount:other:intruder");
  AzureBlobOptions refused = Options("workload-identity", "by-federation-refused");
  refused.entra.federated_token_file = file;
  absl::StatusOr<std::unique_ptr<AzureBlobStore>> store = AzureBlobStore::Connect(refused);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status s = (*store)->EnsureContainer();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;  // the deployment's problem: work waits
  EXPECT_THAT(s.message(), HasSubstr("AADSTS70021"));
  EXPECT_THAT(s.message(), HasSubstr("federated credential"));
}

TEST_F(AzureEntraTest, ManagedIdentityTokensComeFromTheMetadataEndpoint) {
  AzureBlobOptions system_assigned = Options("managed-identity", "by-system-identity");
  system_assigned.entra.client_id.clear();
  RoundTrip(system_assigned);
  AzureBlobOptions user_assigned = Options("managed-identity", "by-user-identity");
  user_assigned.entra.client_id = "user-assigned-1";
  RoundTrip(user_assigned);
  EXPECT_EQ(sim_->sim->Stats().tokens_by_managed_identity, 2);
}

TEST_F(AzureEntraTest, ARefusedSecretWaitsAndNeverShowsTheSecret) {
  AzureBlobOptions o = Options("client-credentials", "by-wrong-secret");
  o.entra.client_secret = "wrong-secret-value";
  absl::StatusOr<std::unique_ptr<AzureBlobStore>> store = AzureBlobStore::Connect(o);
  ASSERT_TRUE(store.ok()) << store.status();
  absl::Status s = (*store)->EnsureContainer();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("AZURE_CLIENT_SECRET"));
  EXPECT_THAT(s.message(), Not(HasSubstr("wrong-secret-value")));
}

TEST(AzureEntraConfigTest, ATokenIsNeverSentOverHttp) {
  AzureBlobOptions o;
  o.account = "zarcarchive";
  o.container = "zarc-archive";
  o.endpoint = "http://127.0.0.1:10000/zarcarchive";
  o.identity = "managed-identity";
  absl::StatusOr<std::unique_ptr<AzureBlobStore>> store = AzureBlobStore::Connect(o);
  ASSERT_FALSE(store.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(store.status()));
  EXPECT_THAT(store.status().message(), HasSubstr("TLS only"));
}

TEST(AzureEntraConfigTest, AutoPicksTheIdentityTheEnvironmentDescribes) {
  std::map<std::string, std::string> env;
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  AzureBlobOptions o;
  o.account = "zarcarchive";
  absl::StatusOr<entra::Credentials> c = AzureEntraCredentials(o, getenv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->managed_identity);

  env = {{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}, {"AZURE_CLIENT_SECRET", "s3cret"}};
  c = AzureEntraCredentials(o, getenv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->managed_identity);
  EXPECT_EQ(c->client_secret, "s3cret");
  EXPECT_EQ(c->login_url, "https://login.microsoftonline.com");

  env["AZURE_FEDERATED_TOKEN_FILE"] = "/var/run/secrets/azure/tokens/azure-identity-token";
  env["AZURE_AUTHORITY_HOST"] = "https://login.microsoftonline.us/";
  c = AzureEntraCredentials(o, getenv);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->federated_token_file, env["AZURE_FEDERATED_TOKEN_FILE"]);
  EXPECT_TRUE(c->client_secret.empty()) << "a federated token, not the secret";
  EXPECT_EQ(c->login_url, "https://login.microsoftonline.us");

  env = {{"AZURE_CLIENT_ID", "c"}, {"AZURE_FEDERATED_TOKEN_FILE", "/f"}};
  c = AzureEntraCredentials(o, getenv);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("AZURE_TENANT_ID"));

  o.identity = "client-credentials";
  env = {{"AZURE_TENANT_ID", "t"}, {"AZURE_CLIENT_ID", "c"}};
  c = AzureEntraCredentials(o, getenv);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("AZURE_CLIENT_SECRET"));
}

}  // namespace
}  // namespace zarc::blob

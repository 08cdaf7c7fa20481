// The zarc commands against a secured control plane, as real processes: `zarc health` and
// `zarc sync` with the TLS, mTLS and token flags (and the same from ZARC_GRPC_* variables),
// against a real gRPC server on 127.0.0.1; a service refusing an insecure configuration.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/service/service_host.h"
#include "runtime/service/testing/test_certificates.h"
#include "runtime/testing/subprocess.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Subprocess;

constexpr char kToken[] = "zarc-cli-test-token-93b7e1d4c2a8";

std::pair<int, std::string> Zarc(std::vector<std::string> args,
                                 std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {testing::BinPath("zarc")};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = Subprocess::Start({.argv = argv, .extra_env = std::move(env), .merge_stderr = true});
  if (!p.ok()) return {-1, std::string(p.status().message())};
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(60));
  return {code.ok() ? *code : -1, (*p)->ReadRemaining(absl::Seconds(5))};
}

class GrpcSecurityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::Status made = service::testing::MakeTestCertificates(dir_.path(), kToken);
    ASSERT_TRUE(made.ok()) << made;
    service::HostConfig c;
    c.listen_address = "127.0.0.1";
    c.security = {.tls_cert_file = File("server.pem"),
                  .tls_key_file = File("server.key"),
                  .tls_client_ca_file = File("ca.pem"),
                  .auth_token_file = File("token")};
    auto host = service::ServiceHost::Start("secured", c, {});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    host_->SetServing(true);
    address_ = absl::StrCat("127.0.0.1:", host_->grpc_port());
  }
  std::string File(const std::string& name) const { return dir_.path() + "/" + name; }
  std::vector<std::string> Flags() const {
    return {"--tls-ca-file=" + File("ca.pem"), "--tls-cert-file=" + File("client.pem"),
            "--tls-key-file=" + File("client.key"), "--auth-token-file=" + File("token")};
  }

  testing::TempDir dir_;
  std::unique_ptr<service::ServiceHost> host_;
  std::string address_;
};

TEST_F(GrpcSecurityCliTest, HealthSpeaksMtlsWithTheTokenFromFlagsOrEnvironment) {
  std::vector<std::string> args = {"health", "--address=" + address_};
  for (const std::string& f : Flags()) args.push_back(f);
  auto [code, out] = Zarc(args);
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr(address_ + ": SERVING"));

  auto [env_code, env_out] = Zarc({"health", "--address=" + address_},
                                  {{"ZARC_GRPC_TLS_CA_FILE", File("ca.pem")},
                                   {"ZARC_GRPC_TLS_CERT_FILE", File("client.pem")},
                                   {"ZARC_GRPC_TLS_KEY_FILE", File("client.key")},
                                   {"ZARC_GRPC_AUTH_TOKEN_FILE", File("token")}});
  EXPECT_EQ(env_code, 0) << env_out;
  EXPECT_THAT(env_out, HasSubstr("SERVING"));
}

TEST_F(GrpcSecurityCliTest, WithoutTheTokenOrTheClientCertificateHealthFails) {
  auto [no_token, no_token_out] =
      Zarc({"health", "--address=" + address_, "--timeout=5", "--tls-ca-file=" + File("ca.pem"),
            "--tls-cert-file=" + File("client.pem"), "--tls-key-file=" + File("client.key")});
  EXPECT_EQ(no_token, 1) << no_token_out;
  EXPECT_THAT(no_token_out, HasSubstr("requires a bearer token"));

  auto [no_cert, no_cert_out] =
      Zarc({"health", "--address=" + address_, "--timeout=5", "--tls-ca-file=" + File("ca.pem"),
            "--auth-token-file=" + File("token")});
  EXPECT_EQ(no_cert, 1) << no_cert_out;
  EXPECT_THAT(no_cert_out, HasSubstr("did not answer"));
  EXPECT_THAT(no_cert_out, Not(HasSubstr(kToken)));

  auto [plain, plain_out] = Zarc({"health", "--address=" + address_, "--timeout=5"});
  EXPECT_EQ(plain, 1) << plain_out;
}

TEST_F(GrpcSecurityCliTest, SyncCarriesTheSameFlags) {
  // This server has no FetcherControl: with the credentials the call gets that far.
  std::vector<std::string> args = {"sync", "--from=2026-01-01", "--to=2026-01-02",
                                   "--fetcher=" + address_};
  auto [refused, refused_out] = Zarc(args);
  EXPECT_EQ(refused, 1) << refused_out;
  for (const std::string& f : Flags()) args.push_back(f);
  auto [code, out] = Zarc(args);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("the fetcher at " + address_ + " refused or is unreachable"));
  EXPECT_THAT(out, Not(HasSubstr("bearer token")));  // authenticated: refused for another reason
}

TEST_F(GrpcSecurityCliTest, InsecureCombinationsAreRefusedBeforeAnyCall) {
  auto [client, client_out] = Zarc({"health", "--address=10.255.255.1:7001",
                                    "--auth-token-file=" + File("token")});
  EXPECT_EQ(client, 2) << client_out;
  EXPECT_THAT(client_out, HasSubstr("grpc.auth_token_file to 10.255.255.1:7001 without TLS"));

  auto [missing, missing_out] = Zarc({"health", "--address=" + address_,
                                      "--tls-ca-file=" + File("no-such-ca.pem")});
  EXPECT_EQ(missing, 2) << missing_out;
  EXPECT_THAT(missing_out, HasSubstr("cannot read grpc.tls_ca_file " + File("no-such-ca.pem")));

  // A service bound beyond loopback with a token and no TLS does not start (configuration error).
  auto [service, service_out] =
      Zarc({"mapper", "--grpc.auth_token_file=" + File("token"), "--grpc.port=0",
            "--metrics.port=0"});
  EXPECT_EQ(service, 2) << service_out;
  EXPECT_THAT(service_out, HasSubstr("grpc.auth_token_file on listen.address 0.0.0.0 without TLS"));
  EXPECT_THAT(service_out, Not(HasSubstr(kToken)));
}

}  // namespace
}  // namespace zarc

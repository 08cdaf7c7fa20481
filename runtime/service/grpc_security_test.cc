// The gRPC control plane's TLS, mTLS and bearer token, against real gRPC servers (ServiceHost)
// on 127.0.0.1 with certificates made by openssl for this test run.
#include "runtime/service/grpc_security.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/service/service_host.h"
#include "runtime/service/testing/test_certificates.h"
#include "runtime/testing/subprocess.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::service {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "zarc-grpc-test-token-6f1c2e9ab4d0";

// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, all signed by
// that CA; and a second CA that signed nothing of this server's.
class GrpcSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new zarc::testing::TempDir();
    const std::string d = dir_->path();
    absl::Status made = testing::MakeTestCertificates(d, kToken);
    ASSERT_TRUE(made.ok()) << made;
    std::ofstream(d + "/wrong-token") << "not-the-token\n";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string File(const std::string& name) { return dir_->path() + "/" + name; }

  static GrpcSecurity ServerTls() {
    return {.tls_cert_file = File("server.pem"), .tls_key_file = File("server.key")};
  }

  std::unique_ptr<ServiceHost> Start(const GrpcSecurity& security, int64_t health_port = -1) {
    HostConfig c;
    c.listen_address = "127.0.0.1";
    c.security = security;
    c.health_port = health_port;
    absl::StatusOr<std::unique_ptr<ServiceHost>> host = ServiceHost::Start("secured", c, {});
    EXPECT_TRUE(host.ok()) << host.status();
    if (!host.ok()) return nullptr;
    (*host)->SetServing(true);
    return *std::move(host);
  }

  static std::string Target(int port) { return absl::StrCat("127.0.0.1:", port); }

  // One health Check within 5 s through `channel`.
  static grpc::Status Check(const std::shared_ptr<grpc::Channel>& channel,
                            HealthCheckResponse* resp = nullptr) {
    HealthCheckResponse ignored;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return grpc::health::v1::Health::NewStub(channel)->Check(&ctx, HealthCheckRequest(),
                                                             resp != nullptr ? resp : &ignored);
  }
  static grpc::Status CheckWith(const GrpcSecurity& client, int port,
                                HealthCheckResponse* resp = nullptr) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(client, Target(port));
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
    return Check(*channel, resp);
  }

  static zarc::testing::TempDir* dir_;
};

zarc::testing::TempDir* GrpcSecurityTest::dir_ = nullptr;

TEST_F(GrpcSecurityTest, TlsServesAClientThatTrustsItsCaAndRefusesPlaintext) {
  auto host = Start(ServerTls());
  ASSERT_NE(host, nullptr);
  HealthCheckResponse resp;
  grpc::Status ok = CheckWith({.tls_ca_file = File("ca.pem")}, host->grpc_port(), &resp);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);

  grpc::Status plain = Check(grpc::CreateChannel(Target(host->grpc_port()),
                                                 grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE) << plain.error_message();
}

TEST_F(GrpcSecurityTest, AClientWithAnotherCaRefusesTheServer) {
  auto host = Start(ServerTls());
  ASSERT_NE(host, nullptr);
  grpc::Status s = CheckWith({.tls_ca_file = File("other-ca.pem")}, host->grpc_port());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(GrpcSecurityTest, AServerNameNotInTheCertificateIsRefused) {
  auto host = Start(ServerTls());
  ASSERT_NE(host, nullptr);
  GrpcSecurity client{.tls_ca_file = File("ca.pem"), .tls_server_name = "zarc-mapper.other"};
  EXPECT_EQ(CheckWith(client, host->grpc_port()).error_code(), grpc::StatusCode::UNAVAILABLE);
  client.tls_server_name = "localhost";  // in the certificate's SAN
  EXPECT_TRUE(CheckWith(client, host->grpc_port()).ok());
}

TEST_F(GrpcSecurityTest, MtlsRequiresAClientCertificateSignedByTheClientCa) {
  GrpcSecurity server = ServerTls();
  server.tls_client_ca_file = File("ca.pem");
  auto host = Start(server);
  ASSERT_NE(host, nullptr);

  grpc::Status no_cert = CheckWith({.tls_ca_file = File("ca.pem")}, host->grpc_port());
  EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << no_cert.error_message();

  grpc::Status rogue = CheckWith({.tls_cert_file = File("rogue.pem"),
                                  .tls_key_file = File("rogue.key"),
                                  .tls_ca_file = File("ca.pem")},
                                 host->grpc_port());
  EXPECT_EQ(rogue.error_code(), grpc::StatusCode::UNAVAILABLE) << rogue.error_message();

  grpc::Status ok = CheckWith({.tls_cert_file = File("client.pem"),
                               .tls_key_file = File("client.key"),
                               .tls_ca_file = File("ca.pem")},
                              host->grpc_port());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

// Issue 17: a renewed Secret (cert-manager) is served without a restart. The server's
// certificate, key and client CA are swapped on disk for ones of a new CA; within the reload
// interval a client trusting only the new CA (and presenting a certificate of it) connects to
// the same server, and a client of the old CA is refused.
TEST_F(GrpcSecurityTest, RotatedCertificateAndClientCaAreServedWithoutARestart) {
  zarc::testing::TempDir fresh;
  ASSERT_TRUE(testing::MakeTestCertificates(fresh.path(), kToken).ok());
  zarc::testing::TempDir live;
  // Written whole under a temporary name and renamed, as the kubelet swaps a Secret's files.
  auto install = [&](const std::string& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream(live.path() + "/" + to + ".tmp", std::ios::binary) << in.rdbuf();
    ASSERT_EQ(std::rename((live.path() + "/" + to + ".tmp").c_str(),
                          (live.path() + "/" + to).c_str()),
              0);
  };
  install(File("server.pem"), "tls.crt");
  install(File("server.key"), "tls.key");
  install(File("ca.pem"), "client-ca.crt");
  GrpcSecurity server{.tls_cert_file = live.path() + "/tls.crt",
                      .tls_key_file = live.path() + "/tls.key",
                      .tls_client_ca_file = live.path() + "/client-ca.crt",
                      .tls_reload_interval = absl::Seconds(1)};
  auto host = Start(server);
  ASSERT_NE(host, nullptr);
  const GrpcSecurity old_client{.tls_cert_file = File("client.pem"),
                                .tls_key_file = File("client.key"),
                                .tls_ca_file = File("ca.pem")};
  const GrpcSecurity new_client{.tls_cert_file = fresh.path() + "/client.pem",
                                .tls_key_file = fresh.path() + "/client.key",
                                .tls_ca_file = fresh.path() + "/ca.pem"};
  grpc::Status before = CheckWith(old_client, host->grpc_port());
  ASSERT_TRUE(before.ok()) << before.error_message();
  EXPECT_EQ(CheckWith(new_client, host->grpc_port()).error_code(), grpc::StatusCode::UNAVAILABLE);

  install(fresh.path() + "/server.key", "tls.key");
  install(fresh.path() + "/server.pem", "tls.crt");
  install(fresh.path() + "/ca.pem", "client-ca.crt");
  grpc::Status after = grpc::Status(grpc::StatusCode::UNKNOWN, "not tried");
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    after = CheckWith(new_client, host->grpc_port());
    if (after.ok()) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(after.ok()) << "the rotated certificate was not served within 15 s: "
                          << after.error_message();
  grpc::Status old_after = CheckWith(old_client, host->grpc_port());
  EXPECT_EQ(old_after.error_code(), grpc::StatusCode::UNAVAILABLE) << old_after.error_message();
  // The old CA's client certificate is refused too: a client that trusts both CAs but still
  // presents the old certificate.
  zarc::testing::TempDir both;
  {
    std::ifstream a(File("ca.pem")), b(fresh.path() + "/ca.pem");
    std::ofstream out(both.path() + "/cas.pem");
    out << a.rdbuf() << b.rdbuf();
  }
  GrpcSecurity stale_certificate = old_client;
  stale_certificate.tls_ca_file = both.path() + "/cas.pem";
  EXPECT_EQ(CheckWith(stale_certificate, host->grpc_port()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  GrpcSecurity both_cas = new_client;
  both_cas.tls_ca_file = both.path() + "/cas.pem";
  EXPECT_TRUE(CheckWith(both_cas, host->grpc_port()).ok());
}

TEST_F(GrpcSecurityTest, AReloadIntervalUnderASecondIsRefused) {
  GrpcSecurity server = ServerTls();
  server.tls_reload_interval = absl::Milliseconds(200);
  absl::Status s = CheckServerSecurity(server, "127.0.0.1");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_THAT(s.message(), HasSubstr("grpc.tls_reload_interval = 200ms is too short"));
  config::Sources sources{.args = {"--grpc.tls_reload_interval=1s"}};
  absl::StatusOr<HostConfig> loaded = HostSchema(7001, 9401).Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->security.tls_reload_interval, absl::Seconds(1));
  EXPECT_EQ(HostSchema(7001, 9401).Load({}).value().security.tls_reload_interval,
            absl::Seconds(60));
}

TEST_F(GrpcSecurityTest, AMissingOrWrongTokenIsUnauthenticatedAndTheTokenIsNeverLogged) {
  GrpcSecurity server = ServerTls();
  server.auth_token = kToken;
  ::testing::internal::CaptureStderr();
  auto host = Start(server);
  ASSERT_NE(host, nullptr);

  grpc::Status missing = CheckWith({.tls_ca_file = File("ca.pem")}, host->grpc_port());
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED) << missing.error_message();
  grpc::Status wrong = CheckWith({.tls_ca_file = File("ca.pem"), .auth_token = "not-the-token"},
                                 host->grpc_port());
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED) << wrong.error_message();
  // The right token with one byte more or less is as wrong.
  grpc::Status longer = CheckWith(
      {.tls_ca_file = File("ca.pem"), .auth_token = std::string(kToken) + "x"}, host->grpc_port());
  EXPECT_EQ(longer.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  HealthCheckResponse resp;
  grpc::Status right =
      CheckWith({.tls_ca_file = File("ca.pem"), .auth_token = kToken}, host->grpc_port(), &resp);
  EXPECT_TRUE(right.ok()) << right.error_message();
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  host.reset();
  const std::string log = ::testing::internal::GetCapturedStderr();

  EXPECT_THAT(log, HasSubstr("refused a gRPC call without a bearer token"));
  EXPECT_THAT(log, HasSubstr("refused a gRPC call with a wrong bearer token"));
  EXPECT_THAT(log, HasSubstr("grpc.health.v1.Health/Check"));
  EXPECT_THAT(log, HasSubstr("TLS, bearer token"));
  EXPECT_THAT(log, Not(HasSubstr(kToken)));
  EXPECT_THAT(log, Not(HasSubstr("not-the-token")));
  EXPECT_THAT(missing.error_message() + wrong.error_message(), Not(HasSubstr(kToken)));
}

TEST_F(GrpcSecurityTest, ATokenOnLoopbackWithoutTlsTravelsOverLocalCredentials) {
  auto host = Start({.auth_token_file = File("token")});  // the file's newline is not in it
  ASSERT_NE(host, nullptr);
  EXPECT_TRUE(CheckWith({.auth_token = kToken}, host->grpc_port()).ok());
  EXPECT_EQ(CheckWith({.auth_token = "not-the-token"}, host->grpc_port()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status plain = Check(grpc::CreateChannel(Target(host->grpc_port()),
                                                 grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(plain.ok());
}

TEST_F(GrpcSecurityTest, TheHealthOnlyPortIsPlaintextAndServesNothingElse) {
  GrpcSecurity server = ServerTls();
  server.tls_client_ca_file = File("ca.pem");
  server.auth_token = kToken;
  auto host = Start(server, /*health_port=*/0);
  ASSERT_NE(host, nullptr);
  ASSERT_GT(host->health_port(), 0);
  auto plain = grpc::CreateChannel(Target(host->health_port()), grpc::InsecureChannelCredentials());
  HealthCheckResponse resp;
  grpc::Status s = Check(plain, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  host->SetServing(false);
  ASSERT_TRUE(Check(plain, &resp).ok());
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);

  // Only health: a control RPC is UNIMPLEMENTED there.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  zarc::v1::SyncRequest req;
  zarc::v1::SyncResponse out;
  grpc::Status other = zarc::v1::FetcherControl::NewStub(plain)->Sync(&ctx, req, &out);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::UNIMPLEMENTED) << other.error_message();
}

TEST_F(GrpcSecurityTest, InsecureOrIncompleteSettingsAreRefusedNamingTheOption) {
  absl::Status token_in_plaintext = CheckServerSecurity({.auth_token = kToken}, "0.0.0.0");
  EXPECT_TRUE(absl::IsInvalidArgument(token_in_plaintext));
  EXPECT_THAT(token_in_plaintext.message(), HasSubstr("grpc.auth_token_file on listen.address 0.0.0.0 without TLS"));
  EXPECT_TRUE(CheckServerSecurity({.auth_token = kToken}, "127.0.0.1").ok());

  absl::Status no_key = CheckServerSecurity({.tls_cert_file = File("server.pem")}, "0.0.0.0");
  EXPECT_THAT(no_key.message(), HasSubstr("grpc.tls_cert_file is set without grpc.tls_key_file"));
  absl::Status ca_alone = CheckServerSecurity({.tls_client_ca_file = File("ca.pem")}, "0.0.0.0");
  EXPECT_THAT(ca_alone.message(), HasSubstr("grpc.tls_client_ca_file (mTLS) needs TLS"));

  GrpcSecurity unreadable = ServerTls();
  unreadable.tls_key_file = File("no-such.key");
  absl::Status missing = CheckServerSecurity(unreadable, "0.0.0.0");
  EXPECT_THAT(missing.message(), HasSubstr("cannot read grpc.tls_key_file " + File("no-such.key")));

  // A key given where the certificate belongs: its path is named, not a byte of it.
  GrpcSecurity not_pem = ServerTls();
  not_pem.tls_cert_file = File("token");
  absl::Status bad = CheckServerSecurity(not_pem, "0.0.0.0");
  EXPECT_THAT(bad.message(), HasSubstr(File("token") + " is not PEM"));
  EXPECT_THAT(bad.message(), Not(HasSubstr(kToken)));

  absl::Status client_token = CheckClientSecurity({.auth_token = kToken}, "zarc-fetcher:7001");
  EXPECT_THAT(client_token.message(), HasSubstr("grpc.auth_token_file to zarc-fetcher:7001 without TLS"));
  EXPECT_TRUE(CheckClientSecurity({.auth_token = kToken}, "127.0.0.1:7001").ok());
  EXPECT_FALSE(MakeChannel({.auth_token = kToken}, "10.0.0.7:7001").ok());

  // The host options refuse the same at load time (exit code 2 for a service).
  config::Sources sources{.args = {"--grpc.auth_token_file=" + File("token")}};
  absl::StatusOr<HostConfig> loaded = HostSchema(7001, 9401).Load(sources);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("grpc.auth_token_file on listen.address 0.0.0.0 without TLS"));
  EXPECT_THAT(loaded.status().message(), Not(HasSubstr(kToken)));
  sources.args.push_back("--listen.address=127.0.0.1");
  loaded = HostSchema(7001, 9401).Load(sources);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->security.auth_token_file, File("token"));
  EXPECT_THAT(HostSchema(7001, 9401).Print(*loaded), Not(HasSubstr(kToken)));

  // An empty token file would turn the check off: refused instead.
  std::ofstream(File("empty-token")).flush();
  absl::Status empty = CheckServerSecurity(
      {.tls_cert_file = File("server.pem"), .tls_key_file = File("server.key"),
       .auth_token_file = File("empty-token")},
      "0.0.0.0");
  EXPECT_THAT(empty.message(), HasSubstr("grpc.auth_token_file " + File("empty-token") + " is empty"));
}

TEST(GrpcSecurityAddressTest, LoopbackIsOnly127Slash8AndLocalhost) {
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("127.0.0.1:7000"));
  EXPECT_TRUE(IsLoopback("127.1.2.3:7000"));
  EXPECT_TRUE(IsLoopback("localhost:7000"));
  EXPECT_TRUE(IsLoopback("[::1]:7000"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_TRUE(IsLoopback("dns:///localhost:7000"));
  EXPECT_FALSE(IsLoopback("0.0.0.0"));
  EXPECT_FALSE(IsLoopback("127.0.0.1.evil.example:7000"));
  EXPECT_FALSE(IsLoopback("10.0.0.7:7000"));
  EXPECT_FALSE(IsLoopback("[::]:7000"));
  EXPECT_FALSE(IsLoopback("zarc-fetcher:7001"));
}

}  // namespace
}  // namespace zarc::service

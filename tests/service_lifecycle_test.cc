// Each service binary, and `zarc run`, as an operator starts them: healthy over gRPC, metrics
// served, clean exit on SIGTERM, exit code 2 with a precise message on bad configuration.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "runtime/testing/subprocess.h"

namespace zarc {
namespace {

using ::testing::HasSubstr;
using testing::Subprocess;

int PortFrom(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  int port = 0;
  if (at == std::string::npos) return 0;
  size_t end = line.find(' ', at);
  (void)absl::SimpleAtoi(line.substr(at + key.size() + 1, end - at - key.size() - 1), &port);
  return port;
}

class ServiceLifecycleTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto broker = Subprocess::Start({.argv = {testing::BinPath("zarc-devbroker")}});
    ASSERT_TRUE(broker.ok()) << broker.status();
    absl::StatusOr<std::string> line = (*broker)->WaitForLine("bootstrap.servers=", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    bootstrap_ = new std::string(line->substr(line->find('=') + 1));
    broker_ = broker->release();
  }
  static void TearDownTestSuite() {
    delete broker_;
    delete bootstrap_;
    delete dir_;
  }

  // The command line of each service: the same binary an operator runs, with what it needs.
  std::vector<std::string> Command(const std::string& service) {
    const std::string store = "file://" + dir_->path();
    const std::string kafka = "--kafka.brokers=" + *bootstrap_;
    std::map<std::string, std::vector<std::string>> extra = {
        {"fetcher", {kafka, "--staging.url=" + store + "/staging"}},
        {"converter", {kafka, "--staging.url=" + store + "/staging"}},
        {"mapper", {kafka, "--mapper.mode=csv-only"}},
        {"importer", {kafka, "--messages.url=" + store + "/staging", "--archive.url=" + store + "/archive",
                      "--importer.target=none"}},
        {"run", {"--run.data_dir=" + dir_->path() + "/run"}},
    };
    std::vector<std::string> argv = service == "run"
                                        ? std::vector<std::string>{testing::BinPath("zarc"), "run"}
                                        : std::vector<std::string>{testing::BinPath("zarc-" + service)};
    for (const char* a : {"--grpc.port=0", "--metrics.port=0", "--listen.address=127.0.0.1"}) {
      argv.push_back(a);
    }
    for (const std::string& a : extra[service]) argv.push_back(a);
    return argv;
  }

  static testing::TempDir* dir_;
  static std::string* bootstrap_;
  static Subprocess* broker_;
};

testing::TempDir* ServiceLifecycleTest::dir_ = nullptr;
std::string* ServiceLifecycleTest::bootstrap_ = nullptr;
Subprocess* ServiceLifecycleTest::broker_ = nullptr;

TEST_P(ServiceLifecycleTest, ServesHealthAndStopsCleanlyOnSigterm) {
  auto p = Subprocess::Start({.argv = Command(GetParam()), .merge_stderr = true});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<std::string> line = (*p)->WaitForLine("listening grpc_port", absl::Seconds(30));
  ASSERT_TRUE(line.ok()) << line.status();
  const int grpc_port = PortFrom(*line, "grpc_port");
  ASSERT_GT(grpc_port, 0) << *line;
  EXPECT_GT(PortFrom(*line, "metrics_port"), 0) << *line;

  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials()));
  grpc::health::v1::HealthCheckResponse::ServingStatus status{};
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    if (stub->Check(&ctx, req, &resp).ok() &&
        resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
      status = resp.status();
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(status, grpc::health::v1::HealthCheckResponse::SERVING) << (*p)->output();

  (*p)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*p)->ReadRemaining(absl::Seconds(1));
  EXPECT_THAT((*p)->ReadRemaining(absl::Seconds(2)), HasSubstr("stopped cleanly"));
}

TEST_P(ServiceLifecycleTest, BadConfigurationExitsWithCodeTwoNamingTheKey) {
  std::vector<std::string> argv = Command(GetParam());
  argv.push_back("--grpc.port=70000");
  auto p = Subprocess::Start({.argv = argv, .merge_stderr = true});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(20));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
  EXPECT_THAT((*p)->ReadRemaining(absl::Seconds(2)),
              HasSubstr("grpc.port = 70000 is out of range: allowed 0 to 65535"));
}

TEST_P(ServiceLifecycleTest, HelpListsEveryOptionWithItsEnvironmentName) {
  std::vector<std::string> argv = {Command(GetParam())[0]};
  if (GetParam() == "run") argv.push_back("run");
  argv.push_back("--help");
  auto p = Subprocess::Start({.argv = argv});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*(*p)->Wait(absl::Seconds(20)), 0);
  const std::string out = (*p)->ReadRemaining(absl::Seconds(2));
  EXPECT_THAT(out, HasSubstr("`ZARC_GRPC_PORT`"));
  EXPECT_THAT(out, HasSubstr("`ZARC_KAFKA_BROKERS`"));
  EXPECT_THAT(out, HasSubstr("`ZARC_LOG_FORMAT`"));
}

INSTANTIATE_TEST_SUITE_P(AllServices, ServiceLifecycleTest,
                         ::testing::Values("fetcher", "converter", "mapper", "importer", "run"));

}  // namespace
}  // namespace zarc

#include "runtime/service/service_host.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace zarc::service {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

// A minimal HTTP GET over a socket, so this test does not depend on zarc's own HTTP client.
std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

HostConfig LocalConfig() {
  HostConfig c;
  c.listen_address = "127.0.0.1";
  return c;
}

TEST(ServiceHostTest, HealthGoesServingAndBackOverRealGrpc) {
  auto host = ServiceHost::Start("test", LocalConfig(), {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*host)->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);

  auto check = [&]() {
    grpc::ClientContext ctx;
    HealthCheckRequest req;
    HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.status();
  };
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);
  (*host)->SetServing(true);
  EXPECT_EQ(check(), HealthCheckResponse::SERVING);

  grpc::ClientContext ctx;
  HealthCheckRequest unknown;
  unknown.set_service("no.such.Service");
  HealthCheckResponse resp;
  EXPECT_EQ(stub->Check(&ctx, unknown, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(ServiceHostTest, WatchStreamsChanges) {
  auto host = ServiceHost::Start("test", LocalConfig(), {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*host)->grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  HealthCheckRequest req;
  auto reader = stub->Watch(&ctx, req);
  HealthCheckResponse resp;
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::NOT_SERVING);
  (*host)->SetServing(true);
  ASSERT_TRUE(reader->Read(&resp));
  EXPECT_EQ(resp.status(), HealthCheckResponse::SERVING);
  ctx.TryCancel();
}

TEST(ServiceHostTest, AFailedHealthProbeTurnsTheServiceNotServingForGood) {
  auto host = ServiceHost::Start("test", LocalConfig(), {});
  ASSERT_TRUE(host.ok()) << host.status();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*host)->grpc_port()), grpc::InsecureChannelCredentials()));
  auto check = [&]() {
    grpc::ClientContext ctx;
    HealthCheckRequest req;
    HealthCheckResponse resp;
    EXPECT_TRUE(stub->Check(&ctx, req, &resp).ok());
    return resp.status();
  };
  absl::Mutex mu;
  absl::Status stage_status;  // what the probe reports, as a stage worker would
  (*host)->SetServing(true);
  (*host)->MonitorHealth(
      [&] {
        absl::MutexLock lock(&mu);
        return stage_status;
      },
      absl::Milliseconds(20));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(check(), HealthCheckResponse::SERVING);

  {
    absl::MutexLock lock(&mu);
    stage_status = absl::UnavailableError("stage converter stopped: fatal Kafka consumer error");
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (check() != HealthCheckResponse::NOT_SERVING && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);
  // The stage does not come back by itself, so neither does the service.
  {
    absl::MutexLock lock(&mu);
    stage_status = absl::OkStatus();
  }
  (*host)->SetServing(true);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(check(), HealthCheckResponse::NOT_SERVING);
  (*host)->StopHealthMonitor();
}

TEST(ServiceHostTest, MetricsEndpointServesRegisteredMetrics) {
  auto host = ServiceHost::Start("converter", LocalConfig(), {});
  ASSERT_TRUE(host.ok()) << host.status();
  prometheus::BuildCounter().Name("zarc_test_events_total").Help("test").Register(
      (*host)->metrics()).Add({}).Increment(3);
  const std::string body = HttpGet((*host)->metrics_port(), "/metrics");
  EXPECT_THAT(body, HasSubstr("zarc_test_events_total 3"));
  EXPECT_THAT(body, HasSubstr("zarc_build_info{service=\"converter\""));
}

// The standard process metrics every Prometheus client library exports, with plausible values.
TEST(ServiceHostTest, MetricsEndpointServesProcessMetrics) {
  auto host = ServiceHost::Start("mapper", LocalConfig(), {});
  ASSERT_TRUE(host.ok()) << host.status();
  const std::string body = HttpGet((*host)->metrics_port(), "/metrics");
  auto value = [&](const std::string& name) {
    const size_t at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1.0;
    double v = -1;
    const size_t start = at + name.size() + 2;
    (void)absl::SimpleAtod(body.substr(start, body.find('\n', start) - start), &v);
    return v;
  };
  EXPECT_GT(value("process_resident_memory_bytes"), 1e6) << body;
  EXPECT_GT(value("process_virtual_memory_bytes"), 1e6);
  EXPECT_GE(value("process_cpu_seconds_total"), 0.0);
  EXPECT_GT(value("process_open_fds"), 3.0);
  EXPECT_GT(value("process_max_fds"), 3.0);
  const double start = value("process_start_time_seconds");
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_GT(start, now - 3600);
  EXPECT_LE(start, now + 5);
  EXPECT_THAT(body, HasSubstr("# TYPE process_cpu_seconds_total counter"));
}

TEST(ServiceHostTest, BusyPortIsAClearError) {
  auto first = ServiceHost::Start("a", LocalConfig(), {});
  ASSERT_TRUE(first.ok());
  HostConfig c = LocalConfig();
  c.metrics_port = (*first)->metrics_port();
  auto second = ServiceHost::Start("b", c, {});
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("metrics.port"));
}

}  // namespace
}  // namespace zarc::service

// zarc health: one grpc.health.v1 Check against a running service, for `helm test` pods and
// scripts (Kubernetes' own probes speak gRPC health without it).
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/grpc_client.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace zarc::cli {
namespace {

constexpr char kHealthUsage[] =
    "usage: zarc health --address HOST:PORT [--service NAME] [--timeout SECONDS]\n\n"
    "Asks a zarc service (its gRPC port) whether it is serving: exit code 0 if SERVING, 1 if not\n"
    "or if it does not answer within --timeout (default 10).\n"
    "  --service   a component's own status (e.g. importer); empty: the whole process\n\n";

}  // namespace

int Health(const std::vector<std::string>& args) {
  auto flags = ParseFlags(args, WithSecurityFlags({{"address", true}, {"service", true},
                                                    {"timeout", true}, {"help", false}}));
  if (!flags.ok() || flags->count("help") || !flags->count("address")) {
    if (!flags.ok()) std::fprintf(stderr, "zarc health: %s\n", std::string(flags.status().message()).c_str());
    const bool help = flags.ok() && flags->count("help");
    std::fputs(kHealthUsage, help ? stdout : stderr);
    std::fputs(kSecurityUsage, help ? stdout : stderr);
    return help ? kExitOk : kExitUsage;
  }
  int timeout = 10;
  if (flags->count("timeout") && (!absl::SimpleAtoi((*flags)["timeout"], &timeout) || timeout < 1)) {
    std::fprintf(stderr, "zarc health: --timeout %s is not a whole number of seconds >= 1\n",
                 (*flags)["timeout"].c_str());
    return kExitUsage;
  }
  const std::string& address = (*flags)["address"];
  std::shared_ptr<grpc::Channel> channel = Dial(*flags, address, "health");
  if (channel == nullptr) return kExitUsage;
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(flags->count("service") ? (*flags)["service"] : "");
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status s = stub->Check(&ctx, req, &resp);
  if (!s.ok()) {
    std::fprintf(stderr, "zarc health: %s did not answer: %s\n", address.c_str(), s.error_message().c_str());
    return kExitFailed;
  }
  const bool serving = resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  std::printf("%s: %s\n", address.c_str(),
              grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()).c_str());
  return serving ? kExitOk : kExitFailed;
}

}  // namespace zarc::cli

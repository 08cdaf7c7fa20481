#include "cli/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "runtime/config/config.h"
#include "runtime/service/grpc_security.h"

namespace zarc::cli {
namespace {

// Each flag and the option it sets.
const std::map<std::string, std::string>& SecurityFlags() {
  static const auto* flags = new std::map<std::string, std::string>{
      {"tls-ca-file", "grpc.tls_ca_file"},
      {"tls-cert-file", "grpc.tls_cert_file"},
      {"tls-key-file", "grpc.tls_key_file"},
      {"tls-server-name", "grpc.tls_server_name"},
      {"auth-token-file", "grpc.auth_token_file"},
  };
  return *flags;
}

}  // namespace

const char kSecurityUsage[] =
    "gRPC security (also ZARC_GRPC_TLS_CA_FILE, ZARC_GRPC_TLS_CERT_FILE, ZARC_GRPC_TLS_KEY_FILE,\n"
    "ZARC_GRPC_TLS_SERVER_NAME, ZARC_GRPC_AUTH_TOKEN_FILE):\n"
    "  --tls-ca-file FILE      speak TLS and verify the service against this PEM CA\n"
    "  --tls-cert-file FILE    client certificate (PEM) for a service that requires mTLS\n"
    "  --tls-key-file FILE     its private key\n"
    "  --tls-server-name NAME  name expected in the service's certificate (default: the host)\n"
    "  --auth-token-file FILE  bearer token the service requires (sent only over TLS or loopback)\n";

std::map<std::string, bool> WithSecurityFlags(std::map<std::string, bool> allowed) {
  for (const auto& [flag, option] : SecurityFlags()) allowed[flag] = true;
  return allowed;
}

std::shared_ptr<grpc::Channel> Dial(const std::map<std::string, std::string>& flags,
                                    const std::string& address, const char* command,
                                    int max_receive_bytes) {
  config::Sources sources;
  for (const auto& [name, value] : config::ProcessEnvironment()) {
    if (absl::StartsWith(name, "ZARC_GRPC_")) sources.env[name] = value;
  }
  for (const auto& [flag, option] : SecurityFlags()) {
    if (auto it = flags.find(flag); it != flags.end()) {
      sources.args.push_back("--" + option + "=" + it->second);
    }
  }
  absl::StatusOr<service::GrpcSecurity> security = service::GrpcSecuritySchema().Load(sources);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      security.ok() ? service::MakeChannel(*security, address, max_receive_bytes)
                    : absl::StatusOr<std::shared_ptr<grpc::Channel>>(security.status());
  if (!channel.ok()) {
    std::fprintf(stderr, "zarc %s: %s\n", command,
                 std::string(channel.status().message()).c_str());
    return nullptr;
  }
  return *std::move(channel);
}

}  // namespace zarc::cli

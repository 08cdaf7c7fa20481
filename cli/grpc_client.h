#pragma once

#include <map>
#include <memory>
#include <string>

namespace grpc {
class Channel;
}

namespace zarc::cli {

// The gRPC security flags every client command takes (sync, log, verify, health), also read
// from the environment as the services spell them: ZARC_GRPC_TLS_CA_FILE, ZARC_GRPC_TLS_CERT_FILE,
// ZARC_GRPC_TLS_KEY_FILE, ZARC_GRPC_TLS_SERVER_NAME, ZARC_GRPC_AUTH_TOKEN_FILE.
std::map<std::string, bool> WithSecurityFlags(std::map<std::string, bool> allowed);
extern const char kSecurityUsage[];

// A channel to `address` secured as the flags and environment say (service::MakeChannel). On a
// bad combination or an unreadable file prints "zarc <command>: <why>" and returns null (exit 2).
// `max_receive_bytes` > 0 raises gRPC's limit on one answer (4 MB by default).
std::shared_ptr<grpc::Channel> Dial(const std::map<std::string, std::string>& flags,
                                    const std::string& address, const char* command,
                                    int max_receive_bytes = 0);

}  // namespace zarc::cli

#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/config/config.h"

namespace grpc {
class Channel;
class ServerCredentials;
}  // namespace grpc

namespace zarc::service {

// How the gRPC control plane is secured, for a server (ServiceHost) and for its clients (the
// zarc CLI, the importer's console links). Without any option it is plaintext, which is only
// fit for loopback (the one-machine mode).
//   server: tls_cert_file + tls_key_file → TLS; + tls_client_ca_file → mTLS (a client
//           certificate signed by that CA is required); auth_token → every call needs
//           `authorization: Bearer <token>` (compared in constant time).
//   client: tls_ca_file → TLS, verifying the server against that CA (tls_server_name, when
//           set, is the name expected in its certificate); tls_cert_file + tls_key_file → the
//           client certificate offered for mTLS; auth_token → sent on every call.
// A token goes only over TLS, or over loopback (gRPC's local credentials); it is never logged.
struct GrpcSecurity {
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  std::string tls_ca_file;
  std::string tls_server_name;
  // How often a server looks at tls_cert_file, tls_key_file and tls_client_ca_file again
  // (gRPC's FileWatcherCertificateProvider): a renewed certificate or CA is served from the
  // next handshake on, without a restart.
  absl::Duration tls_reload_interval = absl::Seconds(60);
  // The bearer token: read from auth_token_file (grpc.auth_token_file; surrounding whitespace
  // dropped, an empty file refused) when the call needs it, so it is never in the printed
  // configuration; or given directly in auth_token (tests, embedding).
  std::string auth_token_file;
  std::string auth_token;

  bool has_token() const { return !auth_token_file.empty() || !auth_token.empty(); }
};

// grpc.tls_cert_file, grpc.tls_key_file, grpc.tls_client_ca_file, grpc.tls_ca_file,
// grpc.tls_server_name, grpc.tls_reload_interval, grpc.auth_token_file.
config::Schema<GrpcSecurity> GrpcSecuritySchema();

// True for 127.0.0.0/8, ::1 and localhost, given a bare host or HOST:PORT ([::1]:7000).
bool IsLoopback(absl::string_view address);

// Refuses the insecure or incomplete combinations for a server bound to `listen_address`: a
// certificate without its key (or the reverse), a client CA without TLS, a token in plaintext
// on a non-loopback address, a file that cannot be read (the error names the option and the
// path, never what is in it).
absl::Status CheckServerSecurity(const GrpcSecurity& security, absl::string_view listen_address);
// The same for a client calling `target` (HOST:PORT).
absl::Status CheckClientSecurity(const GrpcSecurity& security, absl::string_view target);

// Server credentials for `listen_address` (plaintext, local, TLS or mTLS), with the bearer
// token check when a token is set. `service` names the process in the refusal log lines.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const GrpcSecurity& security, absl::string_view listen_address, const std::string& service);

// A channel to `target` with the client side of `security`. `max_receive_bytes` > 0 raises
// gRPC's limit on one answer (4 MB by default).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const GrpcSecurity& security,
                                                           const std::string& target,
                                                           int max_receive_bytes = 0);

// "plaintext", "TLS", "mTLS", each with ", bearer token" when one is required: for the log.
std::string DescribeServerSecurity(const GrpcSecurity& security);

}  // namespace zarc::service

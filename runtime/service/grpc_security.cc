#include "runtime/service/grpc_security.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"
#include "runtime/log/log.h"

namespace zarc::service {
namespace {

// The host part of HOST:PORT, [V6]:PORT, a bare host, or a gRPC target (dns:///h:p, ipv4:h:p).
std::string HostOf(absl::string_view address) {
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&address, scheme)) break;
  }
  if (absl::ConsumePrefix(&address, "[")) {
    const size_t end = address.find(']');
    return std::string(address.substr(0, end));
  }
  const size_t colon = address.rfind(':');
  if (colon != absl::string_view::npos && address.find(':') == colon) {
    return std::string(address.substr(0, colon));
  }
  return std::string(address);  // a bare host, or a bare IPv6 address
}

// The file's bytes, or an error naming the option and the path (never the content).
absl::StatusOr<std::string> ReadPem(absl::string_view option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", option, " ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", option, " ", path));
  }
  std::string bytes = out.str();
  if (bytes.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(option, " ", path, " is empty"));
  }
  if (!absl::StrContains(bytes, "-----BEGIN ")) {
    return absl::FailedPreconditionError(
        absl::StrCat(option, " ", path, " is not PEM (no -----BEGIN line)"));
  }
  return bytes;
}

absl::StatusOr<std::string> Token(const GrpcSecurity& s) {
  if (s.auth_token_file.empty()) return s.auth_token;
  std::ifstream in(s.auth_token_file, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read grpc.auth_token_file ", s.auth_token_file, ": ", std::strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(out.str()));
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("grpc.auth_token_file ", s.auth_token_file, " is empty"));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {  // what an HTTP/2 header value carries unchanged
      return absl::FailedPreconditionError(absl::StrCat(
          "grpc.auth_token_file ", s.auth_token_file,
          " holds a character that is not printable ASCII (the token is one line, no spaces)"));
    }
  }
  return token;
}

unsigned int ReloadSeconds(const GrpcSecurity& s) {
  return static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(s.tls_reload_interval)));
}

absl::Status CheckReadable(absl::string_view option, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  return ReadPem(option, path).status();
}

// A token goes only over TLS or loopback; and a token file must hold one.
absl::Status CheckToken(const GrpcSecurity& s, bool tls, absl::string_view address,
                        absl::string_view where, absl::string_view fix) {
  if (s.has_token() && !tls && !IsLoopback(address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grpc.auth_token_file ", where,
        " without TLS: a bearer token in plaintext can be read off the network; ", fix));
  }
  return Token(s).status();
}

absl::Status CheckPair(const GrpcSecurity& s) {
  if (s.tls_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grpc.tls_reload_interval = ", absl::FormatDuration(s.tls_reload_interval),
        " is too short: gRPC reads the certificate files again at most once a second; give 1s "
        "or more"));
  }
  if (s.tls_cert_file.empty() != s.tls_key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        s.tls_cert_file.empty() ? "grpc.tls_key_file is set without grpc.tls_cert_file"
                                : "grpc.tls_cert_file is set without grpc.tls_key_file",
        ": a TLS certificate needs its private key and the key its certificate"));
  }
  if (absl::Status st = CheckReadable("grpc.tls_cert_file", s.tls_cert_file); !st.ok()) return st;
  return CheckReadable("grpc.tls_key_file", s.tls_key_file);
}

// Checks `authorization: Bearer <token>` on every call. Both sides are hashed first, so the
// comparison takes the same time whatever the length or the first differing byte.
class BearerTokenProcessor final : public grpc::AuthMetadataProcessor {
 public:
  BearerTokenProcessor(const std::string& token, std::string service)
      : expected_(crypto::Sha256Hex(token)), service_(std::move(service)) {}

  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*,
                       OutputMetadata* consumed, OutputMetadata*) override {
    auto path = metadata.find(":path");
    const std::string method =
        path == metadata.end() ? "" : std::string(path->second.data(), path->second.size());
    auto it = metadata.find("authorization");
    if (it == metadata.end()) {
      log::Warn(service_, "refused a gRPC call without a bearer token", {{"method", method}});
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "this zarc service requires a bearer token (grpc.auth_token_file)");
    }
    absl::string_view value(it->second.data(), it->second.size());
    const bool bearer = absl::ConsumePrefix(&value, "Bearer ");
    const bool equal = crypto::ConstantTimeEquals(crypto::Sha256Hex(value), expected_);
    if (!bearer || !equal) {
      log::Warn(service_, "refused a gRPC call with a wrong bearer token", {{"method", method}});
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "the bearer token is not this zarc service's (grpc.auth_token_file)");
    }
    consumed->insert(std::make_pair(std::string(it->first.data(), it->first.size()),
                                    std::string(it->second.data(), it->second.size())));
    return grpc::Status::OK;
  }

 private:
  const std::string expected_;
  const std::string service_;
};

}  // namespace

config::Schema<GrpcSecurity> GrpcSecuritySchema() {
  config::Schema<GrpcSecurity> s;
  s.String("grpc.tls_cert_file", &GrpcSecurity::tls_cert_file, "",
           "PEM certificate (chain) of this process's gRPC server, also offered as the client "
           "certificate when it calls other zarc services; empty: plaintext")
      .String("grpc.tls_key_file", &GrpcSecurity::tls_key_file, "",
              "PEM private key of grpc.tls_cert_file")
      .String("grpc.tls_client_ca_file", &GrpcSecurity::tls_client_ca_file, "",
              "PEM CA bundle: when set, the gRPC server requires a client certificate signed by "
              "it (mTLS); needs grpc.tls_cert_file")
      .String("grpc.tls_ca_file", &GrpcSecurity::tls_ca_file, "",
              "PEM CA bundle a gRPC client verifies the server against; set: the client speaks "
              "TLS")
      .String("grpc.tls_server_name", &GrpcSecurity::tls_server_name, "",
              "name a gRPC client expects in the server's certificate; empty: the host it dials")
      .Duration("grpc.tls_reload_interval", &GrpcSecurity::tls_reload_interval, "60s",
                "how often a gRPC server reads grpc.tls_cert_file, grpc.tls_key_file and "
                "grpc.tls_client_ca_file again, so renewed certificates are served without a "
                "restart (whole seconds, at least 1s)")
      .String("grpc.auth_token_file", &GrpcSecurity::auth_token_file, "",
              "file holding the bearer token every gRPC call must carry (servers check it, "
              "clients send it); only with TLS, or on loopback");
  return s;
}

bool IsLoopback(absl::string_view address) {
  const std::string host = HostOf(address);
  if (host == "localhost" || host == "::1") return true;
  absl::string_view h = host;
  if (!absl::ConsumePrefix(&h, "127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 2;
}

absl::Status CheckServerSecurity(const GrpcSecurity& s, absl::string_view listen_address) {
  if (absl::Status st = CheckPair(s); !st.ok()) return st;
  const bool tls = !s.tls_cert_file.empty();
  if (!s.tls_client_ca_file.empty() && !tls) {
    return absl::InvalidArgumentError(
        "grpc.tls_client_ca_file (mTLS) needs TLS: set grpc.tls_cert_file and grpc.tls_key_file");
  }
  if (absl::Status st = CheckReadable("grpc.tls_client_ca_file", s.tls_client_ca_file); !st.ok()) {
    return st;
  }
  return CheckToken(s, tls, listen_address, absl::StrCat("on listen.address ", listen_address),
                    "set grpc.tls_cert_file and grpc.tls_key_file, or listen on 127.0.0.1");
}

absl::Status CheckClientSecurity(const GrpcSecurity& s, absl::string_view target) {
  if (absl::Status st = CheckPair(s); !st.ok()) return st;
  const bool tls = !s.tls_ca_file.empty();
  if (absl::Status st = CheckReadable("grpc.tls_ca_file", s.tls_ca_file); !st.ok()) return st;
  if (!tls && !s.tls_server_name.empty()) {
    return absl::InvalidArgumentError(
        "grpc.tls_server_name is set without grpc.tls_ca_file: a client speaks TLS only with the "
        "CA it verifies the server against");
  }
  return CheckToken(s, tls, target, absl::StrCat("to ", target),
                    "set grpc.tls_ca_file (the CA of the server's certificate)");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const GrpcSecurity& s, absl::string_view listen_address, const std::string& service) {
  if (absl::Status st = CheckServerSecurity(s, listen_address); !st.ok()) return st;
  absl::StatusOr<std::string> token = Token(s);
  if (!token.ok()) return token.status();
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (!s.tls_cert_file.empty()) {
    // The files were checked readable and PEM above. gRPC's file watcher reads them again every
    // tls_reload_interval, so a renewed Secret is served from the next handshake on (a key that
    // does not match its certificate, mid-rotation, is not taken: the last good pair stays).
    const unsigned int interval = ReloadSeconds(s);
    auto provider =
        s.tls_client_ca_file.empty()
            ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                  s.tls_key_file, s.tls_cert_file, interval)
            : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                  s.tls_key_file, s.tls_cert_file, s.tls_client_ca_file, interval);
    grpc::experimental::TlsServerCredentialsOptions options(provider);
    options.watch_identity_key_cert_pairs();
    if (!s.tls_client_ca_file.empty()) {
      options.watch_root_certs();
      options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    } else {
      options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    }
    creds = grpc::experimental::TlsServerCredentials(options);
  } else if (!token->empty()) {
    // Loopback only (CheckServerSecurity): gRPC's local credentials accept only local peers
    // and let clients send call credentials without TLS.
    creds = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (creds == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gRPC refused the TLS settings (grpc.tls_cert_file ", s.tls_cert_file,
        ", grpc.tls_key_file ", s.tls_key_file, ")"));
  }
  if (!token->empty()) {
    creds->SetAuthMetadataProcessor(std::make_shared<BearerTokenProcessor>(*token, service));
  }
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const GrpcSecurity& s,
                                                           const std::string& target,
                                                           int max_receive_bytes) {
  if (absl::Status st = CheckClientSecurity(s, target); !st.ok()) return st;
  absl::StatusOr<std::string> token = Token(s);
  if (!token.ok()) return token.status();
  grpc::ChannelArguments args;
  if (max_receive_bytes > 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (!s.tls_ca_file.empty()) {
    // Watched like the server's files: a long-lived channel (the console's links to the mapper
    // and the fetcher) picks up a renewed CA or client certificate at its next handshake.
    auto provider =
        s.tls_cert_file.empty()
            ? std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                  s.tls_ca_file, ReloadSeconds(s))
            : std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
                  s.tls_key_file, s.tls_cert_file, s.tls_ca_file, ReloadSeconds(s));
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_certificate_provider(provider);
    options.watch_root_certs();
    if (!s.tls_cert_file.empty()) options.watch_identity_key_cert_pairs();
    creds = grpc::experimental::TlsCredentials(options);
    if (!s.tls_server_name.empty()) args.SetSslTargetNameOverride(s.tls_server_name);
  } else if (!token->empty()) {
    creds = grpc::experimental::LocalCredentials(LOCAL_TCP);  // loopback (CheckClientSecurity)
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  if (!token->empty()) {
    creds = grpc::CompositeChannelCredentials(creds, grpc::AccessTokenCredentials(*token));
  }
  if (creds == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("gRPC refused the client TLS settings for ", target));
  }
  return grpc::CreateCustomChannel(target, creds, args);
}

std::string DescribeServerSecurity(const GrpcSecurity& s) {
  std::string out = s.tls_cert_file.empty()        ? "plaintext"
                    : s.tls_client_ca_file.empty() ? "TLS"
                                                   : "mTLS";
  if (s.has_token()) absl::StrAppend(&out, ", bearer token");
  return out;
}

}  // namespace zarc::service

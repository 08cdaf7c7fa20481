#include "services/importer/console/console_auth.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/crypto/digest.h"

namespace zarc::importer::console {
namespace {

// The role a secret gives, checking both secrets so the time taken does not say which matched.
std::optional<Role> RoleOfSecret(absl::string_view given, const ConsoleConfig& config) {
  const bool admin = !config.admin_secret.empty() && crypto::ConstantTimeEquals(given, config.admin_secret);
  const bool viewer =
      !config.viewer_secret.empty() && crypto::ConstantTimeEquals(given, config.viewer_secret);
  if (admin) return Role::kAdmin;
  if (viewer) return Role::kViewer;
  return std::nullopt;
}

// "::ffff:10.0.0.5" (an IPv4 peer on a dual-stack socket) is 10.0.0.5.
std::string PeerAddress(absl::string_view remote) {
  absl::string_view host = remote;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    host = host.substr(0, host.find(':'));
  }
  absl::ConsumePrefix(&host, "::ffff:");
  return std::string(host);
}

}  // namespace

absl::StatusOr<Principal> Authenticate(const http::ServerRequest& request,
                                       const ConsoleConfig& config) {
  if (config.auth == "none") return Principal{"local", Role::kAdmin};
  if (config.auth == "proxy") {
    const std::string peer = PeerAddress(request.remote_address);
    if (std::find(config.proxy_addresses.begin(), config.proxy_addresses.end(), peer) ==
        config.proxy_addresses.end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "requests must come through the sign-in proxy; ", peer,
          " is not in console.proxy_addresses"));
    }
    std::optional<std::string> user = http::FindHeader(request.headers, config.proxy_user_header);
    if (!user.has_value() || absl::StripAsciiWhitespace(*user).empty()) {
      return absl::UnauthenticatedError(
          absl::StrCat("the proxy sent no ", config.proxy_user_header, " header: sign in first"));
    }
    Principal p{std::string(absl::StripAsciiWhitespace(*user)), Role::kViewer};
    if (std::optional<std::string> groups =
            http::FindHeader(request.headers, config.proxy_groups_header)) {
      for (absl::string_view g : absl::StrSplit(*groups, ',')) {
        if (absl::StripAsciiWhitespace(g) == config.admin_group) p.role = Role::kAdmin;
      }
    }
    return p;
  }
  std::optional<std::string> header = http::FindHeader(request.headers, "Authorization");
  if (!header.has_value()) {
    return absl::UnauthenticatedError("this console needs credentials (console.auth = " +
                                      config.auth + ")");
  }
  absl::string_view value = absl::StripAsciiWhitespace(*header);
  if (config.auth == "token") {
    if (!absl::ConsumePrefix(&value, "Bearer ")) {
      return absl::UnauthenticatedError("send the token as Authorization: Bearer <token>");
    }
    std::optional<Role> role = RoleOfSecret(absl::StripAsciiWhitespace(value), config);
    if (!role.has_value()) return absl::UnauthenticatedError("the token is not valid");
    return Principal{*role == Role::kAdmin ? "admin" : "viewer", *role};
  }
  // basic (RFC 7617): base64("user:password"), the user naming the role.
  if (!absl::ConsumePrefix(&value, "Basic ")) {
    return absl::UnauthenticatedError("send Authorization: Basic with user viewer or admin");
  }
  absl::StatusOr<std::string> decoded = crypto::Base64Decode(absl::StripAsciiWhitespace(value));
  if (!decoded.ok() || decoded->find(':') == std::string::npos) {
    return absl::UnauthenticatedError("the Basic credentials are not base64 of user:password");
  }
  const std::string user = decoded->substr(0, decoded->find(':'));
  const std::string password = decoded->substr(decoded->find(':') + 1);
  std::optional<Role> role = RoleOfSecret(password, config);
  const bool user_matches = (role == Role::kAdmin && user == "admin") ||
                            (role == Role::kViewer && user == "viewer");
  if (!role.has_value() || !user_matches) {
    return absl::UnauthenticatedError("the user name or password is wrong");
  }
  return Principal{user, *role};
}

}  // namespace zarc::importer::console

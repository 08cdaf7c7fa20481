#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "runtime/http/http_types.h"
#include "services/importer/console/console_config.h"

namespace zarc::importer::console {

enum class Role { kViewer, kAdmin };

struct Principal {
  std::string name;  // "viewer", "admin", or the proxy's user; never a secret
  Role role = Role::kViewer;
};

// Who sent `request`, by console.auth. Unauthenticated (answer 401) when credentials are missing
// or wrong; PermissionDenied (403) for a proxy header from a peer not in console.proxy_addresses.
// Secrets are compared in constant time and never appear in a status message.
absl::StatusOr<Principal> Authenticate(const http::ServerRequest& request,
                                       const ConsoleConfig& config);

}  // namespace zarc::importer::console

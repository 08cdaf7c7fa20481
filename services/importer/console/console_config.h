#pragma once

#include <string>
#include <vector>

#include "runtime/config/config.h"

namespace zarc::importer::console {

// The read-only web console of the importer (and of zarc run); see ConsoleSchema() for the keys.
struct ConsoleConfig {
  bool enabled = false;
  std::string listen_address = "127.0.0.1";
  int64_t port = 9504;  // 0: any free port (logged as console_port=N)
  // none | token | basic | proxy. none is only allowed on a loopback listen address.
  std::string auth = "none";
  // token: `Authorization: Bearer <secret>`; basic: user "viewer" or "admin" with the secret as
  // password. The admin secret gives the admin role (the backfill form), the viewer one viewer.
  std::string viewer_secret;
  std::string admin_secret;
  // proxy: the user and groups headers an OIDC reverse proxy (oauth2-proxy, Pomerium) sets,
  // believed only from these peer addresses.
  std::vector<std::string> proxy_addresses;
  std::string proxy_user_header = "X-Forwarded-User";
  std::string proxy_groups_header = "X-Forwarded-Groups";
  std::string admin_group = "zarc-admins";
  // Where the mapping lookup and the backfill go when the mapper and the fetcher run in other
  // processes (gRPC host:port); empty: offered only where they are in-process (zarc run).
  std::string mapper_address;
  std::string fetcher_address;
};

config::Schema<ConsoleConfig> ConsoleSchema();

}  // namespace zarc::importer::console

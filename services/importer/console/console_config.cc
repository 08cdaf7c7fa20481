#include "services/importer/console/console_config.h"

#include "absl/strings/str_cat.h"

namespace zarc::importer::console {

config::Schema<ConsoleConfig> ConsoleSchema() {
  using C = ConsoleConfig;
  config::Schema<C> s;
  s.Bool("console.enabled", &C::enabled, false,
         "serve the read-only web console (status, status log, completeness, downloads, mapping "
         "lookup, backfill for admins)")
      .String("console.listen_address", &C::listen_address, "127.0.0.1",
              "address the console listens on; beyond 127.0.0.1 it needs console.auth")
      .Int("console.port", &C::port, 9504, 0, 65535, "console HTTP port (0: any free port)")
      .Enum("console.auth", &C::auth, "none", {"none", "token", "basic", "proxy"},
            "none (loopback only), token (Authorization: Bearer <secret>), basic (user viewer or "
            "admin, the secret as password), proxy (a user header set by an OIDC reverse proxy, "
            "believed only from console.proxy_addresses)")
      .Secret("console.viewer_secret", &C::viewer_secret,
              "bearer token or basic-auth password of the viewer role")
      .Secret("console.admin_secret", &C::admin_secret,
              "bearer token or basic-auth password of the admin role (may start a backfill)")
      .List("console.proxy_addresses", &C::proxy_addresses, "",
            "peer IP addresses of the reverse proxy whose user header is believed (console.auth=proxy)")
      .String("console.proxy_user_header", &C::proxy_user_header, "X-Forwarded-User",
              "header the proxy puts the signed-in user in")
      .String("console.proxy_groups_header", &C::proxy_groups_header, "X-Forwarded-Groups",
              "header the proxy puts the user's groups in (comma separated)")
      .String("console.admin_group", &C::admin_group, "zarc-admins",
              "group that gives the admin role behind the proxy")
      .String("console.mapper_address", &C::mapper_address, "",
              "mapper gRPC host:port for the mapping lookup when it runs in another process")
      .String("console.fetcher_address", &C::fetcher_address, "",
              "fetcher gRPC host:port for the backfill form when it runs in another process")
      .Check([](const C& c) -> absl::Status {
        if (!c.enabled) return absl::OkStatus();
        const bool loopback = c.listen_address == "127.0.0.1" || c.listen_address == "::1" ||
                              c.listen_address == "localhost";
        if (c.auth == "none" && !loopback) {
          return absl::InvalidArgumentError(absl::StrCat(
              "console.listen_address = ", c.listen_address,
              " opens the console beyond this machine: set console.auth to token, basic or proxy "
              "(or listen on 127.0.0.1)"));
        }
        if ((c.auth == "token" || c.auth == "basic") && c.viewer_secret.empty() &&
            c.admin_secret.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "console.auth = ", c.auth, " needs console.viewer_secret or console.admin_secret "
              "(or ZARC_CONSOLE_VIEWER_SECRET_FILE / ZARC_CONSOLE_ADMIN_SECRET_FILE)"));
        }
        if (c.auth == "proxy" && c.proxy_addresses.empty()) {
          return absl::InvalidArgumentError(
              "console.auth = proxy needs console.proxy_addresses: the reverse proxy's IP "
              "addresses, the only peers whose user header is believed");
        }
        return absl::OkStatus();
      });
  return s;
}

}  // namespace zarc::importer::console

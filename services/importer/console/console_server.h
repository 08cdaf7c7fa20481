#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "runtime/http/http_types.h"
#include "services/importer/console/console_config.h"
#include "services/importer/console/console_pages.h"
#include "services/importer/status_log.h"
#include "zarc/v1/control.pb.h"

namespace zarc::http {
class HttpServer;
}

namespace zarc::importer::console {

// Where the console's pages get what they show. Called from the server's threads: each function
// must be thread-safe. `resolve` and `sync` may be empty: the process cannot reach a mapper or a
// fetcher, and the pages say so instead of offering the form.
struct ConsoleSources {
  // Fills `log` with every result of the status log (the whole zarc.import-log topic, so the
  // figures are those of `zarc log`).
  std::function<absl::Status(StatusLog* log)> load_log;
  // The newest completeness report, NotFound if no check has run.
  std::function<absl::StatusOr<zarc::v1::VerifyReport>()> completeness;
  std::function<ConnectorStatus()> status;
  std::function<absl::StatusOr<zarc::v1::ResolveResponse>(const zarc::v1::ResolveRequest&)> resolve;
  std::function<absl::StatusOr<zarc::v1::SyncResponse>(const zarc::v1::SyncRequest&)> sync;
};

// One request, start to end: authentication (401 without credentials when console.auth is on,
// 403 for a viewer on an admin page), then the page. GET and HEAD only, except the backfill
// form's POST, which must come from the console's own pages (Origin or Sec-Fetch-Site).
http::ServerResponse HandleConsoleRequest(const http::ServerRequest& request,
                                          const ConsoleConfig& config,
                                          const ConsoleSources& sources);

// The console on its own port (runtime/http's server).
class ConsoleServer {
 public:
  static absl::StatusOr<std::unique_ptr<ConsoleServer>> Start(const ConsoleConfig& config,
                                                              ConsoleSources sources);
  ~ConsoleServer();
  int port() const;
  void Stop();

 private:
  ConsoleServer(ConsoleConfig config, ConsoleSources sources);
  ConsoleConfig config_;
  ConsoleSources sources_;
  std::unique_ptr<http::HttpServer> server_;
};

}  // namespace zarc::importer::console

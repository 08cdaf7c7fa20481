#include "services/importer/console/console_server.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/http/http_server.h"
#include "runtime/log/log.h"

namespace zarc::importer::console {
namespace {

http::ServerResponse Html(int status, std::string body) {
  http::ServerResponse r;
  r.status = status;
  r.headers = {{"Content-Type", "text/html; charset=utf-8"},
               // Nothing from elsewhere, no script, no framing: the pages need none of it.
               {"Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

http::ServerResponse Download(std::string content_type, std::string file, std::string body) {
  http::ServerResponse r;
  r.headers = {{"Content-Type", std::move(content_type)},
               {"Content-Disposition", absl::StrCat("attachment; filename=\"", file, "\"")},
               {"X-Content-Type-Options", "nosniff"},
               {"Cache-Control", "no-store"}};
  r.body = std::move(body);
  return r;
}

http::ServerResponse Error(int status, absl::string_view message) {
  return Html(status, RenderErrorPage(status, message));
}

// The POST comes from a page of this console, not from another site riding on the browser's
// basic-auth credentials (CSRF).
bool SameOrigin(const http::ServerRequest& request) {
  if (std::optional<std::string> site = http::FindHeader(request.headers, "Sec-Fetch-Site")) {
    return *site == "same-origin" || *site == "none";
  }
  std::optional<std::string> origin = http::FindHeader(request.headers, "Origin");
  std::optional<std::string> host = http::FindHeader(request.headers, "Host");
  if (!origin.has_value()) return true;  // not a browser's cross-site form post
  return host.has_value() && (*origin == "http://" + *host || *origin == "https://" + *host);
}

absl::StatusOr<absl::Time> ParseDay(const std::string& text, absl::string_view what) {
  if (absl::Status s = ValidateDay(text, what); !s.ok()) return s;
  if (text.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is required (YYYY-MM-DD)"));
  absl::Time t;
  std::string err;
  (void)absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err);
  return t;
}

http::ServerResponse Backfill(const http::ServerRequest& request, const PageContext& ctx,
                              const ConsoleSources& sources) {
  if (request.method == "GET" || request.method == "HEAD") return Html(200, RenderBackfillPage(ctx, ""));
  if (!SameOrigin(request)) return Error(403, "the backfill form must be sent from this console's page");
  const std::string from = http::QueryParam(request.body, "from").value_or("");
  const std::string to = http::QueryParam(request.body, "to").value_or("");
  absl::StatusOr<absl::Time> f = ParseDay(from, "from");
  absl::StatusOr<absl::Time> t = ParseDay(to, "to");
  if (!f.ok() || !t.ok()) {
    return Html(400, RenderBackfillPage(ctx, (f.ok() ? t : f).status().message()));
  }
  if (*t <= *f) {
    return Html(400, RenderBackfillPage(ctx, absl::StrCat("to (", to, ") must be after from (", from, ")")));
  }
  zarc::v1::SyncRequest req;
  req.mutable_from()->set_seconds(absl::ToUnixSeconds(*f));
  req.mutable_to()->set_seconds(absl::ToUnixSeconds(*t));
  absl::StatusOr<zarc::v1::SyncResponse> started = sources.sync(req);
  if (!started.ok()) {
    return Html(502, RenderBackfillPage(ctx, absl::StrCat("the fetcher did not start the backfill: ",
                                                          started.status().message())));
  }
  log::Info("console", "backfill started", {{"by", ctx.who.name}, {"from", from}, {"to", to},
                                            {"sync_id", started->sync_id()}});
  return Html(200, RenderBackfillPage(ctx, absl::StrCat("Backfill ", started->sync_id(),
                                                        " started for ", from, " to ", to,
                                                        ". Follow it with zarc sync or on this "
                                                        "console's status log.")));
}

}  // namespace

http::ServerResponse HandleConsoleRequest(const http::ServerRequest& request,
                                          const ConsoleConfig& config,
                                          const ConsoleSources& sources) {
  absl::StatusOr<Principal> who = Authenticate(request, config);
  if (!who.ok()) {
    const int status = absl::IsPermissionDenied(who.status()) ? 403 : 401;
    http::ServerResponse r = Error(status, who.status().message());
    if (status == 401 && config.auth != "proxy") {
      r.headers.push_back({"WWW-Authenticate", config.auth == "basic"
                                                   ? "Basic realm=\"zarc console\", charset=\"UTF-8\""
                                                   : "Bearer realm=\"zarc console\""});
    }
    return r;
  }
  const PageContext ctx{*who, static_cast<bool>(sources.resolve), static_cast<bool>(sources.sync)};
  const std::string& path = request.path;
  if (path == "/backfill") {
    if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
      return Error(405, "the backfill page takes GET and POST");
    }
    if (who->role != Role::kAdmin) return Error(403, "starting a backfill needs the admin role");
    if (!sources.sync) {
      return Error(404, "no fetcher is reachable from here: set console.fetcher_address, or use zarc sync");
    }
    return Backfill(request, ctx, sources);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    return Error(405, "the console is read-only: GET only");
  }
  if (path == "/") return Html(200, RenderStatusPage(ctx, sources.status()));
  if (path == "/completeness") {
    absl::StatusOr<zarc::v1::VerifyReport> report = sources.completeness();
    if (!report.ok() && !absl::IsNotFound(report.status())) {
      return Error(503, absl::StrCat("cannot read the completeness report: ", report.status().message()));
    }
    return Html(200, RenderCompletenessPage(ctx, report.ok() ? std::optional(*report) : std::nullopt));
  }
  if (path == "/downloads") return Html(200, RenderDownloadsPage(ctx));
  if (path == "/mapping") {
    if (!sources.resolve) {
      return Error(404, "no mapper is reachable from here: set console.mapper_address");
    }
    const std::string address = http::QueryParam(request.query, "address").value_or("");
    if (address.empty()) return Html(200, RenderMappingPage(ctx, "", nullptr));
    zarc::v1::ResolveRequest req;
    req.add_addresses(address);
    const absl::StatusOr<zarc::v1::ResolveResponse> answer = sources.resolve(req);
    return Html(200, RenderMappingPage(ctx, address, &answer));
  }
  // Everything below reads the status log.
  const bool days = path == "/days", day = path == "/day", item = path == "/item";
  const bool download = absl::StartsWith(path, "/download/");
  if (!days && !day && !item && !download) return Error(404, absl::StrCat("no page ", path));
  StatusLog log;
  if (absl::Status s = sources.load_log(&log); !s.ok()) {
    return Error(503, absl::StrCat("cannot read the status log: ", s.message()));
  }
  if (days) return Html(200, RenderDaysPage(ctx, log.Report()));
  if (day) {
    const std::string d = http::QueryParam(request.query, "d").value_or("");
    if (absl::Status s = ValidateDay(d, "d"); !s.ok() || d.empty()) {
      return Error(400, s.ok() ? "say which day: /day?d=YYYY-MM-DD" : s.message());
    }
    return Html(200, RenderDayPage(ctx, d, log.Results(d, d)));
  }
  if (item) {
    const std::string id = http::QueryParam(request.query, "id").value_or("");
    if (id.empty()) return Error(400, "say which item: /item?id=ITEM_ID (the day pages link to each)");
    std::vector<zarc::v1::ImportResult> results = log.ResultsOfItem(id);
    if (results.empty()) return Error(404, absl::StrCat("the status log has no item ", id));
    return Html(200, RenderItemPage(ctx, id, results));
  }
  const std::string file = path.substr(std::string("/download/").size());
  if (file == "status.json") return Download("application/json", file, RenderJson(log.Report()));
  if (absl::EndsWith(file, ".csv")) {
    absl::StatusOr<CsvTable> table = ParseCsvTable(file.substr(0, file.size() - 4));
    if (table.ok()) {
      return Download("text/csv; charset=utf-8; header=present", file, RenderCsv(log.Report(), *table));
    }
  }
  return Error(404, absl::StrCat("no download ", file, ": days.csv, failed.csv, not_delivered.csv, partially_imported.csv, artifacts.csv, status.json"));
}

ConsoleServer::ConsoleServer(ConsoleConfig config, ConsoleSources sources)
    : config_(std::move(config)), sources_(std::move(sources)) {}

ConsoleServer::~ConsoleServer() { Stop(); }

absl::StatusOr<std::unique_ptr<ConsoleServer>> ConsoleServer::Start(const ConsoleConfig& config,
                                                                    ConsoleSources sources) {
  std::unique_ptr<ConsoleServer> console(new ConsoleServer(config, std::move(sources)));
  http::ServerOptions options;
  options.host = config.listen_address;
  options.port = static_cast<uint16_t>(config.port);
  options.max_body_bytes = 64 * 1024;  // the backfill form is all that is ever posted
  ConsoleServer* self = console.get();
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
      http::HttpServer::Start(options, [self](const http::ServerRequest& r) {
        return HandleConsoleRequest(r, self->config_, self->sources_);
      });
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("console on ", config.listen_address, ":", config.port, ": ",
                                     server.status().message(),
                                     " (choose another console.port, or 0 for any free port)"));
  }
  console->server_ = *std::move(server);
  log::Info("console", "listening", {{"console_port", console->port()},
                                     {"address", config.listen_address},
                                     {"auth", config.auth}});
  return console;
}

int ConsoleServer::port() const { return server_ ? server_->port() : 0; }

void ConsoleServer::Stop() {
  if (server_) server_->Stop();
}

}  // namespace zarc::importer::console

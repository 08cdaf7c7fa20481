// zarc demo: the Zoom simulator with a generated tenant, archived end to end by the pipeline of
// `zarc run`, then a summary of what happened and where to look.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/flags.h"
#include "cli/pipeline.h"
#include "cli/progress.h"
#include "runtime/http/http_server.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/kafka/topics.h"
#include "runtime/log/log.h"
#include "services/fetcher/fetcher.h"
#include "services/fetcher/fetcher_app.h"
#include "services/importer/status_log.h"
#include "simulators/zoom/simulator.h"
#include "zarc/v1/events.pb.h"

namespace zarc::cli {
namespace {

constexpr char kDemoUsage[] =
    "usage: zarc demo [--meetings N] [--users N] [--days N] [--seed N] [--recording-bytes B]\n"
    "                 [--data-dir DIR] [--timeout SECONDS]\n\n"
    "Starts the Zoom simulator with a generated tenant (guests, external participants, rejoins,\n"
    "non-ASCII names, chats, transcripts, recordings), archives it with the same pipeline as\n"
    "`zarc run` (embedded Kafka, local folders, .eml mailboxes) and prints a summary.\n"
    "Defaults: 30 meetings, 8 users, 14 days, seed 7, 2 MiB recordings, ./zarc-data.\n";

int64_t IntFlag(const std::map<std::string, std::string>& f, const std::string& name, int64_t def) {
  auto it = f.find(name);
  if (it == f.end()) return def;
  try {
    return std::stoll(it->second);
  } catch (...) {
    return -1;
  }
}

// Every delivery of every item has its result: the pipeline is done with what was captured.
bool AllResultsIn(const std::vector<kafka::Record>& records, int64_t items, int64_t* seen_items) {
  std::map<std::string, std::set<std::string>> importer_results;
  std::map<std::string, int> fanout;
  std::set<std::string> mapper_only;
  for (const kafka::Record& r : records) {
    zarc::v1::ImportResult result;
    if (!result.ParseFromString(r.value)) continue;
    if (result.stage() == "mapper") {
      mapper_only.insert(result.item_id());
    } else {
      importer_results[result.item_id()].insert(result.mailbox());
      fanout[result.item_id()] = result.fanout();
    }
  }
  int64_t complete = static_cast<int64_t>(mapper_only.size());
  for (const auto& [item, mailboxes] : importer_results) {
    if (static_cast<int>(mailboxes.size()) >= fanout[item]) ++complete;
  }
  *seen_items = complete;
  return complete >= items;
}

}  // namespace

int Demo(const std::vector<std::string>& args) {
  auto flags = ParseFlags(args, {{"meetings", true}, {"users", true}, {"days", true}, {"seed", true},
                                 {"recording-bytes", true}, {"data-dir", true}, {"timeout", true},
                                 {"help", false}});
  if (!flags.ok()) {
    std::fprintf(stderr, "zarc demo: %s\n%s", std::string(flags.status().message()).c_str(), kDemoUsage);
    return kExitUsage;
  }
  if (flags->count("help")) {
    std::fputs(kDemoUsage, stdout);
    return kExitOk;
  }
  zoom_sim::TenantOptions tenant_options;
  tenant_options.seed = static_cast<uint64_t>(IntFlag(*flags, "seed", 7));
  tenant_options.meetings = static_cast<int>(IntFlag(*flags, "meetings", 30));
  tenant_options.users = static_cast<int>(IntFlag(*flags, "users", 8));
  tenant_options.days = static_cast<int>(IntFlag(*flags, "days", 14));
  tenant_options.video_bytes = static_cast<uint64_t>(IntFlag(*flags, "recording-bytes", 2 << 20));
  const int64_t timeout_s = IntFlag(*flags, "timeout", 600);
  if (tenant_options.meetings < 1 || tenant_options.users < 1 || tenant_options.days < 1 ||
      timeout_s < 1) {
    std::fprintf(stderr, "zarc demo: --meetings, --users, --days and --timeout must be positive\n");
    return kExitUsage;
  }
  log::Configure(log::Level::kWarn, log::Format::kText);

  // The Zoom simulator, served on a free port of this machine.
  zoom_sim::Simulator simulator(zoom_sim::GenerateTenant(tenant_options), tenant_options, {});
  auto server = http::HttpServer::Start(
      http::ServerOptions{.threads = 4},
      [&simulator](const http::ServerRequest& r) { return simulator.Handle(r); });
  if (!server.ok()) {
    std::fprintf(stderr, "zarc demo: cannot start the Zoom simulator: %s\n",
                 std::string(server.status().message()).c_str());
    return kExitFailed;
  }
  const std::string sim_url = absl::StrCat("http://127.0.0.1:", (*server)->port());
  simulator.SetPublicBaseUrl(sim_url);
  const zoom_sim::Tenant tenant = simulator.TenantSnapshot();

  // The pipeline, configured as `zarc run` would be, pointed at the simulator.
  std::vector<std::string> run_args = {
      "--zoom.api_url=" + sim_url + "/v2",
      "--zoom.oauth_url=" + sim_url + "/oauth/token",
      "--zoom.account_id=" + tenant.account_id,
      "--zoom.client_id=zarc-sim-client",
      "--zoom.client_secret=zarc-sim-secret",
      "--zoom.plan=business",
      "--fetcher.poll_interval=0",
      "--fetcher.pending_delay=1s",
      "--mapper.mode=csv-only",
      "--mapper.tenant_domains=" + tenant.domain,
      "--importer.target=eml",
      "--run.data_dir=" + (flags->count("data-dir") ? (*flags)["data-dir"] : std::string("zarc-data")),
  };
  absl::StatusOr<RunConfig> config = RunSchema().Load(config::Sources{.args = run_args});
  if (!config.ok()) {
    std::fprintf(stderr, "zarc demo: %s\n", std::string(config.status().message()).c_str());
    return kExitFailed;
  }
  const absl::Time started = absl::Now();
  auto pipeline = Pipeline::Start(*config, nullptr);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "zarc demo: cannot start the pipeline: %s\n",
                 std::string(pipeline.status().message()).c_str());
    return kExitFailed;
  }
  std::printf("zarc demo: %zu users and %zu meetings at the Zoom simulator (%s); archiving...\n",
              tenant.users.size(), tenant.meetings.size(), sim_url.c_str());

  const absl::Time from = tenant_options.from;
  const absl::Time to = from + absl::Hours(24 * (tenant_options.days + 1));
  fetcher::SyncProgress progress;
  std::thread sync([&] {
    (void)(*pipeline)->fetcher().fetcher().SyncRange(from, to, false, progress,
                                                     zarc::v1::CAPTURE_SOURCE_SYNC);
  });
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  kafka::KafkaConfig reader;
  reader.bootstrap_servers = (*pipeline)->bootstrap_servers();
  reader.client_id = "zarc-demo";
  bool complete = false;
  int64_t seen_items = 0;
  std::vector<kafka::Record> results;
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::vector<kafka::Record>> read =
        kafka::ReadTopic(reader, kafka::kImportLogTopic, absl::Seconds(10), 1'000'000);
    if (read.ok()) results = *std::move(read);
    const bool sync_done = progress.done;
    // Meetings archived by an earlier run are duplicates: nothing new flows for them.
    const int64_t captured = progress.captured + progress.duplicates;
    complete = sync_done && AllResultsIn(results, progress.captured, &seen_items);
    SyncSnapshot snap{.found = progress.found, .captured = captured,
                      .failed = progress.failed + progress.pending, .delivered = seen_items,
                      .elapsed = absl::Now() - started, .done = complete};
    if (terminal) {
      std::printf("\r%s", ProgressLine(snap, true).c_str());
      std::fflush(stdout);
    }
    if (complete) break;
    absl::SleepFor(absl::Seconds(1));
  }
  if (terminal) std::printf("\n");
  sync.join();

  std::vector<zarc::v1::ImportResult> parsed;
  for (const kafka::Record& r : results) {
    zarc::v1::ImportResult result;
    if (result.ParseFromString(r.value)) parsed.push_back(std::move(result));
  }
  const importer::StatusReport report = importer::BuildStatusReport(parsed);
  const RunConfig& used = (*pipeline)->config();
  (*pipeline)->Stop();

  std::printf("\n%s\n", importer::RenderTable(report).c_str());
  std::printf("Captured %lld of %lld meetings in %s",
              static_cast<long long>(progress.captured + progress.duplicates),
              static_cast<long long>(progress.found),
              absl::FormatDuration(absl::Trunc(absl::Now() - started, absl::Seconds(1))).c_str());
  if (progress.duplicates > 0) {
    std::printf(" (%lld already archived by an earlier run: not delivered again)",
                static_cast<long long>(progress.duplicates.load()));
  }
  std::printf(".\n");
  std::printf("\nWhere to look:\n");
  std::printf("  mailboxes (.eml, open with any mail client): %s/<mailbox>/Inbox/Zoom Meetings/\n",
              used.importer.eml_root.c_str());
  int mailboxes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(used.importer.eml_root, ec)) {
    if (!entry.is_directory() || entry.path().filename().string()[0] == '.') continue;
    int n = 0;
    for (const auto& f : std::filesystem::recursive_directory_iterator(entry.path(), ec)) {
      n += f.path().extension() == ".eml";
    }
    if (mailboxes++ < 8) std::printf("    %-40s %d items\n", entry.path().filename().c_str(), n);
  }
  if (mailboxes > 8) std::printf("    ... and %d more mailboxes\n", mailboxes - 8);
  std::printf("  archive (per mailbox, by date): %s\n", used.importer.archive.url.c_str());
  std::printf("  staged Zoom files (by SHA-256):  %s\n", used.fetcher.staging.url.c_str());
  std::printf("  the status log again: see above (zarc log reads it from a running pipeline)\n");
  if (!complete) {
    std::fprintf(stderr, "zarc demo: not everything finished within %llds (%lld of %lld items)\n",
                 static_cast<long long>(timeout_s), static_cast<long long>(seen_items),
                 static_cast<long long>(progress.captured + progress.duplicates));
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace zarc::cli

// zarc-zoom-sim: the Zoom API simulator as a process (flags below; README.md beside this file).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "runtime/http/http_client.h"
#include "runtime/http/http_server.h"
#include "runtime/log/log.h"
#include "simulators/zoom/file_content.h"
#include "simulators/zoom/simulator.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0, "Port to listen on; 0 picks a free one (printed at start-up).");
ABSL_FLAG(int, threads, 4, "HTTP server threads.");
ABSL_FLAG(std::string, public_base_url, "",
          "Base URL clients use (download_url, api_url); default http://HOST:PORT.");
ABSL_FLAG(std::string, storage_base_url, "",
          "Where downloads redirect to; default the public base URL.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the generated tenant, tokens and faults.");
ABSL_FLAG(int, users, 5, "Users in the generated tenant.");
ABSL_FLAG(int, meetings, 20, "Meetings in the generated tenant.");
ABSL_FLAG(int, days, 7, "Days the meetings are spread over.");
ABSL_FLAG(std::string, from, "", "First day of meetings (yyyy-mm-dd); default: today - days.");
ABSL_FLAG(uint64_t, recording_bytes, 256 * 1024, "Size of each MP4 recording.");
ABSL_FLAG(uint64_t, audio_bytes, 64 * 1024, "Size of each M4A recording.");
ABSL_FLAG(uint64_t, archive_bytes, 32 * 1024, "Size of each archived MP4/M4A.");
ABSL_FLAG(bool, archiving, true, "The account has the Archiving API.");
ABSL_FLAG(int, processing_every, 0,
          "Every Nth meeting lists its MP4 and TRANSCRIPT as processing at first (0: none).");
ABSL_FLAG(int, processing_listings, 2, "How many listings such files stay processing.");
ABSL_FLAG(int, recordings_only_every, 0,
          "Every Nth meeting has only cloud recordings, no archive files (0: none).");
ABSL_FLAG(int, archive_only_every, 0,
          "Every Nth meeting has only archive files, no cloud recording (0: none; needs "
          "--archiving).");
ABSL_FLAG(std::string, tenant, "", "Load the tenant from this JSON file instead of generating.");
ABSL_FLAG(std::string, manifest_out, "", "Write the tenant's manifest (files, sizes, sha256).");
ABSL_FLAG(std::string, dump_responses, "",
          "Write one JSON file per API response into this directory and exit.");
ABSL_FLAG(std::string, account_id, "", "Account id of the generated tenant (default: random).");
ABSL_FLAG(std::string, client_id, "", "S2S OAuth client id (or env ZOOM_SIM_CLIENT_ID).");
ABSL_FLAG(std::string, client_secret, "",
          "S2S OAuth client secret (or env ZOOM_SIM_CLIENT_SECRET).");
ABSL_FLAG(int, token_ttl, 3600, "Access token lifetime in seconds.");
ABSL_FLAG(std::string, plan, "business", "Rate limits: pro, business or unlimited.");
ABSL_FLAG(int, qps_light, -1, "Override Light per-second limit (0: unlimited).");
ABSL_FLAG(int, qps_medium, -1, "Override Medium per-second limit (0: unlimited).");
ABSL_FLAG(int, qps_heavy, -1, "Override Heavy per-second limit (0: unlimited).");
ABSL_FLAG(int64_t, daily_light, -1, "Override Light daily limit (0: unlimited).");
ABSL_FLAG(int64_t, daily_medium, -1, "Override Medium daily limit (0: unlimited).");
ABSL_FLAG(int64_t, daily_heavy, -1, "Override Heavy daily limit (0: unlimited).");
ABSL_FLAG(std::string, faults, "",
          "Fault injection as JSON, same form as POST /_sim/faults, e.g. "
          "{\"error\":{\"every_n\":5},\"truncate\":{\"probability\":0.1}}.");
ABSL_FLAG(std::string, webhook_url, "", "Where webhooks are POSTed.");
ABSL_FLAG(std::string, webhook_secret, "",
          "Webhook secret token (or env ZOOM_SIM_WEBHOOK_SECRET).");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");

namespace zarc::zoom_sim {
namespace {

[[noreturn]] void Die(absl::string_view message) {
  std::cerr << "zarc-zoom-sim: " << message << std::endl;
  std::exit(2);
}

std::string FlagOrEnv(const std::string& flag, const char* env, const std::string& fallback) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(env);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

int Run() {
  log::Level level;
  if (absl::Status s = log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level); !s.ok()) {
    Die(s.message());
  }
  log::Configure(level, log::Format::kText);

  TenantOptions tenant_options;
  tenant_options.seed = absl::GetFlag(FLAGS_seed);
  tenant_options.users = absl::GetFlag(FLAGS_users);
  tenant_options.meetings = absl::GetFlag(FLAGS_meetings);
  tenant_options.days = absl::GetFlag(FLAGS_days);
  tenant_options.video_bytes = absl::GetFlag(FLAGS_recording_bytes);
  tenant_options.audio_bytes = absl::GetFlag(FLAGS_audio_bytes);
  tenant_options.archive_media_bytes = absl::GetFlag(FLAGS_archive_bytes);
  tenant_options.archiving = absl::GetFlag(FLAGS_archiving);
  tenant_options.processing_every = absl::GetFlag(FLAGS_processing_every);
  tenant_options.processing_listings = absl::GetFlag(FLAGS_processing_listings);
  tenant_options.recordings_only_every = absl::GetFlag(FLAGS_recordings_only_every);
  tenant_options.archive_only_every = absl::GetFlag(FLAGS_archive_only_every);
  if (tenant_options.users < 1 || tenant_options.meetings < 0 || tenant_options.days < 1) {
    Die("--users must be >= 1, --meetings >= 0 and --days >= 1");
  }
  const std::string from = absl::GetFlag(FLAGS_from);
  if (from.empty()) {
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    tenant_options.from = absl::FromCivil(today - tenant_options.days, absl::UTCTimeZone());
  } else {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(from, &day)) Die(absl::StrCat("--from \"", from, "\" is not yyyy-mm-dd"));
    tenant_options.from = absl::FromCivil(day, absl::UTCTimeZone());
  }

  const std::string dump_dir = absl::GetFlag(FLAGS_dump_responses);
  if (!dump_dir.empty()) {
    absl::StatusOr<int> written = DumpContractResponses(tenant_options, dump_dir);
    if (!written.ok()) Die(written.status().message());
    std::cout << "wrote " << *written << " responses to " << dump_dir << std::endl;
    return 0;
  }

  Tenant tenant;
  const std::string tenant_file = absl::GetFlag(FLAGS_tenant);
  if (!tenant_file.empty()) {
    std::ifstream in(tenant_file, std::ios::binary);
    if (!in) Die(absl::StrCat("cannot read --tenant file ", tenant_file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Tenant> loaded = ParseTenantJson(text.str(), tenant_options);
    if (!loaded.ok()) Die(absl::StrCat(tenant_file, ": ", loaded.status().message()));
    tenant = *std::move(loaded);
  } else {
    tenant = GenerateTenant(tenant_options);
    if (!absl::GetFlag(FLAGS_account_id).empty()) tenant.account_id = absl::GetFlag(FLAGS_account_id);
  }
  const std::string manifest_out = absl::GetFlag(FLAGS_manifest_out);
  if (!manifest_out.empty()) {
    std::ofstream out(manifest_out, std::ios::binary);
    out << ManifestJson(tenant);
    if (!out.good()) Die(absl::StrCat("cannot write --manifest-out file ", manifest_out));
  }

  SimulatorOptions options;
  options.seed = tenant_options.seed;
  options.client_id = FlagOrEnv(absl::GetFlag(FLAGS_client_id), "ZOOM_SIM_CLIENT_ID",
                                options.client_id);
  options.client_secret = FlagOrEnv(absl::GetFlag(FLAGS_client_secret), "ZOOM_SIM_CLIENT_SECRET",
                                    options.client_secret);
  if (absl::GetFlag(FLAGS_token_ttl) < 1) Die("--token-ttl must be at least 1 second");
  options.token_ttl = absl::Seconds(absl::GetFlag(FLAGS_token_ttl));
  absl::StatusOr<RateLimits> limits = LimitsForPlan(absl::GetFlag(FLAGS_plan));
  if (!limits.ok()) Die(absl::StrCat("--plan: ", limits.status().message()));
  options.limits = *limits;
  auto override_limit = [&](Category c, int qps, int64_t daily) {
    if (qps >= 0) options.limits[c].per_second = qps;
    if (daily >= 0) options.limits[c].per_day = daily;
  };
  override_limit(Category::kLight, absl::GetFlag(FLAGS_qps_light), absl::GetFlag(FLAGS_daily_light));
  override_limit(Category::kMedium, absl::GetFlag(FLAGS_qps_medium),
                 absl::GetFlag(FLAGS_daily_medium));
  override_limit(Category::kHeavy, absl::GetFlag(FLAGS_qps_heavy), absl::GetFlag(FLAGS_daily_heavy));
  if (!absl::GetFlag(FLAGS_faults).empty()) {
    absl::StatusOr<FaultConfig> faults = ParseFaultConfigJson(absl::GetFlag(FLAGS_faults), {});
    if (!faults.ok()) Die(absl::StrCat("--faults: ", faults.status().message()));
    options.faults = *faults;
  }
  options.webhook_url = absl::GetFlag(FLAGS_webhook_url);
  options.webhook_secret =
      FlagOrEnv(absl::GetFlag(FLAGS_webhook_secret), "ZOOM_SIM_WEBHOOK_SECRET", "");
  if (!options.webhook_url.empty() && options.webhook_secret.empty()) {
    Die("--webhook-url needs --webhook-secret (or env ZOOM_SIM_WEBHOOK_SECRET) to sign events");
  }

  Simulator sim(std::move(tenant), tenant_options, options);
  std::unique_ptr<http::HttpClient> client = http::NewHttpClient();
  sim.SetWebhookTransport([&client](const WebhookRequest& w) -> absl::StatusOr<WebhookReply> {
    http::ClientRequest request;
    request.method = "POST";
    request.url = w.url;
    request.headers = w.headers;
    request.body = w.body;
    // Zoom waits 3 seconds for an answer.
    request.timeout = absl::Seconds(3);
    absl::StatusOr<http::ClientResponse> response = client->Send(request);
    if (!response.ok()) return response.status();
    return WebhookReply{response->status, response->body};
  });

  // Block the stop signals before the server starts its threads, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  http::ServerOptions server_options;
  server_options.host = absl::GetFlag(FLAGS_host);
  server_options.port = static_cast<uint16_t>(absl::GetFlag(FLAGS_port));
  server_options.threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<std::unique_ptr<http::HttpServer>> server = http::HttpServer::Start(
      server_options, [&sim](const http::ServerRequest& request) { return sim.Handle(request); });
  if (!server.ok()) Die(server.status().message());
  const std::string base = absl::StrCat("http://", server_options.host, ":", (*server)->port());
  const std::string public_base = absl::GetFlag(FLAGS_public_base_url);
  sim.SetPublicBaseUrl(public_base.empty() ? base : public_base);
  if (!absl::GetFlag(FLAGS_storage_base_url).empty()) {
    sim.SetStorageBaseUrl(absl::GetFlag(FLAGS_storage_base_url));
  }
  log::Info("zoom-sim", "started",
            {{"users", tenant_options.users}, {"meetings", sim.TenantSnapshot().meetings.size()},
             {"plan", absl::GetFlag(FLAGS_plan)}});
  std::printf("zarc-zoom-sim listening on %s\n", base.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("zoom-sim", "stopping", {{"signal", signal_number}});
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace zarc::zoom_sim

int main(int argc, char** argv) {
  // Accept --manifest-out as well as absl's --manifest_out: the documented spelling uses dashes.
  std::vector<std::string> storage(argv, argv + argc);
  std::vector<char*> args;
  for (std::string& arg : storage) {
    if (arg.rfind("--", 0) == 0) {
      for (size_t i = 2; i < arg.size() && arg[i] != '='; ++i) {
        if (arg[i] == '-') arg[i] = '_';
      }
    }
    args.push_back(arg.data());
  }
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  return zarc::zoom_sim::Run();
}

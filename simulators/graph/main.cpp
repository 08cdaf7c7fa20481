// zarc-graph-sim: the Microsoft Graph simulator as a process (flags below; README.md beside this
// file).
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
#include "runtime/http/http_server.h"
#include "runtime/log/log.h"
#include "simulators/graph/directory.h"
#include "simulators/graph/graph_simulator.h"
#include "simulators/zoom/tenant.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0, "Port to listen on; 0 picks a free one (printed at start-up).");
ABSL_FLAG(int, threads, 8, "HTTP server threads.");
ABSL_FLAG(std::string, public_base_url, "",
          "Base URL clients use (upload URLs); default http://HOST:PORT.");
ABSL_FLAG(std::string, users, "", "Load users and groups from this JSON file.");
ABSL_FLAG(uint64_t, zoom_seed, 1, "Without --users: seed of the Zoom simulator tenant to match.");
ABSL_FLAG(int, zoom_users, 5, "Without --users: users of the Zoom simulator tenant to match.");
ABSL_FLAG(std::string, zoom_domain, "example-corp.com",
          "Without --users: the Zoom tenant's domain.");
ABSL_FLAG(std::string, tenant_id, "", "Tenant the token endpoint accepts (empty: any).");
ABSL_FLAG(std::string, client_id, "", "App client id (or env GRAPH_SIM_CLIENT_ID).");
ABSL_FLAG(std::string, client_secret, "", "App client secret (or env GRAPH_SIM_CLIENT_SECRET).");
ABSL_FLAG(std::vector<std::string>, client_certificate, {},
          "PEM certificate files registered on the app (comma-separated): client assertions "
          "signed with their keys are accepted, as certificate credentials.");
ABSL_FLAG(int, token_ttl, 3600, "Access token lifetime in seconds.");
ABSL_FLAG(int, throttle_every, 0, "Answer every Nth Graph request with 429 (0: never).");
ABSL_FLAG(int, throttle_per_second, 0,
          "Answer 429 beyond this many Graph requests per second (0: no limit).");
ABSL_FLAG(int, retry_after, 1, "Retry-After seconds on 429 answers.");
ABSL_FLAG(int, mailbox_concurrency, 4, "Concurrent requests per mailbox before 429.");
ABSL_FLAG(int64_t, mailbox_upload_mb, 150, "MB uploaded per mailbox per 5 minutes before 429.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");

namespace zarc::graph_sim {
namespace {

[[noreturn]] void Die(absl::string_view message) {
  std::cerr << "zarc-graph-sim: " << message << std::endl;
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

  Directory directory;
  const std::string users_file = absl::GetFlag(FLAGS_users);
  if (!users_file.empty()) {
    std::ifstream in(users_file, std::ios::binary);
    if (!in) Die(absl::StrCat("cannot read --users file ", users_file));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Directory> loaded = ParseDirectoryJson(text.str());
    if (!loaded.ok()) Die(absl::StrCat(users_file, ": ", loaded.status().message()));
    directory = *std::move(loaded);
  } else {
    zoom_sim::TenantOptions zoom;
    zoom.seed = absl::GetFlag(FLAGS_zoom_seed);
    zoom.users = absl::GetFlag(FLAGS_zoom_users);
    zoom.meetings = 0;
    zoom.domain = absl::GetFlag(FLAGS_zoom_domain);
    if (zoom.users < 1) Die("--zoom-users must be >= 1");
    directory = DirectoryForZoomTenant(zoom_sim::GenerateTenant(zoom));
  }

  GraphSimOptions options;
  options.tenant_id = absl::GetFlag(FLAGS_tenant_id);
  options.client_id =
      FlagOrEnv(absl::GetFlag(FLAGS_client_id), "GRAPH_SIM_CLIENT_ID", options.client_id);
  options.client_secret = FlagOrEnv(absl::GetFlag(FLAGS_client_secret), "GRAPH_SIM_CLIENT_SECRET",
                                    options.client_secret);
  for (const std::string& path : absl::GetFlag(FLAGS_client_certificate)) {
    std::ifstream in(path);
    if (!in) Die(absl::StrCat("--client-certificate: cannot read ", path));
    std::ostringstream pem;
    pem << in.rdbuf();
    options.client_certificates_pem.push_back(pem.str());
  }
  if (absl::GetFlag(FLAGS_token_ttl) < 1) Die("--token-ttl must be at least 1 second");
  options.token_ttl = absl::Seconds(absl::GetFlag(FLAGS_token_ttl));
  options.throttle_every_n = absl::GetFlag(FLAGS_throttle_every);
  options.throttle_per_second = absl::GetFlag(FLAGS_throttle_per_second);
  options.retry_after_seconds = absl::GetFlag(FLAGS_retry_after);
  options.mailbox_concurrency = absl::GetFlag(FLAGS_mailbox_concurrency);
  options.mailbox_upload_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_mailbox_upload_mb))
                                 << 20;
  if (options.throttle_every_n < 0 || options.throttle_per_second < 0 ||
      options.retry_after_seconds < 0 || options.mailbox_concurrency < 1) {
    Die("--throttle-every, --throttle-per-second and --retry-after must be >= 0, "
        "--mailbox-concurrency >= 1");
  }
  const size_t user_count = directory.users.size();
  GraphSimulator sim(std::move(directory), options);

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
  log::Info("graph-sim", "started", {{"users", user_count}});
  std::printf("zarc-graph-sim listening on %s\n", base.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("graph-sim", "stopping", {{"signal", signal_number}});
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace zarc::graph_sim

int main(int argc, char** argv) {
  // Accept --zoom-seed as well as absl's --zoom_seed: the documented spelling uses dashes.
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
  return zarc::graph_sim::Run();
}

// zarc run: all four stages in one process (like Loki's or Tempo's monolithic mode).
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/match.h"

#include "cli/commands.h"
#include "cli/pipeline.h"
#include "runtime/service/service_host.h"

namespace zarc::cli {

namespace {

// One machine usually has no Entra ID app: unless Graph is configured somewhere (flags, the
// environment, the config file), `zarc run` maps with mapper.mode=csv-only (the custom CSV and the
// tenant domains). An explicit --mapper.mode still wins: it comes later.
bool GraphConfigured(const std::vector<std::string>& args) {
  auto mentions = [](absl::string_view text) {
    return absl::StrContains(text, "graph.tenant_id") || absl::StrContains(text, "graph-tenant-id") ||
           absl::StrContains(text, "graph_tenant_id");
  };
  std::string config_file;
  if (const char* env = std::getenv("ZARC_GRAPH_TENANT_ID"); env != nullptr && *env != 0) return true;
  if (const char* env = std::getenv("ZARC_CONFIG")) config_file = env;
  for (size_t i = 0; i < args.size(); ++i) {
    if (mentions(args[i])) return true;
    if (absl::StartsWith(args[i], "--config=")) config_file = args[i].substr(9);
    if (args[i] == "--config" && i + 1 < args.size()) config_file = args[i + 1];
  }
  if (config_file.empty()) return false;
  std::ifstream in(config_file);
  std::stringstream text;
  text << in.rdbuf();
  return mentions(text.str());
}

}  // namespace

int Run(const std::vector<std::string>& args) {
  std::unique_ptr<Pipeline> pipeline;
  service::ServiceMain<RunConfig> m{
      .name = "zarc",
      .schema = RunSchema(),
      .host_member = &RunConfig::host,
  };
  m.start = [&](const RunConfig& config, prometheus::Registry& metrics)
      -> absl::StatusOr<std::vector<grpc::Service*>> {
    auto started = Pipeline::Start(config, &metrics);
    if (!started.ok()) return started.status();
    pipeline = *std::move(started);
    return pipeline->services();
  };
  m.stop = [&] { pipeline.reset(); };
  m.health = [&]() -> absl::Status {
    return pipeline != nullptr ? pipeline->health() : absl::UnavailableError("not started");
  };
  std::vector<std::string> argv_strings = {"zarc run"};
  if (!GraphConfigured(args)) argv_strings.push_back("--mapper.mode=csv-only");
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  return service::RunServiceMain(m, static_cast<int>(argv_strings.size()), argv.data());
}

}  // namespace zarc::cli

// zarc run: all four stages in one process (like Loki's or Tempo's monolithic mode).
#include <memory>

#include "cli/commands.h"
#include "cli/pipeline.h"
#include "runtime/service/service_host.h"

namespace zarc::cli {

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
  std::vector<std::string> argv_strings = {"zarc run"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  return service::RunServiceMain(m, static_cast<int>(argv_strings.size()), argv.data());
}

}  // namespace zarc::cli

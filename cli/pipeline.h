#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/service/service_host.h"
#include "services/converter/converter_config.h"
#include "services/fetcher/fetcher_config.h"
#include "services/importer/importer_config.h"
#include "services/mapper/mapper_config.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}
namespace zarc::fetcher {
class FetcherApp;
}
namespace zarc::importer {
class ImporterApp;
}

namespace zarc::cli {

// `zarc run`: the four stages in one process, each configured exactly as its own service would
// be (shared keys such as kafka.brokers apply to all of them).
struct RunConfig {
  service::HostConfig host;
  std::string data_dir;
  fetcher::FetcherConfig fetcher;
  converter::ConverterConfig converter;
  mapper::MapperConfig mapper;
  importer::ImporterConfig importer;
};

config::Schema<RunConfig> RunSchema();

// Fills what the one-machine mode leaves to defaults: stores still at their service defaults
// move under data_dir (staging/, archive/, mailboxes/ for the .eml target).
void PlaceUnderDataDir(RunConfig& config);

// The running stages. With no kafka.brokers it starts librdkafka's mock cluster in-process with
// zarc's topics. Consumers start before producers; Stop() stops them in the reverse order.
class Pipeline {
 public:
  static absl::StatusOr<std::unique_ptr<Pipeline>> Start(RunConfig config,
                                                         prometheus::Registry* metrics);
  ~Pipeline();
  std::vector<grpc::Service*> services();
  fetcher::FetcherApp& fetcher();
  importer::ImporterApp& importer();
  const std::string& bootstrap_servers() const;
  const RunConfig& config() const;
  // OK while every Kafka stage runs; the first stopped one otherwise (grpc.health.v1).
  absl::Status health();
  void Stop();

 private:
  struct Impl;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::cli

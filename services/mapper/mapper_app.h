#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/mapper/mapper_config.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}

namespace zarc::mapper {

class MapperStage;
class Resolver;

// The mapper service wired from its configuration: Graph client and token source, the lookup
// cache, the custom mapping file, the resolver, the stage on zarc.messages (consumer group
// zarc-mapper) and the MapperControl gRPC service. The same object runs as its own process
// (zarc-mapper) and inside the one-binary mode.
class MapperApp {
 public:
  static absl::StatusOr<std::unique_ptr<MapperApp>> Create(const MapperConfig& config,
                                                           prometheus::Registry* metrics);
  ~MapperApp();

  // MapperControl: Resolve answers per address with the rule that decided and why.
  grpc::Service* control_service();
  Resolver& resolver();
  MapperStage& stage();
  // Joins the consumer group and maps records until Stop().
  absl::Status Start();
  void Stop();
  // OK while the stage runs; why not once its runner stopped (grpc.health.v1 goes NOT_SERVING).
  absl::Status health();

 private:
  struct Impl;
  explicit MapperApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::mapper

#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/converter/converter_config.h"

namespace prometheus {
class Registry;
}

namespace zarc::converter {

// The converter service wired from its configuration: the staging store and the stage running
// on zarc.meetings in consumer group zarc-converter. Used by zarc-converter and `zarc run`.
class ConverterApp {
 public:
  static absl::StatusOr<std::unique_ptr<ConverterApp>> Create(const ConverterConfig& config,
                                                              prometheus::Registry* metrics);
  ~ConverterApp();
  absl::Status Start();
  void Stop();
  // OK while the stage runs; why not once its runner stopped (grpc.health.v1 goes NOT_SERVING).
  absl::Status health();

 private:
  struct Impl;
  explicit ConverterApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::converter

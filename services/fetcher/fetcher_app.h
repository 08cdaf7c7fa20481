#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "services/fetcher/capture.h"
#include "services/fetcher/fetcher_config.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

class Fetcher;
class Reconciler;

// The fetcher service wired from its configuration: Zoom client, staging store, Kafka producer,
// scheduled polls, the webhook endpoint, the reconciler and the FetcherControl gRPC service. The same object runs
// as its own process (zarc-fetcher) and inside the one-binary mode.
class FetcherApp {
 public:
  // `publish` replaces the Kafka producer when set (tests of the capture path without a broker).
  static absl::StatusOr<std::unique_ptr<FetcherApp>> Create(const FetcherConfig& config,
                                                            prometheus::Registry* metrics,
                                                            MeetingPublisher publish = nullptr);
  ~FetcherApp();

  grpc::Service* control_service();
  absl::Status Start();
  void Stop();
  Fetcher& fetcher();
  Reconciler& reconciler();
  int webhook_port() const;

 private:
  struct Impl;
  explicit FetcherApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::fetcher

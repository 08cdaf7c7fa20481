#pragma once

#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/kafka/stage_runner.h"

namespace zarc::kafka {

// A StageRunner on its own thread, for services and the one-binary mode: Start() returns once the
// runner exists; Stop() asks it to finish the record in hand, then joins. If Run() fails (a fatal
// client error), the error is logged and kept for status(). Not copyable; Stop() is idempotent.
class StageWorker {
 public:
  static absl::StatusOr<std::unique_ptr<StageWorker>> Start(const KafkaConfig& config,
                                                            StageRunnerOptions options,
                                                            StageHandler handler);
  ~StageWorker();
  void Stop();
  // OK while running or after a clean stop; the error Run() returned otherwise.
  absl::Status status();
  bool running();
  // For health checks: OK while the runner runs; once it has returned (a fatal error, or a stop),
  // UNAVAILABLE naming the stage and why.
  absl::Status health();

 private:
  StageWorker() = default;
  std::string stage_;
  std::unique_ptr<StageRunner> runner_;
  std::thread thread_;
  absl::Mutex mutex_;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
  bool running_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace zarc::kafka

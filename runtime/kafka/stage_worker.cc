#include "runtime/kafka/stage_worker.h"

#include "absl/strings/str_cat.h"
#include "runtime/log/log.h"

namespace zarc::kafka {

absl::StatusOr<std::unique_ptr<StageWorker>> StageWorker::Start(const KafkaConfig& config,
                                                                StageRunnerOptions options,
                                                                StageHandler handler) {
  const std::string stage = options.stage;
  absl::StatusOr<std::unique_ptr<StageRunner>> runner =
      StageRunner::Create(config, std::move(options), std::move(handler));
  if (!runner.ok()) return runner.status();
  std::unique_ptr<StageWorker> worker(new StageWorker());
  worker->stage_ = stage;
  worker->runner_ = *std::move(runner);
  {
    absl::MutexLock lock(&worker->mutex_);
    worker->running_ = true;
  }
  StageWorker* w = worker.get();
  worker->thread_ = std::thread([w, stage] {
    absl::Status s = w->runner_->Run();
    if (!s.ok()) log::Error(stage, "stage stopped with an error", {{"error", s}});
    absl::MutexLock lock(&w->mutex_);
    w->status_ = s;
    w->running_ = false;
  });
  return worker;
}

StageWorker::~StageWorker() { Stop(); }

void StageWorker::Stop() {
  if (runner_ != nullptr) runner_->Stop();
  if (thread_.joinable()) thread_.join();
}

absl::Status StageWorker::status() {
  absl::MutexLock lock(&mutex_);
  return status_;
}

absl::Status StageWorker::health() {
  absl::MutexLock lock(&mutex_);
  if (running_) return absl::OkStatus();
  return absl::UnavailableError(
      status_.ok() ? absl::StrCat("stage ", stage_, " is stopped")
                   : absl::StrCat("stage ", stage_, " stopped: ", status_.message()));
}

bool StageWorker::running() {
  absl::MutexLock lock(&mutex_);
  return running_;
}

}  // namespace zarc::kafka

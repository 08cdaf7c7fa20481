#include "services/converter/converter_app.h"

#include "runtime/kafka/stage_worker.h"
#include "runtime/kafka/topics.h"
#include "services/converter/converter_stage.h"

namespace zarc::converter {

struct ConverterApp::Impl {
  ConverterConfig config;
  prometheus::Registry* metrics = nullptr;
  std::unique_ptr<blob::BlobStore> store;
  std::unique_ptr<ConverterStage> stage;
  std::unique_ptr<kafka::StageWorker> worker;
};

ConverterApp::ConverterApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConverterApp::~ConverterApp() { Stop(); }

absl::StatusOr<std::unique_ptr<ConverterApp>> ConverterApp::Create(const ConverterConfig& config,
                                                                   prometheus::Registry* metrics) {
  if (config.kafka.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka.brokers is required for the converter service");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->metrics = metrics;
  absl::StatusOr<std::unique_ptr<blob::BlobStore>> store = blob::OpenBlobStore(config.staging);
  if (!store.ok()) return store.status();
  impl->store = *std::move(store);
  impl->stage = std::make_unique<ConverterStage>(
      *impl->store,
      RenderOptions{.message_size_limit = static_cast<uint64_t>(config.message_size_limit),
                    .message_id_domain = config.message_id_domain},
      metrics);
  return std::unique_ptr<ConverterApp>(new ConverterApp(std::move(impl)));
}

absl::Status ConverterApp::Start() {
  ConverterStage* stage = impl_->stage.get();
  kafka::StageRunnerOptions options{.stage = "converter",
                                    .group_id = "zarc-converter",
                                    .input_topics = {std::string(kafka::kMeetingsTopic)},
                                    .metrics = impl_->metrics};
  kafka::ApplyStageSettings(impl_->config.stage, options);
  absl::StatusOr<std::unique_ptr<kafka::StageWorker>> worker = kafka::StageWorker::Start(
      impl_->config.kafka, std::move(options),
      [stage](const kafka::Record& r) { return stage->Handle(r); });
  if (!worker.ok()) return worker.status();
  impl_->worker = *std::move(worker);
  return absl::OkStatus();
}

void ConverterApp::Stop() {
  if (impl_ != nullptr && impl_->worker != nullptr) impl_->worker->Stop();
}

absl::Status ConverterApp::health() {
  if (impl_ == nullptr || impl_->worker == nullptr) {
    return absl::UnavailableError("the stage has not started");
  }
  return impl_->worker->health();
}

}  // namespace zarc::converter

#include "services/mapper/mapper_app.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "runtime/http/http_client.h"
#include "runtime/kafka/stage_worker.h"
#include "runtime/kafka/topics.h"
#include "runtime/log/log.h"
#include "services/mapper/cache.h"
#include "services/mapper/custom_mapping.h"
#include "services/mapper/graph_client.h"
#include "services/mapper/mapper_stage.h"
#include "services/mapper/resolver.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::mapper {
namespace {

constexpr int kMaxResolveAddresses = 1000;

class ControlService final : public zarc::v1::MapperControl::Service {
 public:
  explicit ControlService(Resolver& resolver) : resolver_(resolver) {}

  grpc::Status Resolve(grpc::ServerContext*, const zarc::v1::ResolveRequest* request,
                       zarc::v1::ResolveResponse* response) override {
    if (request->addresses_size() == 0 || request->addresses_size() > kMaxResolveAddresses) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("Resolve takes 1 to ", kMaxResolveAddresses,
                                       " addresses, got ", request->addresses_size()));
    }
    std::vector<std::string> addresses(request->addresses().begin(), request->addresses().end());
    absl::StatusOr<std::vector<zarc::v1::AddressResolution>> resolved =
        resolver_.Resolve(addresses);
    if (!resolved.ok()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(resolved.status().message()));
    }
    for (zarc::v1::AddressResolution& r : *resolved) *response->add_results() = std::move(r);
    return grpc::Status::OK;
  }

 private:
  Resolver& resolver_;
};

}  // namespace

struct MapperApp::Impl {
  MapperConfig config;
  prometheus::Registry* metrics = nullptr;
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<GraphTokenSource> tokens;
  std::unique_ptr<GraphClient> graph;
  std::unique_ptr<LookupCache> cache;
  std::unique_ptr<CustomMapping> mapping;
  std::unique_ptr<DirectoryResolver> resolver;
  std::unique_ptr<MapperStage> stage;
  std::unique_ptr<ControlService> control;
  std::unique_ptr<kafka::StageWorker> worker;
};

MapperApp::MapperApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MapperApp::~MapperApp() { Stop(); }

absl::StatusOr<std::unique_ptr<MapperApp>> MapperApp::Create(const MapperConfig& config,
                                                             prometheus::Registry* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->metrics = metrics;
  if (config.mode == "graph") {
    impl->http = http::NewHttpClient(http::ClientOptions{.ca_file = config.graph.ca_file});
    impl->tokens = std::make_unique<GraphTokenSource>(
        *impl->http, CredentialsFrom(config.graph));
    impl->graph = std::make_unique<GraphClient>(
        *impl->http, *impl->tokens, config.graph.api_url,
        GraphClientOptions{.patience = config.graph.patience}, metrics);
    impl->cache = std::make_unique<LookupCache>(
        CacheOptions{.positive_ttl = config.cache_positive_ttl,
                     .negative_ttl = config.cache_negative_ttl,
                     .max_entries = static_cast<size_t>(config.cache_max_entries)},
        metrics);
  }
  if (!config.custom_mapping_file.empty()) {
    absl::StatusOr<std::unique_ptr<CustomMapping>> mapping =
        CustomMapping::Open({.path = config.custom_mapping_file,
                             .check_interval = config.custom_mapping_check_interval});
    if (!mapping.ok()) return mapping.status();
    impl->mapping = *std::move(mapping);
  }
  impl->resolver = std::make_unique<DirectoryResolver>(
      ResolverOptions{.mode = config.mode,
                      .tenant_domains = config.tenant_domains,
                      .deliver_to_disabled = config.deliver_to_disabled,
                      .group_id = config.group_id,
                      .group_refresh = config.cache_positive_ttl},
      impl->mapping.get(), impl->cache.get(), impl->graph.get(), metrics);
  impl->stage = std::make_unique<MapperStage>(
      *impl->resolver, StageOptions{.fallback_mailbox = config.fallback_mailbox}, metrics);
  impl->control = std::make_unique<ControlService>(*impl->resolver);
  log::Info("mapper", "configured",
            {{"mode", config.mode},
             {"custom_mapping_rows", impl->mapping ? impl->mapping->size() : 0},
             {"tenant_domains", config.tenant_domains.size()},
             {"fallback", !config.fallback_mailbox.empty()},
             {"group_scope", !config.group_id.empty()}});
  return std::unique_ptr<MapperApp>(new MapperApp(std::move(impl)));
}

grpc::Service* MapperApp::control_service() { return impl_->control.get(); }
Resolver& MapperApp::resolver() { return *impl_->resolver; }
MapperStage& MapperApp::stage() { return *impl_->stage; }

absl::Status MapperApp::Start() {
  if (impl_->config.kafka.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka.brokers is required for the mapper stage");
  }
  MapperStage* stage = impl_->stage.get();
  kafka::StageRunnerOptions options{.stage = "mapper",
                                    .group_id = "zarc-mapper",
                                    .input_topics = {std::string(kafka::kMessagesTopic)},
                                    .metrics = impl_->metrics};
  kafka::ApplyStageSettings(impl_->config.stage, options);
  absl::StatusOr<std::unique_ptr<kafka::StageWorker>> worker = kafka::StageWorker::Start(
      impl_->config.kafka, std::move(options),
      [stage](const kafka::Record& r) { return stage->Handle(r); });
  if (!worker.ok()) return worker.status();
  impl_->worker = *std::move(worker);
  return absl::OkStatus();
}

void MapperApp::Stop() {
  if (impl_ != nullptr && impl_->worker != nullptr) impl_->worker->Stop();
}

absl::Status MapperApp::health() {
  if (impl_ == nullptr || impl_->worker == nullptr) {
    return absl::UnavailableError("the stage has not started");
  }
  return impl_->worker->health();
}

}  // namespace zarc::mapper

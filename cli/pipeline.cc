#include "cli/pipeline.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "runtime/kafka/embedded_cluster.h"
#include "runtime/kafka/topics.h"
#include "runtime/log/log.h"
#include "services/converter/converter_app.h"
#include "services/fetcher/fetcher_app.h"
#include "services/importer/importer_app.h"
#include "services/mapper/mapper_app.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::cli {

config::Schema<RunConfig> RunSchema() {
  config::Schema<RunConfig> s;
  // The process's own host first: its defaults win the shared keys in --help.
  s.Include(service::HostSchema(7000, 9400, "127.0.0.1"), &RunConfig::host)
      .String("run.data_dir", &RunConfig::data_dir, "zarc-data",
              "folder for the stores and .eml mailboxes the one-machine mode keeps by default")
      .Include(fetcher::FetcherSchema(), &RunConfig::fetcher)
      .Include(converter::ConverterSchema(), &RunConfig::converter)
      .Include(mapper::MapperSchema(), &RunConfig::mapper)
      .Include(importer::ImporterSchema(), &RunConfig::importer);
  return s;
}

namespace {
// The service defaults name system folders; in one-machine mode they live under data_dir.
void Place(blob::BlobStoreConfig& store, const std::string& data_dir, const std::string& name) {
  if (store.url.rfind("file:///var/lib/zarc/", 0) == 0) {
    std::string dir = data_dir;
    if (!dir.empty() && dir[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof cwd) != nullptr) dir = absl::StrCat(cwd, "/", dir);
    }
    store.url = absl::StrCat("file://", dir, "/", name);
  }
}
}  // namespace

void PlaceUnderDataDir(RunConfig& c) {
  Place(c.fetcher.staging, c.data_dir, "staging");
  Place(c.converter.staging, c.data_dir, "staging");
  Place(c.importer.messages, c.data_dir, "staging");
  Place(c.importer.archive, c.data_dir, "archive");
  if (c.importer.eml_root.rfind("/var/lib/zarc/", 0) == 0 || c.importer.eml_root.empty()) {
    blob::BlobStoreConfig mailboxes{.url = "file:///var/lib/zarc/mailboxes"};
    Place(mailboxes, c.data_dir, "mailboxes");
    c.importer.eml_root = mailboxes.url.substr(std::string("file://").size());
  }
}

struct Pipeline::Impl {
  RunConfig config;
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  std::string bootstrap;
  std::unique_ptr<importer::ImporterApp> importer;
  std::unique_ptr<mapper::MapperApp> mapper;
  std::unique_ptr<converter::ConverterApp> converter;
  std::unique_ptr<fetcher::FetcherApp> fetcher;
};

namespace {

// The console's mapping lookup, backfill and poll status call the in-process control services
// directly (their handlers do not use the server context).
void LinkConsole(fetcher::FetcherApp& fetcher_app, converter::ConverterApp& converter_app,
                 mapper::MapperApp& mapper_app, importer::ImporterApp& importer_app) {
  auto* mapper = static_cast<zarc::v1::MapperControl::Service*>(mapper_app.control_service());
  auto* fetcher = static_cast<zarc::v1::FetcherControl::Service*>(fetcher_app.control_service());
  importer::ImporterApp::ConsoleLinks links;
  links.process = "zarc run";
  links.resolve = [mapper](const zarc::v1::ResolveRequest& req)
      -> absl::StatusOr<zarc::v1::ResolveResponse> {
    grpc::ServerContext ctx;
    zarc::v1::ResolveResponse resp;
    grpc::Status s = mapper->Resolve(&ctx, &req, &resp);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return resp;
  };
  links.sync = [fetcher](const zarc::v1::SyncRequest& req) -> absl::StatusOr<zarc::v1::SyncResponse> {
    grpc::ServerContext ctx;
    zarc::v1::SyncResponse resp;
    grpc::Status s = fetcher->Sync(&ctx, &req, &resp);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return resp;
  };
  links.poll_status = [fetcher]() -> absl::StatusOr<zarc::v1::SyncStatus> {
    grpc::ServerContext ctx;
    zarc::v1::GetSyncStatusRequest req;
    zarc::v1::SyncStatus resp;
    grpc::Status s = fetcher->GetSyncStatus(&ctx, &req, &resp);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return resp;
  };
  links.health = [&converter_app, &mapper_app]() -> absl::Status {
    for (absl::Status s : {converter_app.health(), mapper_app.health()}) {
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };
  importer_app.LinkConsole(std::move(links));
}

}  // namespace

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() { Stop(); }

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Start(RunConfig config,
                                                          prometheus::Registry* metrics) {
  auto impl = std::make_unique<Impl>();
  PlaceUnderDataDir(config);
  impl->bootstrap = config.fetcher.kafka.bootstrap_servers;
  const bool embedded = impl->bootstrap.empty();
  if (embedded) {
    absl::StatusOr<std::unique_ptr<kafka::EmbeddedCluster>> cluster =
        kafka::EmbeddedCluster::Start(1, kafka::DefaultTopics());
    if (!cluster.ok()) return cluster.status();
    impl->cluster = *std::move(cluster);
    impl->bootstrap = impl->cluster->bootstrap_servers();
    log::Info("zarc", "embedded Kafka cluster started", {{"bootstrap", impl->bootstrap}});
  }
  for (kafka::KafkaConfig* k : {&config.fetcher.kafka, &config.converter.kafka,
                                &config.mapper.kafka, &config.importer.kafka}) {
    k->bootstrap_servers = impl->bootstrap;
  }
  // The embedded broker starts empty: what was in flight at the last stop is gone, so the
  // reconciler's first round drives every unsettled version at once, and the status log comes
  // back from the ledger.
  config.fetcher.broker_forgets_on_restart = embedded;
  impl->config = config;

  auto importer_app = importer::ImporterApp::Create(config.importer, metrics);
  if (!importer_app.ok()) return importer_app.status();
  impl->importer = *std::move(importer_app);
  auto mapper_app = mapper::MapperApp::Create(config.mapper, metrics);
  if (!mapper_app.ok()) return mapper_app.status();
  impl->mapper = *std::move(mapper_app);
  auto converter_app = converter::ConverterApp::Create(config.converter, metrics);
  if (!converter_app.ok()) return converter_app.status();
  impl->converter = *std::move(converter_app);
  auto fetcher_app = fetcher::FetcherApp::Create(config.fetcher, metrics);
  if (!fetcher_app.ok()) return fetcher_app.status();
  impl->fetcher = *std::move(fetcher_app);

  LinkConsole(*impl->fetcher, *impl->converter, *impl->mapper, *impl->importer);

  if (embedded) {
    absl::StatusOr<int64_t> restored = impl->importer->RestoreImportLog();
    if (!restored.ok()) return restored.status();
  }

  std::unique_ptr<Pipeline> pipeline(new Pipeline(std::move(impl)));
  for (auto start : {std::function<absl::Status()>([&] { return pipeline->impl_->importer->Start(); }),
                     std::function<absl::Status()>([&] { return pipeline->impl_->mapper->Start(); }),
                     std::function<absl::Status()>([&] { return pipeline->impl_->converter->Start(); }),
                     std::function<absl::Status()>([&] { return pipeline->impl_->fetcher->Start(); })}) {
    if (absl::Status s = start(); !s.ok()) return s;
  }
  return pipeline;
}

std::vector<grpc::Service*> Pipeline::services() {
  return {impl_->fetcher->control_service(), impl_->mapper->control_service(),
          impl_->importer->control_service()};
}
fetcher::FetcherApp& Pipeline::fetcher() { return *impl_->fetcher; }
importer::ImporterApp& Pipeline::importer() { return *impl_->importer; }
const std::string& Pipeline::bootstrap_servers() const { return impl_->bootstrap; }
const RunConfig& Pipeline::config() const { return impl_->config; }

absl::Status Pipeline::health() {
  if (impl_ == nullptr || !impl_->converter || !impl_->mapper || !impl_->importer) {
    return absl::UnavailableError("the pipeline is stopped");
  }
  for (absl::Status s :
       {impl_->converter->health(), impl_->mapper->health(), impl_->importer->health()}) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void Pipeline::Stop() {
  if (impl_ == nullptr) return;
  // The console reaches into the fetcher and the mapper: it goes first.
  if (impl_->importer) impl_->importer->StopConsole();
  // Producers first, so nothing new enters a stage that has already stopped.
  if (impl_->fetcher) impl_->fetcher->Stop();
  if (impl_->converter) impl_->converter->Stop();
  if (impl_->mapper) impl_->mapper->Stop();
  if (impl_->importer) impl_->importer->Stop();
  impl_->fetcher.reset();
  impl_->converter.reset();
  impl_->mapper.reset();
  impl_->importer.reset();
  impl_->cluster.reset();
}

}  // namespace zarc::cli

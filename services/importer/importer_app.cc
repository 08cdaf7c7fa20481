#include "services/importer/importer_app.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "runtime/kafka/producer.h"
#include "runtime/kafka/stage_worker.h"
#include "runtime/kafka/topic_reader.h"
#include "runtime/kafka/topics.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/verify_reports.h"
#include "runtime/log/log.h"
#include "runtime/build_info/build_info.h"
#include "runtime/service/grpc_security.h"
#include "services/importer/console/console_figures.h"
#include "services/importer/console/console_server.h"
#include "services/importer/eml_target.h"
#include "services/importer/graph_target.h"
#include "services/importer/imap_target.h"
#include "zarc/v1/control.grpc.pb.h"

namespace zarc::importer {
namespace {

class ControlService final : public zarc::v1::ImporterControl::Service {
 public:
  ControlService(const kafka::KafkaConfig& kafka, blob::BlobStore& state)
      : kafka_(kafka), state_(state) {}

  grpc::Status GetImportStatus(grpc::ServerContext*, const zarc::v1::GetImportStatusRequest* request,
                               zarc::v1::GetImportStatusResponse* response) override {
    for (const auto& [day, what] : {std::pair{request->from_day(), "from_day"},
                                    std::pair{request->to_day(), "to_day"}}) {
      if (absl::Status s = ValidateDay(day, what); !s.ok()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(s.message()));
      }
    }
    // The status log of record is the whole zarc.import-log topic (the mapper's results for items
    // that reached no mailbox and other replicas' results are there too) and the parked dead
    // letters. This replica's own results are not the status log: a topic that cannot be read
    // whole is an error, never a silently partial answer.
    absl::StatusOr<StatusReport> full =
        ReadStatusReport(kafka_, request->from_day(), request->to_day(), absl::Seconds(20));
    if (!full.ok()) {
      log::Warn("importer", "GetImportStatus cannot read the status log", {{"error", full.status()}});
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("cannot read the whole status log (zarc.import-log and "
                                       "zarc.dead-letter) from Kafka, so no figures are given: ",
                                       full.status().message()));
    }
    ToProto(*full, response, request->with_artifacts());
    // The newest completeness check, which the fetcher keeps in the staging store.
    absl::StatusOr<zarc::v1::VerifyReport> completeness = ledger::LatestVerifyReport(state_);
    if (completeness.ok()) {
      *response->mutable_completeness() = *std::move(completeness);
    } else if (!absl::IsNotFound(completeness.status())) {
      log::Warn("importer", "cannot read the newest completeness report", {{"error", completeness.status()}});
    }
    return grpc::Status::OK;
  }

 private:
  const kafka::KafkaConfig kafka_;
  blob::BlobStore& state_;
};

ImapTls ParseTls(const std::string& s) {
  if (s == "none") return ImapTls::kNone;
  if (s == "starttls") return ImapTls::kStartTls;
  return ImapTls::kImplicit;
}


// gRPC to a mapper or fetcher in another process, for the console's forms, secured by this
// process's grpc.* options.
template <typename Service>
absl::StatusOr<std::shared_ptr<typename Service::Stub>> Connect(
    const service::GrpcSecurity& security, const std::string& address) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = service::MakeChannel(security, address);
  if (!channel.ok()) return channel.status();
  return std::shared_ptr<typename Service::Stub>(Service::NewStub(*channel).release());
}

template <typename Call>
absl::Status CallWithDeadline(const std::string& what, const std::string& address, Call call) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Status s = call(&ctx);
  if (s.ok()) return absl::OkStatus();
  // The code carries over (NOT_FOUND: no scheduled poll yet), the words say where it came from.
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("the ", what, " at ", address, " answered ", s.error_message(),
                                   " (console.", what, "_address)"));
}

std::string When(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0) return "none yet";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

}  // namespace

struct ImporterApp::Impl {
  ImporterConfig config;
  prometheus::Registry* metrics = nullptr;
  std::unique_ptr<blob::BlobStore> messages;
  std::unique_ptr<blob::BlobStore> archive_store;
  std::unique_ptr<blob::BlobStore> eml_store;
  std::unique_ptr<Archive> archive;
  std::unique_ptr<MailboxTarget> target;
  std::unique_ptr<Importer> importer;
  StatusLog status_log;
  std::unique_ptr<ControlService> control;
  std::unique_ptr<kafka::StageWorker> worker;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<kafka::StageWorker> ledger_worker;
  ImporterApp::ConsoleLinks console_links;
  std::unique_ptr<console::ConsoleServer> console;
};

ImporterApp::ImporterApp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImporterApp::~ImporterApp() { Stop(); }

absl::StatusOr<std::unique_ptr<ImporterApp>> ImporterApp::Create(const ImporterConfig& config,
                                                                 prometheus::Registry* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->metrics = metrics;
  absl::StatusOr<std::unique_ptr<blob::BlobStore>> messages = blob::OpenBlobStore(config.messages);
  if (!messages.ok()) return messages.status();
  impl->messages = *std::move(messages);
  absl::StatusOr<std::unique_ptr<blob::BlobStore>> archive = blob::OpenBlobStore(config.archive);
  if (!archive.ok()) return archive.status();
  impl->archive_store = *std::move(archive);
  impl->archive = std::make_unique<Archive>(*impl->archive_store, *impl->messages);

  if (config.target == "none") {
    impl->target = NewNoneTarget();
  } else if (config.target == "eml") {
    absl::StatusOr<std::unique_ptr<blob::BlobStore>> eml =
        blob::OpenBlobStore(blob::BlobStoreConfig{.url = "file://" + config.eml_root});
    if (!eml.ok()) return eml.status();
    impl->eml_store = *std::move(eml);
    impl->target = std::make_unique<EmlTarget>(*impl->eml_store);
  } else if (config.target == "imap") {
    impl->target = std::make_unique<ImapTarget>(ImapTargetOptions{
        .server = {.host = config.imap_host,
                   .port = static_cast<int>(config.imap_port),
                   .tls = ParseTls(config.imap_tls),
                   .ca_file = config.imap_ca_file,
                   .timeout = config.imap_timeout,
                   .proxy = config.imap_proxy},
        .auth = config.imap_auth,
        .master_user = config.imap_master_user,
        .master_separator = config.imap_master_separator,
        .password = config.imap_password,
        .password_dir = config.imap_password_dir,
        .token_file = config.imap_token_file,
        .oauth = config.imap_auth == "xoauth2" && config.imap_token_file.empty()
                     ? std::optional<entra::Credentials>(entra::CredentialsOf(config.graph))
                     : std::nullopt,
        .oauth_scope = config.imap_oauth_scope,
        .oauth_ca_file = config.graph.ca_file,
        .max_idle_connections = static_cast<int>(config.imap_max_idle_connections),
        .idle_timeout = config.imap_idle_timeout});
  } else if (config.target == "graph") {
    GraphTargetOptions options;
    options.credentials = mapper::CredentialsFrom(config.graph);
    options.ca_file = config.graph.ca_file;
    options.patience = config.graph.patience;
    options.received = config.graph_received;
    impl->target = GraphTarget::Create(std::move(options));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("importer.target = \"", config.target,
                                                   "\" is not one of none, eml, imap, graph"));
  }
  impl->importer = std::make_unique<Importer>(*impl->archive, *impl->target, metrics);
  // The ledger sits beside the fetcher's version records in the staging store, where the
  // fetcher's reconciler reads it.
  impl->ledger = std::make_unique<ledger::Ledger>(*impl->messages);
  impl->control = std::make_unique<ControlService>(config.kafka, *impl->messages);
  return std::unique_ptr<ImporterApp>(new ImporterApp(std::move(impl)));
}

grpc::Service* ImporterApp::control_service() { return impl_->control.get(); }
Archive& ImporterApp::archive() { return *impl_->archive; }
StatusLog& ImporterApp::status_log() { return impl_->status_log; }

absl::StatusOr<std::vector<kafka::OutgoingRecord>> ImporterApp::Handle(const kafka::Record& record) {
  zarc::v1::MailboxDelivery delivery;
  if (!delivery.ParseFromString(record.value)) {
    return absl::InvalidArgumentError(absl::StrCat("record ", record.topic, "/", record.partition,
                                                   "@", record.offset,
                                                   " is not a zarc.v1.MailboxDelivery"));
  }
  absl::StatusOr<zarc::v1::ImportResult> result = impl_->importer->Import(delivery);
  if (!result.ok()) return result.status();
  impl_->status_log.Add(*result);
  return std::vector<kafka::OutgoingRecord>{
      {.topic = std::string(kafka::kImportLogTopic),
       .key = result->item_id(),
       .value = result->SerializeAsString(),
       .headers = {{"zarc-event", "zarc.v1.ImportResult"}}}};
}

absl::StatusOr<std::vector<kafka::OutgoingRecord>> ImporterApp::HandleResult(
    const kafka::Record& record) {
  zarc::v1::ImportResult result;
  if (!result.ParseFromString(record.value)) {
    return absl::InvalidArgumentError(absl::StrCat("record ", record.topic, "/", record.partition,
                                                   "@", record.offset,
                                                   " is not a zarc.v1.ImportResult"));
  }
  if (absl::Status s = impl_->ledger->Record(result); !s.ok()) {
    if (absl::IsInvalidArgument(s)) return s;
    return absl::UnavailableError(absl::StrCat("keeping the result of ", result.item_id(),
                                               " in the ledger: ", s.message()));
  }
  return std::vector<kafka::OutgoingRecord>{};
}

absl::StatusOr<int64_t> ImporterApp::RestoreImportLog() {
  const ImporterConfig& c = impl_->config;
  absl::StatusOr<std::vector<zarc::v1::ImportResult>> results = impl_->ledger->All();
  if (!results.ok()) return results.status();
  if (results->empty()) return 0;
  absl::StatusOr<std::unique_ptr<kafka::Producer>> producer = kafka::Producer::Create(c.kafka);
  if (!producer.ok()) return producer.status();
  constexpr size_t kBatch = 5000;
  for (size_t i = 0; i < results->size(); i += kBatch) {
    std::vector<kafka::OutgoingRecord> batch;
    for (size_t j = i; j < std::min(results->size(), i + kBatch); ++j) {
      const zarc::v1::ImportResult& r = (*results)[j];
      batch.push_back({.topic = std::string(kafka::kImportLogTopic),
                       .key = r.item_id(),
                       .value = r.SerializeAsString(),
                       .headers = {{"zarc-event", "zarc.v1.ImportResult"}}});
    }
    if (absl::Status s = (*producer)->ProduceAndWait(batch, absl::Seconds(60)); !s.ok()) return s;
  }
  log::Info("importer", "status log restored from the ledger", {{"results", results->size()}});
  return static_cast<int64_t>(results->size());
}

absl::Status ImporterApp::Start() {
  const ImporterConfig& c = impl_->config;
  if (c.kafka.bootstrap_servers.empty()) {
    return absl::InvalidArgumentError("kafka.brokers is required for the importer service");
  }
  if (c.read_log_at_start) {
    if (absl::Status s = ReadImportLog(c.kafka, absl::Seconds(30), &impl_->status_log); !s.ok()) {
      log::Warn("importer", "could not read the import log at start", {{"error", s}});
    }
  }
  kafka::StageRunnerOptions options;
  options.stage = "importer";
  options.group_id = "zarc-importer";
  options.input_topics = {std::string(kafka::kDeliveriesTopic)};
  options.max_backoff = c.retry_max_backoff;
  kafka::ApplyStageSettings(c.stage, options);
  options.metrics = impl_->metrics;
  absl::StatusOr<std::unique_ptr<kafka::StageWorker>> worker = kafka::StageWorker::Start(
      c.kafka, std::move(options), [this](const kafka::Record& r) { return Handle(r); });
  if (!worker.ok()) return worker.status();
  impl_->worker = *std::move(worker);

  // Every result, the mapper's included, is kept in the ledger: the truth the reconciler checks
  // captured versions against, and what restores the status log where the broker forgets.
  kafka::StageRunnerOptions ledger_options;
  ledger_options.stage = "ledger";
  ledger_options.group_id = "zarc-ledger";
  ledger_options.input_topics = {std::string(kafka::kImportLogTopic)};
  ledger_options.max_backoff = c.retry_max_backoff;
  kafka::ApplyStageSettings(c.stage, ledger_options);
  ledger_options.metrics = impl_->metrics;
  absl::StatusOr<std::unique_ptr<kafka::StageWorker>> ledger_worker = kafka::StageWorker::Start(
      c.kafka, std::move(ledger_options), [this](const kafka::Record& r) { return HandleResult(r); });
  if (!ledger_worker.ok()) return ledger_worker.status();
  impl_->ledger_worker = *std::move(ledger_worker);
  log::Info("importer", "consuming deliveries", {{"target", impl_->target->name()}});
  if (c.console.enabled) return StartConsole();
  return absl::OkStatus();
}

void ImporterApp::LinkConsole(ConsoleLinks links) { impl_->console_links = std::move(links); }

void ImporterApp::StopConsole() {
  if (impl_ != nullptr && impl_->console) impl_->console->Stop();
}

int ImporterApp::console_port() const { return impl_->console ? impl_->console->port() : 0; }

absl::Status ImporterApp::StartConsole() {
  const console::ConsoleConfig& cc = impl_->config.console;
  ConsoleLinks links = impl_->console_links;
  if (!links.resolve && !cc.mapper_address.empty()) {
    auto connected = Connect<zarc::v1::MapperControl>(impl_->config.host.security, cc.mapper_address);
    if (!connected.ok()) return connected.status();
    auto stub = *std::move(connected);
    links.resolve = [stub, address = cc.mapper_address](const zarc::v1::ResolveRequest& req)
        -> absl::StatusOr<zarc::v1::ResolveResponse> {
      zarc::v1::ResolveResponse resp;
      absl::Status s = CallWithDeadline("mapper", address, [&](grpc::ClientContext* ctx) {
        return stub->Resolve(ctx, req, &resp);
      });
      if (!s.ok()) return s;
      return resp;
    };
  }
  if (!links.sync && !cc.fetcher_address.empty()) {
    auto connected = Connect<zarc::v1::FetcherControl>(impl_->config.host.security, cc.fetcher_address);
    if (!connected.ok()) return connected.status();
    auto stub = *std::move(connected);
    links.sync = [stub, address = cc.fetcher_address](const zarc::v1::SyncRequest& req)
        -> absl::StatusOr<zarc::v1::SyncResponse> {
      zarc::v1::SyncResponse resp;
      absl::Status s = CallWithDeadline("fetcher", address, [&](grpc::ClientContext* ctx) {
        return stub->Sync(ctx, req, &resp);
      });
      if (!s.ok()) return s;
      return resp;
    };
    links.poll_status = [stub, address = cc.fetcher_address]() -> absl::StatusOr<zarc::v1::SyncStatus> {
      zarc::v1::GetSyncStatusRequest req;
      zarc::v1::SyncStatus resp;
      absl::Status s = CallWithDeadline("fetcher", address, [&](grpc::ClientContext* ctx) {
        return stub->GetSyncStatus(ctx, req, &resp);
      });
      if (!s.ok()) return s;
      return resp;
    };
  }
  console::ConsoleSources sources;
  sources.resolve = links.resolve;
  sources.sync = links.sync;
  sources.load_log = [this](StatusLog* log) -> absl::Status {
    // The figures of record are the whole topic's, as zarc log shows them; this replica's own
    // results are the fallback when the broker cannot be read.
    absl::Status s = ReadImportLog(impl_->config.kafka, absl::Seconds(20), log);
    if (!s.ok()) log::Warn("console", "cannot read the status log", {{"error", s}});
    return s;  // the console says so (503) instead of showing this replica's results as the log
  };
  sources.completeness = [this] { return ledger::LatestVerifyReport(*impl_->messages); };
  sources.status = [this, links]() {
    console::ConnectorStatus st;
    st.process = links.process;
    const BuildInfo& b = GetBuildInfo();
    st.version = absl::StrCat("zarc ", b.version, ", commit ", b.git_sha.substr(0, 12), ", ", b.date);
    absl::Status stage = health();
    st.rows.push_back({"Importer stage", stage.ok() ? "running" : absl::StrCat("stopped: ", stage.message())});
    if (!stage.ok()) st.errors.push_back(absl::StrCat("the importer stage stopped: ", stage.message()));
    if (links.health) {
      absl::Status whole = links.health();
      st.rows.push_back({"Other stages of this process", whole.ok() ? "running" : absl::StrCat("not serving: ", whole.message())});
      if (!whole.ok()) st.errors.push_back(std::string(whole.message()));
    }
    st.rows.push_back({"Delivery target", impl_->target->name()});
    const std::vector<zarc::v1::ImportResult> seen = impl_->status_log.Results();
    google::protobuf::Timestamp newest;
    for (const auto& r : seen) {
      if (r.completed_at().seconds() > newest.seconds()) newest = r.completed_at();
    }
    st.rows.push_back({"Results seen by this importer", absl::StrCat(seen.size())});
    st.rows.push_back({"Newest result", When(newest)});
    std::string last_webhook = "unknown (the fetcher runs in another process; set console.fetcher_address)";
    if (links.poll_status) {
      absl::StatusOr<zarc::v1::SyncStatus> poll = links.poll_status();
      if (poll.ok()) last_webhook = console::LastWebhook(*poll, absl::Now());
      if (poll.ok() && poll->state() == zarc::v1::SyncStatus::STATE_UNSPECIFIED) {
        st.rows.push_back({"Scheduled poll", "none has run (polling is off, or the first poll has "
                                             "not started yet)"});
      } else if (poll.ok()) {
        static const char* kStates[] = {"not started", "running", "done", "failed"};
        st.rows.push_back({"Scheduled poll", absl::StrCat(kStates[poll->state() & 3], ", ",
                                                          poll->meetings_captured(), " of ",
                                                          poll->meetings_found(), " meetings captured, ",
                                                          poll->meetings_failed(), " failed")});
        st.rows.push_back({"Last completed poll window ends", When(poll->last_completed_window_end())});
        if (!poll->error().empty()) st.errors.push_back(absl::StrCat("scheduled poll: ", poll->error()));
      } else if (absl::IsNotFound(poll.status())) {
        st.rows.push_back({"Scheduled poll", "none has run (polling is off, or the first poll has "
                                             "not started yet)"});
      } else {
        st.rows.push_back({"Scheduled poll", absl::StrCat("unknown: ", poll.status().message())});
        st.errors.push_back(std::string(poll.status().message()));
        last_webhook = absl::StrCat("unknown: ", poll.status().message());
      }
    } else {
      st.rows.push_back({"Scheduled poll", "unknown (the fetcher runs in another process; set "
                                           "console.fetcher_address)"});
    }
    st.rows.push_back({"Last webhook", last_webhook});
    st.rows.push_back({"Lag per stage", console::LagPerStage(impl_->config.kafka, absl::Seconds(5), &st.errors)});
    return st;
  };
  absl::StatusOr<std::unique_ptr<console::ConsoleServer>> server =
      console::ConsoleServer::Start(cc, std::move(sources));
  if (!server.ok()) return server.status();
  impl_->console = *std::move(server);
  return absl::OkStatus();
}

void ImporterApp::Stop() {
  if (impl_ == nullptr) return;
  if (impl_->console) impl_->console->Stop();
  if (impl_->worker) impl_->worker->Stop();
  if (impl_->ledger_worker) impl_->ledger_worker->Stop();
}

absl::Status ImporterApp::health() {
  if (impl_ == nullptr || impl_->worker == nullptr) {
    return absl::UnavailableError("the stage has not started");
  }
  return impl_->worker->health();
}

}  // namespace zarc::importer

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/kafka/record.h"
#include "services/importer/importer.h"
#include "services/importer/importer_config.h"
#include "services/importer/status_log.h"
#include "zarc/v1/control.pb.h"

namespace grpc {
class Service;
}
namespace prometheus {
class Registry;
}

namespace zarc::importer {

// The importer service wired from its configuration: the messages and archive stores, the
// mailbox target, the stage on zarc.deliveries (group zarc-importer) producing one ImportResult
// per delivery to zarc.import-log, the ledger kept from zarc.import-log (group zarc-ledger), and
// ImporterControl.GetImportStatus. The same object runs as
// its own process (zarc-importer) and inside the one-binary mode.
class ImporterApp {
 public:
  // The other stages of this process, for the console (zarc run): its mapping lookup, its
  // backfill form and the scheduled poll's progress. Without them the console reaches a mapper
  // and a fetcher at console.mapper_address and console.fetcher_address, where set.
  struct ConsoleLinks {
    std::string process = "zarc-importer";
    std::function<absl::StatusOr<zarc::v1::ResolveResponse>(const zarc::v1::ResolveRequest&)>
        resolve;
    std::function<absl::StatusOr<zarc::v1::SyncResponse>(const zarc::v1::SyncRequest&)> sync;
    std::function<absl::StatusOr<zarc::v1::SyncStatus>()> poll_status;
    std::function<absl::Status()> health;  // the whole process's, if more than this stage
  };

  static absl::StatusOr<std::unique_ptr<ImporterApp>> Create(const ImporterConfig& config,
                                                             prometheus::Registry* metrics);
  ~ImporterApp();

  grpc::Service* control_service();
  // Reads the import log (importer.read_log_at_start) and starts consuming deliveries.
  absl::Status Start();
  void Stop();
  // OK while the stage runs; why not once its runner stopped (grpc.health.v1 goes NOT_SERVING).
  absl::Status health();

  // The stage handler: one zarc.deliveries record in, its ImportResult record out (or a
  // transient error). Public for tests without a broker.
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> Handle(const kafka::Record& record);
  // The ledger's handler: one zarc.import-log record in, kept in the ledger, nothing out.
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> HandleResult(const kafka::Record& record);
  // Publishes every result of the ledger to zarc.import-log again, for a broker that forgot them
  // (the one-machine mode's embedded Kafka after a restart). Call before Start(). Returns how
  // many results were published.
  absl::StatusOr<int64_t> RestoreImportLog();
  // Call before Start(); the console (console.enabled) starts with the stage.
  void LinkConsole(ConsoleLinks links);
  // Stops the console first, before what its links reach goes away; Stop() does it too.
  void StopConsole();
  // The console's port once started, 0 when it is off.
  int console_port() const;
  Archive& archive();
  StatusLog& status_log();

 private:
  absl::Status StartConsole();
  struct Impl;
  explicit ImporterApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zarc::importer

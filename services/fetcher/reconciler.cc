#include "services/fetcher/reconciler.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "absl/time/clock.h"
#include "runtime/log/log.h"

namespace zarc::fetcher {

struct Reconciler::Metrics {
  prometheus::Counter* republished = nullptr;
  prometheus::Gauge* unsettled = nullptr;
  prometheus::Gauge* last_round = nullptr;
};

Reconciler::Reconciler(VersionStore& versions, ledger::Ledger& ledger, MeetingPublisher publish,
                       Options options, prometheus::Registry* registry)
    : versions_(versions),
      ledger_(ledger),
      publish_(std::move(publish)),
      options_(options),
      metrics_(std::make_unique<Metrics>()) {
  if (registry == nullptr) return;
  metrics_->republished = &prometheus::BuildCounter()
                               .Name("zarc_reconciler_republished_total")
                               .Help("Captured versions published again because their deliveries "
                                     "were not all settled")
                               .Register(*registry)
                               .Add({});
  metrics_->unsettled = &prometheus::BuildGauge()
                             .Name("zarc_reconciler_unsettled_versions")
                             .Help("Captured versions with deliveries not yet settled, at the "
                                   "last reconciliation")
                             .Register(*registry)
                             .Add({});
  metrics_->last_round = &prometheus::BuildGauge()
                              .Name("zarc_reconciler_last_round_timestamp_seconds")
                              .Help("When the last reconciliation round finished")
                              .Register(*registry)
                              .Add({});
}

Reconciler::~Reconciler() { Stop(); }

absl::StatusOr<ReconcileReport> Reconciler::RunOnce(absl::Duration min_age) {
  absl::MutexLock run(&run_mutex_);
  absl::StatusOr<std::vector<std::string>> names = versions_.ListRecords();
  if (!names.ok()) return names.status();
  ReconcileReport report;
  const absl::Time now = absl::Now();
  for (const std::string& name : *names) {
    if (settled_.count(name) != 0) {
      ++report.versions;
      ++report.settled;
      continue;
    }
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) break;
    }
    ++report.versions;
    absl::StatusOr<zarc::v1::MeetingCaptured> event = versions_.ReadRecord(name);
    if (!event.ok()) {
      ++report.failed;
      log::Error("reconciler", "version record unreadable", {{"record", name}, {"error", event.status()}});
      continue;
    }
    const std::string item =
        ledger::ItemId(event->meeting().account_id(), event->meeting().uuid(), event->version());
    absl::StatusOr<std::vector<zarc::v1::ImportResult>> results = ledger_.ForItem(item);
    if (!results.ok()) {
      ++report.failed;
      log::Warn("reconciler", "cannot read the ledger", {{"item", item}, {"error", results.status()}});
      continue;
    }
    if (ledger::Settles(*results)) {
      settled_.insert(name);
      ++report.settled;
      continue;
    }
    const absl::Time captured = absl::FromUnixSeconds(event->captured_at().seconds());
    if (now - captured < min_age) {
      ++report.in_flight;
      continue;
    }
    if (absl::Status s = publish_(*event); !s.ok()) {
      ++report.failed;
      log::Warn("reconciler", "cannot publish an unsettled version again; next round",
                {{"item", item}, {"error", s}});
      continue;
    }
    ++report.republished;
    if (metrics_->republished) metrics_->republished->Increment();
    log::Info("reconciler", "unsettled version published again",
              {{"item", item}, {"settled_mailboxes", results->size()}});
  }
  if (metrics_->unsettled) {
    metrics_->unsettled->Set(static_cast<double>(report.versions - report.settled));
    metrics_->last_round->Set(static_cast<double>(absl::ToUnixSeconds(absl::Now())));
  }
  log::Info("reconciler", "round finished",
            {{"versions", report.versions}, {"settled", report.settled},
             {"in_flight", report.in_flight}, {"republished", report.republished},
             {"failed", report.failed}});
  return report;
}

void Reconciler::Loop() {
  absl::Duration min_age = options_.first_round_min_age;
  while (true) {
    if (absl::StatusOr<ReconcileReport> r = RunOnce(min_age); !r.ok()) {
      log::Error("reconciler", "round failed; next round", {{"error", r.status()}});
    }
    min_age = options_.min_age;
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval);
    if (stopping_) return;
  }
}

void Reconciler::Start() {
  if (options_.interval <= absl::ZeroDuration() || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace zarc::fetcher

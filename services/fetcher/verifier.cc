#include "services/fetcher/verifier.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "runtime/ledger/verify_reports.h"
#include "runtime/log/log.h"
#include "services/fetcher/meeting_assembly.h"

namespace zarc::fetcher {
namespace {

bool Delivered(zarc::v1::ImportOutcome o) {
  return o == zarc::v1::IMPORT_OUTCOME_IMPORTED || o == zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED;
}

const char* kStates[] = {"at_zoom", "captured", "fully_delivered", "partially_delivered",
                         "not_delivered", "not_captured", "missing"};

}  // namespace

struct Verifier::Metrics {
  prometheus::Family<prometheus::Gauge>* meetings = nullptr;
  prometheus::Gauge* last_run = nullptr;
};

Verifier::Verifier(MeetingLister list, MeetingCapture capture, VersionStore& versions,
                   ledger::Ledger& ledger, MeetingPublisher publish, blob::BlobStore& state,
                   prometheus::Registry* registry)
    : list_(std::move(list)),
      capture_(std::move(capture)),
      versions_(versions),
      ledger_(ledger),
      publish_(std::move(publish)),
      state_(state),
      metrics_(std::make_unique<Metrics>()) {
  if (registry == nullptr) return;
  metrics_->meetings = &prometheus::BuildGauge()
                            .Name("zarc_verify_meetings")
                            .Help("Meetings of the last completeness check (zarc verify), by state")
                            .Register(*registry);
  for (const char* s : kStates) metrics_->meetings->Add({{"state", s}});
  metrics_->last_run = &prometheus::BuildGauge()
                            .Name("zarc_verify_last_run_timestamp_seconds")
                            .Help("When the last completeness check finished")
                            .Register(*registry)
                            .Add({});
}

Verifier::~Verifier() { Stop(); }

void Verifier::StartSchedule(absl::Duration interval, absl::Duration lookback, absl::Duration settle) {
  if (interval <= absl::ZeroDuration() || thread_.joinable()) return;
  thread_ = std::thread([this, interval, lookback, settle] {
    while (true) {
      {
        absl::MutexLock lock(&mutex_);
        mutex_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
        if (stopping_) return;
      }
      const absl::Time now = absl::Now();
      absl::StatusOr<zarc::v1::VerifyReport> r = Run(now - lookback, now - settle, false);
      if (!r.ok()) {
        log::Error("verify", "scheduled completeness check failed", {{"error", r.status()}});
      } else if (r->missing() > 0 || r->listing_errors_size() > 0) {
        log::Warn("verify", "scheduled completeness check found gaps and drove them again",
                  {{"missing", r->missing()}, {"listing_errors", r->listing_errors_size()}});
      }
    }
  });
}

void Verifier::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<zarc::v1::VerifyReport> Verifier::Run(absl::Time from, absl::Time to, bool report_only) {
  absl::MutexLock run(&run_mutex_);
  zarc::v1::VerifyReport report;
  *report.mutable_from() = ToProto(from);
  *report.mutable_to() = ToProto(to);
  report.set_report_only(report_only);
  absl::StatusOr<ZoomListing> listed = list_(from, to);
  if (!listed.ok()) return listed.status();
  for (std::string& e : listed->errors) report.add_listing_errors(std::move(e));

  for (const ZoomMeeting& m : listed->meetings) {
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return absl::CancelledError("the completeness check was stopped");
    }
    report.set_meetings_at_zoom(report.meetings_at_zoom() + 1);
    zarc::v1::VerifyGap gap;
    gap.set_meeting_uuid(m.uuid);
    gap.set_topic(m.topic);
    gap.set_host_email(m.host_email);
    *gap.mutable_start_time() = ToProto(m.start_time);

    absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> versions = versions_.AllVersions(m.uuid);
    if (!versions.ok()) return versions.status();
    if (versions->empty()) {
      gap.set_state(zarc::v1::VerifyGap::STATE_NOT_CAPTURED);
      bool ready = true;
      for (const ZoomFile& f : m.files) ready &= f.Ready();
      gap.add_reasons(ready ? "zarc holds no version of this meeting"
                            : "zarc holds no version of this meeting; Zoom is still processing a file");
      if (!report_only) {
        absl::StatusOr<CaptureOutcome> outcome = capture_(m);
        gap.set_driven(outcome.ok() ? absl::StrCat("capture: ", OutcomeName(*outcome))
                                    : absl::StrCat("capture failed: ", outcome.status().message()));
      }
      report.set_not_captured(report.not_captured() + 1);
      report.set_missing(report.missing() + 1);
      *report.add_gaps() = std::move(gap);
      continue;
    }
    report.set_captured(report.captured() + 1);
    gap.set_version(versions->back().version());

    // Every version is an item of its own: each must be settled in every mailbox it fanned out to.
    bool unsettled = false, failed = false, file_missing = false;
    std::vector<const zarc::v1::MeetingCaptured*> to_drive;
    for (const zarc::v1::MeetingCaptured& v : *versions) {
      const std::string item = ledger::ItemId(v.meeting().account_id(), v.meeting().uuid(), v.version());
      absl::StatusOr<std::vector<zarc::v1::ImportResult>> results = ledger_.ForItem(item);
      if (!results.ok()) return results.status();
      std::set<std::string> mailboxes;
      int fanout = 0;
      for (const zarc::v1::ImportResult& r : *results) {
        fanout = std::max(fanout, r.fanout());
        if (!r.mailbox().empty()) mailboxes.insert(r.mailbox());
        if (!Delivered(r.outcome()) && r.outcome() != zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE) {
          failed = true;
          gap.add_reasons(absl::StrCat("v", v.version(), " ", r.mailbox().empty() ? "(no mailbox)" : r.mailbox(),
                                       ": failed: ", r.reason()));
        }
      }
      if (&v == &versions->back()) {
        gap.set_mailboxes(fanout);
        gap.set_mailboxes_settled(static_cast<int32_t>(mailboxes.size()));
      }
      if (!ledger::Settles(*results)) {
        unsettled = true;
        to_drive.push_back(&v);
        gap.add_reasons(absl::StrCat("v", v.version(), ": ", results->size(), " of ",
                                     fanout > 0 ? absl::StrCat(fanout) : std::string("its"),
                                     " deliveries have a result"));
      }
    }
    for (const std::string& p : versions->back().problems()) {
      file_missing = true;
      gap.add_reasons(p);
    }
    if (!unsettled && !failed && !file_missing) {
      report.set_fully_delivered(report.fully_delivered() + 1);
      continue;
    }
    if (unsettled || failed) {
      gap.set_state(zarc::v1::VerifyGap::STATE_NOT_DELIVERED);
      report.set_not_delivered(report.not_delivered() + 1);
    } else {
      gap.set_state(zarc::v1::VerifyGap::STATE_PARTIALLY_DELIVERED);
      report.set_partially_delivered(report.partially_delivered() + 1);
    }
    report.set_missing(report.missing() + 1);
    if (!report_only && !to_drive.empty()) {
      std::string driven;
      for (const zarc::v1::MeetingCaptured* v : to_drive) {
        absl::Status s = publish_(*v);
        absl::StrAppend(&driven, driven.empty() ? "" : "; ", "v", v->version(),
                        s.ok() ? " published again" : absl::StrCat(" not published: ", s.message()));
      }
      gap.set_driven(driven);
    }
    *report.add_gaps() = std::move(gap);
  }
  *report.mutable_ran_at() = ToProto(absl::Now());
  if (metrics_->meetings != nullptr) {
    const int64_t values[] = {report.meetings_at_zoom(), report.captured(), report.fully_delivered(),
                              report.partially_delivered(), report.not_delivered(), report.not_captured(),
                              report.missing()};
    for (size_t i = 0; i < std::size(kStates); ++i) {
      metrics_->meetings->Add({{"state", kStates[i]}}).Set(static_cast<double>(values[i]));
    }
    metrics_->last_run->Set(static_cast<double>(absl::ToUnixSeconds(absl::Now())));
  }
  if (absl::Status s = ledger::KeepVerifyReport(state_, report); !s.ok()) {
    log::Warn("verify", "the report could not be kept in the state store", {{"error", s}});
  }
  log::Info("verify", "completeness check finished",
            {{"at_zoom", report.meetings_at_zoom()}, {"captured", report.captured()},
             {"fully_delivered", report.fully_delivered()},
             {"partially_delivered", report.partially_delivered()},
             {"not_delivered", report.not_delivered()}, {"not_captured", report.not_captured()},
             {"listing_errors", report.listing_errors_size()}});
  return report;
}

}  // namespace zarc::fetcher

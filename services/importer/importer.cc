#include "services/importer/importer.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "runtime/log/log.h"

namespace zarc::importer {
namespace {

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

const char* OutcomeLabel(zarc::v1::ImportOutcome o) {
  switch (o) {
    case zarc::v1::IMPORT_OUTCOME_IMPORTED: return "imported";
    case zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED: return "partially_imported";
    case zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE: return "skipped";
    case zarc::v1::IMPORT_OUTCOME_FAILED: return "failed";
    default: return "unspecified";
  }
}

// Archive and store errors: a missing or corrupt message is this item's permanent problem; the
// rest (a store unreachable, throttled, a disk error) may pass, so the delivery waits for it.
bool IsItemProblem(const absl::Status& s) {
  return absl::IsNotFound(s) || absl::IsDataLoss(s) || absl::IsInvalidArgument(s);
}

absl::Status AsTransient(const absl::Status& s, absl::string_view doing) {
  if (absl::IsUnavailable(s) || absl::IsResourceExhausted(s)) return s;
  return absl::UnavailableError(absl::StrCat(doing, ": ", s.message()));
}

}  // namespace

Importer::Importer(Archive& archive, MailboxTarget& target, prometheus::Registry* metrics,
                   std::function<absl::Time()> clock)
    : archive_(archive), target_(target), clock_(std::move(clock)) {
  if (metrics == nullptr) return;
  deliveries_ = &prometheus::BuildCounter()
                     .Name("zarc_importer_deliveries_total")
                     .Help("Deliveries settled by the importer, by outcome and target")
                     .Register(*metrics);
  bytes_ = &prometheus::BuildCounter()
                .Name("zarc_importer_delivered_bytes_total")
                .Help("Message bytes delivered into mailboxes")
                .Register(*metrics)
                .Add({{"target", target_.name()}});
  latency_ = &prometheus::BuildHistogram()
                  .Name("zarc_importer_delivery_latency_seconds")
                  .Help("From the meeting's end to the item being in the mailbox")
                  .Register(*metrics)
                  .Add({{"target", target_.name()}},
                       prometheus::Histogram::BucketBoundaries{60, 300, 900, 1800, 3600, 7200,
                                                               21600, 43200, 86400, 172800});
}

zarc::v1::ImportResult Importer::BaseResult(const zarc::v1::MailboxDelivery& d) const {
  zarc::v1::ImportResult r;
  r.set_item_id(d.item_id());
  r.set_message_id(d.message_id());
  r.set_mailbox(d.mailbox());
  r.set_source_user(d.source_user());
  r.set_size(d.message().size());
  *r.mutable_meeting_start() = d.meeting().start_time();
  *r.mutable_meeting_end() = d.meeting().end_time();
  r.set_target(target_.name());
  r.set_artifacts_out_of_line(d.artifacts_out_of_line());
  for (const zarc::v1::ArtifactPlacement& a : d.artifacts()) {
    zarc::v1::ItemArtifact* kept = r.add_artifacts();
    kept->set_name(a.file_name());
    kept->set_kind(a.kind());
    kept->set_size(a.blob().size());
    kept->set_sha256(a.blob().sha256());
    kept->set_attached(a.attached());
  }
  *r.mutable_unmapped() = d.unmapped();
  r.set_fanout(d.fanout());
  r.set_stage("importer");
  return r;
}

zarc::v1::ImportResult Importer::Finish(zarc::v1::ImportResult r, absl::Time meeting_end,
                                       bool replay) {
  const absl::Time now = clock_();
  ToProto(now, r.mutable_completed_at());
  if (deliveries_ != nullptr) {
    // A replay delivers nothing this time: the metrics count it as skipped.
    deliveries_->Add({{"outcome", replay ? "skipped" : OutcomeLabel(r.outcome())},
                      {"target", target_.name()}})
        .Increment();
    const bool delivered = !replay && (r.outcome() == zarc::v1::IMPORT_OUTCOME_IMPORTED ||
                                       r.outcome() == zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED);
    if (delivered) {
      bytes_->Increment(static_cast<double>(r.size()));
      if (meeting_end > absl::UnixEpoch()) {
        latency_->Observe(std::max(0.0, absl::ToDoubleSeconds(now - meeting_end)));
      }
    }
  }
  log::Info("importer", "delivery settled",
            {{"item", r.item_id()}, {"mailbox", r.mailbox()}, {"outcome", OutcomeLabel(r.outcome())},
             {"target", r.target()}, {"reason", r.reason()}, {"replay", replay}});
  return r;
}

absl::StatusOr<zarc::v1::ImportResult> Importer::Import(const zarc::v1::MailboxDelivery& d) {
  zarc::v1::ImportResult result = BaseResult(d);
  const absl::Time meeting_end = FromProto(d.meeting().end_time());
  auto failed = [&](absl::string_view reason) {
    result.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
    result.set_reason(std::string(reason));
    return Finish(result, meeting_end);
  };
  if (d.mailbox().empty()) return failed("the delivery names no mailbox");
  if (d.message_id().empty() || d.message().name().empty()) {
    return failed("the delivery has no message (Message-ID or message blob missing)");
  }

  absl::StatusOr<blob::BlobInfo> stored = archive_.StoreMessage(d);
  if (!stored.ok()) {
    if (IsItemProblem(stored.status())) return failed(stored.status().message());
    return AsTransient(stored.status(), "archiving the message");
  }
  // Artifacts too large to attach are archived too (once each), so the archive is complete on its
  // own. One the staging store no longer has is named in the result, not silently skipped.
  std::string missing_artifacts;
  for (const zarc::v1::ArtifactPlacement& a : d.artifacts()) {
    if (a.attached()) continue;
    absl::StatusOr<blob::BlobInfo> kept = archive_.StoreArtifact(a.blob());
    if (kept.ok()) continue;
    if (!IsItemProblem(kept.status())) return AsTransient(kept.status(), "archiving an artifact");
    absl::StrAppend(&missing_artifacts, missing_artifacts.empty() ? "" : "; ", a.file_name(), ": ",
                    kept.status().message());
  }
  absl::StatusOr<std::optional<MailboxRecord>> recorded = archive_.FindRecord(d);
  if (!recorded.ok()) return AsTransient(recorded.status(), "reading the archive record");
  if (recorded->has_value()) {
    // A replay of a delivery already made (a crash before its result was kept, a reconciliation):
    // the result says what happened to this pair, as recorded, so a replay never turns an import
    // into a skip. Only an unrecognised old record is reported as a skipped duplicate.
    const MailboxRecord& r = **recorded;
    result.set_outcome(r.outcome == "partially_imported" ? zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED
                       : r.outcome == "imported"         ? zarc::v1::IMPORT_OUTCOME_IMPORTED
                                                         : zarc::v1::IMPORT_OUTCOME_SKIPPED_DUPLICATE);
    if (r.size > 0) result.set_size(r.size);
    result.set_reason(absl::StrCat("already delivered to this mailbox at ",
                                   absl::FormatTime(absl::RFC3339_sec, r.delivered_at, absl::UTCTimeZone()),
                                   " (archive record ", r.name, ")"));
    return Finish(result, meeting_end, /*replay=*/true);
  }

  const std::string blob_name = stored->name;
  DeliveryRequest request{
      .mailbox = d.mailbox(),
      .mailbox_id = d.mailbox_id(),
      .message_id = d.message_id(),
      .topic = d.meeting().topic(),
      .internal_date = FromProto(d.meeting().start_time()),
      .size = stored->size,
      .open = [this, blob_name] { return archive_.OpenMessage(blob_name); },
  };
  absl::StatusOr<DeliveryOutcome> delivered = target_.Deliver(request);
  if (!delivered.ok()) {
    if (IsTransient(delivered.status())) {
      log::Debug("importer", "mailbox not reachable; the stage runner retries",
                {{"item", d.item_id()}, {"mailbox", d.mailbox()}, {"error", delivered.status()}});
      return delivered.status();
    }
    return failed(delivered.status().message());
  }
  const zarc::v1::ImportOutcome outcome = d.artifacts_out_of_line() > 0 || d.missing_size() > 0
                                              ? zarc::v1::IMPORT_OUTCOME_PARTIALLY_IMPORTED
                                              : zarc::v1::IMPORT_OUTCOME_IMPORTED;
  const absl::Time now = clock_();
  MailboxRecord record{
      .name = Archive::RecordName(d),
      .item_id = d.item_id(),
      .message_id = d.message_id(),
      .mailbox = d.mailbox(),
      .message_blob = blob_name,
      .size = stored->size,
      .sha256 = stored->sha256,
      .outcome = OutcomeLabel(outcome),
      .target = target_.name(),
      .meeting_start = request.internal_date,
      .delivered_at = now,
  };
  if (absl::Status s = archive_.WriteRecord(record); !s.ok()) {
    // The mailbox has the message; the retry finds it there and writes the record then.
    return AsTransient(s, "writing the archive record");
  }
  result.set_outcome(outcome);
  result.set_size(stored->size);
  if (*delivered == DeliveryOutcome::kAlreadyThere) {
    result.set_reason("the mailbox already held this Message-ID from an earlier, interrupted attempt");
  }
  if (d.artifacts_out_of_line() > 0) {
    absl::StrAppend(result.mutable_reason(), result.reason().empty() ? "" : "; ",
                    d.artifacts_out_of_line(),
                    " artifact(s) too large to attach are referenced from the archive");
  }
  for (const zarc::v1::MissingFile& m : d.missing()) {
    absl::StrAppend(result.mutable_reason(), result.reason().empty() ? "" : "; ",
                    m.file_type().empty() ? "a" : m.file_type(), " file ", m.file_id(),
                    " not captured: ", m.reason(),
                    m.final() ? " (given up)" : " (a later version adds it once Zoom has it)");
  }
  if (!missing_artifacts.empty()) {
    absl::StrAppend(result.mutable_reason(), "; not in the archive: ", missing_artifacts);
  }
  return Finish(result, meeting_end);
}

}  // namespace zarc::importer

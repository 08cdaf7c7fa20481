#include "services/mapper/mapper_stage.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/kafka/topics.h"

namespace zarc::mapper {

using zarc::v1::AddressResolution;

std::vector<std::string> ItemAddresses(const zarc::v1::MessageRendered& item) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& raw) {
    std::string a = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
    if (!a.empty() && seen.insert(a).second) out.push_back(std::move(a));
  };
  add(item.meeting().host_email());
  for (const std::string& a : item.email_addresses()) add(a);
  for (const zarc::v1::Participant& p : item.participants()) add(p.email());
  return out;
}

absl::StatusOr<std::vector<kafka::OutgoingRecord>> MapRenderedMessage(
    const zarc::v1::MessageRendered& item, Resolver& resolver, const StageOptions& options,
    absl::Time now) {
  if (item.item_id().empty() || item.message_id().empty() || item.message().uri().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MessageRendered \"", item.item_id(),
        "\" lacks item_id, message_id or message.uri; the converter must set all three"));
  }
  const std::vector<std::string> addresses = ItemAddresses(item);
  absl::StatusOr<std::vector<AddressResolution>> resolved = resolver.Resolve(addresses);
  if (!resolved.ok()) {
    // The directory, not the item, is at fault: retry the item until it answers.
    return absl::UnavailableError(absl::StrCat("resolving the participants of ", item.item_id(),
                                               ": ", resolved.status().message()));
  }
  int artifacts_out_of_line = 0;
  for (const zarc::v1::ArtifactPlacement& a : item.artifacts())
    artifacts_out_of_line += !a.attached();

  // Mailbox -> the item's addresses that reach it. std::map keeps the output order stable.
  std::map<std::string, std::vector<const AddressResolution*>> by_mailbox;
  std::vector<const AddressResolution*> unmapped;
  for (const AddressResolution& r : *resolved) {
    if (Delivers(r.rule()) && !r.mailbox().empty()) {
      by_mailbox[absl::AsciiStrToLower(r.mailbox())].push_back(&r);
    } else {
      unmapped.push_back(&r);
    }
  }

  AddressResolution fallback;
  if (by_mailbox.empty() && !options.fallback_mailbox.empty()) {
    const std::string mailbox = absl::AsciiStrToLower(options.fallback_mailbox);
    fallback.set_address(mailbox);
    fallback.set_rule(zarc::v1::MAPPING_RULE_FALLBACK);
    fallback.set_mailbox(mailbox);
    fallback.set_reason(absl::StrCat(kNoParticipantMapped, ": delivered to the fallback mailbox"));
    // Best effort for the Graph user id; the importer can also deliver by address.
    absl::StatusOr<std::vector<AddressResolution>> fb = resolver.Resolve({mailbox});
    if (!fb.ok()) {
      return absl::UnavailableError(
          absl::StrCat("resolving the fallback mailbox ", mailbox, ": ", fb.status().message()));
    }
    if (Delivers((*fb)[0].rule())) fallback.set_mailbox_id((*fb)[0].mailbox_id());
    by_mailbox[mailbox].push_back(&fallback);
  }

  std::vector<kafka::OutgoingRecord> out;
  if (by_mailbox.empty()) {
    zarc::v1::ImportResult result;
    result.set_item_id(item.item_id());
    result.set_message_id(item.message_id());
    result.set_source_user(item.meeting().host_email());
    result.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
    result.set_reason(std::string(kNoParticipantMapped));
    result.set_size(item.message().size());
    *result.mutable_meeting_start() = item.meeting().start_time();
    *result.mutable_meeting_end() = item.meeting().end_time();
    result.mutable_completed_at()->set_seconds(absl::ToUnixSeconds(now));
    result.set_target("none");
    result.set_artifacts_out_of_line(artifacts_out_of_line);
    for (const AddressResolution* r : unmapped) *result.add_unmapped() = *r;
    result.set_fanout(0);
    result.set_stage("mapper");
    out.push_back({.topic = std::string(kafka::kImportLogTopic),
                   .key = item.item_id(),
                   .value = result.SerializeAsString(),
                   .headers = {{"zarc-event", "zarc.v1.ImportResult"}}});
    return out;
  }
  for (const auto& [mailbox, resolutions] : by_mailbox) {
    zarc::v1::MailboxDelivery d;
    d.set_item_id(item.item_id());
    d.set_message_id(item.message_id());
    *d.mutable_message() = item.message();
    *d.mutable_meeting() = item.meeting();
    d.set_version(item.version());
    d.set_mailbox(mailbox);
    for (const AddressResolution* r : resolutions) {
      if (d.mailbox_id().empty()) d.set_mailbox_id(r->mailbox_id());
      *d.add_resolutions() = *r;
    }
    d.set_fanout(static_cast<int>(by_mailbox.size()));
    d.set_artifacts_out_of_line(artifacts_out_of_line);
    for (const zarc::v1::ArtifactPlacement& a : item.artifacts()) *d.add_artifacts() = a;
    for (const zarc::v1::MissingFile& m : item.missing()) *d.add_missing() = m;
    d.set_source_user(item.meeting().host_email());
    for (const AddressResolution* r : unmapped) *d.add_unmapped() = *r;
    out.push_back({.topic = std::string(kafka::kDeliveriesTopic),
                   .key = mailbox,
                   .value = d.SerializeAsString(),
                   .headers = {{"zarc-event", "zarc.v1.MailboxDelivery"}}});
  }
  return out;
}

struct MapperStage::Metrics {
  prometheus::Counter* deliveries = nullptr;
  prometheus::Counter* unmapped_items = nullptr;
};

MapperStage::MapperStage(Resolver& resolver, StageOptions options, prometheus::Registry* registry,
                         std::function<absl::Time()> now)
    : resolver_(resolver),
      options_(std::move(options)),
      now_(std::move(now)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->deliveries = &prometheus::BuildCounter()
                                .Name("zarc_mapper_deliveries_total")
                                .Help("Mailbox deliveries published (one per item and mailbox)")
                                .Register(*registry)
                                .Add({});
    metrics_->unmapped_items = &prometheus::BuildCounter()
                                    .Name("zarc_mapper_items_unmapped_total")
                                    .Help(
                                        "Items no participant could be mapped for (failed, or "
                                        "sent to the fallback mailbox)")
                                    .Register(*registry)
                                    .Add({});
  }
}

MapperStage::~MapperStage() = default;

absl::StatusOr<std::vector<kafka::OutgoingRecord>> MapperStage::Handle(
    const kafka::Record& record) {
  zarc::v1::MessageRendered item;
  if (!item.ParseFromString(record.value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("record ", record.topic, "/", record.partition, "@", record.offset,
                     " is not a zarc.v1.MessageRendered (", record.value.size(), " bytes)"));
  }
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> out =
      MapRenderedMessage(item, resolver_, options_, now_ ? now_() : absl::Now());
  if (!out.ok() || metrics_->deliveries == nullptr) return out;
  bool unmapped = true;
  for (const kafka::OutgoingRecord& r : *out) {
    if (r.topic != kafka::kDeliveriesTopic) continue;
    metrics_->deliveries->Increment();
    zarc::v1::MailboxDelivery d;
    if (d.ParseFromString(r.value) && d.resolutions_size() > 0 &&
        d.resolutions(0).rule() != zarc::v1::MAPPING_RULE_FALLBACK) {
      unmapped = false;
    }
  }
  if (unmapped) metrics_->unmapped_items->Increment();
  return out;
}

}  // namespace zarc::mapper

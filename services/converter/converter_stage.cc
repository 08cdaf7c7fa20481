#include "services/converter/converter_stage.h"

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/kafka/topics.h"
#include "runtime/ledger/ledger.h"
#include "runtime/log/log.h"

namespace zarc::converter {

struct ConverterStage::Metrics {
  prometheus::Family<prometheus::Counter>* messages = nullptr;
  prometheus::Counter* bytes = nullptr;
  prometheus::Family<prometheus::Counter>* artifacts = nullptr;
};

ConverterStage::ConverterStage(blob::BlobStore& store, RenderOptions options,
                               prometheus::Registry* registry)
    : store_(store), options_(std::move(options)), metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->messages = &prometheus::BuildCounter()
                              .Name("zarc_converter_messages_total")
                              .Help("Meetings rendered into messages, by outcome")
                              .Register(*registry);
    metrics_->bytes = &prometheus::BuildCounter()
                           .Name("zarc_converter_message_bytes_total")
                           .Help("Bytes of rendered messages written to the blob store")
                           .Register(*registry)
                           .Add({});
    metrics_->artifacts = &prometheus::BuildCounter()
                               .Name("zarc_converter_artifacts_total")
                               .Help("Artifacts placed in messages: attached or kept out of line")
                               .Register(*registry);
  }
}

ConverterStage::~ConverterStage() = default;

std::string ConverterStage::MessageBlobName(const std::string& item_id) {
  const std::string h = crypto::Sha256Hex(item_id);
  return absl::StrCat("messages/", h.substr(0, 2), "/", h, ".eml");
}

absl::StatusOr<zarc::v1::MessageRendered> ConverterStage::Convert(
    const zarc::v1::MeetingCaptured& captured) {
  auto count = [this](const char* outcome) {
    if (metrics_->messages) metrics_->messages->Add({{"outcome", outcome}}).Increment();
  };
  const std::string item_id =
      ledger::ItemId(captured.meeting().account_id(), captured.meeting().uuid(), captured.version());
  const std::string name = MessageBlobName(item_id);
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      store_.Create(name, blob::WriteOptions{.content_type = "message/rfc822"});
  if (!writer.ok()) return blob::TransientStoreErrorAsUnavailable(writer.status(), "creating " + name);
  blob::BlobStore* store = &store_;
  const ArtifactOpener opener = [store](const zarc::v1::BlobRef& ref) {
    return store->Open(ref.name());
  };
  absl::StatusOr<RenderedMessage> rendered = RenderMessage(captured, options_, opener, **writer);
  if (!rendered.ok()) {
    count("failed");
    // The writer is abandoned: nothing half-written becomes visible. A parse error or a SHA-256
    // mismatch is the item's (dead-lettered); a store failing meanwhile is retried.
    return blob::TransientStoreErrorAsUnavailable(rendered.status(),
                                                  "rendering " + item_id);
  }
  absl::Status closed = (*writer)->Close();
  if (closed.code() == absl::StatusCode::kAlreadyExists) {
    // Rendered before (a replay): rendering is deterministic, so the stored bytes must be these.
    absl::StatusOr<blob::BlobInfo> existing = store_.Stat(name);
    if (!existing.ok()) {
      return blob::TransientStoreErrorAsUnavailable(existing.status(), "checking " + name);
    }
    if (existing->sha256 != rendered->sha256) {
      count("failed");
      return absl::DataLossError(absl::StrCat("message ", name, " exists with SHA-256 ",
                                              existing->sha256, " but rendering gives ",
                                              rendered->sha256));
    }
  } else if (!closed.ok()) {
    count("failed");
    return blob::TransientStoreErrorAsUnavailable(closed, "storing " + name);
  }

  zarc::v1::MessageRendered out;
  out.set_item_id(item_id);
  *out.mutable_meeting() = captured.meeting();
  out.set_version(captured.version());
  zarc::v1::BlobRef* ref = out.mutable_message();
  ref->set_name(name);
  ref->set_uri(store_.Uri(name));
  ref->set_size(rendered->size);
  ref->set_sha256(rendered->sha256);
  ref->set_content_type("message/rfc822");
  out.set_message_id(rendered->message_id);
  for (const std::string& a : rendered->email_addresses) out.add_email_addresses(a);
  for (const zarc::v1::Participant& p : captured.participants()) *out.add_participants() = p;
  for (zarc::v1::ArtifactPlacement& p : rendered->artifacts) {
    if (metrics_->artifacts) {
      metrics_->artifacts->Add({{"placement", p.attached() ? "attached" : "out_of_line"}}).Increment();
    }
    *out.add_artifacts() = std::move(p);
  }
  for (const std::string& p : rendered->problems) out.add_problems(p);
  for (const zarc::v1::MissingFile& m : captured.missing()) *out.add_missing() = m;
  count("rendered");
  if (metrics_->bytes) metrics_->bytes->Increment(static_cast<double>(rendered->size));
  log::Info("converter", "message rendered",
            {{"item_id", item_id}, {"size", rendered->size}, {"artifacts", out.artifacts_size()},
             {"problems", out.problems_size()}});
  return out;
}

absl::StatusOr<std::vector<kafka::OutgoingRecord>> ConverterStage::Handle(
    const kafka::Record& record) {
  zarc::v1::MeetingCaptured captured;
  if (!captured.ParseFromString(record.value) || captured.meeting().uuid().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record at ", record.topic, "/", record.partition, "@", record.offset,
        " is not a MeetingCaptured event with a meeting UUID"));
  }
  absl::StatusOr<zarc::v1::MessageRendered> out = Convert(captured);
  if (!out.ok()) return out.status();
  return std::vector<kafka::OutgoingRecord>{
      {.topic = std::string(kafka::kMessagesTopic),
       .key = captured.meeting().uuid(),
       .value = out->SerializeAsString(),
       .headers = {{"zarc-event", "zarc.v1.MessageRendered"}}}};
}

}  // namespace zarc::converter

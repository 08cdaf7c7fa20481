#include "services/importer/testing/test_items.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "services/converter/renderer.h"

namespace zarc::importer::testing {
namespace {

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

class OwnedSource final : public io::ByteSource {
 public:
  explicit OwnedSource(const std::string* data) : source_(*data) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    return source_.Read(buffer, size);
  }

 private:
  io::StringSource source_;
};

}  // namespace

absl::StatusOr<TestItem> RenderTestItem(blob::BlobStore& staging, const std::string& uuid,
                                        const std::string& topic, absl::Time start,
                                        const std::vector<std::string>& participants,
                                        uint64_t attachment_bytes) {
  TestItem item;
  zarc::v1::MeetingCaptured& e = item.meeting;
  zarc::v1::Meeting* m = e.mutable_meeting();
  m->set_account_id("acct-1");
  m->set_uuid(uuid);
  m->set_id(81234567890);
  m->set_topic(topic);
  m->set_host_email(participants.empty() ? "host@example.com" : participants[0]);
  m->set_host_name("Host");
  ToProto(start, m->mutable_start_time());
  ToProto(start + absl::Minutes(30), m->mutable_end_time());
  m->set_duration_minutes(30);
  m->set_timezone("Europe/Zurich");
  e.set_version(1);
  for (const std::string& p : participants) {
    zarc::v1::Participant* part = e.add_participants();
    part->set_name(p.substr(0, p.find('@')));
    part->set_email(p);
    part->set_internal_user(true);
  }
  std::map<std::string, std::string> blobs;
  if (attachment_bytes > 0) {
    std::string data(attachment_bytes, '\0');
    uint32_t x = 2463534242u;
    for (char& c : data) {  // xorshift: incompressible, reproducible
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      c = static_cast<char>(x);
    }
    zarc::v1::Artifact* a = e.add_artifacts();
    a->set_kind(zarc::v1::ARTIFACT_KIND_VIDEO);
    a->set_zoom_file_type("MP4");
    a->set_file_name("recording.mp4");
    a->mutable_blob()->set_name("artifacts/" + uuid + ".mp4");
    a->mutable_blob()->set_uri("file:///staging/artifacts/" + uuid + ".mp4");
    a->mutable_blob()->set_size(data.size());
    a->mutable_blob()->set_sha256(crypto::Sha256Hex(data));
    blobs[a->blob().name()] = std::move(data);
  }
  converter::ArtifactOpener opener =
      [&blobs](const zarc::v1::BlobRef& ref) -> absl::StatusOr<std::unique_ptr<io::ByteSource>> {
    auto it = blobs.find(ref.name());
    if (it == blobs.end()) return absl::NotFoundError("no test blob " + ref.name());
    return std::unique_ptr<io::ByteSource>(std::make_unique<OwnedSource>(&it->second));
  };
  const std::string name = absl::StrCat("messages/", crypto::Sha256Hex(uuid).substr(0, 16), ".eml");
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      staging.Create(name, blob::WriteOptions{.content_type = "message/rfc822"});
  if (!writer.ok()) return writer.status();
  absl::StatusOr<converter::RenderedMessage> rendered =
      converter::RenderMessage(e, converter::RenderOptions{}, opener, **writer);
  if (!rendered.ok()) return rendered.status();
  if (absl::Status s = (*writer)->Close(); !s.ok()) return s;
  item.item_id = absl::StrCat(m->account_id(), "/", uuid, "/", e.version());
  item.message_id = rendered->message_id;
  item.message.set_name(name);
  item.message.set_uri(staging.Uri(name));
  item.message.set_size(rendered->size);
  item.message.set_sha256(rendered->sha256);
  item.message.set_content_type("message/rfc822");
  return item;
}

zarc::v1::MailboxDelivery DeliveryFor(const TestItem& item, const std::string& mailbox, int fanout,
                                      int artifacts_out_of_line) {
  zarc::v1::MailboxDelivery d;
  d.set_item_id(item.item_id);
  d.set_message_id(item.message_id);
  *d.mutable_message() = item.message;
  *d.mutable_meeting() = item.meeting.meeting();
  d.set_version(item.meeting.version());
  d.set_mailbox(mailbox);
  d.set_fanout(fanout);
  d.set_artifacts_out_of_line(artifacts_out_of_line);
  d.set_source_user(item.meeting.meeting().host_email());
  zarc::v1::AddressResolution* r = d.add_resolutions();
  r->set_address(mailbox);
  r->set_rule(zarc::v1::MAPPING_RULE_MAIL);
  r->set_mailbox(mailbox);
  return d;
}

}  // namespace zarc::importer::testing

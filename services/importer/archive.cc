#include "services/importer/archive.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"
#include "services/importer/eml_target.h"

namespace zarc::importer {
namespace {

constexpr size_t kCopyChunk = 1 << 20;
constexpr size_t kMaxRecordBytes = 64 << 10;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string DatePath(const zarc::v1::MailboxDelivery& d) {
  return absl::FormatTime("%Y/%m/%d", FromProto(d.meeting().start_time()), absl::UTCTimeZone());
}

std::string ItemHash(absl::string_view item_id) { return crypto::Sha256Hex(item_id).substr(0, 32); }

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::Time ParseTimeOr(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) return absl::InfinitePast();
  return t;
}

}  // namespace

std::string Archive::MessageBlobName(const zarc::v1::MailboxDelivery& d) {
  return absl::StrCat("items/", DatePath(d), "/", ItemHash(d.item_id()), ".eml");
}

std::string Archive::MailboxPrefix(absl::string_view mailbox) {
  return absl::StrCat("mailboxes/", MailboxPathSegment(mailbox), "/");
}

std::string Archive::RecordName(const zarc::v1::MailboxDelivery& d) {
  return absl::StrCat(MailboxPrefix(d.mailbox()), DatePath(d), "/", ItemHash(d.item_id()), ".json");
}

std::string Archive::ArtifactBlobName(const zarc::v1::BlobRef& artifact) {
  return absl::StrCat("artifacts/sha256/", artifact.sha256());
}

absl::StatusOr<blob::BlobInfo> Archive::StoreArtifact(const zarc::v1::BlobRef& ref) {
  if (ref.sha256().size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat("artifact ", ref.name(), " has no SHA-256"));
  }
  const std::string name = ArtifactBlobName(ref);
  absl::StatusOr<blob::BlobInfo> existing = archive_.Stat(name);
  if (existing.ok()) return *existing;  // content addressed: the same bytes
  if (!absl::IsNotFound(existing.status())) return existing.status();
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = messages_.Open(ref.name());
  if (!source.ok()) return source.status();
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      archive_.Create(name, blob::WriteOptions{.content_type = ref.content_type().empty()
                                                                   ? "application/octet-stream"
                                                                   : ref.content_type()});
  if (!writer.ok()) return writer.status();
  crypto::Sha256 sha;
  std::string chunk(kCopyChunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = (*source)->Read(chunk.data(), chunk.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    absl::string_view bytes(chunk.data(), *n);
    sha.Update(bytes);
    if (absl::Status s = (*writer)->Write(bytes); !s.ok()) return s;
  }
  if (const std::string digest = sha.FinishHex(); digest != ref.sha256()) {
    return absl::DataLossError(absl::StrCat("artifact ", ref.uri(), " has SHA-256 ", digest,
                                            ", expected ", ref.sha256()));  // abandoned, not written
  }
  absl::Status closed = (*writer)->Close();
  if (closed.ok()) return (*writer)->info();
  if (absl::IsAlreadyExists(closed)) return archive_.Stat(name);  // another replica won the race
  return closed;
}

absl::StatusOr<blob::BlobInfo> Archive::StoreMessage(const zarc::v1::MailboxDelivery& d) {
  const std::string name = MessageBlobName(d);
  const zarc::v1::BlobRef& ref = d.message();
  absl::StatusOr<blob::BlobInfo> existing = archive_.Stat(name);
  if (existing.ok()) {
    if (!ref.sha256().empty() && existing->sha256 != ref.sha256()) {
      return absl::DataLossError(absl::StrCat(
          "archive already holds ", name, " for item ", d.item_id(), " with SHA-256 ",
          existing->sha256, " but the delivery's message has ", ref.sha256(),
          "; the converter rendered this item differently twice: investigate before re-importing"));
    }
    return *existing;
  }
  if (!absl::IsNotFound(existing.status())) return existing.status();

  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = messages_.Open(ref.name());
  if (!source.ok()) {
    if (absl::IsNotFound(source.status())) {
      return absl::NotFoundError(absl::StrCat("the message of item ", d.item_id(), " (", ref.uri(),
                                              ") is not in the messages store; check messages.url "
                                              "points where the converter writes"));
    }
    return source.status();
  }
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      archive_.Create(name, blob::WriteOptions{.content_type = "message/rfc822"});
  if (!writer.ok()) return writer.status();
  crypto::Sha256 sha;
  uint64_t size = 0;
  std::string chunk(kCopyChunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = (*source)->Read(chunk.data(), chunk.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    absl::string_view bytes(chunk.data(), *n);
    sha.Update(bytes);
    size += *n;
    if (absl::Status s = (*writer)->Write(bytes); !s.ok()) return s;
  }
  const std::string digest = sha.FinishHex();
  if ((ref.size() != 0 && size != ref.size()) || (!ref.sha256().empty() && digest != ref.sha256())) {
    // Returning without Close() abandons the blob.
    return absl::DataLossError(absl::StrCat("message ", ref.uri(), " of item ", d.item_id(), " has ",
                                            size, " bytes with SHA-256 ", digest, ", expected ",
                                            ref.size(), " bytes with SHA-256 ", ref.sha256()));
  }
  absl::Status closed = (*writer)->Close();
  if (absl::IsAlreadyExists(closed)) return archive_.Stat(name);  // another replica won the race
  if (!closed.ok()) return closed;
  return (*writer)->info();
}

absl::StatusOr<std::unique_ptr<io::ByteSource>> Archive::OpenMessage(absl::string_view name) {
  return archive_.Open(name);
}

absl::StatusOr<bool> Archive::HasRecord(const zarc::v1::MailboxDelivery& d) {
  absl::StatusOr<blob::BlobInfo> info = archive_.Stat(RecordName(d));
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return info.status();
}

absl::StatusOr<std::optional<MailboxRecord>> Archive::FindRecord(const zarc::v1::MailboxDelivery& d) {
  const std::string name = RecordName(d);
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = archive_.Open(name);
  if (absl::IsNotFound(source.status())) return std::optional<MailboxRecord>();
  if (!source.ok()) return source.status();
  absl::StatusOr<std::string> text = io::ReadAll(**source, kMaxRecordBytes);
  if (!text.ok()) return text.status();
  absl::StatusOr<MailboxRecord> r = RecordFromJson(*text);
  if (!r.ok()) {
    return absl::DataLossError(absl::StrCat("archive record ", name, ": ", r.status().message()));
  }
  r->name = name;
  return std::optional<MailboxRecord>(*std::move(r));
}

std::string RecordToJson(const MailboxRecord& r) {
  json::Value v = json::Value::Object();
  v["item_id"] = json::Str(r.item_id);
  v["message_id"] = json::Str(r.message_id);
  v["mailbox"] = json::Str(r.mailbox);
  v["message_blob"] = json::Str(r.message_blob);
  v["size"] = json::Value::Number(static_cast<uint64_t>(r.size));
  v["sha256"] = json::Str(r.sha256);
  v["outcome"] = json::Str(r.outcome);
  v["target"] = json::Str(r.target);
  v["meeting_start"] = json::Str(TimeText(r.meeting_start));
  v["delivered_at"] = json::Str(TimeText(r.delivered_at));
  return json::Serialize(v);
}

absl::StatusOr<MailboxRecord> RecordFromJson(absl::string_view text) {
  absl::StatusOr<json::Value> v = json::Parse(text, "archive mailbox record");
  if (!v.ok()) return v.status();
  MailboxRecord r;
  r.item_id = json::String(*v, "item_id");
  r.message_id = json::String(*v, "message_id");
  r.mailbox = json::String(*v, "mailbox");
  r.message_blob = json::String(*v, "message_blob");
  r.size = static_cast<uint64_t>(json::Int(*v, "size"));
  r.sha256 = json::String(*v, "sha256");
  r.outcome = json::String(*v, "outcome");
  r.target = json::String(*v, "target");
  r.meeting_start = ParseTimeOr(json::String(*v, "meeting_start"));
  r.delivered_at = ParseTimeOr(json::String(*v, "delivered_at"));
  return r;
}

absl::Status Archive::WriteRecord(const MailboxRecord& record) {
  const std::string text = RecordToJson(record);
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      archive_.Create(record.name, blob::WriteOptions{.content_type = "application/json"});
  if (!writer.ok()) return writer.status();
  if (absl::Status s = (*writer)->Write(text); !s.ok()) return s;
  absl::Status closed = (*writer)->Close();
  if (absl::IsAlreadyExists(closed)) return absl::OkStatus();
  return closed;
}

absl::StatusOr<std::vector<MailboxRecord>> Archive::ListMailbox(absl::string_view mailbox) {
  absl::StatusOr<std::vector<blob::BlobInfo>> blobs = archive_.List(MailboxPrefix(mailbox));
  if (!blobs.ok()) return blobs.status();
  std::vector<MailboxRecord> out;
  for (const blob::BlobInfo& b : *blobs) {
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = archive_.Open(b.name);
    if (!source.ok()) return source.status();
    absl::StatusOr<std::string> text = io::ReadAll(**source, kMaxRecordBytes);
    if (!text.ok()) return text.status();
    absl::StatusOr<MailboxRecord> r = RecordFromJson(*text);
    if (!r.ok()) {
      return absl::DataLossError(absl::StrCat("archive record ", b.name, ": ", r.status().message()));
    }
    r->name = b.name;
    out.push_back(*std::move(r));
  }
  return out;
}

}  // namespace zarc::importer

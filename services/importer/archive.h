#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "zarc/v1/events.pb.h"

namespace zarc::importer {

// What the archive keeps about one delivery to one mailbox.
struct MailboxRecord {
  std::string name;  // blob name of the record
  std::string item_id;
  std::string message_id;
  std::string mailbox;
  std::string message_blob;  // the item's message in the archive store
  uint64_t size = 0;
  std::string sha256;
  std::string outcome;  // "imported" or "partially_imported"
  std::string target;
  absl::Time meeting_start;
  absl::Time delivered_at;
};

// The archive (Azure Blob, or a local folder): every delivered item, browsable per mailbox.
//   items/<YYYY>/<MM>/<DD>/<item-hash>.eml                     the message, once per item
//   mailboxes/<mailbox>/<YYYY>/<MM>/<DD>/<item-hash>.json      one record per delivery
// (dates are the meeting start in UTC; item-hash is the first 32 hex digits of SHA-256(item_id)).
// Every write is create-once, so a replayed delivery never makes a second copy. Thread-safe if
// the stores are.
class Archive {
 public:
  // `archive` holds the archive; `messages` is where the converter wrote the messages. Both must
  // outlive the Archive.
  Archive(blob::BlobStore& archive, blob::BlobStore& messages)
      : archive_(archive), messages_(messages) {}

  // Copies the delivery's message from the messages store into the archive unless it is there,
  // checking size and SHA-256 against the delivery's BlobRef while streaming (a mismatch leaves
  // nothing behind). DataLoss on a mismatch, NotFound if the message blob is missing, the stores'
  // errors otherwise.
  absl::StatusOr<blob::BlobInfo> StoreMessage(const zarc::v1::MailboxDelivery& delivery);
  absl::StatusOr<std::unique_ptr<io::ByteSource>> OpenMessage(absl::string_view name);
  // Copies an artifact the message only references (too large to attach) from the messages store
  // into the archive under `artifacts/sha256/<sha256>`: once, whatever the number of mailboxes.
  absl::StatusOr<blob::BlobInfo> StoreArtifact(const zarc::v1::BlobRef& artifact);
  static std::string ArtifactBlobName(const zarc::v1::BlobRef& artifact);

  absl::StatusOr<bool> HasRecord(const zarc::v1::MailboxDelivery& delivery);
  // The delivery's record, or nullopt if it has none.
  absl::StatusOr<std::optional<MailboxRecord>> FindRecord(const zarc::v1::MailboxDelivery& delivery);
  // Create-once; an existing record is left as it is (OK).
  absl::Status WriteRecord(const MailboxRecord& record);

  // Every record under a mailbox, sorted by name (so by meeting date).
  absl::StatusOr<std::vector<MailboxRecord>> ListMailbox(absl::string_view mailbox);

  static std::string MessageBlobName(const zarc::v1::MailboxDelivery& delivery);
  static std::string RecordName(const zarc::v1::MailboxDelivery& delivery);
  // "mailboxes/<mailbox>/": the prefix to list for one mailbox.
  static std::string MailboxPrefix(absl::string_view mailbox);

 private:
  blob::BlobStore& archive_;
  blob::BlobStore& messages_;
};

// Record JSON, as stored.
std::string RecordToJson(const MailboxRecord& record);
absl::StatusOr<MailboxRecord> RecordFromJson(absl::string_view text);

}  // namespace zarc::importer

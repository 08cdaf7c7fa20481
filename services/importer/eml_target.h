#pragma once

#include <memory>
#include <string>

#include "runtime/blob/blob_store.h"
#include "services/importer/mailbox_target.h"

namespace zarc::importer {

// Writes each message as a file any mail client opens:
//   <root>/<mailbox>/Inbox/Zoom Meetings/<YYYY-MM-DD> <topic> <hash>.eml
// (meeting start date in UTC, the topic made file-name safe, a hash of the Message-ID), through a
// blob store so writes are create-once: a second delivery of the same Message-ID finds the file.
// The embedded default. Thread-safe.
class EmlTarget final : public MailboxTarget {
 public:
  // `store` must outlive the target.
  explicit EmlTarget(blob::BlobStore& store) : store_(store) {}
  absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) override;
  std::string name() const override { return "eml"; }

  // The blob name a request is written under.
  static std::string FileName(const DeliveryRequest& request);

 private:
  blob::BlobStore& store_;
};

// A path segment made of the characters every file system and mail client accepts: letters,
// digits, space and -_.,@+()' kept; others become '_'; at most `max_bytes`; never starting with '.'.
std::string SanitizePathSegment(absl::string_view text, size_t max_bytes);

// The folder name of a mailbox: the lowercased address itself when SanitizePathSegment keeps it
// unchanged (every ordinary address), else the sanitized address + '~' + a hash of the lowercased
// address. SanitizePathSegment never keeps '~', so two mailboxes never share a folder
// ("a$b@x" and "a_b@x" differ).
std::string MailboxPathSegment(absl::string_view mailbox);

}  // namespace zarc::importer

#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "runtime/io/byte_stream.h"

namespace zarc::importer {

// The folder every item lands in, under the mailbox's inbox (as the Microsoft connector does).
inline constexpr absl::string_view kZoomFolderName = "Zoom Meetings";

// One message to put into one mailbox's Inbox/Zoom Meetings.
struct DeliveryRequest {
  std::string mailbox;     // the Microsoft 365 address (UPN or primary SMTP)
  std::string mailbox_id;  // Graph user id, when known
  std::string message_id;  // without <>
  std::string topic;       // the meeting topic (file names of the eml target)
  absl::Time internal_date;  // the meeting start: when the item "arrived"
  uint64_t size = 0;         // exact octets `open` yields
  // Opens the RFC 5322 bytes; may be called again on a retry within one Deliver().
  std::function<absl::StatusOr<std::unique_ptr<io::ByteSource>>()> open;
};

enum class DeliveryOutcome {
  kDelivered,     // the target now holds the message because of this call
  kAlreadyThere,  // a message with this Message-ID was there already; nothing written
};

// Where messages are delivered (IMAP, Graph, a folder of .eml files, or nowhere). Answers:
//  - kDelivered / kAlreadyThere;
//  - UNAVAILABLE or RESOURCE_EXHAUSTED: a transient failure (server down, throttled): the same
//    request may be retried later and must then neither lose nor duplicate the message;
//  - any other error: a permanent failure for this message (no such mailbox, too large), its
//    message is the reason shown in the status log.
// Implementations are thread-safe.
class MailboxTarget {
 public:
  virtual ~MailboxTarget() = default;
  virtual absl::StatusOr<DeliveryOutcome> Deliver(const DeliveryRequest& request) = 0;
  // "imap", "graph", "eml" or "none": the status log's and the metrics' `target`.
  virtual std::string name() const = 0;
};

// Archive only: every message is "delivered" to nowhere; the archive is the destination.
std::unique_ptr<MailboxTarget> NewNoneTarget();

// True for the statuses a target returns when a later retry may succeed.
bool IsTransient(const absl::Status& status);

}  // namespace zarc::importer

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "zarc/v1/events.pb.h"

namespace zarc::importer::testing {

// A meeting rendered by the converter's RenderMessage and stored in a staging store, as the
// converter stage would leave it for the importer.
struct TestItem {
  zarc::v1::MeetingCaptured meeting;
  std::string item_id;
  std::string message_id;
  zarc::v1::BlobRef message;  // in the staging store, size and SHA-256 set
};

// `attachment_bytes` > 0 adds an MP4 artifact of that many (deterministic) bytes.
absl::StatusOr<TestItem> RenderTestItem(blob::BlobStore& staging, const std::string& uuid,
                                        const std::string& topic, absl::Time start,
                                        const std::vector<std::string>& participants,
                                        uint64_t attachment_bytes = 0);

// The mapper's delivery of `item` to `mailbox`.
zarc::v1::MailboxDelivery DeliveryFor(const TestItem& item, const std::string& mailbox, int fanout,
                                      int artifacts_out_of_line = 0);

}  // namespace zarc::importer::testing

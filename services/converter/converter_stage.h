#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/blob/blob_store.h"
#include "runtime/kafka/record.h"
#include "services/converter/renderer.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::converter {

// The converter stage: a MeetingCaptured in, its message rendered into the blob store, a
// MessageRendered out. Rendering is deterministic, so handling the same event twice writes the
// same bytes under the same name (the second write finds it there) and publishes the same event.
// Failure classes: the store failing (timed out, down, credentials refused during a key
// rotation, EIO; blob::IsTransientStoreError) is UNAVAILABLE, so the record waits and is retried,
// never dead-lettered; only bad input (an event that does not parse, a chat file that does not,
// an artifact whose SHA-256 differs, a staged artifact that is missing) is an error of another
// kind, which the stage runner dead-letters after its attempts.
class ConverterStage {
 public:
  ConverterStage(blob::BlobStore& store, RenderOptions options, prometheus::Registry* metrics);
  ~ConverterStage();

  absl::StatusOr<zarc::v1::MessageRendered> Convert(const zarc::v1::MeetingCaptured& meeting);
  // The Kafka handler: parses the record, converts, and returns the zarc.messages record.
  absl::StatusOr<std::vector<kafka::OutgoingRecord>> Handle(const kafka::Record& record);

  // Where the message of an item lives in the store.
  static std::string MessageBlobName(const std::string& item_id);

 private:
  struct Metrics;
  blob::BlobStore& store_;
  const RenderOptions options_;
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace zarc::converter

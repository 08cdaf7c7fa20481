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

#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "runtime/blob/blob_store.h"
#include "services/fetcher/downloader.h"
#include "services/fetcher/zoom_client.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

// The versions of each meeting already published, kept in the blob store so they survive restarts
// and are shared by every fetcher replica: `state/fetcher/meetings/<hash of uuid>/v000001.pb` holds
// the MeetingCaptured event of version 1, and so on. Writes are create-once.
class VersionStore {
 public:
  explicit VersionStore(blob::BlobStore& store, std::string prefix = "state/fetcher/meetings");
  // The newest published version, or nullopt if the meeting was never captured.
  absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> Latest(const std::string& meeting_uuid);
  absl::Status Record(const zarc::v1::MeetingCaptured& event);
  // The names of every version record of every meeting, sorted; and one record read back.
  absl::StatusOr<std::vector<std::string>> ListRecords();
  absl::StatusOr<zarc::v1::MeetingCaptured> ReadRecord(absl::string_view name);
  // Every recorded version of one meeting, oldest first.
  absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> AllVersions(const std::string& meeting_uuid);

 private:
  std::string Folder(const std::string& meeting_uuid) const;
  blob::BlobStore& store_;
  const std::string prefix_;
};

enum class CaptureOutcome {
  kCaptured,   // a new version was published
  kDuplicate,  // nothing new since the last version: nothing published
  kPending,    // Zoom is still processing a file (or a download failed for now): try again later
};
const char* OutcomeName(CaptureOutcome outcome);

// Publishes one MeetingCaptured event and returns once the broker acknowledged it.
using MeetingPublisher = std::function<absl::Status(const zarc::v1::MeetingCaptured&)>;

// Turns one Zoom meeting (from a listing or a webhook) into a published MeetingCaptured version.
// Idempotent: the same meeting seen by poll and webhook, or twice, is published once; a later
// sighting with more files (a transcript after the recording) publishes the next version with every
// file of the earlier one too. The event is published before its version is recorded, so a crash in
// between re-publishes the same version (downstream treats it as the duplicate it is) and never loses
// one. Thread-safe; captures of one meeting are serialised.
class MeetingCapturer {
 public:
  MeetingCapturer(ZoomApi& api, ZoomDownloader& downloader, VersionStore& versions,
                  MeetingPublisher publish, prometheus::Registry* metrics);
  ~MeetingCapturer();

  absl::StatusOr<CaptureOutcome> Capture(const ZoomMeeting& meeting, zarc::v1::CaptureSource source,
                                         const std::string& download_token);

 private:
  struct Metrics;
  // Captures of one meeting are serialised by one of a fixed set of mutexes chosen by the
  // meeting's UUID: bounded memory however many meetings a long-running fetcher sees.
  absl::Mutex& LockFor(const std::string& uuid);

  ZoomApi& api_;
  ZoomDownloader& downloader_;
  VersionStore& versions_;
  MeetingPublisher publish_;
  std::unique_ptr<Metrics> metrics_;
  std::array<absl::Mutex, 64> locks_;
};

}  // namespace zarc::fetcher

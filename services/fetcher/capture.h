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
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "services/fetcher/downloader.h"
#include "services/fetcher/zoom_client.h"
#include "zarc/v1/events.pb.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

// The versions of each meeting, kept in the blob store so they survive restarts and are shared by
// every fetcher replica: `state/fetcher/meetings/<hash of uuid>/v000001.pb` holds the
// MeetingCaptured event of version 1, and so on, and `v000001.published` marks it as acknowledged
// by the broker. Writes are create-once: a recorded version never changes, so whoever publishes it
// (a retry, another replica, a reconciler) publishes the same bytes.
class VersionStore {
 public:
  explicit VersionStore(blob::BlobStore& store, std::string prefix = "state/fetcher/meetings");
  // The newest recorded version, or nullopt if the meeting was never captured.
  absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> Latest(const std::string& meeting_uuid);
  // Records `event` create-once; an existing record of the same version is kept (OK).
  absl::Status Record(const zarc::v1::MeetingCaptured& event);
  // Records `event` create-once and returns what is recorded under its version: `event` itself, or
  // the record an earlier attempt (or another replica) made first, which is what must be published.
  absl::StatusOr<zarc::v1::MeetingCaptured> RecordOrRead(const zarc::v1::MeetingCaptured& event);
  absl::StatusOr<zarc::v1::MeetingCaptured> Read(const std::string& meeting_uuid, int32_t version);
  // The broker acknowledged the version (create-once marker; marking twice is OK).
  absl::Status MarkPublished(const std::string& meeting_uuid, int32_t version);
  absl::StatusOr<bool> Published(const std::string& meeting_uuid, int32_t version);
  // The names of every version record of every meeting, in name order (for the reconciler: not a
  // hot path), and one record read back by its name.
  absl::StatusOr<std::vector<std::string>> ListRecords();
  absl::StatusOr<zarc::v1::MeetingCaptured> ReadRecord(const std::string& name);
  // Every recorded version of one meeting, oldest first.
  absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> AllVersions(const std::string& meeting_uuid);

 private:
  std::string Folder(const std::string& meeting_uuid) const;
  std::string RecordName(const std::string& meeting_uuid, int32_t version) const;
  blob::BlobStore& store_;
  const std::string prefix_;
};

// Meetings captured with files still missing, re-checked by every poll until each file is captured
// or given up: `state/fetcher/followup/<hash of uuid>.json`, created once when a version first
// misses a file (its deadline is fixed then) and removed when no file is missing any more.
class FollowUpStore {
 public:
  struct FollowUp {
    std::string meeting_uuid;
    bool archive = false;  // re-checked with the Archiving API (else Get meeting recordings)
    std::string account_id;
    std::string host_email;
    absl::Time start_time = absl::InfinitePast();
    absl::Time since = absl::InfinitePast();     // when a file was first found missing
    absl::Time deadline = absl::InfinitePast();  // missing files are given up after this
  };

  explicit FollowUpStore(blob::BlobStore& store, std::string prefix = "state/fetcher/followup");
  // Creates the record for `wanted.meeting_uuid` unless one exists; returns the one stored (an
  // existing record keeps its deadline).
  absl::StatusOr<FollowUp> Ensure(const FollowUp& wanted);
  // Removes the record; OK if there is none.
  absl::Status Remove(const std::string& meeting_uuid);
  absl::StatusOr<std::vector<FollowUp>> List();

 private:
  std::string Name(const std::string& meeting_uuid) const;
  absl::StatusOr<FollowUp> ReadName(const std::string& name);
  blob::BlobStore& store_;
  const std::string prefix_;
};

enum class CaptureOutcome {
  kCaptured,   // a new version was published (possibly without some files: see its `missing`)
  kDuplicate,  // nothing new since the last version: nothing published
  kPending,    // kWaitForFiles only: a file is not to be had yet; try again later
};
const char* OutcomeName(CaptureOutcome outcome);

// What a capture does with a file it cannot have now (still processing, refused, failed download).
enum class MissingFilePolicy {
  kWaitForFiles,    // publish nothing yet: answer kPending (a sync's first rounds, a fresh webhook)
  kCaptureWithout,  // publish what there is, name each missing file, follow it up
};

// Publishes one MeetingCaptured event and returns once the broker acknowledged it.
using MeetingPublisher = std::function<absl::Status(const zarc::v1::MeetingCaptured&)>;

// Turns one Zoom meeting (from a listing or a webhook) into a published MeetingCaptured version.
// Idempotent: the same meeting seen by poll and webhook, or twice, is published once; a later
// sighting with more files (a transcript after the recording, a file Zoom had still been
// processing), or with participants where the last version had none, publishes the next version
// with every file of the earlier one too. Each version is recorded create-once *before* it is
// published and is always published from its record: a retry after a failed publish (or a crash)
// publishes the same bytes, never a version rebuilt from Zoom as it is by then. Files that cannot
// be had are named in the version (`missing`, `problems`) and followed up (FollowUpStore) until
// they come or `missing_file_deadline` passes, when a last version says they were given up.
// Thread-safe; captures of one meeting are serialised.
class MeetingCapturer {
 public:
  struct Options {
    absl::Duration missing_file_deadline = absl::Hours(24 * 7);
  };
  MeetingCapturer(ZoomApi& api, ZoomDownloader& downloader, VersionStore& versions,
                  FollowUpStore& followups, MeetingPublisher publish, Options options,
                  prometheus::Registry* metrics);
  ~MeetingCapturer();

  absl::StatusOr<CaptureOutcome> Capture(
      const ZoomMeeting& meeting, zarc::v1::CaptureSource source, const std::string& download_token,
      MissingFilePolicy policy = MissingFilePolicy::kCaptureWithout);

 private:
  struct Metrics;
  // Captures of one meeting are serialised by one of a fixed set of mutexes chosen by the
  // meeting's UUID: bounded memory however many meetings a long-running fetcher sees.
  absl::Mutex& LockFor(const std::string& uuid);

  ZoomApi& api_;
  ZoomDownloader& downloader_;
  VersionStore& versions_;
  FollowUpStore& followups_;
  MeetingPublisher publish_;
  const Options options_;
  std::unique_ptr<Metrics> metrics_;
  std::array<absl::Mutex, 64> locks_;
};

}  // namespace zarc::fetcher

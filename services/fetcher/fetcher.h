#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "runtime/blob/blob_store.h"
#include "runtime/http/http_types.h"
#include "runtime/json/json.h"
#include "services/fetcher/capture.h"
#include "services/fetcher/zoom_client.h"

namespace prometheus {
class Registry;
}

namespace zarc::fetcher {

// Counters of one sync (a scheduled poll or a backfill). Read while it runs.
struct SyncProgress {
  std::atomic<int64_t> found{0};
  std::atomic<int64_t> captured{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> pending{0};
  std::atomic<int64_t> failed{0};
  // Users whose recordings listing failed: their meetings wait for the next poll.
  std::atomic<int64_t> listings_failed{0};
  std::atomic<bool> done{false};
  absl::Mutex mutex;
  std::string error ABSL_GUARDED_BY(mutex);
  absl::Time completed_until ABSL_GUARDED_BY(mutex) = absl::InfinitePast();
};

// Which Zoom sources a sync or poll lists. kAuto asks GET /archive_files whether the account has
// the Archiving API (remembered for a day): with it, both; without, cloud recordings only.
enum class ZoomSources { kAuto, kRecordings, kArchive, kBoth };
absl::StatusOr<ZoomSources> ParseZoomSources(absl::string_view text);

// Sends one ImportResult to the status log (zarc.import-log) and returns once it is acknowledged.
using ResultReporter = std::function<absl::Status(const zarc::v1::ImportResult&)>;

// The status-log record of a meeting found at Zoom that the fetcher gave up capturing: item id
// ledger::ItemId(account, uuid, ledger::kNotCapturedVersion), stage "fetcher", outcome FAILED, no
// mailbox, the host as source user, and `error` in the reason.
zarc::v1::ImportResult NotCapturedResult(const ZoomMeeting& meeting, const absl::Status& error,
                                         absl::Time now);

// The fetcher's work: walking date ranges the way Zoom allows (a month per user-recordings call,
// seven days per archive-files call), capturing each meeting on a pool of threads, and taking
// webhook events off a queue. Thread-safe.
class Fetcher {
 public:
  struct Options {
    // Programmatic default (tests); the configuration default, fetcher.sources, is auto.
    ZoomSources sources = ZoomSources::kRecordings;
    absl::Duration archiving_recheck = absl::Hours(24);
    int concurrency = 16;
    // Listing windows: Zoom allows one month for user recordings and 7 days for archive files.
    int recordings_window_days = 30;
    int archive_window_days = 7;
    // A meeting seen for the first time whose files are not all to be had (still processing, a
    // refused download) is tried again this many times, this far apart; the last round captures
    // it with what there is, each missing file named and followed up (MeetingCapturer).
    int pending_rounds = 3;
    absl::Duration pending_delay = absl::Seconds(30);
    absl::Duration poll_interval = absl::Hours(24);
    // Each scheduled poll re-reads this much before the last completed window end, because
    // recordings appear only after Zoom has processed them.
    absl::Duration poll_overlap = absl::Hours(48);
    absl::Duration first_poll_lookback = absl::Hours(24);
    size_t webhook_queue_limit = 10000;
    std::string progress_prefix = "state/fetcher/progress";
    // Accepted webhook events are recorded here before Zoom gets its 200 and removed once
    // captured, so a crash in between loses nothing: Start() queues what is left.
    std::string webhook_prefix = "state/fetcher/webhooks";
    // Where a meeting the fetcher gives up capturing (a sync's last round, a webhook's last
    // attempt) is reported, so the status log counts it as available and failed. Empty: logged only.
    ResultReporter report_not_captured;
  };

  Fetcher(ZoomApi& api, MeetingCapturer& capturer, FollowUpStore& followups, blob::BlobStore& state,
          Options options, prometheus::Registry* metrics);
  ~Fetcher();

  // Captures every meeting that started in [from, to). Blocks until done; `progress` may be read
  // meanwhile from other threads. Returns the error that stopped the walk (the user list or an
  // archive listing failed); a user whose recordings listing fails is logged and counted, and the
  // other users are still captured. Per-user and per-meeting failures never advance recorded
  // progress (`progress.completed_until` stops before them).
  absl::Status SyncRange(absl::Time from, absl::Time to, bool archiving, SyncProgress& progress,
                         zarc::v1::CaptureSource source);

  // Scheduled polling from the last recorded progress; and the webhook workers.
  void Start();
  void Stop();

  // Queues a meeting from a webhook. ResourceExhausted when the queue is full (answer 503: Zoom
  // retries).
  // `record` names the blob that keeps the event until it is captured (empty: none).
  absl::Status Enqueue(ZoomMeeting meeting, std::string download_token, std::string record = "");
  size_t QueueLength();

  // The webhook HTTP handler: verifies, answers endpoint.url_validation, queues recording events.
  http::ServerResponse HandleWebhook(const http::ServerRequest& request, const std::string& secret);
  // When the newest webhook event whose signature verified arrived; InfinitePast if none yet.
  absl::Time last_webhook() const;

  // Looks again at every meeting captured with files missing (FollowUpStore), with Get meeting
  // recordings or the meeting's archive files, publishing a new version when a file arrived or its
  // deadline passed. Each scheduled poll runs it after its window.
  void RecheckFollowUps(SyncProgress& progress);

  // Every meeting Zoom lists as started in [from, to), as a sync walks them (also for zarc verify).
  struct Listing {
    std::vector<ZoomMeeting> meetings;
    // Everything that started before this was listed (a failed user's window holds it back).
    absl::Time complete_until = absl::InfiniteFuture();
    std::vector<std::string> errors;  // each failed user listing, in plain words
  };
  absl::StatusOr<Listing> ListWindow(absl::Time from, absl::Time to, bool archiving,
                                     SyncProgress& progress);

  // What the configured sources come to now: kAuto is detected (and remembered for
  // Options::archiving_recheck). Never kAuto.
  ZoomSources ResolveSources();
  // Whether the account has the Archiving API, as last detected; nullopt before any detection.
  struct ArchivingState {
    bool available = false;
    std::string why;  // Zoom's answer, in plain words
  };
  std::optional<ArchivingState> archiving_state();

  absl::StatusOr<absl::Time> LastCompletedWindowEnd();
  absl::Status RecordCompletedWindowEnd(absl::Time end);

 private:
  struct Metrics;
  struct Job {
    ZoomMeeting meeting;
    std::string download_token;
    std::string record;
    int attempts = 0;
    absl::Time not_before = absl::InfinitePast();
  };
  // `errors` gets the error of each meeting whose capture failed (by uuid).
  void CaptureAll(std::vector<ZoomMeeting>& meetings, SyncProgress& progress,
                  zarc::v1::CaptureSource source, MissingFilePolicy policy,
                  std::vector<ZoomMeeting>& still_pending,
                  std::map<std::string, absl::Status>* errors = nullptr);
  void ReportNotCaptured(const ZoomMeeting& meeting, const absl::Status& error);
  void WebhookWorker();
  // Writes the event's meeting object create-once under webhook_prefix; returns its name.
  absl::StatusOr<std::string> RecordWebhook(const json::Value& object, const std::string& account_id,
                                            const std::string& uuid);
  // Queues the webhook events a previous run accepted but did not capture.
  void RequeueRecordedWebhooks();
  void PollLoop();
  // The meeting as Zoom lists it now, from the sources that apply (one answering 404 is fine).
  absl::StatusOr<ZoomMeeting> Refetch(const ZoomMeeting& listed, ZoomSources sources);

  absl::Mutex archiving_mutex_;
  std::optional<ArchivingState> archiving_ ABSL_GUARDED_BY(archiving_mutex_);
  absl::Time archiving_checked_ ABSL_GUARDED_BY(archiving_mutex_) = absl::InfinitePast();

  ZoomApi& api_;
  MeetingCapturer& capturer_;
  FollowUpStore& followups_;
  blob::BlobStore& state_;
  const Options options_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<int64_t> last_webhook_unix_{0};

  absl::Mutex mutex_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

// Asks Zoom whether the account has the Archiving API, with the cheapest call it answers (GET
// /archive_files over the hour before `now`). A refusal (4xx: the feature is off, or the app lacks
// archiving:read:admin) is an answer, `available = false`; an error that decides nothing (Zoom
// down, throttled) is returned as the error.
absl::StatusOr<Fetcher::ArchivingState> ProbeArchiving(ZoomApi& api, absl::Time now);

}  // namespace zarc::fetcher

#include "services/fetcher/fetcher.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "runtime/crypto/digest.h"
#include "runtime/blob/random_id.h"
#include "runtime/kafka/topics.h"
#include "runtime/ledger/ledger.h"
#include "runtime/log/log.h"
#include "services/fetcher/zoom_webhook.h"

namespace zarc::fetcher {

struct Fetcher::Metrics {
  prometheus::Family<prometheus::Counter>* webhooks = nullptr;
  prometheus::Gauge* queue = nullptr;
  prometheus::Gauge* completed_until = nullptr;
  prometheus::Counter* listing_failures = nullptr;
};

Fetcher::Fetcher(ZoomApi& api, MeetingCapturer& capturer, FollowUpStore& followups,
                 blob::BlobStore& state, Options options, prometheus::Registry* registry)
    : api_(api),
      capturer_(capturer),
      followups_(followups),
      state_(state),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->webhooks = &prometheus::BuildCounter()
                              .Name("zarc_fetcher_webhook_events_total")
                              .Help("Zoom webhook requests by event and outcome")
                              .Register(*registry);
    metrics_->queue = &prometheus::BuildGauge()
                           .Name("zarc_fetcher_webhook_queue_length")
                           .Help("Webhook-announced meetings waiting to be captured")
                           .Register(*registry)
                           .Add({});
    metrics_->completed_until = &prometheus::BuildGauge()
                                     .Name("zarc_fetcher_completed_until_timestamp_seconds")
                                     .Help("End of the last completely captured poll window")
                                     .Register(*registry)
                                     .Add({});
    metrics_->listing_failures = &prometheus::BuildCounter()
                                      .Name("zarc_fetcher_listing_failures_total")
                                      .Help(
                                          "User recordings listings that failed (the user's "
                                          "meetings wait for the next poll)")
                                      .Register(*registry)
                                      .Add({});
  }
}

Fetcher::~Fetcher() { Stop(); }

zarc::v1::ImportResult NotCapturedResult(const ZoomMeeting& meeting, const absl::Status& error,
                                         absl::Time now) {
  zarc::v1::ImportResult r;
  r.set_item_id(ledger::ItemId(meeting.account_id, meeting.uuid, ledger::kNotCapturedVersion));
  r.set_source_user(!meeting.host_email.empty() ? absl::AsciiStrToLower(meeting.host_email)
                                                : meeting.host_id);
  r.set_outcome(zarc::v1::IMPORT_OUTCOME_FAILED);
  r.set_reason(absl::StrCat("meeting \"", meeting.topic, "\" (", meeting.uuid,
                            ") not captured from Zoom: ", error.message(),
                            "; the next poll or zarc sync tries it again"));
  if (meeting.start_time != absl::InfinitePast()) {
    r.mutable_meeting_start()->set_seconds(absl::ToUnixSeconds(meeting.start_time));
  }
  r.mutable_completed_at()->set_seconds(absl::ToUnixSeconds(now));
  r.set_target("none");
  r.set_stage(std::string(ledger::kFetcherStage));
  return r;
}

void Fetcher::ReportNotCaptured(const ZoomMeeting& meeting, const absl::Status& error) {
  log::Error("fetcher", "meeting not captured; reported to the status log as failed",
             {{"meeting_uuid", meeting.uuid}, {"error", error}});
  if (!options_.report_not_captured) return;
  if (absl::Status s = options_.report_not_captured(NotCapturedResult(meeting, error, absl::Now()));
      !s.ok()) {
    log::Error("fetcher", "cannot report a meeting that was not captured to the status log",
               {{"meeting_uuid", meeting.uuid}, {"error", s}});
  }
}

namespace {
constexpr int kWebhookWaitingAttempts = 3;

absl::Time FloorDay(absl::Time t) {
  const absl::CivilDay day = absl::ToCivilDay(t, absl::UTCTimeZone());
  return absl::FromCivil(day, absl::UTCTimeZone());
}

bool ListsRecordings(ZoomSources s) { return s == ZoomSources::kRecordings || s == ZoomSources::kBoth; }
bool ListsArchive(ZoomSources s) { return s == ZoomSources::kArchive || s == ZoomSources::kBoth; }

// One meeting instance (one UUID) is one item whichever sources list it: the files of `from`
// that `into` lacks are added to it.
void MergeMeeting(ZoomMeeting& into, const ZoomMeeting& from) {
  std::set<std::string> have;
  for (const ZoomFile& f : into.files) have.insert(f.StableId());
  for (const ZoomFile& f : from.files) {
    if (have.insert(f.StableId()).second) into.files.push_back(f);
  }
  into.archived |= from.archived;
  if (into.host_email.empty()) into.host_email = from.host_email;
  if (into.topic.empty()) into.topic = from.topic;
  if (into.start_time == absl::InfinitePast()) into.start_time = from.start_time;
}
}  // namespace

absl::StatusOr<ZoomSources> ParseZoomSources(absl::string_view text) {
  if (text == "auto") return ZoomSources::kAuto;
  if (text == "recordings") return ZoomSources::kRecordings;
  if (text == "archive") return ZoomSources::kArchive;
  if (text == "both") return ZoomSources::kBoth;
  return absl::InvalidArgumentError(absl::StrCat(
      "fetcher.sources = \"", text, "\" is not a source; use auto, recordings, archive or both"));
}

absl::StatusOr<Fetcher::ArchivingState> ProbeArchiving(ZoomApi& api, absl::Time now) {
  absl::StatusOr<ZoomPage<ZoomMeeting>> probe = api.ArchiveFiles(now - absl::Hours(1), now, "");
  if (probe.ok()) return Fetcher::ArchivingState{.available = true, .why = "GET /archive_files answered"};
  if (absl::IsFailedPrecondition(probe.status()) || absl::IsNotFound(probe.status())) {
    return Fetcher::ArchivingState{.available = false, .why = std::string(probe.status().message())};
  }
  return probe.status();
}

std::optional<Fetcher::ArchivingState> Fetcher::archiving_state() {
  absl::MutexLock lock(&archiving_mutex_);
  return archiving_;
}

ZoomSources Fetcher::ResolveSources() {
  if (options_.sources != ZoomSources::kAuto) return options_.sources;
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&archiving_mutex_);
    if (archiving_.has_value() && now - archiving_checked_ < options_.archiving_recheck) {
      return archiving_->available ? ZoomSources::kBoth : ZoomSources::kRecordings;
    }
  }
  // A transient error decides nothing: recordings only this time, and asked again next time.
  absl::StatusOr<ArchivingState> probed = ProbeArchiving(api_, now);
  if (!probed.ok()) {
    log::Warn("fetcher", "cannot tell whether the account has the Archiving API; listing cloud "
              "recordings only this time", {{"error", probed.status()}});
    return ZoomSources::kRecordings;
  }
  const ArchivingState state = *std::move(probed);
  log::Info("fetcher", state.available ? "the account has the Archiving API: listing cloud "
                                         "recordings and archive files"
                                       : "the account has no Archiving API: listing cloud "
                                         "recordings only",
            {{"answer", state.why}});
  absl::MutexLock lock(&archiving_mutex_);
  archiving_ = state;
  archiving_checked_ = now;
  return state.available ? ZoomSources::kBoth : ZoomSources::kRecordings;
}

absl::StatusOr<ZoomMeeting> Fetcher::Refetch(const ZoomMeeting& listed, ZoomSources sources) {
  std::optional<ZoomMeeting> out;
  absl::Status last = absl::NotFoundError(absl::StrCat("Zoom lists no files of ", listed.uuid));
  absl::Status failed;
  auto take = [&](absl::StatusOr<ZoomMeeting> got) {
    if (!got.ok()) {
      // 404: this source has nothing of the meeting. Anything else: the answer is incomplete.
      if (!absl::IsNotFound(got.status())) failed = got.status();
      last = got.status();
      return;
    }
    if (!out.has_value()) {
      out = *std::move(got);
    } else {
      MergeMeeting(*out, *got);
    }
  };
  if (ListsRecordings(sources)) take(api_.MeetingRecordings(listed.uuid));
  if (ListsArchive(sources)) take(api_.MeetingArchiveFiles(listed.uuid));
  if (!failed.ok()) return failed;
  if (!out.has_value()) return last;
  return *std::move(out);
}

absl::StatusOr<Fetcher::Listing> Fetcher::ListWindow(absl::Time from, absl::Time to, bool archiving,
                                                     SyncProgress& progress) {
  Listing out;
  const ZoomSources sources = archiving ? ZoomSources::kArchive : ResolveSources();
  std::map<std::string, size_t> seen;  // uuid -> index in out.meetings
  auto keep = [&](std::vector<ZoomMeeting>& items, const ZoomUser* host = nullptr) {
    for (ZoomMeeting& m : items) {
      if (m.start_time < from || m.start_time >= to) continue;
      if (auto it = seen.find(m.uuid); it != seen.end()) {
        MergeMeeting(out.meetings[it->second], m);  // listed by the other source too
        continue;
      }
      seen[m.uuid] = out.meetings.size();
      // A listing names the host by id only; the user listed is the host.
      if (m.host_email.empty() && host != nullptr) m.host_email = host->email;
      out.meetings.push_back(std::move(m));
    }
  };
  auto list_archive = [&]() -> absl::Status {
    for (absl::Time w = from; w < to;) {
      const absl::Time end = std::min(to, w + absl::Hours(24 * options_.archive_window_days));
      std::string token;
      do {
        absl::StatusOr<ZoomPage<ZoomMeeting>> page = api_.ArchiveFiles(w, end, token);
        if (!page.ok()) return page.status();
        keep(page->items);
        token = page->next_page_token;
      } while (!token.empty());
      w = end;
    }
    return absl::OkStatus();
  };
  if (!ListsRecordings(sources)) {
    if (absl::Status s = list_archive(); !s.ok()) return s;
    return out;
  }
  absl::StatusOr<std::vector<ZoomUser>> users = api_.ListActiveUsers();
  if (!users.ok()) return users.status();
  const absl::Time last_day = FloorDay(to - absl::Nanoseconds(1));
  for (const ZoomUser& user : *users) {
    // One user's listing failing (removed meanwhile: 404; refused: 400; Zoom's daily limit: 429)
    // must not cost every other user their capture: the failure holds progress back to the start
    // of that user's window, so the next poll lists it again.
    auto user_failed = [&](const absl::Status& error, absl::Time window_start) {
      ++progress.listings_failed;
      if (metrics_->listing_failures) metrics_->listing_failures->Increment();
      out.complete_until = std::min(out.complete_until, std::max(from, window_start));
      out.errors.push_back(absl::StrCat("user ", user.id, " from ", FormatZoomDate(window_start), ": ",
                                        error.message()));
      log::Error("fetcher", "recordings listing failed for a user; the next poll lists it again",
                 {{"user", user.id}, {"from", FormatZoomDate(window_start)}, {"error", error}});
    };
    int window_days = options_.recordings_window_days;
    for (absl::Time day = FloorDay(from); day <= last_day;) {
      const absl::Time end_day = std::min(last_day, day + absl::Hours(24 * (window_days - 1)));
      std::string token;
      bool clamped = false;
      absl::Status failed;
      do {
        absl::StatusOr<ZoomPage<ZoomMeeting>> page = api_.UserRecordings(user.id, day, end_day, token);
        if (!page.ok()) {
          failed = page.status();
          break;
        }
        // Zoom silently clamps a range it finds too long and says so only in `from`: walk the
        // window again in halves rather than miss the days it dropped.
        if (!page->from.empty() && page->from != FormatZoomDate(day)) {
          clamped = true;
          break;
        }
        keep(page->items, &user);
        token = page->next_page_token;
      } while (!token.empty());
      if (!failed.ok()) {
        user_failed(failed, day);
        break;
      }
      if (clamped) {
        if (window_days == 1) {
          user_failed(absl::InternalError(absl::StrCat("Zoom clamps even a one-day range for user ",
                                                       user.id, " at ", FormatZoomDate(day))),
                      day);
          break;
        }
        log::Warn("fetcher", "Zoom clamped a recordings range; walking it in smaller windows",
                  {{"user", user.id}, {"from", FormatZoomDate(day)}, {"window_days", window_days}});
        window_days = std::max(1, window_days / 2);
        continue;
      }
      day = end_day + absl::Hours(24);
    }
  }
  // Archive files merge into the meetings the recordings listed (same UUID: one item), and add
  // the meetings only the Archiving API has.
  if (ListsArchive(sources)) {
    if (absl::Status s = list_archive(); !s.ok()) return s;
  }
  return out;
}

void Fetcher::CaptureAll(std::vector<ZoomMeeting>& meetings, SyncProgress& progress,
                         zarc::v1::CaptureSource source, MissingFilePolicy policy,
                         std::vector<ZoomMeeting>& still_pending,
                         std::map<std::string, absl::Status>* errors) {
  std::atomic<size_t> next{0};
  absl::Mutex pending_mutex;
  auto work = [&]() {
    for (size_t i = next++; i < meetings.size(); i = next++) {
      absl::StatusOr<CaptureOutcome> outcome = capturer_.Capture(meetings[i], source, "", policy);
      if (!outcome.ok()) {
        ++progress.failed;
        log::Error("fetcher", "meeting capture failed",
                   {{"meeting_uuid", meetings[i].uuid}, {"error", outcome.status()}});
        absl::MutexLock lock(&pending_mutex);
        still_pending.push_back(meetings[i]);  // retried with the pending ones
        if (errors != nullptr) (*errors)[meetings[i].uuid] = outcome.status();
        continue;
      }
      if (errors != nullptr) {
        absl::MutexLock lock(&pending_mutex);
        errors->erase(meetings[i].uuid);
      }
      switch (*outcome) {
        case CaptureOutcome::kCaptured: ++progress.captured; break;
        case CaptureOutcome::kDuplicate: ++progress.duplicates; break;
        case CaptureOutcome::kPending: {
          absl::MutexLock lock(&pending_mutex);
          still_pending.push_back(meetings[i]);
          break;
        }
      }
    }
  };
  std::vector<std::thread> pool;
  const int n = std::max(1, std::min<int>(options_.concurrency, static_cast<int>(meetings.size())));
  for (int t = 0; t < n; ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
}

namespace {
// Fields a per-meeting call does not give, kept from the sighting that named the meeting.
void KeepListedFields(const ZoomMeeting& listed, ZoomMeeting& now) {
  if (now.start_time == absl::InfinitePast()) now.start_time = listed.start_time;
  if (now.host_email.empty()) now.host_email = listed.host_email;
  if (now.account_id.empty()) now.account_id = listed.account_id;
  now.archived |= listed.archived;
}
}  // namespace

absl::Status Fetcher::SyncRange(absl::Time from, absl::Time to, bool archiving,
                                SyncProgress& progress, zarc::v1::CaptureSource source) {
  auto finish = [&](absl::Status s, absl::Time until) {
    absl::MutexLock lock(&progress.mutex);
    progress.error = s.ok() ? "" : std::string(s.message());
    progress.completed_until = until;
    progress.done = true;
    return s;
  };
  const ZoomSources sources = archiving ? ZoomSources::kArchive : ResolveSources();
  log::Info("fetcher", "sync started",
            {{"from", FormatZoomDateTime(from)}, {"to", FormatZoomDateTime(to)},
             {"api", sources == ZoomSources::kArchive ? "archive_files"
                     : sources == ZoomSources::kBoth  ? "user recordings and archive_files"
                                                      : "user recordings"}});
  absl::StatusOr<Listing> listing = ListWindow(from, to, archiving, progress);
  if (!listing.ok()) return finish(listing.status(), absl::InfinitePast());
  progress.found = static_cast<int64_t>(listing->meetings.size());

  // The first rounds wait for a meeting's files; the last captures it with what there is.
  auto policy = [&](int round) {
    return round < options_.pending_rounds ? MissingFilePolicy::kWaitForFiles
                                           : MissingFilePolicy::kCaptureWithout;
  };
  std::vector<ZoomMeeting> pending;
  std::map<std::string, absl::Status> errors;
  CaptureAll(listing->meetings, progress, source, policy(0), pending, &errors);
  bool stopped = false;
  for (int round = 1; round <= options_.pending_rounds && !pending.empty(); ++round) {
    {
      absl::MutexLock lock(&mutex_);
      mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.pending_delay);
      if (stopping_) {
        stopped = true;
        break;
      }
    }
    std::vector<ZoomMeeting> refreshed;
    for (const ZoomMeeting& m : pending) {
      absl::StatusOr<ZoomMeeting> again = Refetch(m, sources);
      if (!again.ok()) {
        refreshed.push_back(m);
        continue;
      }
      KeepListedFields(m, *again);
      refreshed.push_back(*std::move(again));
    }
    pending.clear();
    progress.failed = 0;  // failures are counted again for the meetings retried
    CaptureAll(refreshed, progress, source, policy(round), pending, &errors);
  }
  // Given up for this sync: the status log must show each such meeting as found and failed (a
  // meeting still waiting for its files when the fetcher stops is not given up).
  if (!stopped) {
    for (const ZoomMeeting& m : pending) {
      auto error = errors.find(m.uuid);
      if (error != errors.end()) ReportNotCaptured(m, error->second);
    }
  }
  progress.pending = static_cast<int64_t>(pending.size());
  absl::Time until = std::min(to, listing->complete_until);
  for (const ZoomMeeting& m : pending) until = std::min(until, m.start_time);
  log::Info("fetcher", "sync finished",
            {{"found", progress.found.load()},
             {"captured", progress.captured.load()},
             {"duplicates", progress.duplicates.load()},
             {"pending", progress.pending.load()},
             {"listings_failed", progress.listings_failed.load()}});
  return finish(absl::OkStatus(), until);
}

void Fetcher::RecheckFollowUps(SyncProgress& progress) {
  absl::StatusOr<std::vector<FollowUpStore::FollowUp>> followups = followups_.List();
  if (!followups.ok()) {
    log::Error("fetcher", "cannot list meetings with missing files",
               {{"error", followups.status()}});
    return;
  }
  std::vector<ZoomMeeting> meetings;
  for (const FollowUpStore::FollowUp& f : *followups) {
    ZoomMeeting listed;
    listed.uuid = f.meeting_uuid;
    listed.account_id = f.account_id;
    listed.host_email = f.host_email;
    listed.start_time = f.start_time;
    listed.archived = f.archive;
    // A meeting with archive files is looked at in both sources when both are listed.
    const ZoomSources configured = ResolveSources();
    const ZoomSources sources = !f.archive ? ZoomSources::kRecordings
                                : configured == ZoomSources::kBoth ? ZoomSources::kBoth
                                                                   : ZoomSources::kArchive;
    absl::StatusOr<ZoomMeeting> now = Refetch(listed, sources);
    if (absl::IsNotFound(now.status())) {
      // Zoom has no files for it any more: the capture keeps the missing ones until the deadline.
      now = listed;
    }
    if (!now.ok()) {
      ++progress.failed;
      log::Warn("fetcher", "meeting with missing files not re-checked now; the next poll will",
                {{"meeting_uuid", f.meeting_uuid}, {"error", now.status()}});
      continue;
    }
    KeepListedFields(listed, *now);
    meetings.push_back(*std::move(now));
  }
  progress.found += static_cast<int64_t>(meetings.size());
  std::vector<ZoomMeeting> failed;
  CaptureAll(meetings, progress, zarc::v1::CAPTURE_SOURCE_POLL, MissingFilePolicy::kCaptureWithout,
             failed);
  if (!meetings.empty()) {
    log::Info("fetcher", "meetings with missing files re-checked",
              {{"meetings", meetings.size()},
               {"captured", progress.captured.load()},
               {"failed", failed.size()}});
  }
}

absl::StatusOr<absl::Time> Fetcher::LastCompletedWindowEnd() {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = state_.List(options_.progress_prefix + "/");
  if (!list.ok()) return list.status();
  if (list->empty()) return absl::InfinitePast();
  const std::string& name = list->back().name;
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(name.substr(name.rfind('/') + 1), &seconds)) {
    return absl::DataLossError(absl::StrCat("progress marker ", name, " is not a timestamp"));
  }
  return absl::FromUnixSeconds(seconds);
}

absl::Status Fetcher::RecordCompletedWindowEnd(absl::Time end) {
  // One create-once marker per completed window: zero-padded so the newest sorts last.
  const std::string name =
      absl::StrCat(options_.progress_prefix, "/", absl::StrFormat("%012d", absl::ToUnixSeconds(end)));
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer = state_.Create(name, {});
  if (!writer.ok()) return writer.status();
  absl::Status s = (*writer)->Close();
  if (s.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  if (s.ok() && metrics_->completed_until) {
    metrics_->completed_until->Set(static_cast<double>(absl::ToUnixSeconds(end)));
  }
  return s;
}

void Fetcher::PollLoop() {
  while (true) {
    absl::StatusOr<absl::Time> last = LastCompletedWindowEnd();
    const absl::Time now = absl::Now();
    if (!last.ok()) {
      log::Error("fetcher", "cannot read poll progress", {{"error", last.status()}});
    } else {
      const absl::Time from = *last == absl::InfinitePast() ? now - options_.first_poll_lookback
                                                            : *last - options_.poll_overlap;
      SyncProgress progress;
      absl::Status s = SyncRange(from, now, /*archiving=*/false, progress,
                                 zarc::v1::CAPTURE_SOURCE_POLL);
      absl::Time until;
      {
        absl::MutexLock lock(&progress.mutex);
        until = progress.completed_until;
      }
      if (!s.ok()) {
        log::Error("fetcher", "scheduled poll failed", {{"error", s}});
      } else if (until > *last) {
        if (absl::Status r = RecordCompletedWindowEnd(until); !r.ok()) {
          log::Error("fetcher", "cannot record poll progress", {{"error", r}});
        }
      }
      SyncProgress followups;
      RecheckFollowUps(followups);
    }
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), options_.poll_interval);
    if (stopping_) return;
  }
}

absl::StatusOr<std::string> Fetcher::RecordWebhook(const json::Value& object,
                                                   const std::string& account_id,
                                                   const std::string& uuid) {
  // Only the meeting object is kept, not the download_token (a credential): a recorded event is
  // captured with the OAuth token, which Zoom accepts for downloads as well.
  json::Value record = json::Value::Object();
  record["account_id"] = json::Str(account_id);
  record["object"] = object;
  const std::string name = absl::StrCat(
      options_.webhook_prefix, "/",
      absl::FormatTime("%Y%m%dT%H%M%E9S", absl::Now(), absl::UTCTimeZone()), "-",
      crypto::Sha256Hex(uuid).substr(0, 16), "-", blob::RandomHex(4), ".json");
  // A store hiccup is retried briefly: Zoom wants its answer within 3 s, and a 503 only delays.
  absl::Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(200 * attempt));
    absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
        state_.Create(name, blob::WriteOptions{.content_type = "application/json"});
    last = writer.status();
    if (!writer.ok()) continue;
    last = (*writer)->Write(json::Serialize(record));
    if (!last.ok()) continue;
    last = (*writer)->Close();
    if (last.ok() || absl::IsAlreadyExists(last)) return name;
  }
  return last;
}

void Fetcher::RequeueRecordedWebhooks() {
  absl::StatusOr<std::vector<blob::BlobInfo>> records = state_.List(options_.webhook_prefix + "/");
  if (!records.ok()) {
    log::Error("fetcher", "cannot list recorded webhook events", {{"error", records.status()}});
    return;
  }
  for (const blob::BlobInfo& info : *records) {
    absl::StatusOr<std::unique_ptr<io::ByteSource>> source = state_.Open(info.name);
    absl::StatusOr<std::string> text =
        source.ok() ? io::ReadAll(**source, 16 << 20) : absl::StatusOr<std::string>(source.status());
    absl::StatusOr<json::Value> record =
        text.ok() ? json::Parse(*text, info.name) : absl::StatusOr<json::Value>(text.status());
    if (!record.ok()) {
      log::Error("fetcher", "recorded webhook event unreadable; left in place",
                 {{"record", info.name}, {"error", record.status()}});
      continue;
    }
    ZoomMeeting meeting = MeetingFromJson(json::Object(*record, "object"));
    if (meeting.account_id.empty()) meeting.account_id = json::String(*record, "account_id");
    if (absl::Status s = Enqueue(std::move(meeting), "", info.name); !s.ok()) {
      log::Warn("fetcher", "recorded webhook event not queued now; the next start will",
                {{"record", info.name}, {"error", s}});
    }
  }
  if (!records->empty()) {
    log::Info("fetcher", "queued webhook events accepted before the last stop",
              {{"events", records->size()}});
  }
}

void Fetcher::Start() {
  RequeueRecordedWebhooks();
  for (int i = 0; i < std::max(1, options_.concurrency); ++i) {
    threads_.emplace_back([this] { WebhookWorker(); });
  }
  if (options_.poll_interval > absl::ZeroDuration()) {
    threads_.emplace_back([this] { PollLoop(); });
  }
}

void Fetcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

absl::Status Fetcher::Enqueue(ZoomMeeting meeting, std::string download_token,
                              std::string record) {
  absl::MutexLock lock(&mutex_);
  if (queue_.size() >= options_.webhook_queue_limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "webhook queue is full (", queue_.size(), " meetings waiting); Zoom will retry"));
  }
  queue_.push_back(Job{std::move(meeting), std::move(download_token), std::move(record)});
  if (metrics_->queue) metrics_->queue->Set(static_cast<double>(queue_.size()));
  return absl::OkStatus();
}

size_t Fetcher::QueueLength() {
  absl::MutexLock lock(&mutex_);
  return queue_.size();
}

void Fetcher::WebhookWorker() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        if (stopping_) return true;
        const absl::Time now = absl::Now();
        for (const Job& j : queue_) {
          if (j.not_before <= now) return true;
        }
        return false;
      };
      while (!ready()) mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(100));
      if (stopping_) return;
      const absl::Time now = absl::Now();
      auto it = std::find_if(queue_.begin(), queue_.end(),
                             [now](const Job& j) { return j.not_before <= now; });
      job = std::move(*it);
      queue_.erase(it);
      if (metrics_->queue) metrics_->queue->Set(static_cast<double>(queue_.size()));
    }
    // The first attempts wait for files Zoom is still processing; later ones capture what there is.
    const MissingFilePolicy policy = job.attempts < kWebhookWaitingAttempts
                                         ? MissingFilePolicy::kWaitForFiles
                                         : MissingFilePolicy::kCaptureWithout;
    absl::StatusOr<CaptureOutcome> outcome = capturer_.Capture(
        job.meeting, zarc::v1::CAPTURE_SOURCE_WEBHOOK, job.download_token, policy);
    const bool again = !outcome.ok() || *outcome == CaptureOutcome::kPending;
    if (!again) {
      if (!job.record.empty()) {
        if (absl::Status s = state_.Delete(job.record); !s.ok() && !absl::IsNotFound(s)) {
          log::Warn("fetcher", "captured, but the webhook record stays (captured again as a "
                    "duplicate after a restart)", {{"record", job.record}, {"error", s}});
        }
      }
      continue;
    }
    if (++job.attempts >= 10) {
      log::Warn("fetcher", "webhook meeting not captured after 10 attempts; the next poll or "
                "restart will try again", {{"meeting_uuid", job.meeting.uuid}});
      if (!outcome.ok()) ReportNotCaptured(job.meeting, outcome.status());
      continue;
    }
    if (!outcome.ok()) {
      log::Warn("fetcher", "webhook capture failed; will retry",
                {{"meeting_uuid", job.meeting.uuid}, {"error", outcome.status()}});
    }
    job.not_before = absl::Now() + options_.pending_delay * job.attempts;
    // The event's payload is a snapshot: ask Zoom for the meeting's current files before the next
    // attempt, so a file that was still processing (or a refused link) is seen as it is now.
    // The event's own source is always asked, and the configured ones: a meeting's recordings and
    // archive files are one item, whichever event came.
    ZoomSources sources = ResolveSources();
    if (job.meeting.archived ? sources == ZoomSources::kRecordings : sources == ZoomSources::kArchive) {
      sources = ZoomSources::kBoth;
    }
    absl::StatusOr<ZoomMeeting> now = Refetch(job.meeting, sources);
    if (now.ok()) {
      KeepListedFields(job.meeting, *now);
      job.meeting = *std::move(now);
    }
    absl::MutexLock lock(&mutex_);
    queue_.push_back(std::move(job));
  }
}

absl::Time Fetcher::last_webhook() const {
  const int64_t t = last_webhook_unix_.load();
  return t == 0 ? absl::InfinitePast() : absl::FromUnixSeconds(t);
}

http::ServerResponse Fetcher::HandleWebhook(const http::ServerRequest& request,
                                            const std::string& secret) {
  auto answer = [this](int status, const std::string& event, const std::string& outcome,
                       std::string body) {
    if (metrics_->webhooks) {
      metrics_->webhooks->Add({{"event", event.empty() ? "unknown" : event}, {"outcome", outcome}})
          .Increment();
    }
    http::ServerResponse r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return r;
  };
  auto error_body = [](absl::string_view message) {
    json::Value v = json::Value::Object();
    v["error"] = json::Str(message);
    return json::Serialize(v);
  };
  if (request.method != "POST") return answer(405, "", "rejected", error_body("POST only"));
  absl::Status verified = VerifyWebhookSignature(
      secret, http::FindHeader(request.headers, "x-zm-request-timestamp").value_or(""),
      http::FindHeader(request.headers, "x-zm-signature").value_or(""), request.body, absl::Now());
  if (!verified.ok()) {
    log::Warn("fetcher", "webhook rejected",
              {{"remote", request.remote_address}, {"reason", verified.message()}});
    return answer(401, "", "rejected", error_body(verified.message()));
  }
  last_webhook_unix_.store(absl::ToUnixSeconds(absl::Now()));
  absl::StatusOr<WebhookEvent> event = ParseWebhookEvent(request.body);
  if (!event.ok()) return answer(400, "", "malformed", error_body(event.status().message()));
  if (event->event == "endpoint.url_validation") {
    return answer(200, event->event, "validated", UrlValidationResponse(secret, event->plain_token));
  }
  if (event->event == "recording.completed" || event->event == "recording.transcript_completed" ||
      event->event == "recording.archive_files_completed") {
    ZoomMeeting meeting = MeetingFromJson(event->object);
    if (meeting.account_id.empty()) meeting.account_id = event->account_id;
    if (meeting.uuid.empty()) {
      return answer(400, event->event, "malformed", error_body("payload.object has no uuid"));
    }
    // Recorded before Zoom hears 200: an accepted event survives a crash.
    absl::StatusOr<std::string> record = RecordWebhook(event->object, event->account_id, meeting.uuid);
    if (!record.ok()) {
      log::Error("fetcher", "cannot record a webhook event; Zoom will retry it",
                 {{"meeting_uuid", meeting.uuid}, {"error", record.status()}});
      return answer(503, event->event, "unrecorded", error_body("cannot record the event now"));
    }
    absl::Status queued = Enqueue(std::move(meeting), event->download_token, *record);
    if (!queued.ok()) {
      (void)state_.Delete(*record);  // Zoom retries it: no record is needed for this one
      return answer(503, event->event, "queue_full", error_body(queued.message()));
    }
    return answer(200, event->event, "queued", "{}");
  }
  // meeting.ended and others: nothing to fetch yet (recordings follow in their own events).
  return answer(200, event->event, "ignored", "{}");
}

}  // namespace zarc::fetcher

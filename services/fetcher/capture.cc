#include "services/fetcher/capture.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdio>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "runtime/crypto/digest.h"
#include "runtime/json/json.h"
#include "runtime/log/log.h"
#include "services/fetcher/meeting_assembly.h"

namespace zarc::fetcher {

VersionStore::VersionStore(blob::BlobStore& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

namespace {
constexpr absl::string_view kRecordSuffix = ".pb";
constexpr absl::string_view kPublishedSuffix = ".published";
constexpr size_t kMaxRecordBytes = 64 << 20;

absl::StatusOr<std::string> ReadBlob(blob::BlobStore& store, const std::string& name,
                                     size_t limit) {
  absl::StatusOr<std::unique_ptr<io::ByteSource>> source = store.Open(name);
  if (!source.ok()) return source.status();
  return io::ReadAll(**source, limit);
}

// Writes `bytes` create-once under `name`; AlreadyExists if the name is taken.
absl::Status CreateOnce(blob::BlobStore& store, const std::string& name, absl::string_view bytes,
                        const std::string& content_type) {
  absl::StatusOr<std::unique_ptr<blob::BlobWriter>> writer =
      store.Create(name, blob::WriteOptions{.content_type = content_type});
  if (!writer.ok()) return writer.status();
  if (!bytes.empty()) {
    if (absl::Status s = (*writer)->Write(bytes); !s.ok()) return s;
  }
  return (*writer)->Close();
}
}  // namespace

std::string VersionStore::Folder(const std::string& uuid) const {
  return absl::StrCat(prefix_, "/", crypto::Sha256Hex(uuid).substr(0, 40), "/");
}

std::string VersionStore::RecordName(const std::string& uuid, int32_t version) const {
  return absl::StrCat(Folder(uuid), absl::StrFormat("v%06d", version), kRecordSuffix);
}

absl::StatusOr<zarc::v1::MeetingCaptured> VersionStore::ReadRecord(const std::string& name) {
  absl::StatusOr<std::string> bytes = ReadBlob(store_, name, kMaxRecordBytes);
  if (!bytes.ok()) return bytes.status();
  zarc::v1::MeetingCaptured event;
  if (!event.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("version record ", name, " is not a MeetingCaptured"));
  }
  return event;
}

absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> VersionStore::Latest(
    const std::string& uuid) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(Folder(uuid));
  if (!list.ok()) return list.status();
  // Zero-padded: the last record is the newest (published markers sort between records).
  for (auto it = list->rbegin(); it != list->rend(); ++it) {
    if (!absl::EndsWith(it->name, kRecordSuffix)) continue;
    absl::StatusOr<zarc::v1::MeetingCaptured> event = ReadRecord(it->name);
    if (!event.ok()) return event.status();
    return std::optional<zarc::v1::MeetingCaptured>(*std::move(event));
  }
  return std::optional<zarc::v1::MeetingCaptured>();
}

absl::StatusOr<zarc::v1::MeetingCaptured> VersionStore::Read(const std::string& uuid,
                                                             int32_t version) {
  return ReadRecord(RecordName(uuid, version));
}

absl::StatusOr<std::vector<zarc::v1::MeetingCaptured>> VersionStore::AllVersions(
    const std::string& uuid) {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(Folder(uuid));
  if (!list.ok()) return list.status();
  std::vector<zarc::v1::MeetingCaptured> out;
  for (const blob::BlobInfo& info : *list) {
    if (!absl::EndsWith(info.name, kRecordSuffix)) continue;
    absl::StatusOr<zarc::v1::MeetingCaptured> event = ReadRecord(info.name);
    if (!event.ok()) return event.status();
    out.push_back(*std::move(event));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> VersionStore::ListRecords() {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(prefix_ + "/");
  if (!list.ok()) return list.status();
  std::vector<std::string> names;
  names.reserve(list->size());
  for (const blob::BlobInfo& info : *list) {
    if (absl::EndsWith(info.name, kRecordSuffix)) names.push_back(info.name);
  }
  return names;
}

absl::Status VersionStore::Record(const zarc::v1::MeetingCaptured& event) {
  absl::Status s = CreateOnce(store_, RecordName(event.meeting().uuid(), event.version()),
                              event.SerializeAsString(), "application/x-protobuf");
  // Another replica recorded the same version first: same meeting, same files, nothing to do.
  if (absl::IsAlreadyExists(s)) return absl::OkStatus();
  return s;
}

absl::StatusOr<zarc::v1::MeetingCaptured> VersionStore::RecordOrRead(
    const zarc::v1::MeetingCaptured& event) {
  const std::string name = RecordName(event.meeting().uuid(), event.version());
  absl::Status s = CreateOnce(store_, name, event.SerializeAsString(), "application/x-protobuf");
  if (s.ok()) return event;
  if (!absl::IsAlreadyExists(s)) return s;
  return ReadRecord(name);
}

absl::Status VersionStore::MarkPublished(const std::string& uuid, int32_t version) {
  absl::Status s = CreateOnce(
      store_, absl::StrCat(Folder(uuid), absl::StrFormat("v%06d", version), kPublishedSuffix), "",
      "application/octet-stream");
  if (absl::IsAlreadyExists(s)) return absl::OkStatus();
  return s;
}

absl::StatusOr<bool> VersionStore::Published(const std::string& uuid, int32_t version) {
  absl::StatusOr<blob::BlobInfo> info =
      store_.Stat(absl::StrCat(Folder(uuid), absl::StrFormat("v%06d", version), kPublishedSuffix));
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return info.status();
}

FollowUpStore::FollowUpStore(blob::BlobStore& store, std::string prefix)
    : store_(store), prefix_(std::move(prefix)) {}

std::string FollowUpStore::Name(const std::string& uuid) const {
  return absl::StrCat(prefix_, "/", crypto::Sha256Hex(uuid).substr(0, 40), ".json");
}

namespace {
std::string FormatRecordTime(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}
absl::Time ParseTime(const std::string& text) {
  absl::Time t = absl::InfinitePast();
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return absl::InfinitePast();
  return t;
}
}  // namespace

absl::StatusOr<FollowUpStore::FollowUp> FollowUpStore::ReadName(const std::string& name) {
  absl::StatusOr<std::string> text = ReadBlob(store_, name, 1 << 20);
  if (!text.ok()) return text.status();
  absl::StatusOr<json::Value> v = json::Parse(*text, name);
  if (!v.ok()) return v.status();
  FollowUp f;
  absl::StatusOr<std::string> uuid = json::RequiredString(*v, "meeting_uuid", name);
  if (!uuid.ok()) return uuid.status();
  f.meeting_uuid = *uuid;
  f.archive = json::Bool(*v, "archive");
  f.account_id = json::String(*v, "account_id");
  f.host_email = json::String(*v, "host_email");
  f.start_time = ParseTime(json::String(*v, "start_time"));
  f.since = ParseTime(json::String(*v, "since"));
  f.deadline = ParseTime(json::String(*v, "deadline"));
  if (f.deadline == absl::InfinitePast()) {
    return absl::DataLossError(absl::StrCat("follow-up record ", name, " has no valid deadline"));
  }
  return f;
}

absl::StatusOr<FollowUpStore::FollowUp> FollowUpStore::Ensure(const FollowUp& wanted) {
  json::Value v = json::Value::Object();
  v["meeting_uuid"] = json::Str(wanted.meeting_uuid);
  v["archive"] = json::Value::Boolean(wanted.archive);
  v["account_id"] = json::Str(wanted.account_id);
  v["host_email"] = json::Str(wanted.host_email);
  v["start_time"] = json::Str(FormatRecordTime(wanted.start_time));
  v["since"] = json::Str(FormatRecordTime(wanted.since));
  v["deadline"] = json::Str(FormatRecordTime(wanted.deadline));
  const std::string name = Name(wanted.meeting_uuid);
  absl::Status s = CreateOnce(store_, name, json::Serialize(v), "application/json");
  if (s.ok()) return wanted;
  if (!absl::IsAlreadyExists(s)) return s;
  return ReadName(name);
}

absl::Status FollowUpStore::Remove(const std::string& uuid) {
  absl::Status s = store_.Delete(Name(uuid));
  if (absl::IsNotFound(s)) return absl::OkStatus();
  return s;
}

absl::StatusOr<std::vector<FollowUpStore::FollowUp>> FollowUpStore::List() {
  absl::StatusOr<std::vector<blob::BlobInfo>> list = store_.List(prefix_ + "/");
  if (!list.ok()) return list.status();
  std::vector<FollowUp> out;
  for (const blob::BlobInfo& info : *list) {
    absl::StatusOr<FollowUp> f = ReadName(info.name);
    if (!f.ok()) {
      log::Error("fetcher", "follow-up record unreadable; left in place",
                 {{"record", info.name}, {"error", f.status()}});
      continue;
    }
    out.push_back(*std::move(f));
  }
  return out;
}

const char* OutcomeName(CaptureOutcome outcome) {
  switch (outcome) {
    case CaptureOutcome::kCaptured: return "captured";
    case CaptureOutcome::kDuplicate: return "duplicate";
    case CaptureOutcome::kPending: return "pending";
  }
  return "unknown";
}

struct MeetingCapturer::Metrics {
  prometheus::Family<prometheus::Counter>* meetings = nullptr;
  prometheus::Histogram* lag = nullptr;
};

MeetingCapturer::MeetingCapturer(ZoomApi& api, ZoomDownloader& downloader, VersionStore& versions,
                                 FollowUpStore& followups, MeetingPublisher publish,
                                 Options options, prometheus::Registry* registry)
    : api_(api),
      downloader_(downloader),
      versions_(versions),
      followups_(followups),
      publish_(std::move(publish)),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (registry != nullptr) {
    metrics_->meetings = &prometheus::BuildCounter()
                              .Name("zarc_fetcher_meetings_total")
                              .Help("Meetings seen by the fetcher, by outcome and source")
                              .Register(*registry);
    metrics_->lag = &prometheus::BuildHistogram()
                         .Name("zarc_fetcher_capture_lag_seconds")
                         .Help("Time from meeting end to capture of a new version")
                         .Register(*registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400});
  }
}

MeetingCapturer::~MeetingCapturer() = default;

absl::Mutex& MeetingCapturer::LockFor(const std::string& uuid) {
  return locks_[std::hash<std::string>{}(uuid) % locks_.size()];
}

namespace {
const char* SourceName(zarc::v1::CaptureSource s) {
  switch (s) {
    case zarc::v1::CAPTURE_SOURCE_POLL: return "poll";
    case zarc::v1::CAPTURE_SOURCE_WEBHOOK: return "webhook";
    case zarc::v1::CAPTURE_SOURCE_SYNC: return "sync";
    default: return "unknown";
  }
}
}  // namespace

namespace {

// Why a listed file cannot be downloaded yet, in the words the item shows.
std::string NotReadyReason(const ZoomFile& f) {
  if (f.status == "failed") {
    return "not available: Zoom reports that it failed to process the file (status \"failed\")";
  }
  return "not yet available (Zoom is still processing it)";
}

// Zoom lists a file it is still processing with `file_type` "", but its `recording_type` already
// says what it will be: the item and the status log name the file by it.
std::string TypeOfListed(const ZoomFile& f) {
  if (!f.file_type.empty()) return f.file_type;
  static const auto* const kByRecordingType = new std::map<std::string, std::string>{
      {"audio_transcript", "TRANSCRIPT"},
      {"chat_file", "CHAT"},
      {"closed_caption", "CC"},
      {"timeline", "TIMELINE"},
      {"audio_only", "M4A"},
      {"shared_screen_with_speaker_view", "MP4"},
      {"shared_screen_with_gallery_view", "MP4"},
      {"active_speaker", "MP4"},
      {"gallery_view", "MP4"},
      {"shared_screen", "MP4"}};
  auto it = kByRecordingType->find(f.recording_type);
  return it == kByRecordingType->end() ? "" : it->second;
}

std::string DescribeMissing(const zarc::v1::MissingFile& m) {
  return absl::StrCat(m.file_type().empty() ? "a" : m.file_type(), " file ", m.file_id(),
                      " not captured: ", m.reason(),
                      m.final() ? "" : "; a later version will add it once Zoom has it");
}

bool AnyOpen(const std::vector<zarc::v1::MissingFile>& missing) {
  for (const zarc::v1::MissingFile& m : missing) {
    if (!m.final()) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<CaptureOutcome> MeetingCapturer::Capture(const ZoomMeeting& meeting,
                                                        zarc::v1::CaptureSource source,
                                                        const std::string& download_token,
                                                        MissingFilePolicy policy) {
  if (meeting.uuid.empty()) return absl::InvalidArgumentError("meeting without uuid");
  absl::MutexLock meeting_lock(&LockFor(meeting.uuid));
  auto count = [&](CaptureOutcome o) {
    if (metrics_->meetings != nullptr) {
      metrics_->meetings->Add({{"outcome", OutcomeName(o)}, {"source", SourceName(source)}})
          .Increment();
    }
    return o;
  };
  absl::StatusOr<std::optional<zarc::v1::MeetingCaptured>> previous = versions_.Latest(meeting.uuid);
  if (!previous.ok()) return previous.status();
  const zarc::v1::MeetingCaptured* prev = previous->has_value() ? &**previous : nullptr;
  // Once an item exists, waiting gains nothing: what is missing now is followed up.
  const bool wait = policy == MissingFilePolicy::kWaitForFiles && prev == nullptr;
  bool republished = false;
  if (prev != nullptr) {
    // An earlier attempt recorded this version but its publish failed (or the process died):
    // publish it now, from its record, before anything newer.
    absl::StatusOr<bool> published = versions_.Published(meeting.uuid, prev->version());
    if (!published.ok()) return published.status();
    if (!*published) {
      if (absl::Status s = publish_(*prev); !s.ok()) return s;
      if (absl::Status s = versions_.MarkPublished(meeting.uuid, prev->version()); !s.ok()) {
        log::Warn("fetcher", "version published but not marked; it may be published again",
                  {{"meeting_uuid", meeting.uuid}, {"version", prev->version()}, {"error", s}});
      }
      log::Info("fetcher", "recorded version published",
                {{"meeting_uuid", meeting.uuid}, {"version", prev->version()}});
      republished = true;
    }
  }

  std::map<std::string, zarc::v1::Artifact> known;
  std::map<std::string, zarc::v1::MissingFile> was_missing;
  if (prev != nullptr) {
    for (const zarc::v1::Artifact& a : prev->artifacts()) known[a.file_id()] = a;
    for (const zarc::v1::MissingFile& m : prev->missing()) was_missing[m.file_id()] = m;
  }
  // What this sighting can try to download, and what it already knows it cannot have.
  std::vector<const ZoomFile*> to_download;
  std::map<std::string, zarc::v1::MissingFile> missing;
  for (const ZoomFile& f : meeting.files) {
    const std::string id = f.StableId();
    if (known.count(id) != 0 || missing.count(id) != 0) continue;
    if (auto it = was_missing.find(id); it != was_missing.end() && it->second.final()) continue;
    if (!f.Ready()) {
      if (wait) return count(CaptureOutcome::kPending);
      zarc::v1::MissingFile m;
      m.set_file_id(id);
      m.set_file_type(TypeOfListed(f));
      m.set_reason(NotReadyReason(f));
      missing[id] = std::move(m);
      continue;
    }
    to_download.push_back(&f);
  }
  // A file missing from the last version and no longer listed stays missing (until the deadline);
  // a file given up for good stays given up.
  std::set<std::string> downloading;
  for (const ZoomFile* f : to_download) downloading.insert(f->StableId());
  for (const auto& [id, m] : was_missing) {
    if (missing.count(id) == 0 && downloading.count(id) == 0) missing[id] = m;
  }
  const bool prev_open =
      prev != nullptr && AnyOpen({prev->missing().begin(), prev->missing().end()});
  const CaptureOutcome unchanged =
      republished ? CaptureOutcome::kCaptured : CaptureOutcome::kDuplicate;
  const bool refetch_participants = prev != nullptr && prev->participants_size() == 0;

  // Makes sure a meeting with files missing is followed up; true once its deadline has passed.
  auto follow_up = [&]() -> absl::StatusOr<bool> {
    const absl::Time now = absl::Now();
    absl::StatusOr<FollowUpStore::FollowUp> f = followups_.Ensure(
        FollowUpStore::FollowUp{.meeting_uuid = meeting.uuid,
                                .archive = meeting.archived,
                                .account_id = meeting.account_id,
                                .host_email = meeting.host_email,
                                .start_time = meeting.start_time,
                                .since = now,
                                .deadline = now + options_.missing_file_deadline});
    if (!f.ok()) return f.status();
    return now >= f->deadline;
  };
  auto open_now = [&] {
    for (const auto& [id, m] : missing) {
      if (!m.final()) return true;
    }
    return false;
  };

  if (prev != nullptr && to_download.empty() && !refetch_participants) {
    if (!open_now()) {
      if (prev_open) {
        if (absl::Status s = followups_.Remove(meeting.uuid); !s.ok()) return s;
      }
      return count(unchanged);
    }
    absl::StatusOr<bool> overdue = follow_up();
    if (!overdue.ok()) return overdue.status();
    if (!*overdue) return count(unchanged);
    // Past the deadline: go on to publish the version that gives the files up.
  }

  zarc::v1::MeetingCaptured event;
  std::vector<std::string> problems;
  absl::StatusOr<ZoomPastMeeting> details = api_.PastMeeting(meeting.uuid);
  if (!details.ok()) {
    if (details.status().code() != absl::StatusCode::kNotFound) return details.status();
    if (prev == nullptr || prev->meeting().host_name().empty()) {
      problems.push_back(absl::StrCat("meeting details unavailable: ", details.status().message()));
    }
  }
  *event.mutable_meeting() = MeetingProto(meeting, details.ok() ? &*details : nullptr);
  if (prev != nullptr) {
    // A later sighting (a follow-up of a meeting Zoom no longer lists) may know less than the
    // last version did: what it leaves empty keeps the earlier value.
    zarc::v1::Meeting merged = prev->meeting();
    merged.MergeFrom(event.meeting());
    *event.mutable_meeting() = std::move(merged);
  }
  absl::StatusOr<std::vector<ZoomParticipantRow>> rows = api_.Participants(meeting.uuid);
  if (!rows.ok() && rows.status().code() != absl::StatusCode::kNotFound) return rows.status();
  if (rows.ok()) {
    for (zarc::v1::Participant& p : MergeParticipants(*rows)) *event.add_participants() = std::move(p);
  }
  if (event.participants_size() == 0 && prev != nullptr && prev->participants_size() > 0) {
    // Zoom forgot them (its participant report expires): the item keeps the ones it had.
    *event.mutable_participants() = prev->participants();
  } else if (!rows.ok()) {
    problems.push_back(absl::StrCat("participant list unavailable: ", rows.status().message()));
  } else if (rows->empty()) {
    problems.push_back("participant list unavailable: Zoom listed no participants yet");
  }

  // Files already captured in an earlier version keep their staged blobs; new ones are downloaded.
  std::vector<std::string> used_names;
  for (const auto& [id, a] : known) used_names.push_back(a.file_name());
  std::map<std::string, zarc::v1::Artifact> artifacts = known;
  for (const ZoomFile* file : to_download) {
    const ZoomFile& f = *file;
    const std::string id = f.StableId();
    absl::StatusOr<ZoomDownloader::Result> got = downloader_.Download(f, download_token);
    if (!got.ok()) {
      // Only a refusal that names the file (host not allowed, gone from Zoom) is final; anything
      // else (an HTML refusal, a fingerprint mismatch, a refused token, our own storage) is
      // followed up.
      const absl::StatusCode code = got.status().code();
      const bool final =
          code == absl::StatusCode::kPermissionDenied || code == absl::StatusCode::kNotFound;
      if (!final && wait) {
        log::Warn("fetcher", "meeting left for a later attempt",
                  {{"meeting_uuid", meeting.uuid}, {"error", got.status()}});
        return count(CaptureOutcome::kPending);
      }
      zarc::v1::MissingFile m;
      m.set_file_id(id);
      m.set_file_type(TypeOfListed(f));
      m.set_reason(std::string(got.status().message()));
      m.set_final(final);
      missing[id] = std::move(m);
      continue;
    }
    missing.erase(id);
    if (!got->problem.empty()) problems.push_back(got->problem);
    zarc::v1::Artifact a;
    a.set_file_id(id);
    a.set_kind(KindOf(f));
    a.set_zoom_file_type(f.file_type);
    a.set_recording_type(f.recording_type);
    a.set_file_name(AttachmentName(f, used_names));
    zarc::v1::BlobRef* ref = a.mutable_blob();
    ref->set_name(got->blob.name);
    ref->set_uri(got->uri);
    ref->set_size(got->blob.size);
    ref->set_sha256(got->blob.sha256);
    ref->set_content_type(got->blob.content_type);
    *a.mutable_recording_start() = ToProto(f.recording_start);
    *a.mutable_recording_end() = ToProto(f.recording_end);
    a.set_listed_size(static_cast<uint64_t>(std::max<int64_t>(0, f.file_size)));
    a.set_participant_email(f.participant_email);
    artifacts[id] = std::move(a);
  }

  const bool open = open_now();
  absl::StatusOr<bool> overdue = open ? follow_up() : absl::StatusOr<bool>(false);
  if (!overdue.ok()) return overdue.status();
  bool given_up = false;
  if (*overdue) {
    for (auto& [id, m] : missing) {
      if (m.final()) continue;
      m.set_final(true);
      m.set_reason(absl::StrCat(m.reason(), "; given up: still missing after ",
                                absl::FormatDuration(options_.missing_file_deadline)));
      given_up = true;
    }
  }
  const bool participants_appeared = refetch_participants && event.participants_size() > 0;
  bool newly_final = given_up;
  for (const auto& [id, m] : missing) {
    auto it = was_missing.find(id);
    if (m.final() && (it == was_missing.end() || !it->second.final())) newly_final = true;
  }
  // Nothing was added (the new files were refused again, participants are still unknown): the
  // last version stands. A refusal on a first capture is published with the item, as a problem,
  // so it is never silent.
  if (prev != nullptr && artifacts.size() == known.size() && !participants_appeared &&
      !newly_final) {
    for (const auto& [id, m] : missing) {
      log::Warn("fetcher", "file still not captured",
                {{"meeting_uuid", meeting.uuid}, {"problem", DescribeMissing(m)}});
    }
    return count(unchanged);
  }
  for (auto& [id, a] : artifacts) *event.add_artifacts() = a;
  for (auto& [id, m] : missing) {
    problems.push_back(DescribeMissing(m));
    *event.add_missing() = m;
  }
  for (std::string& p : problems) event.add_problems(std::move(p));
  event.set_version(prev != nullptr ? prev->version() + 1 : 1);
  event.set_source(source);
  *event.mutable_captured_at() = ToProto(absl::Now());

  // Recorded first, published from the record: what is published under a version never changes.
  absl::StatusOr<zarc::v1::MeetingCaptured> recorded = versions_.RecordOrRead(event);
  if (!recorded.ok()) return recorded.status();
  if (absl::Status s = publish_(*recorded); !s.ok()) return s;
  if (absl::Status s = versions_.MarkPublished(meeting.uuid, recorded->version()); !s.ok()) {
    log::Warn("fetcher", "version published but not marked; it may be published again",
              {{"meeting_uuid", meeting.uuid}, {"version", recorded->version()}, {"error", s}});
  }
  if (metrics_->lag != nullptr && recorded->meeting().end_time().seconds() > 0) {
    metrics_->lag->Observe(std::max<double>(
        0, absl::ToDoubleSeconds(absl::Now() -
                                 absl::FromUnixSeconds(recorded->meeting().end_time().seconds()))));
  }
  // Nothing is followed up once no file is missing or every missing one is given up.
  if ((prev_open || open) && !AnyOpen({recorded->missing().begin(), recorded->missing().end()})) {
    if (absl::Status s = followups_.Remove(meeting.uuid); !s.ok()) {
      log::Warn("fetcher", "follow-up record not removed; the next poll checks the meeting again",
                {{"meeting_uuid", meeting.uuid}, {"error", s}});
    }
  }
  log::Info("fetcher", "meeting captured",
            {{"meeting_uuid", meeting.uuid},
             {"version", recorded->version()},
             {"artifacts", recorded->artifacts_size()},
             {"missing", recorded->missing_size()},
             {"participants", recorded->participants_size()},
             {"source", SourceName(source)}});
  return count(CaptureOutcome::kCaptured);
}

}  // namespace zarc::fetcher
